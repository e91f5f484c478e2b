"""The default router: trained routing for the six kinds, description routing for topical KBs, guarded.

One MiniLM forward pass serves everything: the layer features feed the trained model, the sentence
embedding feeds the description match and the guard's out-of-domain check. Topical KBs (those that
opted in, see :mod:`.description`) are searched only when their description matches; the trained
route then resolves to the remaining KBs of its kind. The probabilities combine as

    p(kb:X) = description probability of X;  p(route) = trained probability * p(no description matches)

so they still sum to one and the multi-route policy applies to both kinds of candidates.

>>> router = default_router()
>>> router.route("How many vacation days do I get?", home.list()).kbs
('hr',)
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..types import KBInfo, RouteDecision
from .decision import MultiRoutePolicy, make_decision
from .description import NONE_ROUTE, DescriptionRouter, topical_kbs
from .guard import GuardedRouter
from .trained import TrainedRouter


class TrainedWithDescriptions:
    """Trained router + description routing for topical KBs (see module doc)."""

    name = "trained+description"

    def __init__(
        self,
        trained: TrainedRouter | None = None,
        description: DescriptionRouter | None = None,
        policy: MultiRoutePolicy | None = None,
    ) -> None:
        self.trained = trained or TrainedRouter()
        self.description = description or DescriptionRouter(topical_only=True, featurizer=self.trained.featurizer)
        self.policy = policy or self.trained.policy

    def warm_up(self) -> None:
        self.trained.warm_up()

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        t0 = time.perf_counter()
        feats = self.trained.features(query)
        topical = topical_kbs(kbs)
        exclude = [k.name for k in topical]
        base = self.trained.route(query, kbs, image, feats=feats, exclude=exclude)
        if not topical:
            return replace(base, router=self.name, elapsed_ms=(time.perf_counter() - t0) * 1000.0)
        scores = self.description.scores(feats.embedding[0], topical)
        dprobs = self.description.probabilities(scores)
        p_none = dprobs.pop(NONE_ROUTE)
        probs = {rs.route: rs.probability * p_none for rs in base.ranked}
        probs.update(dprobs)
        best = max(scores, key=scores.__getitem__)
        reason = (
            f"description of {best[3:]} matches (cosine {scores[best]:.2f})"
            if scores[best] >= self.description.threshold
            else f"no topical KB matches (best {best[3:]} at cosine {scores[best]:.2f} < {self.description.threshold:.2f})"
        )
        details: dict[str, Any] = {
            **dict(base.details),
            "description_similarity": {k: round(v, 4) for k, v in scores.items()},
        }
        return make_decision(
            query, probs, kbs, self.name, t0, self.policy, reason=reason, details=details, exclude=exclude
        )


def default_router(path: str | Path | None = None, **guard_options: Any) -> GuardedRouter:
    """The shipped trained router with description routing for topical KBs, behind the query guard."""
    from ..registry import UnknownOptionError, check_options
    from .guard import QueryGuard

    inner = TrainedWithDescriptions(TrainedRouter(path))
    guard = None
    if guard_options:
        own = [n for n in inspect.signature(QueryGuard).parameters if n not in ("vocab", "ood_threshold")]
        unknown = [k for k in guard_options if k not in own]
        if unknown:  # vocab and ood_threshold come from the trained router's model
            raise UnknownOptionError(
                f"router 'default' has no option {', '.join(repr(k) for k in unknown)}",
                unknown,
                hint=f"its options: path, {', '.join(own)}",
            )
        check_options(QueryGuard, guard_options, "router 'default'")
        m = inner.trained.model
        guard = QueryGuard(vocab=m.vocab, ood_threshold=m.ood_threshold, **guard_options)
    return GuardedRouter(inner, guard)
