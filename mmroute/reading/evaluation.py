"""How good is a reader: SQuAD-official EM/F1 given each question's own paragraph.

``em``/``f1`` score the best non-null span on answerable questions (the reader is made to answer);
``squad2_em``/``squad2_f1`` score every question the SQuAD 2.0 way with the reader's own no-answer
decision (answer only when the best span outscores [CLS] by more than ``null_threshold``);
``no_answer_accuracy`` is how often that decision is right.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from .reader import Reader
from .squad import QAExample, articles, exact_match, f1_score


def evaluate_reader(reader: Reader, examples: Sequence[QAExample], null_threshold: float = 0.0) -> dict[str, Any]:
    em = f1 = em2 = f12 = has_ok = 0.0
    n_ans = 0
    lat: list[float] = []
    for ex in examples:
        t = time.perf_counter()
        r = reader.read(ex.question, [ex.context])
        lat.append((time.perf_counter() - t) * 1000)
        best = r.best.text if r.best else ""
        if ex.answerable:
            n_ans += 1
            em += exact_match(best, ex.answers)
            f1 += f1_score(best, ex.answers)
        answers = r.margin > null_threshold
        pred = best if answers else ""
        em2 += exact_match(pred, ex.answers)
        f12 += f1_score(pred, ex.answers)
        has_ok += float(answers == ex.answerable)
    n = max(1, len(examples))
    lat.sort()
    return {"questions": len(examples), "answerable": n_ans, "articles": articles(examples),
            "em": round(em / max(1, n_ans), 4), "f1": round(f1 / max(1, n_ans), 4),
            "squad2_em": round(em2 / n, 4), "squad2_f1": round(f12 / n, 4),
            "no_answer_accuracy": round(has_ok / n, 4), "null_threshold": null_threshold,
            "p50_ms": round(lat[len(lat) // 2], 1) if lat else 0.0}
