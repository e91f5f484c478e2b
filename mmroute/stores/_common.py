"""Helpers shared by the store backends: input checks, engine errors, fusion and on-disk size."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, StoreError
from ..terms import TOKENIZER
from .base import Fusion, Point, ScoredPoint

SPARSE_NAME = "lexical"
"""Name of the sparse vector in Qdrant Edge shards and Qdrant collections."""


@contextmanager
def engine_errors(to_error: Callable[[str, Exception], Exception], action: str) -> Iterator[None]:
    """Turn whatever an engine raises (the extensions raise plain Exceptions) into the store's
    error for ``action`` (a :class:`StoreError`, or a more specific mmroute error such as a locked KB or an
    unreachable server); our own StoreErrors pass through unchanged.

    >>> with engine_errors(my_error, "search"):
    ...     shard.query(request)
    """
    try:
        yield
    except StoreError:
        raise
    except Exception as e:  # noqa: BLE001 - the point of this helper
        raise to_error(action, e) from None


def check_lexical(spec: Mapping[str, Any] | bool | None, backend: str) -> dict[str, Any] | None:
    """Validate the ``lexical`` store option (see :func:`mmroute.terms.lexical_spec`)."""
    if spec is None or spec is False:
        return None
    if spec is True:
        from ..terms import DEFAULT_AVGDL, lexical_spec

        return lexical_spec(DEFAULT_AVGDL["paragraph"])
    try:
        assert not isinstance(spec, bool)
        out: dict[str, Any] = {
            "tokenizer": str(spec.get("tokenizer", TOKENIZER)),
            "k1": float(spec["k1"]),
            "b": float(spec["b"]),
            "avgdl": float(spec["avgdl"]),
        }
    except (AssertionError, AttributeError, KeyError, TypeError, ValueError):
        raise ConfigError(
            f"{backend} store: option lexical must be a dict with k1, b and avgdl, not {spec!r}",
            hint="use mmroute.terms.lexical_spec(avgdl)",
        ) from None
    if out["tokenizer"] != TOKENIZER:
        raise StoreError(
            f"{backend} store: lexical index built with tokenizer {out['tokenizer']!r}, this mmroute has {TOKENIZER!r}",
            hint="rebuild it with `mmroute kb reindex-lexical NAME`",
        )
    if out["k1"] < 0 or not 0 <= out["b"] <= 1 or out["avgdl"] <= 0:
        raise ConfigError(f"{backend} store: lexical needs k1 >= 0, 0 <= b <= 1 and avgdl > 0, not {spec!r}")
    return out


def no_sparse_error(backend: str, path: Path) -> StoreError:
    return StoreError(
        f"the {backend} store at {path} has no lexical (sparse) index: it was built before "
        "mmroute indexed words, or without the lexical option",
        hint="add one without re-encoding: `mmroute kb reindex-lexical NAME`; dense search works as before",
    )


def fuse(dense: Sequence[ScoredPoint], sparse: Sequence[ScoredPoint], k: int, fusion: Fusion) -> list[ScoredPoint]:
    """Qdrant's RRF (weighted) or DBSF over two ranked lists, for stores without a fusing engine."""
    scores: dict[str, float] = {}
    first: dict[str, ScoredPoint] = {}
    if fusion.method == "rrf":
        for lst, w in ((dense, fusion.weights[0]), (sparse, fusion.weights[1])):
            for rank, p in enumerate(lst):
                first.setdefault(p.id, p)
                add = 0.0 if w <= 0 else 1.0 / ((rank + 1.0) / w + fusion.k - 1.0)
                scores[p.id] = scores.get(p.id, 0.0) + add
    else:
        for lst in (dense, sparse):
            if not lst:
                continue
            vals = np.asarray([p.score for p in lst], dtype=np.float64)
            if len(vals) == 1:
                norm = np.asarray([0.5])
            else:
                mu, sd = vals.mean(), vals.std(ddof=1)
                norm = np.full(len(vals), 0.5) if sd == 0 else (vals - (mu - 3 * sd)) / (6 * sd)
            for p, v in zip(lst, norm):
                first.setdefault(p.id, p)
                scores[p.id] = scores.get(p.id, 0.0) + float(v)
    order = sorted(scores, key=lambda i: -scores[i])[:k]
    return [ScoredPoint(i, scores[i], first[i].payload) for i in order]


def payload_selector(fields: Sequence[str] | None) -> bool | list[str]:
    """An engine's ``with_payload`` for the ``fields`` of a search: all (``None``), none (``[]``: ids and
    scores only, so the engine reads no payload page), or these keys."""
    if fields is None:
        return True
    return list(fields) if fields else False


def check_open(dim: int | None, backend: str) -> int:
    if dim is None:
        raise StoreError(f"{backend} store is not open", hint="call store.open(dim) before using it")
    return dim


def as_matrix(vectors: np.ndarray | Sequence[np.ndarray], dim: int, backend: str) -> np.ndarray:
    """A C-contiguous float32 (n, dim) matrix, or :class:`StoreError` naming the dimension mismatch."""
    m = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if m.ndim == 1:
        m = m.reshape(1, -1)
    if m.ndim != 2 or m.shape[1] != dim:
        got = m.shape[-1] if m.ndim else 0
        raise StoreError(
            f"{backend} store holds {dim}-d vectors but got {got}-d ones",
            hint="use the encoder the KB was built with (see `mmroute kb info`), or re-index into a new KB",
        )
    if not np.isfinite(m).all():
        raise StoreError(
            f"{backend} store got a vector with NaN or inf values",
            hint="check the encoder output; normalise vectors before storing them",
        )
    return m


def point_matrix(points: Sequence[Point], dim: int, backend: str) -> np.ndarray:
    if not points:
        return np.zeros((0, dim), np.float32)
    rows = [np.asarray(p.vector, dtype=np.float32).reshape(-1) for p in points]
    for r in rows:
        if r.shape[0] != dim:
            return as_matrix(r, dim, backend)  # raises the dimension error
    return as_matrix(np.stack(rows), dim, backend)


def dedupe_last(points: Sequence[Point]) -> list[Point]:
    """Keep the last point of each id, in first-seen order (an upsert batch may repeat an id)."""
    last: dict[str, Point] = {}
    for p in points:
        last[p.id] = p
    return list(last.values())


def tree_bytes(path: Path) -> int:
    """Bytes allocated on disk to the files under ``path`` (0 if it does not exist).

    Allocated blocks, not apparent sizes: Qdrant Edge preallocates sparse WAL and mmap files
    whose apparent size is far larger than what they occupy.
    """
    if path.is_file():
        return path.stat().st_blocks * 512
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total
