"""The CLI contracts of DESIGN.md §3 for index, kb, search and eval retrieval."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmroute.cli.main import cli

HASH = ["--encoder", "hashing", "--encoder-option", "dim=64"]


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    p = tmp_path / "c.jsonl"
    p.write_text(
        "\n".join(
            json.dumps({"id": f"p{i}", "title": f"T{i}", "text": f"text about {w}"})
            for i, w in enumerate(["apples", "rockets", "violins", "glaciers"])
        )
        + "\n"
    )
    return p


def test_index_kb_search_delete_round_trip(tmp_path: Path, corpus: Path) -> None:
    home = str(tmp_path / "h")
    code, out, _ = run("index", "--kb", "k", "--input", str(corpus), "--home", home, "--json", *HASH)
    assert code == 0
    assert json.loads(out)["reports"][0]["count"] == 4
    code, out, _ = run("kb", "info", "k", "--home", home, "--json")
    info = json.loads(out)
    assert (
        code == 0 and info["count"] == 4 and info["granularity"] == "paragraph" and info["encoder"]["name"] == "hashing"
    )
    assert info["store"]["backend"] == "edge" and info["search_beam"] == 128  # hnsw_ef "auto" at 4 points
    code, out, _ = run("kb", "info", "k", "--home", home)  # read as words, not as Python dicts
    lines = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in out.splitlines() if ":" in ln}
    assert code == 0 and lines["encoder"] == "hashing (dim 64)" and lines["store"] == "edge", out
    assert lines["lexical"].startswith("BM25 (tokenizer ") and "{" not in out
    code, out, _ = run("kb", "list", "--home", home, "--json")
    assert [k["name"] for k in json.loads(out)["kbs"]] == ["k"]
    code, out, _ = run("search", "--kb", "k", "text about violins", "--k", "2", "--home", home, "--json")
    hits = json.loads(out)["hits"]
    assert code == 0 and hits[0]["id"] == "p2" and len(hits) == 2 and hits[0]["score"] >= hits[1]["score"]
    assert hits[0]["item"]["title"] == "T2"
    code, out, _ = run("kb", "delete", "k", "--yes", "--home", home)
    assert code == 0
    assert json.loads(run("kb", "list", "--home", home, "--json")[1])["kbs"] == []


def test_user_errors_are_one_line_with_a_hint_and_no_traceback(tmp_path: Path, corpus: Path) -> None:
    home = str(tmp_path / "h")
    code, out, err = run("search", "--kb", "missing", "x", "--home", home)
    assert code == 2 and "error: no KB named 'missing'" in err and "hint:" in err and "Traceback" not in err
    code, _, err = run("index", "--kb", "k", "--input", str(tmp_path / "nope.jsonl"), "--home", home)
    assert code == 2 and "does not exist" in err
    code, _, err = run("index", "--kb", "k", "--input", str(corpus), "--home", home, "--encoder", "nonexistent")
    assert code == 2 and "unknown encoder" in err and "hint: choose one of" in err


def test_asking_a_home_that_does_not_exist_says_so(tmp_path: Path) -> None:
    missing, empty = tmp_path / "nope", tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("ask", "Who led the Normans?", "--home", str(missing))
    assert code == 2 and f"the home {missing} does not exist" in err and "hint:" in err
    assert not missing.exists()  # asking creates nothing
    code, _, err = run("ask", "Who led the Normans?", "--home", str(empty))
    assert code == 2 and "has no KBs yet" in err
    code, out, _ = run("kb", "list", "--home", str(missing))  # listing names the home it looked in
    assert code == 0 and f"no KBs yet in {missing}" in out and not missing.exists()


def test_skipped_items_give_nonzero_exit_and_a_summary(tmp_path: Path, corpus: Path) -> None:
    with open(corpus, "a") as f:
        f.write("{broken\n")
    (tmp_path / "notes.xyz").write_text("?")
    code, out, err = run("index", "--kb", "k", "--input", str(tmp_path), "--home", str(tmp_path / "h"), *HASH)
    assert code == 1
    assert "4 indexed" in out and "2 skipped" in out
    assert "c.jsonl:5: malformed JSON" in err and "notes.xyz: unknown file type" in err
    # the unchanged source is skipped on a re-run, and its recorded problem is said the same way, line and all
    code, out, err = run("index", "--kb", "k", "--input", str(tmp_path), "--home", str(tmp_path / "h"), *HASH)
    assert code == 1 and "4 already present" in out and "c.jsonl:5: malformed JSON" in err, err


def test_a_questions_file_in_the_input_is_said_once_not_once_a_line(tmp_path: Path, corpus: Path) -> None:
    """Indexing a folder that holds a questions file printed 50 lines of 'missing "text"' and "... and 900 more"
    (a new user's run). The file is one line that says what it is; the control: a record that is broken on its own
    is still named with its line."""
    qs = tmp_path / "questions.jsonl"
    qs.write_text(
        "".join(json.dumps({"id": f"q{i}", "question": f"Who is {i}?", "answers": []}) + "\n" for i in range(30))
    )
    with open(corpus, "a") as f:
        f.write('{"id": "x"}\n')
    code, out, err = run("index", "--kb", "k", "--input", str(tmp_path), "--home", str(tmp_path / "h"), *HASH)
    lines = err.strip().splitlines()
    assert code == 1 and "31 skipped" in out and len(lines) == 2, err
    assert any("questions.jsonl: 30 lines (1-30): a question record, not a passage" in line for line in lines), err
    assert any('c.jsonl:5: missing "text"' in line for line in lines), err


def test_eval_retrieval_contract(tmp_path: Path, corpus: Path) -> None:
    home = str(tmp_path / "h")
    run("index", "--kb", "k", "--input", str(corpus), "--home", home, *HASH)
    q = tmp_path / "q.jsonl"
    q.write_text(
        json.dumps({"id": "q1", "question": "text about rockets", "gold_ids": ["p1"]})
        + "\n"
        + json.dumps({"id": "q2", "question": "glaciers and apples", "gold_ids": ["p3", "p0"]})
        + "\n"
    )
    out_file = tmp_path / "out.jsonl"
    code, out, _ = run(
        "eval",
        "retrieval",
        "--kb",
        "k",
        "--questions",
        str(q),
        "--k",
        "2",
        "--out",
        str(out_file),
        "--home",
        home,
        "--json",
    )
    assert code == 0
    agg = json.loads(out)
    assert agg["n"] == 2 and agg["recall_any"]["2"] == 1.0 and agg["recall_all"]["2"] == 1.0
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2"]
    assert set(lines[0]) == {"id", "retrieved_ids", "steps"} and lines[0]["retrieved_ids"][0] == "p1"
    assert len(lines[0]["retrieved_ids"]) <= 2 and lines[0]["steps"][0]["query"] == "text about rockets"


def test_every_command_help_has_an_example() -> None:
    for args in (["index"], ["search"], ["kb"], ["eval", "retrieval"]):
        code, out, _ = run(*args, "--help")
        assert code == 0 and "Example" in out, args


def test_image_search_of_a_text_kb_is_a_one_line_error_from_the_real_cli(
    tmp_path: Path, corpus: Path, data_dir: Path
) -> None:
    import os
    import subprocess
    import sys

    home = str(tmp_path / "h")
    assert run("index", "--kb", "k", "--input", str(corpus), "--home", home, *HASH)[0] == 0
    img = data_dir / "images/skimage/images/coffee.png"
    r = subprocess.run(
        [sys.executable, "-m", "mmroute", "search", "--kb", "k", "--image", str(img), "--home", home],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MMROUTE_DEBUG": ""},
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "cannot be searched with an image" in r.stderr and "hint:" in r.stderr
    # `ask` with the same KB named answered from the words alone, saying nothing of the image
    r = subprocess.run(
        [sys.executable, "-m", "mmroute", "ask", "What is this?", "--kb", "k", "--image", str(img), "--home", home],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MMROUTE_DEBUG": ""},
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 2, r.stderr
    assert lines[0] == "error: the query image cannot be used: the KB named (k) holds text only"
    assert lines[1].startswith("hint: name an image or video KB with --kb")


@pytest.mark.parametrize(
    ("args", "said", "helped"),
    [
        (["ask", "Who led the Normans?", "--k", "0"], "error: Invalid value for '--k': 0 is not in the range", "ask"),
        (
            ["ask", "Who led the Normans?", "--image", "no-such-photo.jpg"],
            "File 'no-such-photo.jpg' does not exist",
            "ask",
        ),
        (["kb", "list", "--bogus"], "error: No such option '--bogus'", "kb list"),
        # an option without its value is reported from the group: the hint still names the command (a new user was
        # sent to `mmroute --help`)
        (["ask", "Who?", "--kb"], "error: Option '--kb' requires an argument.", "ask"),
        (["kb", "move", "hop", "--store"], "error: Option '--store' requires an argument.", "kb move"),
    ],
)
def test_a_usage_error_is_one_line_and_a_hint(args: list[str], said: str, helped: str) -> None:
    """Click's usage block (three lines and a blank) became one error line and a hint naming the command's help,
    as every other CLI error is. The control: a good command still exits 0."""
    res = CliRunner().invoke(cli, args)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 2, res.output
    assert said in lines[0] and lines[1] == f"hint: `mmroute {helped} --help` says what it takes, with examples"
    assert "Usage:" not in res.output
    assert CliRunner().invoke(cli, ["--version"]).exit_code == 0


def test_home_is_taken_before_the_command_too(tmp_path: Path, corpus: Path, monkeypatch) -> None:
    """The README says every command takes --home; `mmroute --home DIR kb list` was "No such option". A --home before
    the command now beats $MMROUTE_HOME, and the command's own --home beats both (the controls)."""
    home, other = str(tmp_path / "h"), str(tmp_path / "empty")
    assert run("index", "--kb", "k", "--input", str(corpus), "--home", home, *HASH)[0] == 0
    monkeypatch.setenv("MMROUTE_HOME", other)

    def kbs(*args: str) -> list[str]:
        code, out, _ = run(*args)
        assert code == 0, out
        return [kb["name"] for kb in json.loads(out)["kbs"]]

    assert kbs("--home", home, "kb", "list", "--json") == ["k"]
    assert kbs("kb", "list", "--json") == []  # $MMROUTE_HOME
    assert kbs("--home", other, "kb", "list", "--home", home, "--json") == ["k"]


def test_a_relative_input_is_stored_anchored_and_named_as_typed(tmp_path: Path, monkeypatch) -> None:
    """`mmroute index --input data/c.jsonl`: the items' source works from any directory later (the app shows a photo
    from it), while the skipped line is reported with the path the user typed, as `mmroute serve` reports it."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "c.jsonl").write_text(json.dumps({"id": "p1", "text": "Rollo led the Normans."}) + "\n{broken\n")
    monkeypatch.chdir(work)
    home = str(tmp_path / "h")
    code, out, err = run("index", "--kb", "k", "--input", "data/c.jsonl", "--home", home, "--json", *HASH)
    (problem,) = json.loads(out)["reports"][0]["problems"]
    assert code == 1 and problem["source"] == "data/c.jsonl" and str(work) not in out + err, (out, err)
    code, _, err = run("index", "--kb", "k", "--input", "data/nope.jsonl", "--home", home)
    assert code == 2 and "data/nope.jsonl" in err and str(work) not in err, err
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("search", "--kb", "k", "Rollo", "--home", home, "--json")
    source = json.loads(out)["hits"][0]["item"]["source"]
    assert code == 0 and Path(source).is_absolute() and Path(source).is_file(), source


def test_an_option_of_the_wrong_type_or_name_is_one_line_naming_it(tmp_path: Path, corpus: Path) -> None:
    """`--retriever-option max_steps=abc`, `--generator-option model=5`, an option the generator does not take and
    `--store-option m='"big"'` each raised a TypeError from deep inside (a new user's run). The control: right
    values of the same options answer."""
    home = str(tmp_path / "h")
    assert run("index", "--kb", "k", "--input", str(corpus), "--home", home, *HASH)[0] == 0
    ask = ("ask", "text about violins?", "--kb", "k", "--home", home, "--no-verify")
    for extra, said in (
        (("--retriever-option", "max_steps=abc"), "option max_steps takes a whole number, not 'abc'"),
        (("--retriever-option", "widen=maybe"), "option widen takes true or false, not 'maybe'"),
        (("--generator-option", "model=5"), "generator 'reader': option model takes a string, not 5"),
        (("--generator", "offline", "--generator-option", "foo=1"), "generator 'offline' has no option 'foo'"),
    ):
        code, _, err = run(*ask, *extra)
        lines = err.strip().splitlines()
        assert code == 2 and said in lines[0] and lines[1].startswith("hint: ") and len(lines) == 2, err
    code, _, err = run(*ask[:-1], "--verifier-option", "threshold=3")
    assert code == 2 and "the verifier's threshold is an estimated chance between 0 and 1, not 3" in err, err
    code, _, err = run(*ask[:-1], "--verifier-option", "strictness=1")
    assert code == 2 and "verifier 'evidence' has no option 'strictness'" in err, err
    code, _, err = run("index", "--kb", "s", "--input", str(corpus), "--home", home, *HASH, "--store-option", 'm="big"')
    assert code == 2 and "store 'edge': option m takes a whole number" in err, err
    assert run(*ask, "--retriever-option", "max_steps=2", "--retriever-option", "widen=false")[0] == 0
    assert [k["name"] for k in json.loads(run("kb", "list", "--home", home, "--json")[1])["kbs"]] == ["k"]


def test_a_rejected_clip_option_leaves_no_kb_behind(tmp_path: Path, data_dir: Path) -> None:
    """`index --clip-seconds -3` said "clip length must be positive" but left an empty KB that `kb doctor` called
    interrupted, and re-running failed the same way. The control: an existing KB is kept."""
    home = str(tmp_path / "h")
    video = data_dir / "video" / "short_clips"
    for bad in (("--clip-seconds", "-3"), ("--clip-seconds", "2", "--clip-overlap", "5")):
        code, _, err = run("index", "--kb", "v1", "--input", str(video), "--home", home, *bad)
        assert code == 2 and "clip" in err and "hint:" in err, err
        assert json.loads(run("kb", "list", "--home", home, "--json")[1])["kbs"] == []


def test_kb_info_shows_options_as_words_and_masks_a_urls_credentials() -> None:
    from mmroute.cli.kb_cmd import options_text

    assert options_text({"max_length": 256, "doc_pooling": "mean"}) == " (doc_pooling mean, max_length 256)"
    assert options_text({}) == ""
    shown = options_text({"url": "https://bob:s3cret@qdrant.example:6333", "collection": "hop"})
    assert "s3cret" not in shown and "bob" not in shown and "qdrant.example:6333" in shown


def test_a_query_image_that_is_no_image_says_so(tmp_path: Path) -> None:
    """README.md given as --image was "corrupt image: ... not an image despite its extension"; a file that is no
    image by its extension is said to be one. The control: a damaged .jpg is still a corrupt image."""
    notes = tmp_path / "README.md"
    notes.write_text("# notes\n")
    res = CliRunner().invoke(cli, ["ask", "What is this?", "--image", str(notes), "--home", str(tmp_path)])
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and lines[0] == f"error: {notes}: not an image (a .md file)", res.output
    assert lines[1].startswith("hint: give a photo: .bmp, .gif, .jpg, .png")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    res = CliRunner().invoke(cli, ["ask", "What is this?", "--image", str(broken), "--home", str(tmp_path)])
    assert res.exit_code == 2 and "corrupt image" in res.output


def test_the_answers_sentence_is_marked_on_the_answers_own_item(capsys) -> None:
    """A moment's subtitle is in every overlapping clip, and "<- the answer's sentence" was printed on each of them;
    it marks the answer's own item. The control: when that item is not among those shown, any that holds it is."""
    from mmroute.cli.ask_cmd import render
    from mmroute.types import Answer, Draft, Granularity, Hit, Item

    said = "And three rodent pests"
    hits = tuple(
        Hit(Item(id=f"bbb#t={t}", kind=Granularity.CLIP, text=f"{said}. More."), 0.5 - t / 1000, "bbb-clip", i + 1)
        for i, t in enumerate((200, 210, 220))
    )

    def marked(own: str) -> list[str]:
        draft = Draft("3:35–3:56", (own,), said, 1.0, "moment")
        render(Answer("When?", draft.text, False, "supported", hits, None, None, draft, None).to_dict())
        out = capsys.readouterr().out
        return [line.split("] ")[1].split(" ")[0] for line in out.splitlines() if "<- the answer's sentence" in line]

    assert marked("bbb#t=210") == ["bbb#t=210"]
    assert marked("elsewhere") == ["bbb#t=200", "bbb#t=210", "bbb#t=220"]


def test_a_query_image_with_words_or_a_mode_is_refused_not_half_searched(tmp_path: Path, corpus: Path) -> None:
    """`search --kb photos "coffee" --image q.jpg --mode sparse` returned the image's dense ranking, the words and
    the mode dropped without a word. The control: the image alone still searches."""
    from PIL import Image

    home = str(tmp_path / "h")
    img = tmp_path / "q.png"
    Image.new("RGB", (32, 24), (200, 30, 30)).save(img)
    for extra, named in ((["coffee"], "the query 'coffee'"), (["--mode", "sparse"], "--mode sparse")):
        code, _, err = run("search", "--kb", "k", *extra, "--image", str(img), "--home", home)
        assert code == 2 and f"error: a query image is searched by the image alone: {named} would be ignored" in err
        assert "Traceback" not in err and "hint:" in err
    assert run("index", "--kb", "k", "--input", str(corpus), "--home", home, *HASH)[0] == 0
    code, _, err = run("search", "--kb", "k", "--image", str(img), "--home", home)
    assert "a query image is searched by the image alone" not in err
