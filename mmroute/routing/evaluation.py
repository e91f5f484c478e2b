"""Evaluating a router on labelled routing data: accuracy, per-route accuracy, confusion, latency.

Latency is measured per single query (a batch of one), embedding included, as a user would see it.
A rejected query counts as routed to ``no`` (nothing is retrieved for it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..types import Route
from .base import Router
from .dataset import RoutingExample

ROUTES = [r.value for r in Route]


def predicted_route(decision: Any) -> str:
    if decision.rejected or not decision.chosen:
        return Route.NO.value
    top = decision.chosen[0]
    return top if top in ROUTES else Route.NO.value


def confusion_matrix(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = ROUTES) -> list[list[int]]:
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        if g in labels and p in labels:
            m[labels.index(g)][labels.index(p)] += 1
    return m


def summarize(gold: Sequence[str], pred: Sequence[str], latencies_ms: Sequence[float] = ()) -> dict[str, Any]:
    labels = [r for r in ROUTES if r in set(gold) | set(pred)]
    per_route = {r: float(np.mean([p == r for g, p in zip(gold, pred) if g == r])) for r in labels if r in set(gold)}
    out: dict[str, Any] = {
        "n": len(gold),
        "accuracy": float(np.mean([g == p for g, p in zip(gold, pred)])) if gold else 0.0,
        "per_route": per_route,
        "confusion": {"labels": labels, "matrix": confusion_matrix(gold, pred, labels)},
    }
    if latencies_ms:
        out["p50_ms"] = float(np.percentile(latencies_ms, 50))
        out["p95_ms"] = float(np.percentile(latencies_ms, 95))
    return out


def evaluate_router(router: Router, examples: Sequence[RoutingExample]) -> dict[str, Any]:
    """Route each example alone (no KBs registered) and summarise (see module doc)."""
    router.warm_up()
    router.route("warm-up query", [])
    gold, pred, lat = [], [], []
    for ex in examples:
        t0 = time.perf_counter()
        d = router.route(ex.question, [])
        lat.append((time.perf_counter() - t0) * 1000.0)
        gold.append(ex.route)
        pred.append(predicted_route(d))
    return summarize(gold, pred, lat)
