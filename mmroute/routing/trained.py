"""The trained router: the shipped linear model over n-grams, MiniLM layer features and question cues.

Every feature is computed on the query's canonical routing text (:mod:`.canonical`: answer options,
leading instructions and trailing pleasantries removed, whitespace collapsed, case-folded), so the
same question pasted in another form gets the same route.

>>> router = TrainedRouter()                 # the artifact shipped in mmroute/data/router
>>> d = router.route("What are the steps to repot an orchid?", kbs)
>>> d.chosen, d.top.probability
(('video',), 0.98)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..types import KBInfo, RouteDecision
from .decision import MultiRoutePolicy, make_decision
from .embedding import QueryFeatures, QueryFeaturizer
from .explicit import REQUEST_MASS, requested_route
from .model import RouterModel, default_artifact_dir


class TrainedRouter:
    """Routes with a :class:`RouterModel` (see :mod:`.training` for how it is trained).

    ``path`` is an artifact directory written by ``mmroute route train`` (default: the shipped one).
    ``exclude`` lists KBs the route-level resolution skips (used by the default router for topical KBs).
    """

    name = "trained"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        policy: MultiRoutePolicy | None = None,
        featurizer: QueryFeaturizer | None = None,
    ) -> None:
        self.path = Path(path) if path else default_artifact_dir()
        self.policy = policy or MultiRoutePolicy()
        self.featurizer = featurizer or QueryFeaturizer()
        self._model: RouterModel | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> RouterModel:
        if self._model is None:
            self.warm_up()
        assert self._model is not None
        return self._model

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                self._model = RouterModel.load(self.path)
        self._model.routing_text(
            "warm up"
        )  # loads the canonicaliser's word list (version 2) before a query waits on it
        self.featurizer.warm_up()

    def features(self, query: str) -> QueryFeatures:
        """Encoder features of the query's routing text (its canonical form, see :mod:`.canonical`).

        The routing vector is not reused for the search when the canonical text differs from the query:
        the search must embed the query the same way whether or not a router ran before it in this process
        (a served home, ``--kb NAME``), or the same question could get different evidence. That costs a
        second forward pass for such queries (about 10 ms on 2 cores)."""
        return self.featurizer.features([self.model.routing_text(query)])

    def probabilities(self, query: str, feats: QueryFeatures | None = None) -> dict[str, float]:
        feats = feats or self.features(query)
        return self.model.route_probabilities(self.model.routing_text(query), feats.layers)

    def route(
        self,
        query: str,
        kbs: Sequence[KBInfo],
        image: Path | None = None,
        *,
        feats: QueryFeatures | None = None,
        exclude: Sequence[str] = (),
    ) -> RouteDecision:
        t0 = time.perf_counter()
        feats = feats or self.features(query)
        probs = self.model.route_probabilities(self.model.routing_text(query), feats.layers)
        details: dict[str, Any] = {
            "temperature": round(self.model.temperature, 4),
            "domain_similarity": round(self.model.domain_similarity(feats.embedding[0]), 4),
        }
        if image is not None and "image" in probs:
            # A query that comes with an image is about that image; the text model has not seen
            # such queries, so the image route is nudged up rather than forced.
            probs = boost_route(probs, "image", 0.5)
            details["image_query"] = True
        asked = requested_route(query)
        if asked is not None and asked in probs:  # "show me a photo of ..." names its medium (see .explicit)
            probs = boost_route(probs, asked, REQUEST_MASS)
            details["requested_route"] = asked
        return make_decision(query, probs, kbs, self.name, t0, self.policy, details=details, exclude=exclude)


def boost_route(probs: dict[str, float], route: str, mass: float) -> dict[str, float]:
    """``probs`` with ``mass`` of the probability moved onto ``route`` (the rest scaled down to keep the sum)."""
    out = {r: p * (1.0 - mass) for r, p in probs.items()}
    out[route] = out.get(route, 0.0) + mass
    return out
