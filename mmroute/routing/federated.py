"""Federated KB selection (RAGRoute): score every (query, KB) pair and query only the KBs above a threshold.

RAGRoute trains a small relevance model per (query, source) pair and queries a source only when its
relevance passes 0.5, cutting KB queries by up to 77% at the same answer accuracy. Here a KB's
relevance is the calibrated probability that the query belongs to it: the trained router's
probability of the KB's route (each KB of a route shares it), or, for topical KBs, the description
router's probability. KBs with relevance >= ``threshold`` are queried; when none passes, the single
most relevant KB is (unless ``no`` is the most likely route, in which case nothing is).

``details`` reports ``relevance`` per KB, ``kb_queries`` made and ``kb_queries_saved`` against
querying every KB. :func:`selection_tradeoff` measures savings against recall over a labelled set.

>>> FederatedRouter(threshold=0.1).route("Who wrote Hamlet?", kbs).details["kb_queries_saved"]
4
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..types import KBInfo, Route, RouteDecision
from .base import Router


class FederatedRouter:
    """Per-KB relevance with a threshold, on top of a probabilistic router (default: :func:`default_router`)."""

    name = "federated"

    def __init__(self, inner: Router | None = None, threshold: float = 0.1) -> None:
        self._inner = inner
        self.threshold = float(threshold)

    @property
    def inner(self) -> Router:
        if self._inner is None:
            from . import default_router

            self._inner = default_router()
        return self._inner

    def warm_up(self) -> None:
        self.inner.warm_up()

    def relevance(self, decision: RouteDecision, kbs: Sequence[KBInfo]) -> dict[str, float]:
        rel = {k.name: 0.0 for k in kbs}
        for rs in decision.ranked:
            for name in rs.kbs:
                rel[name] = max(rel.get(name, 0.0), rs.probability)
        return rel

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        t0 = time.perf_counter()
        d = self.inner.route(query, kbs, image)
        if d.rejected:
            return d
        rel = self.relevance(d, kbs)
        p_no = next((rs.probability for rs in d.ranked if rs.route == Route.NO.value), 0.0)
        chosen_kbs = [n for n, r in sorted(rel.items(), key=lambda x: -x[1]) if r >= self.threshold]
        best = max(rel.values(), default=0.0)
        if not chosen_kbs and rel and best >= p_no:
            chosen_kbs = [max(rel, key=rel.__getitem__)]
        routes = tuple(rs.route for rs in d.ranked if set(rs.kbs) & set(chosen_kbs)) or (Route.NO.value,)
        saved = len(kbs) - len(chosen_kbs)
        reason = f"queried {len(chosen_kbs)} of {len(kbs)} KBs with relevance >= {self.threshold:.2f}" + (
            f" (none passed; kept the best, {chosen_kbs[0]})" if chosen_kbs and best < self.threshold else ""
        )
        return RouteDecision(
            query=query,
            ranked=d.ranked,
            chosen=routes,
            kbs=tuple(chosen_kbs),
            reason=reason,
            router=self.name,
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
            details={
                **dict(d.details),
                "relevance": {k: round(v, 4) for k, v in rel.items()},
                "kb_queries": len(chosen_kbs),
                "kb_queries_saved": saved,
                "inner_router": d.router,
            },
        )


def create_federated(
    path: str | Path | None = None, threshold: float = 0.1, inner: str | Router | None = None, **options: object
) -> FederatedRouter:
    """The ``federated`` router: per-KB thresholds over ``inner`` (a router or a registered name; default
    :func:`~mmroute.routing.default.default_router`, from the artifact at ``path`` when given)."""
    from ..registry import UnknownOptionError
    from .base import ROUTERS

    if isinstance(inner, str) or (inner is None and (path or options)):
        name = inner if isinstance(inner, str) else "default"
        try:
            inner = ROUTERS.create(name, **({"path": str(path)} if path else {}), **options)
        except UnknownOptionError as e:  # the user configured 'federated': say so, and where the options went
            raise UnknownOptionError(
                f"router 'federated' has no option {', '.join(repr(k) for k in e.options)} (its own options: "
                f"path, threshold, inner; any other goes to its inner router {name!r}, which refused it)",
                e.options,
                hint=e.hint,
            ) from None
    return FederatedRouter(inner, threshold=threshold)


@dataclass(frozen=True)
class TradeoffPoint:
    threshold: float
    kb_queries_per_query: float
    saved_fraction: float
    """1 - queries made / queries made when every KB is searched."""
    recall: float
    """Share of queries needing a KB whose gold KB was among those searched."""
    no_route_correct: float
    """Share of ``no`` queries for which nothing was searched."""


def selection_tradeoff(
    probs: np.ndarray, route_order: Sequence[str], gold: Sequence[str], thresholds: Sequence[float]
) -> list[TradeoffPoint]:
    """Savings vs recall of thresholded selection with one KB per retrieval route.

    ``probs`` are calibrated (n, routes) probabilities (e.g. out-of-fold), columns in ``route_order``.
    The baseline searches all KBs (one per route other than ``no``) for every query.
    """
    kb_cols = [j for j, r in enumerate(route_order) if r != Route.NO.value]
    no_col = route_order.index(Route.NO.value) if Route.NO.value in route_order else None
    out: list[TradeoffPoint] = []
    for t in thresholds:
        made, hits, need, no_ok, n_no = 0, 0, 0, 0, 0
        for i, g in enumerate(gold):
            p = probs[i]
            sel = [j for j in kb_cols if p[j] >= t]
            best = max(kb_cols, key=lambda j: p[j])
            if not sel and (no_col is None or p[best] >= p[no_col]):
                sel = [best]
            made += len(sel)
            if g == Route.NO.value:
                n_no += 1
                no_ok += int(not sel)
            else:
                need += 1
                hits += int(route_order.index(g) in sel)
        n = len(gold)
        out.append(
            TradeoffPoint(
                float(t), made / n, 1.0 - made / (n * len(kb_cols)), hits / max(1, need), no_ok / max(1, n_no)
            )
        )
    return out
