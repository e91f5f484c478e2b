"""The vector-store role: one Protocol, several interchangeable backends.

A store holds the points of one KB: a string id (the deterministic :func:`mmroute.types.point_id`),
a unit vector and a JSON payload (:meth:`mmroute.types.Item.to_payload`). Scores are inner
products of unit vectors, i.e. cosine similarity, higher is better.

Backends register in :data:`STORES` and are opened from a :class:`mmroute.types.StoreSpec`
plus the KB's directory; the same conformance suite (``tests/stores``) runs against each.

Lexical search: a store opened with the option ``lexical`` (a dict from
:func:`mmroute.terms.lexical_spec`: tokenizer, BM25 ``k1``/``b``/``avgdl``) also keeps each point's
sparse term-frequency vector (:attr:`Point.sparse`, built by :mod:`mmroute.terms`) and answers
:meth:`VectorStore.search_sparse` (BM25) and :meth:`VectorStore.search_hybrid` (dense and sparse
candidates fused by :class:`Fusion`). :meth:`VectorStore.has_sparse` is the capability check; a store
without it (a KB indexed before lexical search existed) raises :class:`~mmroute.errors.StoreError`
from both, with the hint ``mmroute kb reindex-lexical NAME``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError
from ..registry import Registry
from ..terms import SparseVector
from ..types import StoreSpec

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Filter:
    """Payload filter: all conditions must hold.

    - ``equals``: field == value
    - ``any_of``: field is one of the values
    - ``ranges``: lo <= field <= hi (either bound may be None)

    Fields are payload keys such as ``kind``, ``doc_id``, ``source``, ``start_s``.
    """

    equals: Mapping[str, Scalar] = field(default_factory=dict)
    any_of: Mapping[str, Sequence[Scalar]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def matches(self, payload: Mapping[str, Any]) -> bool:
        """Reference semantics, used by backends that filter in Python and by tests."""
        for k, v in self.equals.items():
            if payload.get(k) != v:
                return False
        for k, vs in self.any_of.items():
            if payload.get(k) not in set(vs):
                return False
        for k, (lo, hi) in self.ranges.items():
            x = payload.get(k)
            if x is None:
                return False
            if lo is not None and x < lo:
                return False
            if hi is not None and x > hi:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not (self.equals or self.any_of or self.ranges)


@dataclass(frozen=True)
class Point:
    id: str
    vector: np.ndarray
    payload: Mapping[str, Any]
    sparse: SparseVector | None = None
    """Raw term frequencies of the item's words (:func:`mmroute.terms.document_terms`); None: no words.
    Kept only by stores opened with the ``lexical`` option."""


FUSION_METHODS = ("rrf", "dbsf")


@dataclass(frozen=True)
class Fusion:
    """How :meth:`VectorStore.search_hybrid` fuses its dense and sparse candidate lists (Qdrant's semantics,
    which the FAISS store reproduces):

    - ``"rrf"``: weighted reciprocal rank fusion, ``sum_i 1 / ((rank_i + 1) / w_i + k - 1)`` over the lists
      that hold the point (rank from 0); ``weights = (dense, sparse)``, ``k`` the rank constant;
    - ``"dbsf"``: distribution-based score fusion: each list's scores mapped to [0, 1] by mean +- 3 standard
      deviations, then summed (weights and k do not apply).

    ``candidates``: how many points each side contributes (at least the requested k).
    """

    method: str = "rrf"
    weights: tuple[float, float] = (1.0, 1.0)
    k: int = 60
    candidates: int = 50

    def __post_init__(self) -> None:
        from ..errors import ConfigError

        if self.method not in FUSION_METHODS:
            raise ConfigError(f"unknown fusion method {self.method!r}", hint=f"use one of {', '.join(FUSION_METHODS)}")
        if len(self.weights) != 2 or any(w < 0 for w in self.weights) or not any(w > 0 for w in self.weights):
            raise ConfigError(
                f"fusion weights must be two non-negative numbers (dense, sparse), not {self.weights!r}",
                hint="e.g. weights=[1, 1]",
            )
        if self.k < 1 or self.candidates < 1:
            raise ConfigError(
                f"fusion k and candidates must be at least 1, not {self.k} and {self.candidates}",
                hint="e.g. rrf_k=60 (the usual reciprocal-rank constant)",
            )


@dataclass(frozen=True)
class ScoredPoint:
    id: str
    score: float
    payload: Mapping[str, Any]


@runtime_checkable
class VectorStore(Protocol):
    """A collection of unit vectors with payloads, searchable by inner product.

    Lifecycle: construct (cheap), ``open(dim)`` (creates or opens on disk), ``upsert``/``search``...,
    ``flush()`` makes every acknowledged upsert durable, ``close()``.
    Upserting an existing id replaces the point (never duplicates).
    """

    backend: str

    def open(self, dim: int) -> None: ...

    def upsert(self, points: Sequence[Point]) -> None: ...

    def search(
        self, vector: np.ndarray, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        """Top-k points by cosine. ``fields``: the payload keys wanted (at least these come back), default
        all; ``[]`` asks for ids and scores only, which spares an engine with payloads on disk a page
        read per hit (a candidate pool of a hundred read 7 ms of payload pages per query at 1M points)."""
        ...

    def search_batch(self, vectors: np.ndarray, k: int, flt: Filter | None = None) -> list[list[ScoredPoint]]: ...

    def has_sparse(self) -> bool:
        """Whether this store keeps sparse vectors (opened with the ``lexical`` option)."""
        ...

    def search_sparse(
        self, query: SparseVector, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        """Top-k points by BM25 of their sparse vectors against ``query`` (:func:`mmroute.terms.query_terms`);
        points sharing no term with the query are not returned. ``fields``: as for :meth:`search`."""
        ...

    def search_hybrid(
        self,
        vector: np.ndarray,
        query: SparseVector,
        k: int,
        flt: Filter | None = None,
        fusion: Fusion = Fusion(),
        fields: Sequence[str] | None = None,
    ) -> list[ScoredPoint]:
        """Dense and sparse candidates of one query, fused (see :class:`Fusion`); scores are fusion scores.
        ``fields``: as for :meth:`search`."""
        ...

    def get(self, ids: Sequence[str]) -> list[ScoredPoint]:
        """Points with these ids that exist (score 0.0), in any order."""
        ...

    def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    def all_ids(self) -> set[str]: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def iter_points(self, batch_size: int = 1024) -> Iterator[list[Point]]:
        """Every point with its vector and payload, a page at a time (moving a KB between stores)."""
        ...

    def count(self) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def disk_bytes(self) -> int: ...


STORES: Registry[VectorStore] = Registry(
    "store",
    {
        "edge": "mmroute.stores.edge:EdgeStore",
        "faiss": "mmroute.stores.faiss_store:FaissStore",
        "qdrant": "mmroute.stores.qdrant:QdrantStore",
    },
)
"""Backends by name. Factories take ``(path: Path, **options)``."""


def open_store(backend: str, path: Path, options: Mapping[str, Any] | None = None) -> VectorStore:
    """Construct a registered backend for a KB directory (does not open it yet)."""
    return STORES.create(backend, path=path, **dict(options or {}))


def require_lasting(spec: StoreSpec) -> None:
    """Nothing when a KB on ``spec`` keeps its points after the process ends; a ConfigError for an in-memory store
    (Qdrant's ``location=":memory:"``), where a KB indexed, copied or moved would be empty once the command
    ended while its manifest still counted the items. In-memory stores remain for a process's own use
    (:func:`open_store`), never as a KB's store."""
    if spec.options.get("location") == ":memory:":
        raise ConfigError(
            f"a KB cannot live in an in-memory {spec.backend} store (location=':memory:'): its points would be "
            "gone when this command ends",
            hint="leave location unset for a store on disk in the KB's folder, or give url= for a server",
        )
