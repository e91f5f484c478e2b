"""Qdrant through qdrant-client: a server or cluster (``url=``), the client's local mode on disk
(the default when no url is given) or in memory (``location=":memory:"``).

The server path is the scale-out route: the same data model as the embedded Qdrant Edge store,
but the collection lives in a Qdrant deployment. The API key is read from the environment variable
named by ``api_key_env`` (default ``QDRANT_API_KEY``) when the store opens; it is never kept in the
options, the manifest, ``repr`` or logs.

Local mode is qdrant-client's pure-Python emulation (brute force over numpy, payloads in SQLite):
fine for tests and small KBs, slow beyond a few tens of thousands of points (100k x 384-d: about
130 s to insert and 150 ms per query on 2 cores), so it warns once above ``LOCAL_WARN_POINTS``.
Use the ``edge`` store for embedded use at scale.

Lexical search (option ``lexical``, see :mod:`mmroute.terms`): the collection also has a sparse vector
``lexical`` with ``modifier=IDF`` (BM25 with the client-side term-frequency saturation), and hybrid
search is one ``query_points`` call with a dense and a sparse prefetch fused by RRF or DBSF.

Example::

    store = QdrantStore(Path("kbs/docs/store"), url="https://qdrant.example.com:6333")  # key from $QDRANT_API_KEY
    store.open(384)
    store.upsert(points)
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ..errors import ConfigError, EndpointError, KBLockedError, StoreError
from ..redact import redact_url
from ..terms import SparseVector, saturate
from ._common import (
    SPARSE_NAME,
    as_matrix,
    check_lexical,
    check_open,
    dedupe_last,
    engine_errors,
    no_sparse_error,
    payload_selector,
    point_matrix,
    tree_bytes,
)
from .base import Filter, Fusion, Point, ScoredPoint

log = logging.getLogger(__name__)

LOCAL_WARN_POINTS = 20_000
_warned_local: set[str] = set()
_PAYLOAD_INDEXES = {"kind": "keyword", "doc_id": "keyword", "source": "keyword", "start_s": "float"}


def _models():
    from qdrant_client import models

    return models


def default_collection(path: Path) -> str:
    """``kbs/NAME/store`` -> ``NAME``; any other path -> its last component."""
    p = Path(path)
    name = p.parent.name if p.name == "store" and p.parent.name else p.name
    return name or "mmroute"


class QdrantStore:
    """A :class:`~mmroute.stores.base.VectorStore` on a Qdrant collection via qdrant-client.

    Options: ``url`` (server/cluster) or ``location=":memory:"`` or neither (local mode at ``path``);
    ``collection`` (default: the KB directory name); ``api_key_env``; ``prefer_grpc``; ``timeout``;
    ``m``/``ef_construct`` (collection HNSW on a server), ``hnsw_ef`` (search beam), ``exact``;
    ``batch_size`` (points per upsert request). ``read_only`` (KBs opened for searching) is accepted
    for every backend; qdrant-client's local mode still writes its lock file and SQLite journal.
    ``lexical``: keep sparse BM25 vectors too (a dict from :func:`mmroute.terms.lexical_spec`), or None.
    """

    backend = "qdrant"

    def __init__(
        self,
        path: Path,
        *,
        url: str | None = None,
        location: str | None = None,
        collection: str | None = None,
        api_key_env: str = "QDRANT_API_KEY",
        prefer_grpc: bool = False,
        timeout: int | None = None,
        m: int = 16,
        ef_construct: int = 128,
        hnsw_ef: int | None = None,
        exact: bool = False,
        batch_size: int = 256,
        read_only: bool = False,
        lexical: Mapping[str, Any] | None = None,
    ) -> None:
        if url and location:
            raise ConfigError("qdrant store: give either url or location, not both")
        if location not in (None, ":memory:"):
            raise ConfigError(
                f"qdrant store: location must be ':memory:', not {location!r}",
                hint="use url= for a server, or leave both unset for local mode on disk",
            )
        if "api_key" in (url or "").lower() or "@" in urlsplit(url or "").netloc:
            raise ConfigError(  # a url is recorded in the KB's manifest, index jobs and messages: no secret in it
                "qdrant store: do not put the API key or a password in the url",
                hint=f"export the key as ${api_key_env} instead",
            )
        self.path = Path(path)
        self.url = url
        self.location = location
        self.collection = collection or default_collection(self.path)
        self.api_key_env = api_key_env
        self.prefer_grpc = bool(prefer_grpc)
        self.timeout = timeout
        self.m = int(m)
        self.ef_construct = int(ef_construct)
        self.hnsw_ef = hnsw_ef
        self.exact = bool(exact)
        self.batch_size = max(1, int(batch_size))
        self.read_only = bool(read_only)
        self.lexical = check_lexical(lexical, self.backend)
        self._client: Any = None
        self._dim: int | None = None
        self._lock = threading.RLock()

    @property
    def mode(self) -> str:
        return "remote" if self.url else ("memory" if self.location else "local")

    def __repr__(self) -> str:
        where = redact_url(self.url) if self.url else (self.location or str(self.path))
        return f"QdrantStore({self.mode}, {where!r}, collection={self.collection!r})"

    def options(self) -> dict[str, Any]:
        """Constructor options as stored in the manifest (never the API key itself)."""
        return {
            "url": self.url,
            "location": self.location,
            "collection": self.collection,
            "api_key_env": self.api_key_env,
            "prefer_grpc": self.prefer_grpc,
            "timeout": self.timeout,
            "m": self.m,
            "ef_construct": self.ef_construct,
            "hnsw_ef": self.hnsw_ef,
            "exact": self.exact,
            "batch_size": self.batch_size,
            "lexical": self.lexical,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def _make_client(self) -> Any:
        from qdrant_client import QdrantClient

        if self.url:
            api_key = os.environ.get(self.api_key_env) or None
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
                if api_key and self.url.startswith("http://"):
                    log.warning("qdrant store: sending the API key over plain http to %s", redact_url(self.url))
                return QdrantClient(
                    url=self.url,
                    api_key=api_key,
                    prefer_grpc=self.prefer_grpc,
                    timeout=self.timeout,
                    check_compatibility=False,
                )
        if self.location:
            return QdrantClient(location=self.location)
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            return QdrantClient(path=str(self.path))
        except RuntimeError as e:
            if "already accessed" in str(e):
                raise KBLockedError(
                    f"the local Qdrant storage {self.path} is open in another process",
                    hint="local mode allows one client at a time; use a Qdrant server (url=) for concurrent readers",
                ) from None
            raise StoreError(f"cannot open local Qdrant storage {self.path}: {e}") from None

    def open(self, dim: int) -> None:
        with self._lock:
            if self._client is not None:
                if dim != self._dim:
                    raise StoreError(f"qdrant store is open with dim {self._dim}, not {dim}")
                return
            client = self._make_client()
            try:
                with engine_errors(self._error, "open the collection"):
                    self._ensure_collection(client, dim)
            except StoreError:
                client.close()
                raise
            self._client, self._dim = client, dim

    def _ensure_collection(self, client: Any, dim: int) -> None:
        m = _models()
        if client.collection_exists(self.collection):
            config = client.get_collection(self.collection).config.params
            params = config.vectors
            size = params.size if hasattr(params, "size") else None
            if size != dim:
                raise StoreError(
                    f"Qdrant collection {self.collection!r} holds {size}-d vectors, asked to open it for {dim}-d",
                    hint="use the encoder the KB was built with, or another collection name",
                )
            if self.lexical is not None and SPARSE_NAME not in (config.sparse_vectors or {}):
                raise no_sparse_error(self.backend, self.path)
            return
        sparse = None
        if self.lexical is not None:
            sparse = {SPARSE_NAME: m.SparseVectorParams(modifier=m.Modifier.IDF)}
        client.create_collection(
            self.collection,
            vectors_config=m.VectorParams(size=dim, distance=m.Distance.COSINE),
            sparse_vectors_config=sparse,
            hnsw_config=m.HnswConfigDiff(m=self.m, ef_construct=self.ef_construct),
        )
        if self.url:  # local mode has no payload indexes (and warns about each)
            schemas = {"keyword": m.PayloadSchemaType.KEYWORD, "float": m.PayloadSchemaType.FLOAT}
            for fld, kind in _PAYLOAD_INDEXES.items():
                client.create_payload_index(self.collection, fld, field_schema=schemas[kind], wait=True)

    def _error(self, action: str, e: Exception) -> StoreError | EndpointError:
        if self.url:
            return EndpointError(
                f"Qdrant at {redact_url(self.url or '')} failed to {action}: {e}",
                hint=f"check the server is reachable and ${self.api_key_env} holds a valid key",
            )
        return StoreError(f"Qdrant ({self.mode} mode) failed to {action}: {e}")

    def _require(self) -> Any:
        check_open(self._dim, self.backend)
        return self._client

    def flush(self) -> None:
        """Upserts are sent with ``wait=True``: acknowledged writes are already durable (server WAL,
        or local mode's SQLite, which commits every write), so there is nothing left to flush."""
        self._require()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None
                    self._dim = None

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        m = _models()
        with self._lock:
            client = self._require()
            pts = dedupe_last(points)
            mat = point_matrix(pts, self._dim or 0, self.backend)
            with engine_errors(self._error, "upsert"):
                for start in range(0, len(pts), self.batch_size):
                    batch = [
                        m.PointStruct(id=p.id, vector=self._point_vector(m, mat[start + i], p), payload=dict(p.payload))
                        for i, p in enumerate(pts[start : start + self.batch_size])
                    ]
                    client.upsert(self.collection, points=batch, wait=True)
            if self.mode == "local":
                self._warn_if_large()

    def _warn_if_large(self) -> None:
        key = str(self.path.resolve())
        if key in _warned_local:
            return
        n = self.count()
        if n > LOCAL_WARN_POINTS:
            _warned_local.add(key)
            msg = (
                f"Qdrant local mode now holds {n} points in {self.path}; it is a brute-force Python "
                f"emulation and slows down sharply beyond {LOCAL_WARN_POINTS} points (100k: ~150 ms/query). "
                "Use the 'edge' store (embedded Qdrant engine) or a Qdrant server (url=) for this KB."
            )
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            log.warning(msg)

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        m = _models()
        with self._lock:
            client = self._require()
            with engine_errors(self._error, "delete"):
                client.delete(self.collection, points_selector=m.PointIdsList(points=list(ids)), wait=True)

    # -- reads -------------------------------------------------------------------------------

    def _params(self) -> Any:
        return _models().SearchParams(hnsw_ef=self.hnsw_ef, exact=self.exact)

    def search(
        self, vector: np.ndarray, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        with self._lock:
            client = self._require()
            v = as_matrix(vector, self._dim or 0, self.backend)[0]
            if k <= 0:
                return []
            with engine_errors(self._error, "search"):
                res = client.query_points(
                    self.collection,
                    query=v.tolist(),
                    limit=k,
                    query_filter=qdrant_filter(flt),
                    with_payload=payload_selector(fields),
                    search_params=self._params(),
                )
            return [ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in res.points]

    def search_batch(self, vectors: np.ndarray, k: int, flt: Filter | None = None) -> list[list[ScoredPoint]]:
        m = _models()
        with self._lock:
            client = self._require()
            mat = as_matrix(vectors, self._dim or 0, self.backend)
            if k <= 0 or len(mat) == 0:
                return [[] for _ in range(len(mat))]
            qf = qdrant_filter(flt)
            reqs = [
                m.QueryRequest(query=v.tolist(), limit=k, filter=qf, with_payload=True, params=self._params())
                for v in mat
            ]
            with engine_errors(self._error, "search"):
                res = client.query_batch_points(self.collection, requests=reqs)
            return [[ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in r.points] for r in res]

    def get(self, ids: Sequence[str]) -> list[ScoredPoint]:
        if not ids:
            return []
        with self._lock:
            client = self._require()
            with engine_errors(self._error, "retrieve points"):
                recs = client.retrieve(self.collection, ids=list(dict.fromkeys(ids)), with_payload=True)
            return [ScoredPoint(str(r.id), 0.0, r.payload or {}) for r in recs]

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        with self._lock:
            client = self._require()
            with engine_errors(self._error, "retrieve points"):
                recs = client.retrieve(self.collection, ids=list(dict.fromkeys(ids)), with_payload=False)
            return {str(r.id) for r in recs}

    def all_ids(self) -> set[str]:
        with self._lock:
            client = self._require()
            out: set[str] = set()
            offset = None
            with engine_errors(self._error, "scroll"):
                while True:
                    recs, offset = client.scroll(
                        self.collection, limit=10_000, offset=offset, with_payload=False, with_vectors=False
                    )
                    out.update(str(r.id) for r in recs)
                    if offset is None:
                        return out

    def iter_points(self, batch_size: int = 1024) -> Iterator[list[Point]]:
        """All points with vectors and payloads, a page at a time (for moving a KB between stores)."""
        offset = None
        while True:
            with self._lock:
                client = self._require()
                with engine_errors(self._error, "scroll"):
                    recs, offset = client.scroll(
                        self.collection, limit=batch_size, offset=offset, with_payload=True, with_vectors=True
                    )
            if recs:
                yield [Point(str(r.id), np.asarray(_dense(r.vector), np.float32), r.payload or {}) for r in recs]
            if offset is None:
                return

    def count(self) -> int:
        with self._lock:
            client = self._require()
            with engine_errors(self._error, "count"):
                return int(client.count(self.collection, exact=True).count)

    def disk_bytes(self) -> int:
        return tree_bytes(self.path) if self.mode == "local" else 0

    # -- lexical (sparse BM25) and hybrid search ---------------------------------------------

    def has_sparse(self) -> bool:
        return self.lexical is not None

    def _point_vector(self, m: Any, dense: np.ndarray, p: Point) -> Any:
        if self.lexical is None or p.sparse is None or not len(p.sparse):
            return dense.tolist()
        lx = self.lexical
        weights = saturate(p.sparse.values, lx["k1"], lx["b"], lx["avgdl"])
        return {"": dense.tolist(), SPARSE_NAME: m.SparseVector(indices=list(p.sparse.indices), values=weights)}

    def _sparse_query(self, query: SparseVector) -> Any:
        if self.lexical is None:
            raise no_sparse_error(self.backend, self.path)
        return _models().SparseVector(indices=list(query.indices), values=[float(v) for v in query.values])

    def search_sparse(
        self, query: SparseVector, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        with self._lock:
            client = self._require()
            sq = self._sparse_query(query)
            if k <= 0 or not len(query):
                return []
            with engine_errors(self._error, "search the lexical index"):
                res = client.query_points(
                    self.collection,
                    query=sq,
                    using=SPARSE_NAME,
                    limit=k,
                    query_filter=qdrant_filter(flt),
                    with_payload=payload_selector(fields),
                )
            return [ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in res.points]

    def search_hybrid(
        self,
        vector: np.ndarray,
        query: SparseVector,
        k: int,
        flt: Filter | None = None,
        fusion: Fusion = Fusion(),
        fields: Sequence[str] | None = None,
    ) -> list[ScoredPoint]:
        m = _models()
        with self._lock:
            client = self._require()
            v = as_matrix(vector, self._dim or 0, self.backend)[0]
            sq = self._sparse_query(query)
            if k <= 0:
                return []
            n = max(k, fusion.candidates)
            qf = qdrant_filter(flt)
            prefetch = [m.Prefetch(query=v.tolist(), limit=n, filter=qf, params=self._params())]
            if len(query):
                prefetch.append(m.Prefetch(query=sq, using=SPARSE_NAME, limit=n, filter=qf))
            if fusion.method == "rrf":
                fq: Any = m.RrfQuery(rrf=m.Rrf(k=fusion.k, weights=list(fusion.weights[: len(prefetch)])))
            else:
                fq = m.FusionQuery(fusion=m.Fusion.DBSF)
            with engine_errors(self._error, "run a hybrid search"):
                res = client.query_points(
                    self.collection, prefetch=prefetch, query=fq, limit=k, with_payload=payload_selector(fields)
                )
            return [ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in res.points]


def _dense(v: Any) -> Any:
    """The unnamed dense vector of a record (a list, or a mapping of vector name -> vector)."""
    if isinstance(v, dict):
        return v[""] if "" in v else next(iter(v.values()))
    return v


def qdrant_filter(flt: Filter | None) -> Any:
    """Our :class:`Filter` as a ``qdrant_client.models.Filter`` (all conditions in ``must``)."""
    if flt is None or flt.empty:
        return None
    m = _models()
    must: list[Any] = [_match_one(m, k, v) for k, v in flt.equals.items()]
    for key, values in flt.any_of.items():
        vals = list(values)
        if vals and (
            all(isinstance(v, str) for v in vals) or all(isinstance(v, int) and not isinstance(v, bool) for v in vals)
        ):
            must.append(m.FieldCondition(key=key, match=m.MatchAny(any=vals)))
        elif vals:
            must.append(m.Filter(should=[_match_one(m, key, v) for v in vals]))
        else:  # an empty any_of matches nothing
            must.append(m.HasIdCondition(has_id=[]))
    for key, (lo, hi) in flt.ranges.items():
        must.append(m.FieldCondition(key=key, range=m.Range(gte=lo, lte=hi)))
    return m.Filter(must=must)


def _match_one(m: Any, key: str, value: Any) -> Any:
    if isinstance(value, float):
        return m.FieldCondition(key=key, range=m.Range(gte=value, lte=value))
    return m.FieldCondition(key=key, match=m.MatchValue(value=value))
