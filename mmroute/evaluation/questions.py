"""Reading question files (DESIGN.md §3) with line-numbered, typed errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...] | None = None
    """None when the file gives no answers; () when the question cannot be answered from the corpus."""
    gold_ids: tuple[str, ...] = ()
    route: str | None = None
    extra: dict = field(default_factory=dict)


def load_questions(path: Path) -> list[Question]:
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder, not a questions file", hint="pass a JSONL file with --questions")
    if not path.is_file():
        raise InputError(f"questions file {str(path)!r} not found", hint="pass a JSONL file with --questions")
    out: list[Question] = []
    seen: dict[str, int] = {}  # id -> the line that first used it
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{lineno}: malformed JSON ({e.msg})", hint="fix or remove that line") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("question"), str):
                raise InputError(
                    f'{path}:{lineno}: a question record needs a "question" string',
                    hint='one JSON object per line: {"id": "q1", "question": "...", "answers": [...], "gold_ids": [...]}',
                )
            answers = rec.get("answers")
            given = rec.get("id")
            qid = str(lineno) if given is None else str(given)  # a record without an id is known by its line
            if given is not None:  # results are keyed by id: two questions with one would read as one
                if qid in seen:
                    raise InputError(
                        f"{path}:{lineno}: question id {qid!r} is already used on line {seen[qid]}",
                        hint="give every question its own id",
                    )
                seen[qid] = lineno
            out.append(
                Question(
                    id=qid,
                    question=rec["question"],
                    answers=tuple(str(a) for a in answers) if isinstance(answers, list) else None,
                    gold_ids=tuple(str(g) for g in rec.get("gold_ids") or ()),
                    route=rec.get("route"),
                    extra={k: v for k, v in rec.items() if k not in {"id", "question", "answers", "gold_ids", "route"}},
                )
            )
    if not out:
        raise InputError(f"questions file {str(path)!r} holds no questions")
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
