"""Ensemble routing: average several routers' calibrated probabilities and expose their agreement.

UniversalRAG reports that a majority-vote ensemble of routers beats each member; with calibrated
probabilities a weighted mean is the soft version of that vote. ``details["agreement"]`` is the
share of members (by weight) whose own top route equals the ensemble's top route, and
``details["votes"]`` lists each member's top route: low agreement flags a query worth a second look.

>>> ens = EnsembleRouter([TrainedRouter(), LLMRouter(base_url=..., model=...)], weights=[0.6, 0.4])
>>> ens.route("Who wrote Hamlet?", kbs).details["agreement"]
1.0
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..registry import UnknownOptionError
from ..types import KBInfo, RouteDecision
from .base import ROUTERS, Router
from .decision import MultiRoutePolicy, make_decision


class EnsembleRouter:
    """Weighted mean of member routers' route probabilities (see module doc)."""

    name = "ensemble"

    def __init__(
        self, routers: Sequence[Router], weights: Sequence[float] | None = None, policy: MultiRoutePolicy | None = None
    ) -> None:
        if not routers:
            raise ConfigError("an ensemble needs at least one router", hint="pass routers=[...]")
        self.routers = list(routers)
        w = list(weights) if weights is not None else [1.0] * len(self.routers)
        if len(w) != len(self.routers) or any(x < 0 for x in w) or sum(w) <= 0:
            raise ConfigError("ensemble weights must be non-negative, one per router, not all zero")
        total = float(sum(w))
        self.weights = [x / total for x in w]
        self.policy = policy or MultiRoutePolicy()

    def warm_up(self) -> None:
        for r in self.routers:
            r.warm_up()

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        t0 = time.perf_counter()
        members = [r.route(query, kbs, image) for r in self.routers]
        probs: dict[str, float] = {}
        for d, w in zip(members, self.weights):
            for rs in d.ranked:
                probs[rs.route] = probs.get(rs.route, 0.0) + w * rs.probability
        rejected = sum(w for d, w in zip(members, self.weights) if d.rejected) > 0.5
        top = max(probs, key=probs.__getitem__) if probs else ""
        agreement = sum(w for d, w in zip(members, self.weights) if d.ranked and d.top.route == top)
        votes = [
            {
                "router": d.router,
                "top": d.top.route if d.ranked else None,
                "probability": round(d.top.probability, 4) if d.ranked else None,
                "fallback": d.details.get("fallback"),
            }
            for d in members
        ]
        return make_decision(
            query,
            probs,
            kbs,
            self.name,
            t0,
            self.policy,
            reason=f"{len(members)} routers, agreement {agreement:.2f}",
            details={"agreement": round(agreement, 4), "votes": votes},
            rejected=rejected,
        )


def create_ensemble(
    members: Sequence[str] = ("trained", "description"), weights: Sequence[float] | None = None, **options: Any
) -> EnsembleRouter:
    unknown = [k for k in options if k != "policy"]
    if unknown:
        raise UnknownOptionError(
            f"router 'ensemble' has no option {', '.join(repr(k) for k in unknown)}",
            unknown,
            hint="its options: members, weights, policy",
        )
    return EnsembleRouter([ROUTERS.create(m) for m in members], weights, **options)
