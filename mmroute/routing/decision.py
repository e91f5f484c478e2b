"""Turning route probabilities into a :class:`RouteDecision`: ranking, multi-route choice, KB resolution.

Multi-route rule (UniversalRAG users asked for multi-label routing): the top route is always chosen;
the next routes join it while their calibrated probability is at least ``min_probability`` and within
``margin`` of the top one, up to ``max_routes``. With calibrated probabilities this reads "also
search the runner-up when the router is unsure between them". Retrieval fuses the chosen KBs'
lists with :func:`mmroute.retrieval.fusion.fuse_hits`, weighting each KB by its route probability.

A chosen route whose kind has no registered KB is named in the reason, so the caller can fall back
(e.g. to all KBs); the decision's ``kbs`` only ever holds KBs that exist.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import KBInfo, Route, RouteDecision, RouteScore
from .base import kbs_for_route


@dataclass(frozen=True)
class MultiRoutePolicy:
    """When to choose more than one route (see module doc)."""

    margin: float = 0.25
    min_probability: float = 0.2
    max_routes: int = 2

    def choose(self, ranked: Sequence[RouteScore]) -> tuple[str, ...]:
        if not ranked:
            return ()
        top = ranked[0]
        chosen = [top.route]
        for rs in ranked[1:]:
            if len(chosen) >= self.max_routes:
                break
            if rs.probability >= self.min_probability and top.probability - rs.probability <= self.margin:
                chosen.append(rs.route)
        return tuple(chosen)


def resolve_kbs(
    chosen: Sequence[str], kbs: Sequence[KBInfo], exclude: Sequence[str] = ()
) -> tuple[tuple[str, ...], list[str]]:
    """(KB names of the chosen routes, in order without duplicates; routes that resolved to no KB)."""
    names: list[str] = []
    missing: list[str] = []
    for r in chosen:
        found = [n for n in kbs_for_route(r, kbs) if n not in exclude or r.startswith("kb:")]
        if not found and r != Route.NO.value:
            missing.append(r)
        names.extend(n for n in found if n not in names)
    return tuple(names), missing


def make_decision(
    query: str,
    probs: Mapping[str, float],
    kbs: Sequence[KBInfo],
    router: str,
    t0: float,
    policy: MultiRoutePolicy | None = None,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    exclude: Sequence[str] = (),
    rejected: bool = False,
) -> RouteDecision:
    """Rank ``probs`` (route -> probability), choose route(s), resolve KBs and explain.

    ``exclude`` names KBs that route-level resolution must skip (topical KBs reached only by their
    description, see :mod:`.description`). ``t0`` is the ``time.perf_counter()`` at the start.
    """
    policy = policy or MultiRoutePolicy()
    ranked = tuple(
        sorted(
            (
                RouteScore(
                    r, float(p), tuple(n for n in kbs_for_route(r, kbs) if n not in exclude or r.startswith("kb:"))
                )
                for r, p in probs.items()
            ),
            key=lambda rs: (-rs.probability, rs.route),
        )
    )
    chosen = policy.choose(ranked) if not rejected else ()
    names, missing = resolve_kbs(chosen, kbs, exclude)
    parts = [reason] if reason else []
    if chosen:
        desc = " + ".join(f"{r} ({dict((x.route, x.probability) for x in ranked)[r]:.2f})" for r in chosen)
        parts.append(f"chose {desc}" + (" because the top routes are close" if len(chosen) > 1 else ""))
    if missing:
        parts.append(f"no KB of this home serves route(s) {', '.join(missing)}")
    if chosen == (Route.NO.value,):
        parts.append("answer without retrieval")
    return RouteDecision(
        query=query,
        ranked=ranked,
        chosen=chosen,
        kbs=names,
        reason="; ".join(parts),
        router=router,
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        rejected=rejected,
        details=dict(details or {}),
    )
