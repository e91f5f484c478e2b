"""mmroute.corpora.hotpotqa: official distractor JSON -> pooled paragraphs + questions with gold ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmroute.corpora.base import CorpusError
from mmroute.corpora.hotpotqa import convert, main

RECORDS = [
    {
        "_id": "q1",
        "question": "Which album was Nobody Loves You released on?",
        "answer": "Walls and Bridges",
        "type": "bridge",
        "level": "easy",
        "supporting_facts": [["Nobody Loves You", 0], ["Walls and Bridges", 0], ["Nobody Loves You", 1]],
        "context": [
            ["Nobody Loves You", ["Nobody Loves You is a song.", " It is on Walls and Bridges."]],
            ["Walls and Bridges", ["Walls and Bridges is an album by John Lennon."]],
            ["Imagine", ["Imagine is a song."]],
        ],
    },
    {
        "_id": "q2",
        "question": "Are Imagine and Mind Games both songs?",
        "answer": "yes",
        "type": "comparison",
        "level": "hard",
        "supporting_facts": [["Imagine", 0], ["Mind Games", 0]],
        "context": [["Imagine", ["Imagine is a song (other copy)."]], ["Mind Games", ["Mind Games is a song."]]],
    },
    {
        "_id": "q3",
        "question": "Broken record?",
        "answer": "x",
        "supporting_facts": [["Missing", 0]],
        "context": [["Mind Games", ["dup"]]],
    },
]


def test_convert_pools_dedupes_and_keeps_gold(tmp_path: Path) -> None:
    src = tmp_path / "hotpot.json"
    src.write_text(json.dumps(RECORDS), encoding="utf-8")
    rep = convert(src, tmp_path / "out")
    corpus = [json.loads(x) for x in rep.corpus.read_text(encoding="utf-8").splitlines()]
    questions = [json.loads(x) for x in rep.questions_path.read_text(encoding="utf-8").splitlines()]
    assert [c["id"] for c in corpus] == [
        "hotpot/Nobody Loves You",
        "hotpot/Walls and Bridges",
        "hotpot/Imagine",
        "hotpot/Mind Games",
    ]
    assert corpus[0]["text"] == "Nobody Loves You is a song. It is on Walls and Bridges."
    assert corpus[2]["text"] == "Imagine is a song."  # first copy of a title wins
    assert (rep.paragraphs, rep.questions, rep.skipped) == (4, 2, 1)
    assert questions[0] == {
        "id": "q1",
        "question": RECORDS[0]["question"],
        "answers": ["Walls and Bridges"],
        "gold_ids": ["hotpot/Nobody Loves You", "hotpot/Walls and Bridges"],
        "dataset": "hotpotqa",
        "type": "bridge",
        "level": "easy",
    }
    assert questions[1]["gold_ids"] == ["hotpot/Imagine", "hotpot/Mind Games"]
    assert convert(src, tmp_path / "out2", limit=1).questions == 1


def test_bad_inputs_raise_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CorpusError):
        convert(tmp_path / "missing.json", tmp_path / "o")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data": []}), encoding="utf-8")
    with pytest.raises(CorpusError, match="expected a JSON list"):
        convert(bad, tmp_path / "o")
    assert main(["--input", str(bad), "--out-dir", str(tmp_path / "o")]) == 2
    assert "error:" in capsys.readouterr().err
