"""Hostile content through the real CLI (subprocesses, real files): binary files whatever their extension,
corrupt images and videos, decompression bombs, and runs that index nothing. Each is refused by file name in
one line that says what is wrong; nothing good is lost; a run that indexes nothing leaves no KB behind."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from tests.reliability.cli import assert_one_line_error, cli_env, index_args, mmroute, write_texts

from .junk import BINARY_NOTES, garbage_mp4, noise_jpeg, png, png_bomb, truncated_jpeg, write


def _kbs(home: Path) -> list[str]:
    """Every entry of the home's KB folder: a run that made nothing leaves nothing, not even an empty folder."""
    folder = home / "kbs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _skipped(stderr: str) -> dict[str, str]:
    """``{file name: reason}`` of the ``skipped PATH: reason`` lines of an index run."""
    out = {}
    for line in stderr.splitlines():
        if line.strip().startswith("skipped "):
            where, _, why = line.strip()[len("skipped ") :].partition(": ")
            out[Path(where).name] = why
    return out


def test_a_folder_of_junk_creates_no_kb_and_names_every_file(tmp_path: Path) -> None:
    """The reported folder: a binary notes.txt, a corrupt .jpg and a garbage .mp4. It was indexed as a text KB
    of one item ("\\x00\\x01\\x02binary") with the .jpg and .mp4 called "mixed modalities"."""
    junk = tmp_path / "junk"
    write(junk / "notes.txt", BINARY_NOTES)
    truncated_jpeg(junk / "photo.jpg")
    garbage_mp4(junk / "clip.mp4")
    home = tmp_path / "home"
    res = mmroute(*index_args("junk", junk), home=home)
    assert_one_line_error(res)
    assert res.returncode == 2
    error = next(ln for ln in res.stderr.splitlines() if ln.startswith("error:"))
    assert "junk/notes.txt: binary file" in error
    assert "junk/photo.jpg: corrupt image" in error and "truncated" in error
    assert "junk/clip.mp4: cannot open as video" in error and "corrupt" in error
    assert "no KB was created" in error and "mixed modalities" not in res.stderr
    assert _kbs(home) == []
    listed = mmroute("kb", "list", "--json", home=home)
    assert listed.returncode == 0 and json.loads(listed.stdout)["kbs"] == []


def test_binary_files_are_refused_whatever_their_extension_and_the_text_is_kept(tmp_path: Path) -> None:
    src = write_texts(tmp_path / "src", 2)
    write(src / "notes.txt", BINARY_NOTES)
    write(src / "readme.md", b"# title\n\n" + bytes(range(256)) * 8)  # NUL bytes after a text start
    write(src / "records.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n" * 20)  # an image renamed .jsonl
    write(src / "mixed.jsonl", b'{"id": "a", "text": "a good record"}\n{"id": "b", "text": "\x00\x01"}\n')
    write(src / "latin.txt", "café crème brûlée".encode("latin-1"))  # not UTF-8, said so (not "binary" only)
    write(src / "ansi.md", bytes([7, 8, 1, 2, 3, 4, 5, 6, 14, 15, 16]) * 50)  # control characters, no NUL
    home = tmp_path / "home"
    res = mmroute(*index_args("notes", src, "--json"), home=home)
    assert res.returncode == 1, res.stderr  # something was skipped, the good files indexed
    assert "Traceback" not in res.stderr
    report = json.loads(res.stdout)["reports"][0]
    reasons = {Path(p["source"]).name: p["message"] for p in report["problems"]}
    assert set(reasons) == {"notes.txt", "readme.md", "records.jsonl", "mixed.jsonl", "latin.txt", "ansi.md"}
    assert [p["line"] for p in report["problems"] if p["source"].endswith("mixed.jsonl")] == [2]  # line 1 kept
    for name in ("notes.txt", "readme.md", "records.jsonl"):
        assert reasons[name].startswith("binary file, not UTF-8 text"), reasons
    assert "not UTF-8 text" in reasons["latin.txt"] and "save it as UTF-8" in reasons["latin.txt"]
    assert "control characters" in reasons["ansi.md"]
    assert report["count"] == 3  # doc0.txt and doc1.txt (a paragraph each) and record "a"
    found = mmroute("search", "--kb", "notes", "binary", "--k", "10", "--json", home=home)
    texts = [h["item"]["text"] for h in json.loads(found.stdout)["hits"]]
    assert len(texts) == 3 and not any("\x00" in t or "\x01" in t for t in texts)


def test_corrupt_media_are_reported_as_corrupt_and_do_not_decide_the_modality(tmp_path: Path) -> None:
    """Two good images beside a binary .txt, a truncated .jpg and a garbage .mp4: an image KB of the two, each
    bad file named with why; no "mixed modalities" (junk is not a modality)."""
    folder = tmp_path / "photos"
    png(folder / "sky.png", (40, 30))
    noise_jpeg(folder / "noise.jpg", (40, 30))
    write(folder / "notes.txt", BINARY_NOTES)
    write(folder / "notes2.txt", BINARY_NOTES)  # two text files outnumber the good images, yet are junk
    write(folder / "notes3.txt", BINARY_NOTES)
    truncated_jpeg(folder / "broken.jpg")
    garbage_mp4(folder / "clip.mp4")
    home = tmp_path / "home"
    res = mmroute(*index_args("photos", folder), home=home)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "mixed modalities" not in res.stderr
    assert "photos: 2 indexed" in res.stdout and "(image)" in res.stdout
    skipped = _skipped(res.stderr)
    assert set(skipped) == {"notes.txt", "notes2.txt", "notes3.txt", "broken.jpg", "clip.mp4"}, res.stderr
    assert skipped["broken.jpg"].startswith("corrupt image") and "truncated" in skipped["broken.jpg"]
    assert "corrupt" in skipped["clip.mp4"] and skipped["notes.txt"].startswith("binary file")
    assert _kbs(home) == ["photos"]


def test_corrupt_media_alone_are_reported_by_name_and_leave_no_kb(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for name, make in (("broken.jpg", truncated_jpeg), ("clip.mp4", garbage_mp4)):
        src = make(tmp_path / "in" / name)
        res = mmroute(*index_args("media", src), home=home)
        assert_one_line_error(res, what=name)
        error = next(ln for ln in res.stderr.splitlines() if ln.startswith("error:"))
        assert f"{src}: " in error and "corrupt" in error and "was not created" in error, error
        assert "JSONL" not in res.stderr  # the hint is about media here, not text records
    assert _kbs(home) == []


def _limit_memory() -> None:
    # 2 GB of address space: a 50000 x 50000 image needs 7.5 GB to decode. Indexing one small image reserves a
    # peak of 1.46 GB of it (models, thread stacks, the store's maps); under 1 GB, Qdrant Edge's map failed about
    # one run in twelve, with an out-of-memory error that had nothing to do with the bomb
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_a_png_bomb_is_refused_from_its_header_within_a_memory_bound(tmp_path: Path) -> None:
    folder = tmp_path / "bombs"
    png_bomb(folder / "bomb.png")
    png(folder / "fine.png", (32, 32))
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "mmroute", *index_args("pics", folder), "--home", str(home)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=cli_env(), preexec_fn=_limit_memory)
    assert res.returncode == 1, res.stderr  # the bomb skipped, the good image indexed, in 2 GB
    assert "Traceback" not in res.stderr and "MemoryError" not in res.stderr
    assert "pics: 1 indexed" in res.stdout
    assert "decompression bomb" in _skipped(res.stderr)["bomb.png"]
    alone = subprocess.run(
        [sys.executable, "-m", "mmroute", *index_args("bomb", folder / "bomb.png"), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
        preexec_fn=_limit_memory,
    )
    assert_one_line_error(alone)
    assert (
        "bomb.png" in alone.stderr
        and "decompression bomb" in alone.stderr
        and "$MMROUTE_MAX_IMAGE_PIXELS" in alone.stderr
    )
    assert _kbs(home) == ["pics"]


def test_the_pixel_limit_is_configurable_and_checked_before_decoding(tmp_path: Path) -> None:
    """A genuine 3000 x 2000 PNG is over a lowered $MMROUTE_MAX_IMAGE_PIXELS (1 megapixel): refused by name from its
    header, as an index source and as a query image; under the default limit it indexes."""
    big = png(tmp_path / "in" / "big.png", (3000, 2000))
    home = tmp_path / "home"
    low = cli_env(MMROUTE_MAX_IMAGE_PIXELS="1000000")
    res = mmroute(*index_args("big", big), home=home, env=low)
    assert_one_line_error(res)
    assert "big.png: image is 3000x2000 (6 megapixels), over the 1 megapixel limit" in res.stderr
    assert _kbs(home) == []
    ok = mmroute(*index_args("big", big), home=home)
    assert ok.returncode == 0, ok.stderr
    query = mmroute("search", "--kb", "big", "--image", big, home=home, env=low)
    assert_one_line_error(query)
    assert f"error: {big}: image is 3000x2000" in query.stderr
    bad = mmroute("kb", "list", home=home, env=cli_env(MMROUTE_MAX_IMAGE_PIXELS="lots"))
    assert bad.returncode == 0  # the limit is read only where an image is opened
    bad = mmroute("search", "--kb", "big", "--image", big, home=home, env=cli_env(MMROUTE_MAX_IMAGE_PIXELS="lots"))
    assert_one_line_error(bad)
    assert "$MMROUTE_MAX_IMAGE_PIXELS must be a positive whole number" in bad.stderr


def test_an_unusable_encoder_option_leaves_no_kb_folder(tmp_path: Path) -> None:
    src = write_texts(tmp_path / "src", 1)
    home = tmp_path / "home"
    said = {}
    for option in ("dim=0", 'dim="big"'):
        res = mmroute(
            "index", "--kb", "t", "--input", src, "--encoder", "hashing", "--encoder-option", option, home=home
        )
        assert_one_line_error(res, what=option)
        said[option] = res.stderr
    assert "hashing encoder's dim must be a whole number of at least 8" in said["dim=0"]
    assert "option dim takes a number, not 'big'" in said['dim="big"'] and "dim=512" in said['dim="big"']
    res = mmroute("index", "--kb", "t", "--input", src, "--encoder", "nosuch", home=home)
    assert_one_line_error(res)
    assert _kbs(home) == []
