"""The FAISS store's Python fusion reproduces qdrant-client's RRF (weighted) and DBSF exactly, and the
tokenizer / term ids are stable (a change would silently break every existing lexical index)."""

from __future__ import annotations

import pytest
from qdrant_client import models
from qdrant_client.hybrid.fusion import distribution_based_score_fusion, reciprocal_rank_fusion

from mmroute.errors import ConfigError
from mmroute.stores._common import fuse
from mmroute.stores.base import Fusion, ScoredPoint
from mmroute.terms import TOKENIZER, document_terms, query_terms, saturate, term_id, tokens

DENSE = [("a", 0.9), ("b", 0.8), ("c", 0.5), ("d", 0.45)]
SPARSE = [("c", 7.0), ("e", 5.0), ("a", 1.0)]


def _ours(fusion: Fusion) -> list[tuple[str, float]]:
    d = [ScoredPoint(i, s, {}) for i, s in DENSE]
    s = [ScoredPoint(i, x, {}) for i, x in SPARSE]
    return [(p.id, round(p.score, 9)) for p in fuse(d, s, 10, fusion)]


def _qdrant(lists: list, **kw) -> list[tuple[str, float]]:
    resp = [[models.ScoredPoint(id=i, version=0, score=s) for i, s in lst] for lst in lists]
    return [(str(p.id), round(p.score, 9)) for p in kw.pop("fn")(resp, **kw)]


@pytest.mark.parametrize("k,weights", [(60, (1.0, 1.0)), (2, (1.0, 1.0)), (2, (1.0, 3.0)), (10, (2.0, 0.5))])
def test_rrf_matches_qdrant(k: int, weights: tuple[float, float]) -> None:
    want = _qdrant([DENSE, SPARSE], fn=reciprocal_rank_fusion, limit=10, ranking_constant_k=k, weights=list(weights))
    assert _ours(Fusion("rrf", weights, k)) == want


def test_dbsf_matches_qdrant() -> None:
    assert _ours(Fusion("dbsf")) == _qdrant([DENSE, SPARSE], fn=distribution_based_score_fusion, limit=10)


def test_bad_fusion_is_config_error() -> None:
    with pytest.raises(ConfigError):
        Fusion("sum")
    with pytest.raises(ConfigError):
        Fusion(weights=(0.0, 0.0))
    with pytest.raises(ConfigError):
        Fusion(weights=(1.0,))  # type: ignore[arg-type]


def test_tokenizer_and_term_ids_are_stable() -> None:
    assert TOKENIZER == "words-v1"
    assert tokens("Zürich's ÉCOLE, 東京 and the 2nd-best") == ["zurich", "ecole", "東京", "2nd", "best"]
    assert term_id("zurich") == 1652909559 and term_id("東京") == 1168149181
    doc = document_terms("river River rivers")
    assert doc.length == 3 and sorted(doc.values) == [1.0, 2.0]
    assert query_terms("river river").values == [1.0]
    assert query_terms("the of and").indices == []


def test_saturation_is_bm25() -> None:
    (w,) = saturate([2.0], k1=1.2, b=0.75, avgdl=2.0)  # dl == avgdl: tf (k1 + 1) / (tf + k1)
    assert w == pytest.approx(2 * 2.2 / (2 + 1.2))
    short, long_ = saturate([1.0], 1.2, 0.75, 10.0)[0], saturate([1.0, 9.0], 1.2, 0.75, 10.0)[0]
    assert short > long_  # the same tf counts for less in a longer document
