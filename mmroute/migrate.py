"""Moving a KB between stores without re-encoding: embedded Edge -> a Qdrant cluster, FAISS -> Edge, ...

Vectors and payloads stream out of the source store page by page (``iter_points``) into a new
store; the manifest (encoder, per-source hashes) comes along, so a later ``mmroute index`` of the
same sources into the moved KB adds nothing. Point ids are recomputed for the destination name
(they are uuid5 of KB name + item id), so idempotent re-indexing keeps working there.

- ``copy_kb(home, "docs", "docs-cluster", StoreSpec("qdrant", {"url": "https://..."}))`` makes a
  second KB; the source stays as it is.
- ``move_kb(home, "docs", StoreSpec("qdrant", {...}))`` builds the copy beside the KB and swaps it
  in under the same name when complete; a failure leaves the original untouched.

For a Qdrant server the collection is named after the KB (option ``collection``) and sharding,
replication and snapshots are the server's; a server-side snapshot of that collection can be
restored on another cluster with Qdrant's own snapshot API.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Callable

from .errors import KBExistsError
from .fsutil import WriterLock
from .kb import Home, validate_kb_name
from .manifest import Manifest, utc_now
from .stores.base import Point, open_store
from .types import StoreSpec, point_id


@dataclass(frozen=True)
class MoveReport:
    source: str
    destination: str
    backend: str
    points: int

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "destination": self.destination, "backend": self.backend, "points": self.points}


def _with_collection(spec: StoreSpec, name: str) -> StoreSpec:
    if spec.backend == "qdrant" and "collection" not in spec.options:
        return StoreSpec(spec.backend, {**spec.options, "collection": name})
    return spec


def _copy_into(home: Home, src: str, dst_dir: os.PathLike[str], dst_name: str, store: StoreSpec,
               progress: Callable[[int, int], None] | None, batch_size: int) -> int:
    from pathlib import Path

    dst_dir = Path(dst_dir)
    manifest = home.manifest(src)
    kb = home.open(src)
    total = kb.count()
    manifest.info = manifest.info.replace(name=dst_name, store=store, updated_at=utc_now())
    target = open_store(store.backend, dst_dir / "store", store.options)
    target.open(manifest.info.dim)
    moved = 0
    try:
        for page in kb.store.iter_points(batch_size):
            target.upsert([Point(point_id(dst_name, str(p.payload["item_id"])), p.vector, p.payload) for p in page])
            moved += len(page)
            if progress:
                progress(moved, total)
        target.flush()
        manifest.info = manifest.info.replace(count=target.count())
    finally:
        target.close()
    Manifest(info=manifest.info, sources=manifest.sources, extra=manifest.extra).save(dst_dir)
    return moved


def copy_kb(home: Home, src: str, dst: str, store: StoreSpec, *, progress: Callable[[int, int], None] | None = None,
            batch_size: int = 1024) -> MoveReport:
    """Copy KB ``src`` into a new KB ``dst`` on ``store``."""
    validate_kb_name(dst)
    home.manifest(src)
    if home.exists(dst):
        raise KBExistsError(f"KB {dst!r} already exists", hint="pick another name, or delete it first")
    store = _with_collection(store, dst)
    dst_dir = home.kb_dir(dst)
    with WriterLock(dst_dir, dst):
        n = _copy_into(home, src, dst_dir, dst, store, progress, batch_size)
    return MoveReport(src, dst, store.backend, n)


def move_kb(home: Home, name: str, store: StoreSpec, *, progress: Callable[[int, int], None] | None = None,
            batch_size: int = 1024) -> MoveReport:
    """Move KB ``name`` onto ``store``, keeping its name; the old store's files are removed after the swap."""
    home.manifest(name)
    store = _with_collection(store, name)
    final_dir = home.kb_dir(name)
    staging = final_dir.with_name(f".{name}.move-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    with WriterLock(final_dir, name):
        try:
            n = _copy_into(home, name, staging, name, store, progress, batch_size)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        home.forget(name)
        old = final_dir.with_name(f".{name}.old-{os.getpid()}")
        os.replace(final_dir, old)
        os.replace(staging, final_dir)
    shutil.rmtree(old, ignore_errors=True)
    return MoveReport(name, name, store.backend, n)
