"""Single-shot retrieval: route once (unless KBs are named), search each chosen KB, fuse."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

from ..kb import Home
from ..routing.base import Router, kbs_with_fallback
from ..types import Hit, KBInfo, RetrievalResult, RetrievalStep, RouteDecision
from .base import RETRIEVERS, routable_kbs, skipped_note
from .fusion import fuse_hits


class SingleShotRetriever:
    """One query, one hop.

    >>> r = SingleShotRetriever(Home(), router=None)
    >>> r.retrieve("Who wrote Nobody Loves You?", k=5, kbs=["hop"]).ids
    """

    name = "single"

    def __init__(self, home: Home, router: Router | None = None, per_kb_k: int | None = None) -> None:
        self.home = home
        self.router = router
        self.per_kb_k = per_kb_k

    def warm_up(self) -> None:
        if self.router is not None:
            self.router.warm_up()

    def _decide(self, query: str, kbs: Sequence[str] | None,
                image: Path | None) -> tuple[list[str], dict[str, float], RouteDecision | None, str]:
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
        names, note = kbs_with_fallback(decision)
        return list(names), weights, decision, "; ".join(p for p in (note or "routed", skipped_how) if p)

    def search_kbs(self, query: str, kbs: Sequence[str], k: int, image: Path | None = None) -> dict[str, list[Hit]]:
        per: dict[str, list[Hit]] = {}
        for name in kbs:
            kb = self.home.open(name)
            kk = self.per_kb_k or k
            if image is not None and kb.info.modality.value != "text":
                try:
                    per[name] = kb.search_image(image, kk)
                    continue
                except NotImplementedError:
                    pass
            per[name] = kb.search(query, kk)
        return per

    def retrieve(self, query: str, k: int = 5, kbs: Sequence[str] | None = None,
                 image: Path | None = None) -> RetrievalResult:
        t0 = time.perf_counter()
        names, weights, decision, how = self._decide(query, kbs, image)
        per = self.search_kbs(query, names, k, image)
        hits = fuse_hits(per, k, weights, {n: score_space(self.home.open(n).info) for n in per})
        ms = (time.perf_counter() - t0) * 1000
        step = RetrievalStep(index=0, query=query, kbs=tuple(names), hits=tuple(hits), route=decision,
                             new_ids=tuple(h.item.id for h in hits),
                             note="no retrieval needed" if decision is not None and not names else f"single shot; {how}",
                             elapsed_ms=ms)
        return RetrievalResult(query=query, hits=tuple(hits), steps=(step,),
                               stop_reason="single shot", elapsed_ms=ms)


def score_space(info: KBInfo) -> str:
    """KBs with the same encoder (name and options) score in one space: their cosines compare directly."""
    return json.dumps(info.encoder.to_dict(), sort_keys=True, default=str)


@RETRIEVERS.register("single")
def _single(home: Home, router: Router | None = None, **options: object) -> SingleShotRetriever:
    return SingleShotRetriever(home, router, **options)  # type: ignore[arg-type]
