"""Retrieval evaluation: run a retriever over questions with gold ids, write per-question lines,
and aggregate recall (any gold, all gold) at k, MRR, steps and latency."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..kb import KnowledgeBase
from ..retrieval.base import Retriever
from .questions import Question, percentile


def gold_ids_held(kbs: Sequence[KnowledgeBase], questions: Sequence[Question]) -> tuple[int, int]:
    """(gold ids that are items of ``kbs``, distinct gold ids): when none is, every recall is 0 whatever the
    retriever does (paragraph ids asked of a document KB), which a user should hear before reading the zeros."""
    gold = sorted({g for q in questions for g in q.gold_ids})
    held: set[str] = set()
    for kb in kbs:
        held.update(item.id for item in kb.get_items(gold))
    return len(held), len(gold)


@dataclass
class RetrievalEvalResult:
    n: int
    k: int
    aggregates: dict[str, Any]


def evaluate_retrieval(
    retriever: Retriever,
    questions: Sequence[Question],
    k: int,
    kbs: Sequence[str] | None,
    out: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RetrievalEvalResult:
    cutoffs = sorted({c for c in (1, 2, 5, 10, k) if c <= k})
    any_hit = {c: 0 for c in cutoffs}
    all_hit = {c: 0 for c in cutoffs}
    rr_sum = 0.0
    with_gold = 0
    steps_total = 0
    kb_calls = 0
    latencies: list[float] = []
    fh = open(out, "w", encoding="utf-8") if out else None
    try:
        for i, q in enumerate(questions):
            t = time.perf_counter()
            res = retriever.retrieve(q.question, k=k, kbs=kbs)
            latencies.append((time.perf_counter() - t) * 1000)
            ids = res.ids[:k]
            steps_total += len(res.steps)
            kb_calls += sum(len(s.kbs) for s in res.steps)
            if fh:
                fh.write(
                    json.dumps(
                        {"id": q.id, "retrieved_ids": ids, "steps": [s.to_dict() for s in res.steps]},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            if q.gold_ids:
                with_gold += 1
                gold = set(q.gold_ids)
                for c in cutoffs:
                    top = set(ids[:c])
                    any_hit[c] += bool(gold & top)
                    all_hit[c] += gold <= top
                rr_sum += next((1.0 / (r + 1) for r, x in enumerate(ids) if x in gold), 0.0)
            if on_progress:
                on_progress(i + 1, len(questions))
    finally:
        if fh:
            fh.close()
    n = len(questions)
    denom = max(with_gold, 1)
    agg: dict[str, Any] = {
        "n": n,
        "k": k,
        "with_gold": with_gold,
        "recall_any": {str(c): round(any_hit[c] / denom, 4) for c in cutoffs},
        "recall_all": {str(c): round(all_hit[c] / denom, 4) for c in cutoffs},
        "mrr": round(rr_sum / denom, 4),
        "avg_steps": round(steps_total / max(n, 1), 3),
        "avg_kb_calls": round(kb_calls / max(n, 1), 3),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }
    return RetrievalEvalResult(n=n, k=k, aggregates=agg)
