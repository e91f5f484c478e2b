"""Single-shot retrieval: route once (unless KBs are named), search each chosen KB, fuse.

Each KB is searched in one of the modes of :data:`mmroute.kb.SEARCH_MODES` (retriever option
``mode``; default :data:`DEFAULT_MODE`): ``hybrid`` fuses the dense and the BM25 candidates in the
store (``fusion="rrf"`` with ``weights=[dense, sparse]`` and ``rrf_k``, or ``fusion="dbsf"``),
``dense`` and ``sparse`` use one side. KBs without a lexical index are searched densely. An image
query searches image and video KBs by the image alone. A routed text query also searches a KB the
router did not pick when the picked KBs hold nothing close to it and that KB does, and a question routed
to no retrieval searches a text KB that holds something close to it (:mod:`.widening`; option
``widen=false`` turns both off). The default mode and fusion were chosen on
multi-hop questions and checked on SQuAD (``evals/eval/eval_hybrid.py``).

    mmroute ask "Who wrote Nobody Loves You?" --single-shot --retriever-option mode=dense
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..kb import SEARCH_MODES, Home
from ..routing.base import Router, kbs_with_fallback
from ..stores.base import Fusion
from ..types import Hit, RetrievalResult, RetrievalStep, RouteDecision
from .base import routable_kbs, skipped_note
from .fusion import fuse_hits, score_space
from .widening import widen_route

DEFAULT_MODE = "hybrid"
DEFAULT_FUSION = Fusion(method="rrf", weights=(1.0, 1.0), k=2, candidates=50)
"""Chosen on multihop_ircot (best recall_all@5 of the grid in evals/eval/eval_hybrid.py), reported on SQuAD held out."""


class SingleShotRetriever:
    """One query, one hop.

    >>> r = SingleShotRetriever(Home(), router=None)
    >>> r.retrieve("Who wrote Nobody Loves You?", k=5, kbs=["hop"]).ids
    """

    name = "single"

    def __init__(
        self,
        home: Home,
        router: Router | None = None,
        per_kb_k: int | None = None,
        mode: str = DEFAULT_MODE,
        fusion: str | None = None,
        weights: Sequence[float] | None = None,
        rrf_k: int | None = None,
        candidates: int | None = None,
        widen: bool = True,
    ) -> None:
        if not isinstance(mode, str) or mode not in SEARCH_MODES:
            raise ConfigError(f"unknown retrieval mode {mode!r}", hint=f"use one of: {', '.join(SEARCH_MODES)}")
        self.home = home
        self.router = router
        self.per_kb_k = per_kb_k
        self.mode = mode
        self.widen = bool(widen)
        d = DEFAULT_FUSION
        self.fusion = Fusion(
            method=fusion or d.method,
            weights=_two_weights(weights or d.weights),
            k=int(rrf_k or d.k),
            candidates=int(candidates or d.candidates),
        )

    def warm_up(self) -> None:
        if self.router is not None:
            self.router.warm_up()

    def _decide(
        self, query: str, kbs: Sequence[str] | None, image: Path | None
    ) -> tuple[list[str], dict[str, float], RouteDecision | None, str]:
        if kbs:
            return list(kbs), {}, None, "KBs named by the caller"
        usable, skipped = routable_kbs(self.home)
        skipped_how = skipped_note(skipped)
        if self.router is None:
            return usable, {}, None, "; ".join(p for p in ("no router: all KBs", skipped_how) if p)
        decision = self.router.route(query, [self.home.open(n).info for n in usable], image=image)
        weights: dict[str, float] = {}
        for rs in decision.ranked:
            for kb in rs.kbs:
                weights.setdefault(kb, rs.probability)
        routed, note = kbs_with_fallback(decision)
        names, how = list(routed), note or "routed"
        if self.widen and image is None:
            names, how, added = widen_route(self.home, query, names, usable, how, decision)
            for kb, w in added.items():
                weights[kb] = max(weights.get(kb, 0.0), w)
        return names, weights, decision, "; ".join(p for p in (how, skipped_how) if p)

    def search_kbs(
        self, query: str, kbs: Sequence[str], k: int, image: Path | None = None
    ) -> tuple[dict[str, list[Hit]], list[Hit]]:
        """Each KB's hits, and the hits a query image found by itself (an image or video KB whose encoder embeds
        images is searched by the image alone; any other KB by the words)."""
        per: dict[str, list[Hit]] = {}
        by_image: list[Hit] = []
        for name in kbs:
            kb = self.home.open(name)
            kk = self.per_kb_k or k
            if image is not None and kb.info.modality.value != "text":
                try:
                    per[name] = kb.search_image(image, kk)
                    by_image.extend(per[name])
                    continue
                except NotImplementedError:
                    pass
            per[name] = kb.search(query, kk, mode=self.mode, fusion=self.fusion)
        return per, sorted(by_image, key=lambda h: -h.score)

    def retrieve(
        self, query: str, k: int = 5, kbs: Sequence[str] | None = None, image: Path | None = None
    ) -> RetrievalResult:
        t0 = time.perf_counter()
        names, weights, decision, how = self._decide(query, kbs, image)
        per, by_image = self.search_kbs(query, names, k, image)
        hits = fuse_hits(per, k, weights, {n: score_space(self.home.open(n).info) for n in per})
        ms = (time.perf_counter() - t0) * 1000
        step = RetrievalStep(
            index=0,
            query=query,
            kbs=tuple(names),
            hits=tuple(hits),
            route=decision,
            new_ids=tuple(h.item.id for h in hits),
            note="no retrieval needed" if decision is not None and not names else f"single shot; {how}",
            elapsed_ms=ms,
        )
        return RetrievalResult(
            query=query,
            hits=tuple(hits),
            steps=(step,),
            stop_reason="single shot",
            elapsed_ms=ms,
            image_hits=tuple(by_image),
        )


def create_single(home: Home, router: Router | None = None, **options: object) -> SingleShotRetriever:
    """The registered "single" retriever: options checked by name, so a typo is a one-line error."""
    known = {"per_kb_k", "mode", "fusion", "weights", "rrf_k", "candidates", "widen"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"unknown single-shot retriever option(s) {', '.join(unknown)}", hint=f"use {', '.join(sorted(known))}"
        )
    return SingleShotRetriever(home, router, **options)  # type: ignore[arg-type]


def _two_weights(weights: Sequence[float]) -> tuple[float, float]:
    """(dense, sparse) fusion weights from an option value."""
    w = [float(x) for x in weights]
    if len(w) != 2:
        raise ConfigError(f"fusion weights take two numbers (dense, sparse), not {len(w)}", hint="e.g. weights='[1,1]'")
    return w[0], w[1]
