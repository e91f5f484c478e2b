"""A ``data.json`` in an indexed folder is not read: the indexer says so in one line (stderr for the CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.loaders.detect import ignored_json
from mmroute.types import EncoderSpec


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "films.jsonl").write_text(
        json.dumps({"id": "f1", "text": "Inception is a film by Christopher Nolan."}) + "\n"
    )
    (folder / "data.json").write_text(json.dumps([{"id": "x", "text": "never read"}]))
    (folder / "photo.jpg").write_bytes(b"")  # its sidecar photo.json is read as captions: no note for it
    (folder / "photo.json").write_text(json.dumps({"caption": "a cat"}))
    (folder / "captions.json").write_text("{}")
    return folder


def test_only_unread_json_files_are_reported(tmp_path: Path) -> None:
    assert [p.name for p in ignored_json(_folder(tmp_path))] == ["data.json"]


def test_the_report_carries_a_one_line_note(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (report,) = Indexer(Home(tmp_path / "home")).index(
        "films", folder, modality="text", encoder=EncoderSpec("hashing", {"dim": 64})
    )
    assert report.indexed == 1
    assert len(report.notes) == 1 and "\n" not in report.notes[0]
    assert str(folder / "data.json") in report.notes[0] and ".jsonl" in report.notes[0]
    assert report.to_dict()["notes"] == report.notes


def test_the_cli_prints_the_note_on_stderr(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MMROUTE_NO_SERVER": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmroute",
            "index",
            "--kb",
            "films",
            "--input",
            str(folder),
            "--modality",
            "text",
            "--encoder",
            "hashing",
            "--encoder-option",
            "dim=64",
            "--home",
            str(tmp_path / "home"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 1 and "data.json is not indexed" in notes[0] and ".jsonl" in notes[0], r.stderr


def test_a_folder_with_only_a_json_file_says_why(tmp_path: Path) -> None:
    import pytest

    from mmroute.errors import InputError

    folder = tmp_path / "only"
    folder.mkdir()
    (folder / "data.json").write_text("[]")
    with pytest.raises(InputError, match="data.json is JSON, not JSON Lines"):
        Indexer(Home(tmp_path / "home")).index("x", folder)
