"""One conformance suite for every registered VectorStore backend (small n, so it stays fast).

Every name in ``STORES.names()`` runs with its default options, plus the variants listed in
:data:`VARIANTS` (another index kind, another mode); every harness keeps a lexical (sparse) index, so
BM25 and hybrid search are covered on every store too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmroute.errors import MMRouteError, StoreError
from mmroute.stores import STORES, Filter, Fusion, Point, VectorStore, open_store
from mmroute.terms import document_terms, lexical_spec, query_terms
from mmroute.types import point_id

DIM = 16
N = 300
LEXICAL = lexical_spec(avgdl=4.0)

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "qdrant_memory": ("qdrant", {"location": ":memory:"}),
    "faiss_hnsw": ("faiss", {"index": "hnsw", "M": 16, "ef_search": 128}),
    "edge_on_disk": ("edge", {"on_disk": True}),  # vectors and the lexical index mapped, not loaded
}
BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, {}) for name in STORES.names()},  # every registered store, default options
    **VARIANTS,
}
APPROXIMATE = {"faiss_hnsw"}
SMALL = {"qdrant": 60}  # local mode commits (fsyncs) SQLite once per point: keep it small
PERSISTENT = {name for name, (_, opts) in BACKENDS.items() if "location" not in opts}
WORDS = ["apple", "river", "castle", "violin", "desert", "harbor", "comet", "tulip", "glacier", "lantern", "falcon"]


def words_of(i: int) -> str:
    """Item i's text: 'text i' plus two words picked by i (so each word is in a known set of items)."""
    return f"text {i} {WORDS[i % 11]} {WORDS[(i // 11) % 11]}"


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_points(n: int = N, seed: int = 0) -> tuple[list[Point], np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = unit(rng, n)
    kinds = ["paragraph", "document", "image", "clip"]
    pts = [
        Point(
            point_id("kb", f"item-{i}"),
            vecs[i],
            {
                "item_id": f"item-{i}",
                "kind": kinds[i % 4],
                "doc_id": f"d{i % 7}",
                "n": i,
                "start_s": float(i) / 2,
                "text": words_of(i),
            },
            sparse=document_terms(words_of(i)),
        )
        for i in range(n)
    ]
    return pts, vecs


class Harness:
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.backend, options = BACKENDS[name]
        self.options = {**options, "lexical": LEXICAL}
        self.path = root / "kb" / "store"
        self.n = SMALL.get(name, N)

    def make(self) -> VectorStore:
        return open_store(self.backend, self.path, self.options)

    def opened(self, dim: int = DIM) -> VectorStore:
        s = self.make()
        s.open(dim)
        return s


@pytest.fixture(params=list(BACKENDS))
def h(request: pytest.FixtureRequest, tmp_path: Path):
    harness = Harness(request.param, tmp_path)
    yield harness


@pytest.fixture
def filled(h: Harness):
    pts, vecs = make_points(h.n)
    store = h.opened()
    store.upsert(pts)
    store.flush()
    yield h, store, pts, vecs
    store.close()


@pytest.fixture(scope="module", params=list(BACKENDS))
def ro(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A filled store shared by the read-only tests of one backend."""
    h = Harness(request.param, tmp_path_factory.mktemp(request.param))
    pts, vecs = make_points(h.n)
    store = h.opened()
    store.upsert(pts)
    store.flush()
    yield h, store, pts, vecs
    store.close()


def exact_top(
    vecs: np.ndarray, pts: list[Point], q: np.ndarray, k: int, flt: Filter | None = None
) -> list[tuple[str, float]]:
    scores = vecs @ q
    order = np.argsort(-scores, kind="stable")
    out = [(pts[i].id, float(scores[i])) for i in order if flt is None or flt.matches(pts[i].payload)]
    return out[:k]


def test_every_registered_store_is_covered() -> None:
    assert {backend for backend, _ in BACKENDS.values()} == set(STORES.names())


def test_registered_and_protocol(h: Harness) -> None:
    assert h.backend in STORES
    store = h.make()
    assert isinstance(store, VectorStore)
    assert store.backend == h.backend


def test_unknown_backend_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(MMRouteError, match="unknown store"):
        open_store("nope", tmp_path)


def test_empty_store(h: Harness) -> None:
    store = h.opened()
    q = unit(np.random.default_rng(1), 2)
    assert store.count() == 0
    assert store.search(q[0], 5) == []
    assert store.search(q[0], 5, Filter(equals={"kind": "image"})) == []
    assert store.search_batch(q, 5) == [[], []]
    assert store.all_ids() == set()
    assert store.get([point_id("kb", "a")]) == []
    assert store.existing_ids([point_id("kb", "a")]) == set()
    store.flush()
    store.close()


def test_reopen_persists(h: Harness) -> None:
    if h.name not in PERSISTENT:
        pytest.skip("in-memory backend")
    pts, vecs = make_points(h.n)
    s = h.opened()
    s.upsert(pts)
    s.flush()
    s.close()
    s2 = h.opened()
    assert s2.count() == h.n
    assert s2.all_ids() == {p.id for p in pts}
    hit = s2.search(vecs[17], 1)[0]
    assert hit.id == pts[17].id and hit.score == pytest.approx(1.0, abs=1e-4)
    assert hit.payload["item_id"] == "item-17"
    assert s2.disk_bytes() > 0
    s2.close()


def test_upsert_is_idempotent(filled) -> None:
    h, store, pts, _ = filled
    store.upsert(pts)
    store.upsert(pts[:10] + pts[:10])  # repeated ids inside one batch too
    store.flush()
    assert store.count() == h.n
    assert store.all_ids() == {p.id for p in pts}


def test_replace_semantics(filled) -> None:
    h, store, pts, vecs = filled
    new_vec = -vecs[5]
    store.upsert([Point(pts[5].id, new_vec, {"item_id": "item-5", "kind": "video", "v": 2})])
    store.flush()
    assert store.count() == h.n
    got = store.get([pts[5].id])
    assert len(got) == 1 and got[0].payload["v"] == 2 and got[0].payload["kind"] == "video"
    top = store.search(new_vec, 1)[0]
    assert top.id == pts[5].id and top.score == pytest.approx(1.0, abs=1e-4)
    ids = [p.id for p in store.search(vecs[5], 20)]
    assert len(ids) == len(set(ids))
    assert pts[5].id not in ids[:1]


def test_delete(filled) -> None:
    h, store, pts, vecs = filled
    gone = [p.id for p in pts[:20]]
    store.delete(gone + [point_id("kb", "never-existed")])
    store.flush()
    assert store.count() == h.n - 20
    assert store.existing_ids(gone) == set()
    assert not set(gone) & store.all_ids()
    for i in (0, 10, 19):
        assert pts[i].id not in {p.id for p in store.search(vecs[i], 10)}
    store.delete([])
    assert store.count() == h.n - 20


def test_search_matches_exact(ro) -> None:
    h, store, pts, vecs = ro
    rng = np.random.default_rng(7)
    queries = unit(rng, 10)
    by_id = {p.id: i for i, p in enumerate(pts)}
    overlaps = []
    for q in queries:
        res = store.search(q, 10)
        exp = exact_top(vecs, pts, q, 10)
        assert len(res) == 10
        scores = [r.score for r in res]
        assert scores == sorted(scores, reverse=True)
        for r in res:  # every returned score is the true cosine of that point
            assert r.score == pytest.approx(float(vecs[by_id[r.id]] @ q), abs=1e-4)
            assert r.payload["item_id"] == f"item-{by_id[r.id]}"
        if h.name in APPROXIMATE:
            overlaps.append(len({r.id for r in res} & {e[0] for e in exp}) / 10)
        else:
            assert [r.id for r in res] == [e[0] for e in exp]
    if overlaps:
        assert np.mean(overlaps) >= 0.9


@pytest.mark.parametrize(
    "flt",
    [
        Filter(equals={"kind": "image"}),
        Filter(equals={"n": 42}),
        Filter(equals={"start_s": 21.0}),
        Filter(any_of={"doc_id": ["d1", "d3"]}),
        Filter(any_of={"n": [1, 2, 3, 250]}),
        Filter(ranges={"start_s": (10.0, 30.0)}),
        Filter(ranges={"n": (None, 5)}),
        Filter(ranges={"n": (290, None)}),
        Filter(equals={"kind": "clip"}, any_of={"doc_id": ["d2", "d4"]}, ranges={"n": (100, 299)}),
        Filter(equals={"kind": "nothing"}),
    ],
    ids=lambda f: repr(f)[:60],
)
def test_filters(ro, flt: Filter) -> None:
    h, store, pts, vecs = ro
    q = unit(np.random.default_rng(3), 1)[0]
    res = store.search(q, 8, flt)
    exp = exact_top(vecs, pts, q, 8, flt)
    assert all(flt.matches(r.payload) for r in res)
    assert len(res) == len(exp)
    if h.name not in APPROXIMATE:
        assert [r.id for r in res] == [e[0] for e in exp]
    batch = store.search_batch(np.stack([q, q]), 8, flt)
    assert [[r.id for r in b] for b in batch] == [[r.id for r in res]] * 2


def test_search_batch_equals_single(ro) -> None:
    h, store, pts, vecs = ro
    queries = unit(np.random.default_rng(11), 5)
    batch = store.search_batch(queries, 7)
    assert len(batch) == 5
    for q, b in zip(queries, batch):
        single = store.search(q, 7)
        assert [r.id for r in b] == [r.id for r in single]
        assert [r.score for r in b] == pytest.approx([r.score for r in single], abs=1e-5)


def test_get_existing_all_ids(ro) -> None:
    h, store, pts, _ = ro
    want = [pts[3].id, pts[8].id, point_id("kb", "missing")]
    got = store.get(want)
    assert {g.id for g in got} == {pts[3].id, pts[8].id}
    assert {g.id: g.payload["n"] for g in got} == {pts[3].id: 3, pts[8].id: 8}
    assert all(g.score == 0.0 for g in got)
    assert store.existing_ids(want) == {pts[3].id, pts[8].id}
    assert store.existing_ids([]) == set()
    assert store.get([]) == []
    assert store.all_ids() == {p.id for p in pts}


def test_k_larger_than_count(h: Harness) -> None:
    pts, vecs = make_points(n=5)
    store = h.opened()
    store.upsert(pts)
    store.flush()
    res = store.search(vecs[0], 50)
    assert len(res) == 5 and res[0].id == pts[0].id
    assert [len(r) for r in store.search_batch(vecs[:2], 50)] == [5, 5]
    assert len(store.search(vecs[0], 50, Filter(any_of={"kind": ["paragraph", "image"]}))) == 3
    store.close()


def test_dimension_mismatch(h: Harness) -> None:
    pts, _ = make_points(n=3)
    store = h.opened()
    store.upsert(pts)
    store.flush()
    with pytest.raises(StoreError, match="16-d"):
        store.upsert([Point(point_id("kb", "bad"), np.ones(DIM + 1, np.float32), {})])
    with pytest.raises(StoreError, match="16-d"):
        store.search(np.ones(8, np.float32), 3)
    with pytest.raises(StoreError):
        store.search_batch(np.ones((2, 8), np.float32), 3)
    assert store.count() == 3
    store.close()
    if h.name in PERSISTENT:
        with pytest.raises(StoreError, match="16-d"):
            h.opened(dim=32)


def test_use_before_open_is_store_error(h: Harness) -> None:
    with pytest.raises(StoreError, match="not open"):
        h.make().count()


def test_unicode_payload_round_trip(h: Harness) -> None:
    payload = {
        "item_id": "ü-1",
        "kind": "paragraph",
        "text": 'Zürich — 東京 — emoji 🎬✓ — «quotes» "\\',
        "captions": ["première", "второй"],
        "metadata": {"nested": {"list": [1, 2.5, None, True]}},
        "title": None,
        "start_s": 1.25,
    }
    pid = point_id("kb", "ü-1")
    store = h.opened()
    store.upsert([Point(pid, unit(np.random.default_rng(2), 1)[0], payload)])
    store.flush()
    if h.name in PERSISTENT:
        store.close()
        store = h.opened()
    got = store.get([pid])
    assert len(got) == 1 and dict(got[0].payload) == payload
    assert (
        store.search(np.asarray(unit(np.random.default_rng(2), 1)[0]), 1, Filter(equals={"item_id": "ü-1"}))[0].id
        == pid
    )
    store.close()


# -- lexical (sparse BM25) and hybrid search --------------------------------------------------------


def lexical_truth(pts: list[Point], query: str) -> set[str]:
    """Ids of the points sharing a query term (what BM25 may return)."""
    q = set(query_terms(query).indices)
    return {p.id for p in pts if q & set(p.sparse.indices)}


def test_sparse_capability(ro) -> None:
    h, store, _, _ = ro
    assert store.has_sparse()
    plain = open_store(h.backend, h.path.parent / "plain", {k: v for k, v in h.options.items() if k != "lexical"})
    plain.open(DIM)
    try:
        assert not plain.has_sparse()
        with pytest.raises(StoreError, match="reindex-lexical"):
            plain.search_sparse(query_terms("apple"), 3)
        with pytest.raises(StoreError, match="reindex-lexical"):
            plain.search_hybrid(np.ones(DIM, np.float32) / 4, query_terms("apple"), 3)
    finally:
        plain.close()


def test_sparse_search_is_bm25(ro) -> None:
    h, store, pts, _ = ro
    by_id = {p.id: p for p in pts}
    res = store.search_sparse(query_terms("violin"), 500)
    assert {r.id for r in res} == lexical_truth(pts, "violin") and res  # every match, nothing else
    scores = [r.score for r in res]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    # two query words: the items holding both outrank those holding one
    both = store.search_sparse(query_terms("Violin COMET"), 500)
    two = [r for r in both if {"violin", "comet"} <= set(by_id[r.id].payload["text"].split())]
    assert two and {r.id for r in both[: len(two)]} == {r.id for r in two}
    # a rare term outweighs a frequent one (IDF): 'text' is everywhere, item-17's number is in one item
    top = store.search_sparse(query_terms("text 17"), 3)
    assert top[0].id == pts[17].id and top[0].payload["item_id"] == "item-17"
    assert store.search_sparse(query_terms("zebra unknownword"), 5) == []
    assert store.search_sparse(query_terms("the of and"), 5) == []  # stop words only: no terms
    assert store.search_sparse(query_terms("violin"), 0) == []
    # asking for item ids only: the same points and scores, each payload holding at least its item id
    slim = store.search_sparse(query_terms("Violin COMET"), 500, fields=["item_id"])
    assert [(r.id, round(r.score, 6)) for r in slim] == [(r.id, round(r.score, 6)) for r in both]
    assert all(r.payload["item_id"] == by_id[r.id].payload["item_id"] for r in slim)


def test_sparse_search_filters(ro) -> None:
    h, store, pts, _ = ro
    flt = Filter(equals={"kind": "image"})
    res = store.search_sparse(query_terms("apple river"), 500, flt)
    want = {p.id for p in pts if flt.matches(p.payload)} & lexical_truth(pts, "apple river")
    assert res and {r.id for r in res} == want


@pytest.mark.parametrize(
    "fusion",
    [Fusion(), Fusion(method="rrf", weights=(1.0, 3.0), k=2), Fusion(method="dbsf")],
    ids=["rrf", "rrf-weighted", "dbsf"],
)
def test_hybrid_search(ro, fusion: Fusion) -> None:
    h, store, pts, vecs = ro
    i = 23 % h.n
    # the dense query points at item i, the words at the items holding 'glacier' (i is not one of them)
    words = "glacier"
    assert pts[i].id not in lexical_truth(pts, words)
    res = store.search_hybrid(vecs[i], query_terms(words), 10, fusion=fusion)
    ids = [r.id for r in res]
    assert len(ids) == 10 == len(set(ids))
    assert [r.score for r in res] == sorted((r.score for r in res), reverse=True)
    assert pts[i].id in ids  # the dense side's best
    assert set(ids) & lexical_truth(pts, words)  # and lexical matches
    dense = {r.id for r in store.search(vecs[i], fusion.candidates)}
    both = dense & lexical_truth(pts, words)
    if fusion.method == "rrf" and fusion.weights[0] == fusion.weights[1]:  # found by both sides: fused first
        assert set(ids[: len(both)]) == both
    # the sparse side's weight moves lexical matches up
    if fusion.method == "rrf":
        sparse_only = store.search_hybrid(vecs[i], query_terms(words), 5, fusion=Fusion(weights=(0.0, 1.0), k=fusion.k))
        dense_only = store.search_hybrid(vecs[i], query_terms(words), 5, fusion=Fusion(weights=(1.0, 0.0), k=fusion.k))
        assert len(sparse_only) == 5 and all(r.id in lexical_truth(pts, words) for r in sparse_only)
        assert dense_only[0].id == pts[i].id
    # no words: the dense result
    dense_only = store.search_hybrid(vecs[i], query_terms("the of"), 5, fusion=fusion)
    assert [r.id for r in dense_only] == [r.id for r in store.search(vecs[i], 5)]
    flt = Filter(equals={"kind": "clip"})
    assert all(flt.matches(r.payload) for r in store.search_hybrid(vecs[i], query_terms(words), 5, flt, fusion))


def test_ids_and_scores_only(ro) -> None:
    """``fields=[]``: every search kind returns the same points and scores as with payloads (a store may
    then skip reading payloads, which is what makes a candidate pool of hundreds cheap at scale)."""
    h, store, pts, vecs = ro
    q, words = vecs[5], query_terms("violin comet")

    def same(slim: list, full: list) -> None:
        """The same scores, and the same points above the last score (engines order equal scores in no
        fixed way, so which of the points tied at the cut come back may differ; RRF ties often)."""
        assert slim and sorted(round(r.score, 5) for r in slim) == sorted(round(r.score, 5) for r in full)
        cut = min(round(r.score, 5) for r in full)
        above = lambda rs: {(r.id, round(r.score, 5)) for r in rs if round(r.score, 5) > cut}  # noqa: E731
        assert above(slim) == above(full)

    same(store.search(q, 20, fields=[]), store.search(q, 20))
    same(store.search_sparse(words, 50, fields=[]), store.search_sparse(words, 50))
    same(store.search_hybrid(q, words, 20, fields=[]), store.search_hybrid(q, words, 20))
    if h.backend != "faiss":  # engines with payloads on disk skip them; FAISS keeps them in memory anyway
        assert all(r.payload == {} for r in store.search(q, 20, fields=[]) + store.search_sparse(words, 50, fields=[]))
    flt = Filter(equals={"kind": "image"})  # a filter still applies to the payload the caller does not read
    same(store.search(q, 10, flt, fields=[]), store.search(q, 10, flt))
    same(store.search_sparse(words, 50, flt, fields=[]), store.search_sparse(words, 50, flt))


def test_sparse_follows_upsert_delete_and_reopen(h: Harness) -> None:
    pts, vecs = make_points(h.n)
    store = h.opened()
    store.upsert(pts)
    store.flush()
    target = pts[5]
    store.upsert([Point(target.id, vecs[5], {**target.payload, "text": "kangaroo"}, sparse=document_terms("kangaroo"))])
    store.delete([pts[6].id])
    store.flush()
    assert [r.id for r in store.search_sparse(query_terms("kangaroo"), 5)] == [target.id]
    assert target.id not in {r.id for r in store.search_sparse(query_terms(words_of(5)), 500)} - lexical_truth(
        pts[:5] + pts[7:], words_of(5)
    )
    assert pts[6].id not in {r.id for r in store.search_sparse(query_terms(words_of(6)), 500)}
    store.upsert([Point(point_id("kb", "no-words"), vecs[0], {"item_id": "no-words", "kind": "image"})])
    store.flush()
    if h.name in PERSISTENT:
        store.close()
        store = h.opened()
    assert [r.id for r in store.search_sparse(query_terms("kangaroo"), 5)] == [target.id]
    assert store.count() == h.n
    store.close()
