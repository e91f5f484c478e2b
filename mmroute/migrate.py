"""Moving a KB between stores without re-encoding: embedded Edge -> a Qdrant cluster, FAISS -> Edge, ...

Vectors and payloads stream out of the source store page by page (``iter_points``) into a new
store; the manifest (encoder, per-source hashes) comes along, so a later ``mmroute index`` of the
same sources into the moved KB adds nothing. Point ids are recomputed for the destination name
(they are uuid5 of KB name + item id), so idempotent re-indexing keeps working there.

Both operations survive ``kill -9`` at any point: the source is never changed until one atomic
rename or manifest write commits the result, and re-running the command completes it.

- ``copy_kb(home, "docs", "docs-cluster", StoreSpec("qdrant", {"url": "https://..."}))`` makes a
  second KB. It is built in the hidden folder ``kbs/.docs-cluster.copy`` (locked while in use) and
  renamed to ``kbs/docs-cluster`` when complete. A copy that fails with an error removes that folder; one
  that is killed leaves it, a re-run rebuilds it, and ``kb delete docs-cluster`` removes it.
- ``move_kb(home, "docs", StoreSpec("qdrant", {...}))`` holds the KB's writer lock, builds the new
  store in a fresh folder beside the old one inside the KB (``store-<backend>-<id>``) and switches
  the manifest's ``store_dir`` to it in one atomic write; the old store's files are removed after.
  Store folders the manifest does not name (an interrupted move) are removed by the next move.

The lexical (sparse BM25) index comes along too: the destination store gets the ``lexical`` option (the
source's BM25 parameters, or the defaults for the KB's granularity when the source has none, unless the
caller sets ``lexical``), and each point's term frequencies are recomputed from its payload with the
same tokenizer (:mod:`mmroute.terms`), so a copy or move of a KB indexed before lexical search existed
gains the index. ``reindex_lexical(home, "docs")`` is a move onto the same backend and options that
exists only to (re)build that index, with the BM25 ``avgdl`` measured over the KB's items; the dense
vectors are copied, never re-encoded.

For a Qdrant server the collection is named after the KB (option ``collection``) and sharding,
replication and snapshots are the server's; a server-side snapshot of that collection can be
restored on another cluster with Qdrant's own snapshot API.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import KBExistsError
from .fsutil import WriterLock
from .kb import Home, KnowledgeBase, validate_kb_name
from .manifest import STORE_DIR, Manifest, utc_now
from .retrieval.lexical import TITLE_INDEX_SUFFIX, TitleIndexBuilder, make_stamp, save_title_index
from .stores.base import Point, VectorStore, open_store, require_lasting
from .stores.edge import auto_quantization
from .terms import DEFAULT_AVGDL, lexical_spec, payload_terms
from .types import StoreSpec, point_id

Progress = Callable[[int, int], None]


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


def _with_lexical(spec: StoreSpec, manifest: Manifest) -> StoreSpec:
    """``spec`` with the source's lexical option (or the granularity's default) unless it sets one."""
    if "lexical" in spec.options:
        return spec
    lexical = manifest.info.store.options.get("lexical") or lexical_spec(DEFAULT_AVGDL[manifest.info.granularity.value])
    return StoreSpec(spec.backend, {**spec.options, "lexical": lexical})


def _stream(
    source: VectorStore,
    total: int,
    target: VectorStore,
    dst_name: str,
    progress: Progress | None,
    batch_size: int,
    titles: TitleIndexBuilder | None = None,
) -> int:
    """Copy every point of ``source`` into the open ``target`` (ids recomputed for ``dst_name``), flushed;
    each payload also goes through ``titles`` (the destination's title index)."""
    moved = 0
    lexical = target.has_sparse()
    for page in source.iter_points(batch_size):
        if titles is not None:
            for p in page:
                titles.add(p.payload)
        target.upsert(
            [
                Point(
                    point_id(dst_name, str(p.payload["item_id"])),
                    p.vector,
                    p.payload,
                    sparse=payload_terms(p.payload) if lexical else None,
                )
                for p in page
            ]
        )
        moved += len(page)
        if progress:
            progress(moved, total)
    target.flush()
    return moved


def _copy_store(
    kb: KnowledgeBase,
    source: VectorStore,
    manifest: Manifest,
    dst_dir: Path,
    store_dir: str,
    dst_name: str,
    store: StoreSpec,
    progress: Progress | None,
    batch_size: int,
) -> tuple[int, Manifest]:
    """Build ``dst_dir/store_dir`` and its title index from ``source``; the manifest for it (not saved:
    saving it commits both)."""
    info = manifest.info.replace(name=dst_name, store=store, updated_at=utc_now())
    target = open_store(store.backend, dst_dir / store_dir, store.options)
    target.open(info.dim)
    titles = TitleIndexBuilder(info.modality.value, keep_items=False)
    try:
        moved = _stream(source, source.count(), target, dst_name, progress, batch_size, titles)
        info = info.replace(count=target.count())
    finally:
        target.close()
    save_title_index(dst_dir, titles.build(), make_stamp(store_dir, info.count, info.updated_at))
    return moved, Manifest(info=info, sources=manifest.sources, extra=manifest.extra, store_dir=store_dir)


def _clear(folder: Path, keep: set[str]) -> None:
    """Remove what an interrupted run left in ``folder`` (everything not named in ``keep``)."""
    for p in folder.iterdir():
        if p.name in keep:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def copy_kb(
    home: Home, src: str, dst: str, store: StoreSpec, *, progress: Progress | None = None, batch_size: int = 1024
) -> MoveReport:
    """Copy KB ``src`` into a new KB ``dst`` on ``store`` (built under a hidden name, renamed when complete)."""
    validate_kb_name(dst)
    require_lasting(store)
    manifest = home.manifest(src)
    final = home.kb_dir(dst)
    if final.exists():
        raise KBExistsError(
            f"KB {dst!r} already exists",
            hint=f"pick another name, or delete it first with `mmroute kb delete {dst} --yes`",
        )
    store = _with_lexical(_with_collection(with_source_options(home, src, store), dst), manifest)
    staging = final.with_name(f".{dst}.copy")
    building = False
    try:
        with WriterLock(staging, dst) as lock:
            building = True  # from here the staging folder is this copy's own
            _clear(staging, keep={lock.path.name})
            kb = home.open(src)
            n, copied = _copy_store(kb, kb.store, manifest, staging, STORE_DIR, dst, store, progress, batch_size)
            copied.save(staging)
            if final.exists():
                raise KBExistsError(f"KB {dst!r} appeared while copying", hint="pick another name")
            os.rename(staging, final)
    except BaseException:
        # a copy that fails (an unreachable server, a full disk, Ctrl-C) leaves no half-built KB for `kb list`
        # and `kb doctor` to report; only a killed one does, and a re-run rebuilds that (see the module doc)
        if building:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return MoveReport(src, dst, store.backend, n)


def with_source_options(home: Home, name: str, spec: StoreSpec) -> StoreSpec:
    """``spec`` for a move or copy of KB ``name``: onto its own backend it keeps the KB's store options
    (layout, beam, graph, quantization, payload indexes) except those ``spec`` sets, so that
    ``kb move NAME --store edge --store-option on_disk=true`` changes the layout and nothing else. Another
    backend, or a Qdrant collection (where a KB lives, not how), starts from ``spec`` alone."""
    manifest = home.manifest(name)
    source = manifest.info.store
    if spec.backend != source.backend or spec.backend == "qdrant":
        return spec
    options = {**source.options, **spec.options}
    if spec.backend == "edge" and options.get("quantization", "auto") == "auto":
        # "auto" of a new shard is int8: an Edge shard built before int8 stays float32
        options["quantization"] = auto_quantization(home.kb_dir(name) / manifest.store_dir)
    return StoreSpec(spec.backend, options)


def move_kb(
    home: Home, name: str, store: StoreSpec, *, progress: Progress | None = None, batch_size: int = 1024
) -> MoveReport:
    """Move KB ``name`` onto ``store``, keeping its name; the old store's files are removed after the switch.
    Onto the KB's own backend, the options not given are kept (:func:`with_source_options`)."""
    require_lasting(store)
    store = _with_lexical(_with_collection(with_source_options(home, name, store), name), home.manifest(name))
    directory = home.kb_dir(name)
    with WriterLock(directory, name) as lock:
        home.forget(name)
        manifest = Manifest.load(directory)
        old_dir = manifest.store_dir
        _clear_stale_stores(directory, old_dir)
        new_dir = f"{STORE_DIR}-{store.backend}-{uuid.uuid4().hex[:8]}"
        kb = home.open(name)
        try:
            n, moved = _copy_store(
                kb, kb.reading_store(lock), manifest, directory, new_dir, name, store, progress, batch_size
            )
        except BaseException:
            home.forget(name)
            shutil.rmtree(directory / new_dir, ignore_errors=True)
            (directory / f"{new_dir}{TITLE_INDEX_SUFFIX}").unlink(missing_ok=True)
            raise
        home.forget(name)
        moved.save(directory)  # the commit point: from here on the KB is on the new store
        _clear_stale_stores(directory, new_dir)
    return MoveReport(name, name, store.backend, n)


def _clear_stale_stores(directory: Path, current: str) -> None:
    """Remove store folders (and their Edge owner locks and title indexes) of ``directory`` other than ``current``."""
    for p in directory.iterdir():
        base = (
            p.name[1:].removesuffix(".owner.lock")
            if p.name.endswith(".owner.lock")
            else p.name.removesuffix(TITLE_INDEX_SUFFIX)
        )
        if base == current or not base.startswith(STORE_DIR):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def measure_avgdl(source: VectorStore, batch_size: int = 1024) -> float:
    """Mean number of tokens of the items with words (what BM25's length normalisation divides by)."""
    total = n = 0.0
    for page in source.iter_points(batch_size):
        for p in page:
            terms = payload_terms(p.payload)
            if terms is not None:
                total += terms.length
                n += 1
    return total / n if n else DEFAULT_AVGDL["paragraph"]


def reindex_lexical(home: Home, name: str, *, progress: Progress | None = None, batch_size: int = 1024) -> MoveReport:
    """Build (or rebuild) KB ``name``'s lexical index without re-encoding: its points are copied into a new
    store of the same backend and options plus ``lexical`` (BM25 avgdl measured over its items), which
    replaces the old one atomically, as ``kb move`` does (a ``kill -9`` leaves the KB as it was)."""
    manifest = home.manifest(name)
    spec = manifest.info.store
    kb = home.open(name)
    try:
        avgdl = measure_avgdl(kb.store, batch_size)
    finally:
        home.forget(name)
    options = {**spec.options, "lexical": lexical_spec(avgdl)}  # the rest is kept by the move (same backend)
    if spec.backend == "qdrant" and options.get("url"):  # a server collection cannot be rebuilt under its own name
        options["collection"] = f"{options.get('collection') or name}-{uuid.uuid4().hex[:6]}"
    return move_kb(home, name, StoreSpec(spec.backend, options), progress=progress, batch_size=batch_size)
