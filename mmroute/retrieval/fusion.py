"""Fusing ranked lists from several KBs into one.

Raw cosine scores are not comparable across KBs: a MiniLM paragraph index and a ConSE image index
have different score ranges. Each KB's list is therefore normalised before merging:

    fused(h) = w_kb * logistic((s_h - mu_kb) / sigma_kb) + 0.5 * s_h

The z-score makes the lists comparable; the raw cosine term keeps a KB whose best hit is weak
from outranking a KB whose best hit is strong. Here mu/sigma are the mean and standard deviation of that KB's returned scores (a z-score over
the top list, with sigma floored at 0.05 so a flat list does not explode), and ``w_kb`` is the
router's probability for the route that selected the KB (1.0 when the caller named the KBs).
Duplicate item ids (same item reached via two KBs) keep their best fused score.
The fused score replaces ``Hit.score``; the raw score stays available in the trace step.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Mapping, Sequence

from ..types import Hit

SIGMA_FLOOR = 0.05


def _zscores(scores: Sequence[float]) -> list[float]:
    if not scores:
        return []
    mu = sum(scores) / len(scores)
    var = sum((s - mu) ** 2 for s in scores) / len(scores)
    sigma = max(math.sqrt(var), SIGMA_FLOOR)
    return [(s - mu) / sigma for s in scores]


def fuse_hits(per_kb: Mapping[str, Sequence[Hit]], k: int, weights: Mapping[str, float] | None = None) -> list[Hit]:
    """Merge per-KB hit lists into one top-k list with comparable scores (see module doc).

    With a single KB the original order and raw scores are kept unchanged.
    """
    lists = {kb: list(hs) for kb, hs in per_kb.items() if hs}
    if not lists:
        return []
    if len(lists) == 1:
        (hits,) = lists.values()
        return [replace(h, rank=i + 1) for i, h in enumerate(hits[:k])]
    weights = weights or {}
    best: dict[str, Hit] = {}
    for kb, hits in lists.items():
        w = float(weights.get(kb, 1.0))
        for h, z in zip(hits, _zscores([h.score for h in hits])):
            fused = w / (1.0 + math.exp(-z)) + 0.5 * h.score
            key = f"{h.kb}\x1f{h.item.id}"
            if key not in best or fused > best[key].score:
                best[key] = replace(h, score=fused)
    ranked = sorted(best.values(), key=lambda h: -h.score)[:k]
    return [replace(h, rank=i + 1) for i, h in enumerate(ranked)]
