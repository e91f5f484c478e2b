"""Helpers shared by the store backends: input checks and on-disk size."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import StoreError
from .base import Point


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
        raise StoreError(f"{backend} store got a vector with NaN or inf values",
                         hint="check the encoder output; normalise vectors before storing them")
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
