"""The vector-store role: one Protocol, several interchangeable backends.

A store holds the points of one KB: a string id (the deterministic :func:`mmroute.types.point_id`),
a unit vector and a JSON payload (:meth:`mmroute.types.Item.to_payload`). Scores are inner
products of unit vectors, i.e. cosine similarity, higher is better.

Backends register in :data:`STORES` and are opened from a :class:`mmroute.types.StoreSpec`
plus the KB's directory; the same conformance suite (``tests/stores``) runs against each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from ..registry import Registry

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

    def search(self, vector: np.ndarray, k: int, flt: Filter | None = None) -> list[ScoredPoint]: ...

    def search_batch(self, vectors: np.ndarray, k: int, flt: Filter | None = None) -> list[list[ScoredPoint]]: ...

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


STORES: Registry[VectorStore] = Registry("store")
"""Backends by name. Factories take ``(path: Path, **options)``."""


def open_store(backend: str, path: Path, options: Mapping[str, Any] | None = None) -> VectorStore:
    """Construct a registered backend for a KB directory (does not open it yet)."""
    from . import _register_all  # noqa: F401  (import side effect registers backends)

    return STORES.create(backend, path=path, **dict(options or {}))
