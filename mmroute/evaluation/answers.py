"""Answer evaluation: SQuAD-official EM/F1 and truthfulness (+1 correct, 0 "I don't know", -1 wrong).

Strict scoring first: an answer is *correct* when it is an exact match of a gold answer after SQuAD
normalisation (lower case, no punctuation or articles); any other answer is *wrong*, and so is any answer
to a question whose ``answers`` list is empty (unanswerable from the corpus); "I don't know" scores 0.
``em`` and ``f1`` are the SQuAD-official scores over the answerable questions (an abstention predicts
the empty string, so it scores 0 there); ``squad2_em``/``squad2_f1`` score every question the SQuAD 2.0
way (abstaining on an unanswerable question is right). The old lenient match (the answer contains a gold
answer with at most five extra words) is reported beside them under ``lenient``, never instead.
Questions without an ``answers`` field are answered and written but not scored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..reading.squad import exact_match, f1_score
from ..text import answer_matches
from ..types import Answer
from .questions import Question, percentile


@dataclass
class AnswerEvalResult:
    aggregates: dict[str, Any]


def score_answer(
    answer: str | None, abstained: bool, golds: Sequence[str] | None, *, lenient: bool = False
) -> int | None:
    """+1 correct, 0 abstained, -1 wrong, None when the question has no gold answers field."""
    if golds is None:
        return None
    if abstained or not answer:
        return 0
    if not golds:
        return -1
    ok = answer_matches(answer, golds) if lenient else bool(exact_match(answer, golds))
    return 1 if ok else -1


def aggregate(scores: Sequence[int | None], latencies: Sequence[float] = ()) -> dict[str, Any]:
    scored = [s for s in scores if s is not None]
    n = len(scored)
    c, w, a = scored.count(1), scored.count(-1), scored.count(0)
    d = max(n, 1)
    return {
        "n": len(scores),
        "scored": n,
        "correct": c,
        "wrong": w,
        "abstained": a,
        "truthfulness": round((c - w) / d, 4),
        "correct_rate": round(c / d, 4),
        "wrong_rate": round(w / d, 4),
        "abstain_rate": round(a / d, 4),
        "p50_ms": round(percentile(list(latencies), 50), 1),
        "p95_ms": round(percentile(list(latencies), 95), 1),
    }


def squad_scores(predictions: Sequence[str], golds: Sequence[Sequence[str] | None]) -> dict[str, Any]:
    """EM/F1 over answerable questions, and SQuAD 2.0 EM/F1 over all scored questions."""
    pairs = [(p, g) for p, g in zip(predictions, golds) if g is not None]
    ans = [(p, g) for p, g in pairs if g]
    d_ans, d_all = max(len(ans), 1), max(len(pairs), 1)
    return {
        "answerable": len(ans),
        "em": round(sum(exact_match(p, g) for p, g in ans) / d_ans, 4),
        "f1": round(sum(f1_score(p, g) for p, g in ans) / d_ans, 4),
        "squad2_em": round(sum(exact_match(p, g) for p, g in pairs) / d_all, 4),
        "squad2_f1": round(sum(f1_score(p, g) for p, g in pairs) / d_all, 4),
    }


def answer_record(q: Question, ans: Answer) -> dict[str, Any]:
    """One output line of ``mmroute eval answers`` (DESIGN.md §3)."""
    ver = ans.verification
    return {
        "id": q.id,
        "answer": None if ans.abstained else ans.text,
        "abstained": ans.abstained,
        "verdict": ver.verdict.value if ver else None,
        "confidence": round(float(ver.confidence), 6) if ver else None,
        "evidence_ids": [h.item.id for h in ans.evidence],
        "draft": ans.draft.text if ans.draft else None,
        "reason": ans.reason,
    }


def evaluate_answers(
    ask: Callable[[str], Answer],
    questions: Sequence[Question],
    out: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> AnswerEvalResult:
    """Ask every question, write one JSON line each to ``out``, and score them.

    Aggregates report the guarded answers (verifier on) and, from the same drafts, what answering
    every draft would have scored (``unguarded``), so one run shows what the verifier buys.
    """
    scores: list[int | None] = []
    raw_scores: list[int | None] = []
    lenient: list[int | None] = []
    shown: list[str] = []
    drafts: list[str] = []
    lat: list[float] = []
    fh = open(out, "w", encoding="utf-8") if out else None
    try:
        for i, q in enumerate(questions):
            t = time.perf_counter()
            ans = ask(q.question)
            lat.append((time.perf_counter() - t) * 1000)
            rec = answer_record(q, ans)
            draft = ans.draft.text if ans.draft and ans.draft.text else ""
            s = score_answer(rec["answer"], ans.abstained, q.answers)
            rec["score"] = s
            scores.append(s)
            raw_scores.append(score_answer(draft, False, q.answers))
            lenient.append(score_answer(rec["answer"], ans.abstained, q.answers, lenient=True))
            shown.append(rec["answer"] or "")
            drafts.append(draft)
            if fh:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if on_progress:
                on_progress(i + 1, len(questions))
    finally:
        if fh:
            fh.close()
    golds = [q.answers for q in questions]
    agg = aggregate(scores, lat)
    agg.update(squad_scores(shown, golds))
    unguarded = {k: v for k, v in aggregate(raw_scores).items() if k not in ("p50_ms", "p95_ms")}
    unguarded.update(squad_scores(drafts, golds))
    agg["unguarded"] = unguarded
    agg["lenient"] = {
        k: v
        for k, v in aggregate(lenient).items()
        if k in ("correct", "wrong", "truthfulness", "correct_rate", "wrong_rate")
    }
    return AnswerEvalResult(agg)
