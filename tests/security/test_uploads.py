"""Uploads: a file name can never leave the upload folder; only allowed types and sizes are written."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmroute.app.support import (
    INDEX_UPLOAD_TYPES,
    QUERY_IMAGE_TYPES,
    sanitize_filename,
    save_upload,
    save_uploads,
    uploads_dir,
)
from mmroute.errors import InputError
from mmroute.kb import Home

SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

hostile_parts = st.sampled_from(
    [
        "..",
        ".",
        "/",
        "\\",
        "../",
        "..\\",
        "/etc/passwd",
        "C:\\Windows\\",
        "~",
        "$HOME",
        "\x00",
        "%2e%2e%2f",
        "..%2f",
        "\u2215",
        "\uff0e\uff0e",
        "\u202e",
        " ",
        "\n",
        ".hidden",
        "CON",
        "a" * 300,
        "x.jsonl",
        ".png",
        "évidence.txt",
        "file:///x",
    ]
)
names = st.lists(st.one_of(hostile_parts, st.text(max_size=20)), min_size=1, max_size=6).map("".join)


@SETTINGS
@given(name=names)
def test_sanitized_name_is_one_plain_component(name: str) -> None:
    try:
        safe = sanitize_filename(name)
    except InputError:
        return
    assert safe and len(safe) <= 120
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and safe not in (".", "..")
    assert safe.isascii() and all(c.isalnum() or c in "._-" for c in safe)
    assert sanitize_filename(safe) == safe  # idempotent


@SETTINGS
@given(name=names, data=st.binary(max_size=64), kind=st.sampled_from(["index", "query"]))
def test_saved_upload_stays_inside_the_folder(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    tmp_path = tmp_path / uuid.uuid4().hex  # hypothesis reuses tmp_path across examples
    folder = tmp_path / "home" / "uploads" / "kb"
    allowed = INDEX_UPLOAD_TYPES if kind == "index" else QUERY_IMAGE_TYPES
    before = {p for p in tmp_path.rglob("*")}
    try:
        target = save_upload(name, data, folder, allowed, max_mb=1)
    except InputError as e:
        assert e.message
        assert {p for p in tmp_path.rglob("*") if p.is_file()} <= before  # nothing written on refusal
        return
    assert target.parent == folder.resolve()
    assert target.read_bytes() == data
    assert target.suffix.lstrip(".").lower() in allowed
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert written == {target}  # no temp file left behind, nothing written elsewhere


def test_symlinked_upload_name_cannot_redirect_the_write(tmp_path: Path) -> None:
    """Even if an attacker planted a symlink named like the upload, the file goes into the folder."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    os.symlink(outside, folder / "notes.txt")
    try:
        target = save_upload("notes.txt", b"new", folder, INDEX_UPLOAD_TYPES, max_mb=1)
    except InputError as e:  # refusing is fine too
        assert "outside the upload folder" in e.message
    else:
        assert target.parent == folder.resolve() and not target.is_symlink() and target.read_bytes() == b"new"
    assert outside.read_text() == "precious"


@pytest.mark.parametrize(
    "name", ["run.sh", "x.exe", "page.html", "evil.py", "archive.zip", "noext", "x.jsonl.exe", "x.svg", "x.PHP"]
)
def test_disallowed_types_are_refused(tmp_path: Path, name: str) -> None:
    res = save_uploads([(name, b"data")], tmp_path / "up")
    assert res.saved == [] and res.rejected and "not accepted" in res.rejected[0][1]


def test_oversized_upload_is_refused_and_others_kept(tmp_path: Path) -> None:
    res = save_uploads([("big.jsonl", b"x" * (1024 * 1024 + 1)), ("ok.jsonl", b"{}")], tmp_path / "up", max_mb=1)
    assert [p.name for p in res.saved] == ["ok.jsonl"]
    assert res.rejected[0][0] == "big.jsonl" and "over the 1 MB limit" in res.rejected[0][1]


def test_query_images_only_accept_images(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not accepted"):
        save_upload("q.mp4", b"x", tmp_path, QUERY_IMAGE_TYPES, max_mb=20)


@SETTINGS
@given(purpose=names)
def test_upload_dir_per_kb_stays_under_home_uploads(tmp_path: Path, purpose: str) -> None:
    home = Home(tmp_path / "home")
    try:
        d = uploads_dir(home, purpose)
    except InputError:
        return
    assert d.parent == home.root / "uploads" and d.name not in ("", ".", "..")
