"""Equal scores are settled by point id, so the same question gets the same evidence from any engine order."""

from __future__ import annotations

import random

from mmroute.kb import settle_ties
from mmroute.stores.base import ScoredPoint


def test_ties_at_the_cut_are_settled_by_id_whatever_the_engine_order() -> None:
    points = [ScoredPoint("a", 0.9, {})] + [ScoredPoint(f"t{i}", 0.5 + 1e-9 * (i % 2), {}) for i in range(6)]
    results = set()
    for seed in range(20):
        shuffled = points[:]
        random.Random(seed).shuffle(shuffled)
        results.add(tuple(p.id for p in settle_ties(shuffled, 3)))
    assert results == {("a", "t0", "t1")}, results
    assert [p.id for p in settle_ties([ScoredPoint("z", 0.7, {}), ScoredPoint("b", 0.2, {})], 5)] == ["z", "b"]
