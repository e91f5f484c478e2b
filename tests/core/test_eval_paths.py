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


def test_two_questions_with_one_id_are_refused_with_both_lines(tmp_path: Path) -> None:
    """Per-question results are keyed by id; a duplicate the file gives was accepted and its two lines read as one
    question. A record without an id is known by its line number and is not checked."""
    import json

    import pytest

    from mmroute.errors import InputError
    from mmroute.evaluation.questions import load_questions

    path = tmp_path / "q.jsonl"
    rows = [{"id": "q1", "question": "a?"}, {"question": "b?"}, {"id": "q3", "question": "c?"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [q.id for q in load_questions(path)] == ["q1", "2", "q3"]  # the control: distinct ids load
    path.write_text("".join(json.dumps(r) + "\n" for r in [*rows, {"id": "q1", "question": "d?"}]))
    with pytest.raises(InputError, match=r"q\.jsonl:4: question id 'q1' is already used on line 1"):
        load_questions(path)
    # only ids the file gives are checked: a record without one (known by its line number) is never refused
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in [*rows, {"id": "2", "question": "e?"}, {"id": None, "question": "f?"}])
    )
    assert [q.id for q in load_questions(path)] == ["q1", "2", "q3", "2", "5"]
