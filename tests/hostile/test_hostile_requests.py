"""Hostile requests, in-process and through a running `mmroute serve` (real processes, real HTTP): an invalid KB
name, a 20,000-character question, a decompression bomb sent as a query image. Through the server the CLI prints
the same one line as in-process (not `Not Found`), a question over the limit is never echoed whole, and the
HTTP API answers 400 with that one line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.serve.helpers import FILMS, HASH, Server, http, mask_timings, mmroute, write_jsonl

from .junk import png, png_bomb

LONG = "Who directed Inception? " * 834  # 20,016 characters: the reported question was 20,000
LIMIT_LINE = (
    "the question is 20,016 characters, over the 2,000 character limit ('Who directed Inception? Who directed ...')"
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    h = root / "home"
    r = mmroute(
        "index", "--kb", "films", "--input", str(write_jsonl(root / "films.jsonl", FILMS)), "--home", str(h), *HASH
    )
    assert r.returncode == 0, r.stderr
    return h


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr and len([ln for ln in lines if ln.startswith("error:")]) == 1, stderr
    assert any(ln.startswith("hint:") for ln in lines), stderr
    return next(ln for ln in lines if ln.startswith("error:"))


def _commands(root: Path) -> list[list[str]]:
    films = str(root / "films.jsonl")
    return [
        ["index", "--kb", "../hop", "--input", films, *HASH],
        ["index", "--kb", "hop/index", "--input", films, *HASH],
        ["kb", "info", "../hop"],
        ["kb", "info", "films/descriptor"],  # would have been GET /v1/kbs/films/descriptor: films' descriptor
        ["kb", "info", "../hop", "--json"],
        ["kb", "delete", "../hop", "--yes"],
        ["kb", "delete", "a b", "--yes"],
        ["ask", LONG, "--generator", "offline"],
        ["ask", LONG, "--generator", "offline", "--json"],
        ["search", "--kb", "films", LONG],
        ["route", LONG],
        ["search", "--kb", "films", "--image", str(root / "bomb.png")],
    ]


def test_errors_are_the_same_one_line_in_process_and_through_the_server(home: Path) -> None:
    root = home.parent
    png_bomb(root / "bomb.png")
    commands = _commands(root)

    def run_all() -> list[tuple[int, str, str]]:
        out = []
        for c in commands:
            r = mmroute(*c, "--home", str(home), timeout=300)
            out.append((r.returncode, mask_timings(r.stdout), mask_timings(r.stderr)))
        return out

    alone = run_all()
    with Server(home, "--lazy"):
        served = run_all()
    for c, a, s in zip(commands, alone, served):
        assert a == s, (c[:4], a, s)
    for c, (code, out, err) in zip(commands, alone):
        assert code == 2 and out == "", (c[:4], code, out, err)
        assert len(out) + len(err) < 1200, (c[:4], err)  # never the 20,000 characters back
        if "--json" in c:
            body = json.loads(err)
            assert set(body) == {"error", "hint", "exit_code"} and "\n" not in body["error"]
            continue
        line = _one_line(err)
        assert "Not Found" not in err and "/docs" not in err and "Method Not Allowed" not in err
        if "--kb" in c[:3] and c[0] == "index" or c[0] == "kb":
            assert line.startswith("error: invalid KB name"), (c[:4], err)
    ask, ask_json, search, route, bomb = (e for _, _, e in alone[-5:])
    assert ask.startswith(f"error: {LIMIT_LINE}\nhint: shorten it to at most 2,000 characters")
    assert json.loads(ask_json)["error"] == LIMIT_LINE
    assert "error: the query is 20,016 characters" in search and f"error: {LIMIT_LINE}" in route
    assert f"error: {home.parent / 'bomb.png'}: image refused as a decompression bomb" in bomb


def test_junk_is_reported_the_same_through_the_server_and_leaves_no_kb(home: Path) -> None:
    """Index jobs of the server sniff and refuse the same files, named as the caller typed them (relative here)."""
    from .junk import BINARY_NOTES, garbage_mp4, truncated_jpeg, write

    root = home.parent
    write(root / "junk" / "notes.txt", BINARY_NOTES)
    truncated_jpeg(root / "junk" / "photo.jpg")
    garbage_mp4(root / "junk" / "clip.mp4")
    png(root / "photos" / "sky.png", (40, 30))
    write(root / "photos" / "notes.txt", BINARY_NOTES)
    write(root / "photos" / "notes2.txt", BINARY_NOTES)
    truncated_jpeg(root / "photos" / "broken.jpg")
    commands = [
        ["index", "--kb", "junk", "--input", "junk", *HASH],
        ["index", "--kb", "photos", "--input", "photos", *HASH],
        ["kb", "delete", "photos", "--yes"],
        ["index", "--kb", "pics", "--input", "photos/broken.jpg", *HASH],
    ]

    def run_all() -> list[tuple[int, str, str]]:
        out = []
        for c in commands:
            r = mmroute(*c, "--home", str(home), cwd=root, timeout=300)
            out.append((r.returncode, mask_timings(r.stdout), r.stderr))
        return out

    alone = run_all()
    with Server(home, "--lazy"):
        served = run_all()
    assert alone == served
    assert [code for code, _, _ in alone] == [2, 1, 0, 2]
    junk = _one_line(alone[0][2])
    assert "junk/notes.txt: binary file" in junk and "junk/photo.jpg: corrupt image" in junk
    assert "junk/clip.mp4: cannot open as video" in junk and str(root) not in junk
    assert "skipped photos/broken.jpg: corrupt image" in alone[1][2] and "mixed modalities" not in alone[1][2]
    assert "photos/broken.jpg: corrupt image" in _one_line(alone[3][2])
    assert sorted(p.name for p in (home / "kbs").iterdir()) == ["films"]


def test_the_http_api_answers_400_with_the_same_line(home: Path) -> None:
    bomb = base64.b64encode(png_bomb(home.parent / "bomb2.png").read_bytes()).decode()
    with Server(home, "--lazy") as server:
        for method, path in (
            ("GET", "/v1/kbs/..%2Fhop"),
            ("GET", "/v1/kbs/..%2Fhop/descriptor"),
            ("DELETE", "/v1/kbs/..%2Fhop"),
            ("POST", "/v1/kbs/..%2Fhop/index"),
            ("GET", "/v1/kbs/a%20b"),
        ):
            body = {"input": "/nowhere.jsonl"} if method == "POST" else None
            status, answer = http(server.url + path, method, body)
            assert status == 400 and answer["error"].startswith("invalid KB name "), (method, path, answer)
            assert answer["hint"].startswith("use 1-64 letters") and answer["exit_code"] == 2
        status, answer = http(server.url + "/v1/nothing-here")
        assert status == 404 and answer["error"] == "Not Found"  # an unknown endpoint is still just that
        for path, body in (
            ("/v1/ask", {"question": LONG, "config": {"generator": "offline"}}),
            ("/v1/route", {"question": LONG}),
            ("/v1/search", {"kb": "films", "query": LONG}),
            ("/v1/retrieve", {"query": LONG}),
        ):
            status, answer = http(server.url + path, "POST", body)
            raw = json.dumps(answer)
            assert status == 400 and "over the 2,000 character limit" in answer["error"], (path, answer)
            assert len(raw) < 600 and LONG[:200] not in raw
        for path, body in (  # a lone surrogate escape: no tokenizer takes it (it was a 500 and a traceback)
            ("/v1/ask", {"question": "\ud800door code?", "config": {"generator": "offline"}}),
            ("/v1/route", {"question": "\ud800door code?"}),
            ("/v1/search", {"kb": "films", "query": "\ud800door code"}),
            ("/v1/retrieve", {"query": "\ud800door code"}),
        ):
            status, answer = http(server.url + path, "POST", body)
            assert status == 400 and "not valid UTF-8 text" in answer["error"], (path, answer)
        status, answer = http(server.url + "/v1/route", "POST", {"question": "Who?", "router_path": "/etc"})
        assert status == 400 and "/etc" in answer["error"], answer  # the request's path: its error, not a 503
        status, answer = http(server.url + "/v1/search", "POST", {"kb": "films", "query": "Inception", "k": True})
        assert status == 422 and answer["error"].startswith("invalid request: k:"), answer  # `true` is not 1
        status, answer = http(
            server.url + "/v1/search", "POST", {"kb": "films", "image": {"name": "holiday.png", "data_b64": bomb}}
        )
        assert status == 400 and answer["error"].startswith("holiday.png: image refused as a decompression bomb")
        log = server.stderr()
    assert "Traceback" not in log and LONG[:200] not in log


def test_the_question_limit_is_configurable(home: Path) -> None:
    """$MMROUTE_MAX_QUESTION_CHARS where the question is answered: raised, the long question is searched;
    lowered, a short one is refused (in-process here; the server reads its own environment)."""
    import os
    import subprocess
    import sys

    from tests.serve.helpers import env

    def run(*args: str, limit: str) -> subprocess.CompletedProcess:
        e = {**env(), "MMROUTE_MAX_QUESTION_CHARS": limit}
        return subprocess.run(
            [sys.executable, "-m", "mmroute", *args, "--home", str(home)],
            capture_output=True,
            text=True,
            env=e,
            timeout=300,
        )

    raised = run("search", "--kb", "films", LONG, "--k", "1", "--json", limit="30000")
    assert raised.returncode == 0, raised.stderr
    assert json.loads(raised.stdout)["hits"][0]["id"] == "f1"
    lowered = run("search", "--kb", "films", "Who directed Inception?", limit="10")
    assert lowered.returncode == 2 and "is 23 characters, over the 10 character limit" in _one_line(lowered.stderr)
    bad = run("search", "--kb", "films", "x", limit="-5")
    assert "$MMROUTE_MAX_QUESTION_CHARS must be a positive whole number" in _one_line(bad.stderr)
    assert os.environ.get("MMROUTE_MAX_QUESTION_CHARS") is None


def test_app_uploads_refuse_bombs_and_corrupt_images_and_keep_the_rest(tmp_path: Path) -> None:
    from mmroute.app.support import QUERY_IMAGE_TYPES, save_upload, save_uploads
    from mmroute.errors import InputError

    from .junk import truncated_jpeg

    bomb = png_bomb(tmp_path / "src" / "bomb.png").read_bytes()
    broken = truncated_jpeg(tmp_path / "src" / "broken.jpg").read_bytes()
    fine = png(tmp_path / "src" / "fine.png", (20, 20)).read_bytes()
    res = save_uploads(
        [("bomb.png", bomb), ("broken.jpg", broken), ("fine.png", fine), ("notes.txt", b"words")], tmp_path / "up"
    )
    assert sorted(p.name for p in res.saved) == ["fine.png", "notes.txt"]
    reasons = dict(res.rejected)
    assert "decompression bomb" in reasons["bomb.png"] and reasons["broken.jpg"].startswith(
        "'broken.jpg': corrupt image"
    )
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == ["fine.png", "notes.txt"]  # no part files left
    with pytest.raises(InputError, match="decompression bomb"):
        save_upload("q.png", bomb, tmp_path / "q", QUERY_IMAGE_TYPES, max_mb=20)


def test_a_query_of_bytes_that_are_not_utf8_is_one_line(home: Path) -> None:
    """A Latin-1 terminal's bytes reach the CLI as surrogate escapes; they were a tokenizer traceback."""
    for args in (("search", "--kb", "films", "door \udcff\udcfe code"), ("ask", "door \udcff code?", "--kb", "films")):
        r = mmroute(*args, "--home", str(home))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert _one_line(r.stderr).startswith("error: the ") and "is not valid UTF-8 text" in r.stderr
