"""How good is a reader: SQuAD-official EM/F1 given each question's own paragraph.

``em``/``f1`` score the best non-null span on answerable questions (the reader is made to answer);
``squad2_em``/``squad2_f1`` score every question the SQuAD 2.0 way with the reader's own no-answer
decision (answer only when the best span outscores [CLS] by more than ``null_threshold``);
``no_answer_accuracy`` is how often that decision is right, and ``no_answer_auc`` how well the margin
ranks answerable above unanswerable questions at any threshold.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .decode import Reading, redecode
from .reader import Reader
from .squad import QAExample, articles, exact_match, f1_score


def evaluate_reader(reader: Reader, examples: Sequence[QAExample], null_threshold: float = 0.0) -> dict[str, Any]:
    em = f1 = em2 = f12 = has_ok = 0.0
    n_ans = 0
    lat: list[float] = []
    margins: list[tuple[float, bool]] = []
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
        margins.append((float(r.margin), ex.answerable))
        pred = best if answers else ""
        em2 += exact_match(pred, ex.answers)
        f12 += f1_score(pred, ex.answers)
        has_ok += float(answers == ex.answerable)
    n = max(1, len(examples))
    lat.sort()
    return {
        "questions": len(examples),
        "answerable": n_ans,
        "articles": articles(examples),
        "em": round(em / max(1, n_ans), 4),
        "f1": round(f1 / max(1, n_ans), 4),
        "squad2_em": round(em2 / n, 4),
        "squad2_f1": round(f12 / n, 4),
        "no_answer_accuracy": round(has_ok / n, 4),
        "no_answer_auc": no_answer_auc(margins),
        "null_threshold": null_threshold,
        "p50_ms": round(lat[len(lat) // 2], 1) if lat else 0.0,
    }


def no_answer_auc(margins: Sequence[tuple[float, bool]]) -> float | None:
    """How well the reader's margin over its no-answer score ranks answerable questions above unanswerable
    ones (ROC AUC, threshold-free; 0.5 is chance; ties count half); ``None`` without both kinds."""
    if len({answerable for _, answerable in margins}) < 2:
        return None
    return round(roc_auc([m for m, _ in margins], [a for _, a in margins]), 4)


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney U) formula, tied scores sharing their mean rank."""
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


LENGTH_PENALTY_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)


def read_answerable(reader: Reader, examples: Sequence[QAExample]) -> list[tuple[QAExample, Reading]]:
    """Each answerable question read once with its own paragraph (re-decode the readings for other settings)."""
    return [(e, reader.read(e.question, [e.context])) for e in examples if e.answerable]


def _em_f1(pairs: Sequence[tuple[QAExample, Reading]], penalty: float) -> tuple[float, float]:
    em = f1 = 0.0
    for e, r in pairs:
        best = redecode(r, length_penalty=penalty).best
        text = best.text if best else ""
        em += exact_match(text, e.answers)
        f1 += f1_score(text, e.answers)
    return em, f1


def choose_length_penalty(
    pairs: Sequence[tuple[QAExample, Reading]], grid: Sequence[float] = LENGTH_PENALTY_GRID
) -> dict[str, Any]:
    """The span-length penalty (see :mod:`~mmroute.reading.decode`) with the best EM on ``pairs`` (from
    :func:`read_answerable`, read with no penalty), ties broken by F1 and then by the smaller penalty.

    Choose it on questions the reader was not trained on (in-sample, a fine-tuned reader already fits its
    training spans' lengths and the choice comes out too small), and report on other articles:
    :func:`held_out_length_penalty` does both.
    """
    if not pairs:
        raise ValueError("choosing a length penalty needs answerable questions")
    table: dict[str, dict[str, float]] = {}
    for penalty in grid:
        em, f1 = _em_f1(pairs, penalty)
        table[f"{penalty:g}"] = {"em": round(em / len(pairs), 4), "f1": round(f1 / len(pairs), 4)}
    chosen = max(grid, key=lambda p: (table[f"{p:g}"]["em"], table[f"{p:g}"]["f1"], -p))
    return {
        "length_penalty": chosen,
        "questions": len(pairs),
        "articles": articles([e for e, _ in pairs]),
        "grid": table,
    }


def held_out_length_penalty(
    pairs: Sequence[tuple[QAExample, Reading]], grid: Sequence[float] = LENGTH_PENALTY_GRID
) -> dict[str, Any]:
    """Leave one article out: each article is scored with the penalty chosen on the others."""
    by_article = articles([e for e, _ in pairs])
    if len(by_article) < 2:
        raise ValueError("held-out choice needs questions from at least two articles")
    em = f1 = 0.0
    chosen: dict[str, float] = {}
    for article in by_article:
        rest = [(e, r) for e, r in pairs if e.title != article]
        mine = [(e, r) for e, r in pairs if e.title == article]
        chosen[article] = choose_length_penalty(rest, grid)["length_penalty"]
        a, b = _em_f1(mine, chosen[article])
        em, f1 = em + a, f1 + b
    return {
        "questions": len(pairs),
        "em": round(em / len(pairs), 4),
        "f1": round(f1 / len(pairs), 4),
        "length_penalty_by_held_out_article": chosen,
    }
