"""Routing then searching embeds a query once: the router's featurizer fills the encoder's cache."""

import numpy as np

from mmroute.encoders.text import default_text_encoder
from mmroute.routing.embedding import QueryFeaturizer


def test_router_features_and_search_vectors_agree_and_are_shared() -> None:
    enc = default_text_encoder()
    q = "Which river flows through the city where the Eiffel Tower stands?"
    feats = QueryFeaturizer(enc).features([q])
    assert q in enc._query_cache  # noqa: SLF001
    cached = enc.encode_queries([q])
    fresh = enc._embed([q])  # noqa: SLF001  (the uncached recipe)
    assert np.allclose(cached, fresh, atol=1e-5) and np.allclose(feats.embedding, fresh, atol=1e-5)
    mixed = enc.encode_queries(["an unseen query about glaciers", q])
    assert np.allclose(mixed[1], fresh[0], atol=1e-5) and abs(float(mixed[0] @ mixed[0]) - 1) < 1e-4


def test_cache_is_bounded() -> None:
    enc = default_text_encoder()
    vecs = np.eye(3, enc.dim, dtype=np.float32)
    for i in range(enc.QUERY_CACHE_SIZE + 10):
        enc.remember_queries([f"q{i}"], vecs[:1])
    assert len(enc._query_cache) <= enc.QUERY_CACHE_SIZE  # noqa: SLF001


def test_routing_first_does_not_change_the_search_vector() -> None:
    """The router embeds the canonical routing text; the search must embed the question as pasted, whether
    or not a router ran first in this process (else a served home and ``--kb NAME`` answer differently)."""
    from mmroute.routing import TrainedRouter

    r = TrainedRouter()
    enc = r.featurizer.encoder
    q = "Question: which river flows through Paris?\n(A) the Seine\n(B) the Thames"
    as_pasted = enc._embed([q])[0]  # noqa: SLF001  (uncached)
    feats = r.features(q)
    assert np.allclose(feats.embedding[0], enc._embed(["which river flows through paris"])[0], atol=1e-5)  # noqa: SLF001
    assert np.allclose(enc.encode_queries([q])[0], as_pasted, atol=1e-5)
    assert not np.allclose(feats.embedding[0], as_pasted, atol=1e-3), "routing text and search text differ here"
