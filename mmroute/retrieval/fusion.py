"""Fusing ranked lists from several KBs into one.

Raw cosine scores are not comparable across KBs: a MiniLM paragraph index and a ConSE image index
have different score ranges. Each KB's list is therefore normalised before merging:

    fused(h) = w_kb * logistic((s_h - mu_kb) / sigma_kb) + 0.5 * s_h

The z-score makes the lists comparable; the raw cosine term keeps a KB whose best hit is weak
from outranking a KB whose best hit is strong. Here mu/sigma are the mean and standard deviation of that KB's returned scores (a z-score over
the top list, with sigma floored at 0.05 so a flat list does not explode), and ``w_kb`` is the
router's probability for the route that selected the KB (1.0 when the caller named the KBs).
KBs whose scores live in one space (the same encoder with the same options: their cosines *are*
comparable) are not normalised at all: when every list shares one space their hits are merged by cosine
plus a small route bonus (:data:`ROUTE_BONUS`), so the fused score keeps the cosine's scale (the reader
generator weighs it against reader logits); in a mix of spaces, KBs of one space share one mu/sigma taken
over all their hits. Normalising each list on its own would make the best hit of a KB that knows nothing
about the question (a multi-hop corpus asked about Normandy) look as good as the best hit of the KB that does.
The same item reached via two KBs (same id and text: :func:`content_key`) keeps its best fused score.
The fused score replaces ``Hit.score``; the raw score stays available in the trace step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..types import Hit, KBInfo

SIGMA_FLOOR = 0.05
ROUTE_BONUS = 0.05
"""One score space: what a KB's route probability adds to its cosines (a route at p=1 vs one at p=0 is
worth 0.05 cosine - about the gap between the first and the fifth paragraph of a good search)."""


def _mean_sigma(scores: Sequence[float]) -> tuple[float, float]:
    mu = sum(scores) / len(scores)
    var = sum((s - mu) ** 2 for s in scores) / len(scores)
    return mu, max(math.sqrt(var), SIGMA_FLOOR)


def fuse_hits(
    per_kb: Mapping[str, Sequence[Hit]],
    k: int,
    weights: Mapping[str, float] | None = None,
    spaces: Mapping[str, str] | None = None,
) -> list[Hit]:
    """Merge per-KB hit lists into one top-k list with comparable scores (see module doc).

    ``spaces[kb]`` names the KB's score space (KBs with the same encoder share one); a KB without an entry
    is a space of its own. With a single KB the original order and raw scores are kept unchanged.
    """
    lists = {kb: list(hs) for kb, hs in per_kb.items() if hs}
    if not lists:
        return []
    if len(lists) == 1:
        (hits,) = lists.values()
        return [replace(h, rank=i + 1) for i, h in enumerate(hits[:k])]
    weights = weights or {}
    space_of = {kb: (spaces or {}).get(kb, f"kb:{kb}") for kb in lists}
    if len(set(space_of.values())) == 1:

        def fused(kb: str, score: float) -> float:  # one space: the fused score stays a cosine
            return score + ROUTE_BONUS * float(weights.get(kb, 1.0))
    else:
        pooled: dict[str, list[float]] = {}
        for kb, hits in lists.items():
            pooled.setdefault(space_of[kb], []).extend(h.score for h in hits)
        stats = {space: _mean_sigma(scores) for space, scores in pooled.items()}

        def fused(kb: str, score: float) -> float:
            mu, sigma = stats[space_of[kb]]
            return float(weights.get(kb, 1.0)) / (1.0 + math.exp(-(score - mu) / sigma)) + 0.5 * score

    best: dict[tuple[str, str, str, str], Hit] = {}
    for kb, hits in lists.items():
        for h in hits:
            f = fused(kb, h.score)
            key = content_key(h)
            if key not in best or f > best[key].score:
                best[key] = replace(h, score=f)
    ranked = sorted(best.values(), key=lambda h: -h.score)[:k]
    return [replace(h, rank=i + 1) for i, h in enumerate(ranked)]


def content_key(hit: Hit) -> tuple[str, str, str, str]:
    """What makes two hits one piece of evidence: the same item (id, words and source file), whichever KB holds it
    (a KB and its ``kb copy``, or one corpus indexed twice, would fill the evidence with copies of one paragraph;
    two photos named ``IMG_0001.JPG`` in two KBs' folders, without captions, stay two)."""
    return hit.item.id, hit.item.text, hit.item.title or "", hit.item.source or ""


def score_space(info: KBInfo) -> str:
    """KBs with the same encoder (name and options) score in one space: their cosines compare directly."""
    return json.dumps(info.encoder.to_dict(), sort_keys=True, default=str)
