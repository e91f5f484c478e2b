"""Bad input everywhere: property-based tests over the loaders, the TOML config and the CLI arguments.

Every input must end in a typed outcome: items, :class:`~mmroute.loaders.base.LoadProblem` reports,
or an :class:`~mmroute.errors.MMRouteError` subclass — never another exception, a hang (each example
runs under a wall-clock alarm) or unbounded memory (huge inputs meet size limits with a clear message).
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmroute.errors import ConfigError, ItemError
from mmroute.loaders.base import LoadProblem, LoadResult
from mmroute.loaders.images import ImageLoader
from mmroute.loaders.subtitles import MAX_SUBTITLE_BYTES, parse_subtitle_text, parse_subtitles
from mmroute.loaders.text import JsonlLoader, PlainTextLoader
from mmroute.loaders.video import VideoLoader
from mmroute.types import Granularity

from .media import write_video

SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], derandomize=True
)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the body runs longer than ``seconds``."""

    def boom(*_: object) -> None:
        raise TimeoutError(f"no result after {seconds}s: the input made the code hang")

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _check_result(res: LoadResult) -> None:
    assert isinstance(res, LoadResult)
    assert all(isinstance(p, LoadProblem) and p.message for p in res.problems)
    assert all(it.id for it in res.items)


# ---------------------------------------------------------------------------------------------- JSONL
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(["id", "text", "title", "doc_id", "extra"]), json_values, max_size=5)
jsonl_lines = st.one_of(
    records.map(lambda r: json.dumps(r).encode()),
    st.binary(max_size=80),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@SETTINGS
@given(
    lines=st.lists(jsonl_lines, max_size=12),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    gran=st.sampled_from(
        [[Granularity.PARAGRAPH], [Granularity.DOCUMENT], [Granularity.PARAGRAPH, Granularity.DOCUMENT]]
    ),
)
def test_jsonl_loader_never_raises(tmp_path: Path, lines: list[bytes], newline: bytes, gran: list[Granularity]) -> None:
    p = tmp_path / "c.jsonl"
    p.write_bytes(newline.join(lines))
    with time_limit(10):
        res = JsonlLoader().load(p, gran)
    _check_result(res)
    paragraphs = [it for it in res.items if it.kind is Granularity.PARAGRAPH]
    assert len({it.id for it in paragraphs}) == len(paragraphs)  # ids unique
    assert all(it.text.strip() for it in res.items)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_plaintext_loader_never_raises(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "notes.md"
    p.write_bytes(data)
    with time_limit(10):
        _check_result(PlainTextLoader().load(p, [Granularity.PARAGRAPH, Granularity.DOCUMENT], root=tmp_path))


# ---------------------------------------------------------------------------------------------- subtitles
timestamps = st.builds(
    lambda h, m, s, ms, sep: f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}",
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
    st.sampled_from([",", "."]),
)
cue_lines = st.one_of(
    st.builds(lambda a, b: f"{a} --> {b}", timestamps, timestamps),
    st.integers(0, 10**6).map(str),
    st.text(max_size=40),
    st.just(""),
    st.just("WEBVTT"),
    st.just("NOTE x"),
    st.builds(lambda a: f"{a} --> ", timestamps),
    st.just("<i>styled</i> {\\an8}"),
)


@SETTINGS
@given(lines=st.lists(cue_lines, max_size=30), eol=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_subtitle_parser_never_raises(lines: list[str], eol: str, bom: bool) -> None:
    text = ("\ufeff" if bom else "") + eol.join(lines)
    with time_limit(10):
        cues, problems = parse_subtitle_text(text, "x.srt")
    assert all(c.end_s >= c.start_s and c.text for c in cues)
    assert [c.start_s for c in cues] == sorted(c.start_s for c in cues)
    assert all(isinstance(p, LoadProblem) for p in problems)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_subtitle_file_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "x.vtt"
    p.write_bytes(data)
    with time_limit(10):
        cues, problems = parse_subtitles(p)
    assert cues or problems


# ---------------------------------------------------------------------------------------------- images
def _image_bytes(fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


VALID_IMAGES = {
    ext: _image_bytes(fmt)
    for ext, fmt in [("png", "PNG"), ("jpg", "JPEG"), ("gif", "GIF"), ("webp", "WEBP"), ("bmp", "BMP"), ("tif", "TIFF")]
}


@st.composite
def mutated(draw: st.DrawFn, seeds: dict[str, bytes]) -> tuple[str, bytes]:
    ext = draw(st.sampled_from(sorted(seeds)))
    data = bytearray(seeds[ext])
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[i : i + draw(st.integers(1, 16))]
    return ext, bytes(data)


image_inputs = st.one_of(
    mutated(VALID_IMAGES), st.tuples(st.sampled_from(sorted(VALID_IMAGES)), st.binary(max_size=200))
)


@SETTINGS
@given(case=image_inputs)
def test_image_loader_and_decoder_only_typed_errors(tmp_path: Path, case: tuple[str, bytes]) -> None:
    from mmroute.encoders.image import load_image

    ext, data = case
    p = tmp_path / f"x.{ext}"
    p.write_bytes(data)
    with time_limit(10):
        res = ImageLoader().load(p, [Granularity.IMAGE], root=tmp_path)
        _check_result(res)
        assert len(res.items) + len(res.problems) >= 1
        try:
            img = load_image(p)
            assert img.mode == "RGB" and img.size[0] > 0
        except ItemError as e:
            assert str(p) in e.message


def test_image_decompression_bomb_is_refused_without_decoding(tmp_path: Path) -> None:
    """A PNG header claiming 40000 x 40000 pixels (6.4 GB as RGBA) is refused from its header."""
    import struct
    import zlib

    from mmroute.encoders.image import load_image

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    def png(w: int, h: int) -> bytes:
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + chunk(b"IEND", b"")
        )

    p = tmp_path / "bomb.png"
    p.write_bytes(png(40000, 40000))
    res = ImageLoader().load(p, [Granularity.IMAGE], root=tmp_path)
    assert not res.items and "decompression bomb" in res.problems[0].message
    with pytest.raises(ItemError, match="decompression bomb"):
        load_image(p)
    p.write_bytes(png(3000, 3000))  # under Pillow's limit, over a configured one
    res = ImageLoader(max_pixels=4_000_000).load(p, [Granularity.IMAGE], root=tmp_path)
    assert not res.items and "megapixel limit" in res.problems[0].message
    with pytest.raises(ItemError, match="megapixel limit"):
        load_image(p, max_pixels=4_000_000)


# ---------------------------------------------------------------------------------------------- video
@pytest.fixture(scope="module")
def valid_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_video(tmp_path_factory.mktemp("v") / "ok.mp4", seconds=3, fps=4).read_bytes()


@SETTINGS
@given(data=st.data())
def test_video_loader_only_load_problems(tmp_path: Path, valid_mp4: bytes, data: st.DataObject) -> None:
    ext, blob = data.draw(
        st.one_of(
            mutated({"mp4": valid_mp4, "mkv": valid_mp4}),
            st.tuples(st.sampled_from(["mp4", "webm", "avi"]), st.binary(max_size=300)),
        )
    )
    p = tmp_path / f"x.{ext}"
    p.write_bytes(blob)
    with time_limit(20):
        res = VideoLoader(clip_seconds=1, clip_overlap=0).load(p, [Granularity.CLIP, Granularity.VIDEO], root=tmp_path)
    _check_result(res)
    assert res.items or res.problems
    for it in res.items:
        assert it.start_s is not None and it.end_s is not None and 0 <= it.start_s <= it.end_s <= 24 * 3600


# ---------------------------------------------------------------------------------------------- huge inputs
_PEAK = r"""
import json, resource, sys
from pathlib import Path
from mmroute.loaders.text import JsonlLoader
from mmroute.types import Granularity
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
res = JsonlLoader().load(Path(sys.argv[1]), [Granularity.PARAGRAPH])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_mb": (after - before) / 1024, "items": len(res.items), "problems": [str(p) for p in res.problems]}))
"""


def test_huge_jsonl_line_uses_bounded_memory(tmp_path: Path) -> None:
    """A 400 MB record (a file with no newline) is refused with bounded memory; the next records load."""
    p = tmp_path / "huge.jsonl"
    with open(p, "wb") as f:
        f.write(b'{"id": "big", "text": "')
        f.seek(400 * 1024**2)  # sparse: no disk used
        f.write(b'"}\n{"id": "ok", "text": "small"}\n')
    out = subprocess.run([sys.executable, "-c", _PEAK, str(p)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r["items"] == 1 and "character limit" in r["problems"][0]
    assert r["grew_mb"] < 100, f"loading a 400 MB line grew memory by {r['grew_mb']:.0f} MB"


def test_huge_subtitle_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    p = tmp_path / "big.srt"
    with open(p, "wb") as f:
        f.truncate(MAX_SUBTITLE_BYTES + 1)
    cues, problems = parse_subtitles(p)
    assert not cues and "MB limit" in problems[0].message


def test_huge_caption_sidecar_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.png"
    p.write_bytes(VALID_IMAGES["png"])
    with open(p.with_suffix(".txt"), "wb") as f:
        f.truncate(200 * 1024**2)
    res = ImageLoader().load(p, [Granularity.IMAGE], root=tmp_path)
    assert len(res.items) == 1 and "caption sidecar unreadable: over" in res.problems[0].message


# ---------------------------------------------------------------------------------------------- TOML config
toml_values = st.one_of(
    st.integers(-5, 50).map(str),
    st.sampled_from(["true", "false", "1.5", "[]", '["a", 1]', "{}", "{url = 3}", '"x"', '"openai"', '"single"']),
    st.text(max_size=10).map(json.dumps),
)
toml_keys = st.sampled_from(
    [
        "generator",
        "generator_options",
        "retriever",
        "retriever_options",
        "router",
        "k",
        "kbs",
        "verify",
        "dual_path",
        "policy_path",
        "endpoint",
        "pipeline",
        "bogus",
    ]
)


@SETTINGS
@given(
    pairs=st.lists(st.tuples(toml_keys, toml_values), max_size=6),
    junk=st.text(max_size=20),
    table=st.sampled_from(["", "[endpoint]\n", "[pipeline]\n", "[generator_options]\n"]),
)
def test_toml_config_only_config_errors(tmp_path: Path, pairs: list[tuple[str, str]], junk: str, table: str) -> None:
    from mmroute.config import PipelineConfig

    text = table + "\n".join(f"{k} = {v}" for k, v in dict(pairs).items()) + ("\n" + junk if junk else "")
    p = tmp_path / "mmroute.toml"
    p.write_bytes(text.encode("utf-8", "replace"))
    try:
        cfg = PipelineConfig.from_toml(p)
    except ConfigError as e:
        assert e.message
        return
    assert isinstance(cfg.k, int) and cfg.k >= 1 and all(isinstance(k, str) for k in cfg.kbs)
    assert PipelineConfig.from_dict(cfg.to_dict()) == cfg


def test_config_file_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    from mmroute.config import PipelineConfig

    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00k = 1")
    for path in (tmp_path / "bin.toml", tmp_path, tmp_path / "missing.toml"):
        with pytest.raises(ConfigError):
            PipelineConfig.from_toml(path)


# ---------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    from mmroute.indexer import Indexer
    from mmroute.kb import Home
    from mmroute.types import EncoderSpec

    tmp = tmp_path_factory.mktemp("cli")
    good = tmp / "good.jsonl"
    good.write_text(
        "".join(json.dumps({"id": f"p{i}", "text": f"paragraph {i} about rivers"}) + "\n" for i in range(20))
    )
    bad = tmp / "bad.jsonl"
    bad.write_bytes(b"\x00\xff{not json\n")
    qs = tmp / "q.jsonl"
    qs.write_text(json.dumps({"id": "q1", "question": "rivers?", "gold_ids": ["p1"]}) + "\n{broken\n")
    imgs = tmp / "imgs"
    imgs.mkdir()
    (imgs / "a.png").write_bytes(VALID_IMAGES["png"])
    (imgs / "b.jpg").write_bytes(b"not an image")
    home = tmp / "home"
    Indexer(Home(home)).index("kb", good, encoder=EncoderSpec("hashing", {"dim": 32}))
    return home, {
        "good": good,
        "bad": bad,
        "qs": qs,
        "imgs": imgs,
        "missing": tmp / "nope.jsonl",
        "out": tmp / "out.jsonl",
        "out_in_no_folder": tmp / "no-such-folder" / "out.jsonl",
    }


words = st.one_of(
    st.sampled_from(
        [
            "kb",
            "kb2",
            "",
            "-",
            "--",
            "../x",
            "a" * 80,
            "0",
            "-1",
            "1e9",
            "nan",
            "{}",
            "x=1",
            "k=[1,2",
            "hashing",
            "edge",
            "faiss",
            "qdrant",
            "text",
            "image",
            "video",
            "both",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def cli_args(draw: st.DrawFn, files: dict[str, Path]) -> list[str]:
    command = draw(
        st.sampled_from(
            [
                ["index"],
                ["kb", "list"],
                ["kb", "info"],
                ["kb", "delete"],
                ["search"],
                ["eval", "retrieval"],
                ["kb"],
                ["eval"],
                ["nonsense"],
            ]
        )
    )
    opts = [
        "--kb",
        "--input",
        "--modality",
        "--granularity",
        "--encoder",
        "--encoder-option",
        "--store",
        "--store-option",
        "--clip-seconds",
        "--clip-overlap",
        "--k",
        "--questions",
        "--out",
        "--json",
        "--stepwise",
        "--description",
        "--bogus",
        "-h",
    ]
    args = list(command)
    for _ in range(draw(st.integers(0, 6))):
        opt = draw(st.sampled_from(opts))
        if opt in ("--input", "--questions", "--out"):
            val = str(files[draw(st.sampled_from(sorted(files)))])
        else:
            val = draw(words)
        args += [opt] if opt in ("--json", "--stepwise", "-h") else [opt, val]
    if draw(st.booleans()):
        args.append(draw(words))
    return args


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True)
@given(data=st.data())
def test_cli_arguments_give_typed_errors_only(cli_home: tuple[Path, dict[str, Path]], data: st.DataObject) -> None:
    from mmroute.cli.main import cli

    home, files = cli_home
    args = data.draw(cli_args(files)) + ["--home", str(home)]
    with time_limit(60):
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"mmroute {' '.join(args)} crashed: {result.exception!r}") from result.exception
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output
    if result.exit_code == 2 and result.output:
        assert "error" in result.output.lower() or "usage" in result.output.lower()


@pytest.mark.parametrize("command", [["eval", "retrieval"], ["eval", "answers", "--no-verify"]])
def test_an_out_file_in_a_missing_folder_is_refused_before_any_work(
    cli_home: tuple[Path, dict[str, Path]], command: list[str]
) -> None:
    """Both evaluations ran every question and then died with a FileNotFoundError traceback at the first write."""
    from mmroute.cli.main import cli

    home, files = cli_home
    out = files["out_in_no_folder"]
    args = [*command, "--kb", "kb", "--questions", str(files["good"]), "--out", str(out), "--home", str(home)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert f"the folder {out.parent} does not exist" in result.output and "mkdir -p" in result.output
    assert "Traceback" not in result.output and not out.parent.exists()


def test_eval_retrieval_says_when_no_gold_id_is_an_item_of_the_kb(cli_home: tuple[Path, dict[str, Path]]) -> None:
    """Paragraph gold ids asked of a document KB printed recall 0.0% everywhere without a word on why."""
    from mmroute.cli.main import cli

    home, files = cli_home
    strangers = files["qs"].with_name("strangers.jsonl")
    strangers.write_text(json.dumps({"id": "q1", "question": "rivers?", "gold_ids": ["squad2/Normans/0"]}) + "\n")
    known = files["qs"].with_name("known.jsonl")
    known.write_text(json.dumps({"id": "q1", "question": "rivers?", "gold_ids": ["p1"]}) + "\n")
    for questions, noted in ((strangers, True), (known, False)):
        args = ["eval", "retrieval", "--kb", "kb", "--questions", str(questions), "--home", str(home)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert ("note: none of the 1 gold ids" in result.output) is noted, result.output
        assert ("every recall will be 0" in result.output) is noted


def test_eval_answers_without_kb_is_routed_as_ask_is(cli_home: tuple[Path, dict[str, Path]]) -> None:
    """--kb was required, so a routed end-to-end evaluation could not be run from the command line."""
    from mmroute.cli.main import cli

    home, files = cli_home
    questions = files["qs"].with_name("routed.jsonl")
    questions.write_text(
        json.dumps({"id": "q1", "question": "Which paragraph is about rivers?", "answers": ["x"]}) + "\n"
    )
    args = ["eval", "answers", "--questions", str(questions), "--no-verify", "--generator", "offline", "--json"]
    result = CliRunner().invoke(cli, [*args, "--home", str(home)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n"] == 1 and report["config"]["kbs"] == []
