"""Answer evaluation: truthfulness (+1 correct, 0 "I don't know", -1 wrong) over a question file.

An answer is correct when it matches a gold answer after SQuAD normalisation, or contains one with at
most five extra words; answering a question whose ``answers`` list is empty (unanswerable from the
corpus) is wrong. Questions without an ``answers`` field are answered and written but not scored.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..generation.textutil import answer_matches
from ..types import Answer
from .questions import Question, percentile


@dataclass
class AnswerEvalResult:
    aggregates: dict[str, Any]


def score_answer(answer: str | None, abstained: bool, golds: Sequence[str] | None) -> int | None:
    """+1 correct, 0 abstained, -1 wrong, None when the question has no gold answers field."""
    if golds is None:
        return None
    if abstained or not answer:
        return 0
    if not golds:
        return -1
    return 1 if answer_matches(answer, golds) else -1


def aggregate(scores: Sequence[int | None], latencies: Sequence[float] = ()) -> dict[str, Any]:
    scored = [s for s in scores if s is not None]
    n = len(scored)
    c, w, a = scored.count(1), scored.count(-1), scored.count(0)
    d = max(n, 1)
    return {"n": len(scores), "scored": n, "correct": c, "wrong": w, "abstained": a,
            "truthfulness": round((c - w) / d, 4), "correct_rate": round(c / d, 4),
            "wrong_rate": round(w / d, 4), "abstain_rate": round(a / d, 4),
            "p50_ms": round(percentile(list(latencies), 50), 1), "p95_ms": round(percentile(list(latencies), 95), 1)}


def answer_record(q: Question, ans: Answer) -> dict[str, Any]:
    """One output line of ``mmroute eval answers`` (DESIGN.md §3)."""
    ver = ans.verification
    return {"id": q.id, "answer": None if ans.abstained else ans.text, "abstained": ans.abstained,
            "verdict": ver.verdict.value if ver else None,
            "confidence": round(float(ver.confidence), 6) if ver else None,
            "evidence_ids": [h.item.id for h in ans.evidence],
            "draft": ans.draft.text if ans.draft else None, "reason": ans.reason}


def evaluate_answers(ask: Callable[[str], Answer], questions: Sequence[Question], out: Path | None = None,
                     on_progress: Callable[[int, int], None] | None = None) -> AnswerEvalResult:
    """Ask every question, write one JSON line each to ``out``, and score them.

    Aggregates report the guarded answers (verifier on) and, from the same drafts, what answering
    every draft would have scored (``unguarded``), so one run shows what the verifier buys.
    """
    scores: list[int | None] = []
    raw_scores: list[int | None] = []
    lat: list[float] = []
    fh = open(out, "w", encoding="utf-8") if out else None
    try:
        for i, q in enumerate(questions):
            t = time.perf_counter()
            ans = ask(q.question)
            lat.append((time.perf_counter() - t) * 1000)
            rec = answer_record(q, ans)
            s = score_answer(rec["answer"], ans.abstained, q.answers)
            rs = score_answer(ans.draft.text if ans.draft else None, False, q.answers)
            rec["score"] = s
            scores.append(s)
            raw_scores.append(rs)
            if fh:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if on_progress:
                on_progress(i + 1, len(questions))
    finally:
        if fh:
            fh.close()
    agg = aggregate(scores, lat)
    agg["unguarded"] = {k: v for k, v in aggregate(raw_scores).items() if k not in ("p50_ms", "p95_ms")}
    return AnswerEvalResult(agg)
