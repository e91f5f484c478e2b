"""A benchmark's ``--out`` takes a folder or a ``.json`` file (a folder once ended a 15-minute run unwritten)."""

from __future__ import annotations

from pathlib import Path

from evals.paths import report_path, write_result


def test_out_is_a_folder_or_a_json_file(tmp_path: Path) -> None:
    assert report_path(tmp_path, "bench_answers.json") == tmp_path / "bench_answers.json"
    assert report_path(tmp_path / "mine.json", "bench_answers.json") == tmp_path / "mine.json"
    written = write_result(tmp_path / "results", "bench_x.json", {"a": 1})
    assert written == tmp_path / "results" / "bench_x.json" and written.read_text() == '{\n  "a": 1\n}\n'


def test_a_folder_given_as_the_questions_file_is_called_a_folder(tmp_path: Path) -> None:
    """`eval answers --questions DIR` said the questions file was "not found" though the path exists."""
    import pytest

    from mmroute.errors import InputError
    from mmroute.evaluation.questions import load_questions

    with pytest.raises(InputError, match="is a folder, not a questions file"):
        load_questions(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_questions(tmp_path / "missing.jsonl")
