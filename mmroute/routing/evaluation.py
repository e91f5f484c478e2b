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
from .training import RoutingExample

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


def source_grouped_folds(
    sources: Sequence[str], routes: Sequence[str], seed: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, Any]]:
    """Folds that test on source datasets the training part never saw, where that is possible.

    A route served by several sources (paragraph: SQuAD and Natural Questions; video: two VideoRAG
    sets) has its sources dealt to different folds, so each fold tests on a *held-out source* of the
    route: what a new dataset of the same kind would see. A route with one source cannot be held out
    that way (training without its only source leaves the route unlearnable, so the accuracy would be
    0 by construction and say nothing); its rows are split at random instead, which makes its numbers
    an ordinary cross-validation estimate. ``k`` = the largest number of sources of a route (>= 2).
    Returns the folds and a description (which sources each fold holds out, which routes were split
    at random).
    """
    by_route: dict[str, list[str]] = {}
    for s, r in zip(sources, routes):
        if s not in by_route.setdefault(r, []):
            by_route[r].append(s)
    k = max(2, max(len(v) for v in by_route.values()))
    rng = np.random.default_rng(seed)
    fold_of = np.zeros(len(sources), dtype=int)
    held: dict[int, list[str]] = {f: [] for f in range(k)}
    for r, srcs in by_route.items():
        idx = np.flatnonzero(np.asarray(routes) == r)
        if len(srcs) > 1:
            for j, s in enumerate(sorted(srcs)):
                held[j % k].append(s)
                fold_of[[i for i in idx if sources[int(i)] == s]] = j % k
        else:
            perm = rng.permutation(idx)
            for f in range(k):
                fold_of[perm[f::k]] = f
    folds = [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]
    info = {
        "k": k,
        "held_out_sources": {str(f): v for f, v in held.items()},
        "source_held_out_routes": sorted(r for r, v in by_route.items() if len(v) > 1),
        "random_split_routes": sorted(r for r, v in by_route.items() if len(v) == 1),
    }
    return folds, info
