"""Qdrant Edge: the Qdrant engine in-process, on disk under the KB directory. The embedded default.

Writes go to a write-ahead log and an appendable segment (cheap: about 2 s per 100k x 384-d
points); the HNSW graph is built by the shard's optimizer, which Qdrant Edge runs only when asked.
This store asks when a writer closes the store (``optimize="close"``, the default), so an indexing
run pays the graph build once at its end instead of after every flushed batch; until then searches
scan the unindexed segment exactly. ``optimize="flush"`` builds after every flush and ``"never"``
leaves it to an explicit :meth:`EdgeStore.optimize` call.

Durability: every update goes through the WAL; :meth:`flush` writes segments and WAL to disk, so a
SIGKILL after ``flush()`` loses nothing, and a shard killed mid-write reopens by replaying its WAL.

One process at a time: a shard with a WAL is locked by the process that opened it, so a second
process (a reader while an indexer writes) gets :class:`~mmroute.errors.KBLockedError`. That error
must come *before* the second process touches the shard's files: a shard load that fails on the WAL
lock has already cleaned up "stale" temporary files the owner is writing, which breaks the owner's
next flush. So the store holds an ``flock`` on ``.NAME.owner.lock`` beside the shard directory from
before it loads the shard until after it closes it, and a second opener is refused at that lock. With
``wal=False`` a second process can open the shard and sees the state of the last flush, but nothing
coordinates it with the writer's segment rewrites, so that mode is only for read-only copies.

Reading never needs to write, but the engine writes on every load (``edge_config.json``, each
segment's ``segment.json``, ``status.dat`` and payload tracker files, even without a config), so a
store opened with ``read_only=True`` (how KBs are opened for ``kb info``, ``search`` and ``ask``)
whose folder is read-only (a read-only mount, or no write permission bits, e.g. ``chmod -R a-w``)
is copied to a private temporary folder and the copy is loaded; nothing under the KB is written,
not even the owner lock (it is only checked). In a writable home it is loaded in place.

Default parameters: m=16, ef_construct=128, and ``hnsw_ef="auto"``, a search beam that grows with
the number of points (:func:`auto_hnsw_ef`: 128 up to 100k points, then 128 * sqrt(n / 100k), at
most 512). HNSW needs a wider beam for the same recall as the graph grows; the curve was fitted at
the knee of the recall/latency sweeps in evals/results (``python -m evals.bench.bench_store --ef-sweep``
and ``python -m evals.bench.bench_scale_e2e``): at 1M points on the manifold of real MiniLM embeddings,
searched with real questions, ef 128 gives recall@10 0.88 and ef 384 gives 0.96 at p50 1.6 ms.
New shards get scalar (int8) quantization (``quantization="auto"``): the graph walk compares int8
codes, about 2x less CPU per query than float32, and the top ``oversampling * k`` candidates are
rescored with the original vectors, so scores stay exact (``python -m evals.bench.bench_edge_query_profile``:
the engine call is >90% of a query; mmroute's wrapper adds ~0.05 ms).

Lexical search (option ``lexical``, see :mod:`mmroute.terms`): the shard also holds a sparse vector
``lexical`` with Qdrant's IDF modifier; the store writes BM25-saturated term frequencies, the engine
computes IDF at query time, so :meth:`EdgeStore.search_sparse` is BM25, and
:meth:`EdgeStore.search_hybrid` is one query: a dense and a sparse prefetch fused by RRF or DBSF.

Example::

    store = EdgeStore(Path("kb/store"), hnsw_ef="auto", quantization="scalar")
    store.open(384)
    store.upsert([Point(point_id("kb", "p1"), vec, {"kind": "paragraph", "text": "..."})])
    store.flush()
    hits = store.search(query_vec, k=5, flt=Filter(equals={"kind": "paragraph"}))
    store.close()
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, KBLockedError, StoreError
from ..fsutil import is_read_only, lock_is_held, try_flock
from ..limits import OPEN_FREE_BYTES, check_free_space
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

_CONFIG_FILE = "edge_config.json"
_DEFAULT_PAYLOAD_INDEXES = {"kind": "keyword", "doc_id": "keyword", "source": "keyword", "start_s": "float"}
_UPSERT_BATCH = 1024
_SCROLL_PAGE = 10_000
_PAYLOAD_INDEX_MIN_POINTS = 5_000  # below this a filtered search scans anyway; indexes cost ~0.2 s each


def read_ahead(path: Path) -> int:
    """Read a shard's quantized vectors (``quantized.data``, kept in RAM) sequentially before the engine
    loads them; returns the bytes read. The engine pulls them in page by page, and a load whose previous
    load left them out of the page cache took 1.3 s at 100k points instead of 0.35 s plus 0.03 s for this
    read (2 loaded cores; see ``bench_scale_lexical``'s ``first_answer_s``)."""
    total = 0
    for f in Path(path).glob("segments/*/vector_storage*/quantized.data"):
        try:
            with open(f, "rb", buffering=0) as fh:
                while chunk := fh.read(1 << 22):
                    total += len(chunk)
        except OSError:
            continue
    return total


MAPPED_FROM = 250_000
"""Points from which a shard loaded into RAM is better mapped (``on_disk``): loading takes about 2.7 s per
million points on 2 cores (0.3 s at 100k, 2.5–3.0 s at 1M), a mapped shard answers first within 1 s at 1M
and steps as fast once warm (``bench_scale_lexical``); ``kb info`` and ``index`` say so from this size on."""


def layout_advice(kb_name: str, count: int, on_disk: bool) -> str | None:
    """The move that maps an in-RAM KB of :data:`MAPPED_FROM` points or more (``kb info``, ``index``)."""
    if on_disk or count < MAPPED_FROM:
        return None
    return (
        f"at {count:,} items a mapped layout opens faster and holds less memory: "
        f"`mmroute kb move {kb_name} --store edge --store-option on_disk=true`"
    )


SEARCHED_FILES = ("quantized.data", "inverted_index.dat")
"""The files of a shard that every search walks: the int8 copy the graph walk compares, and the BM25
posting lists. (The float vectors are read only to rescore the few best; payloads only for the items kept.)"""


def searched_files(path: Path) -> list[Path]:
    """A shard's :data:`SEARCHED_FILES` that exist."""
    return [f for name in SEARCHED_FILES for f in sorted(Path(path).glob(f"segments/*/*/{name}"))]


_WARMING: dict[Path, threading.Thread] = {}
_WARMING_LOCK = threading.Lock()


def available_memory() -> int | None:
    """Bytes the kernel can still give (``MemAvailable``), or None where it does not say (not Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def read_into_cache(files: Sequence[Path], stop: threading.Event, chunk: int = 1 << 22) -> int:
    """Read ``files`` front to back (so that the kernel keeps them in its page cache) until done or ``stop``
    is set; returns the bytes read. A file that cannot be read (moved, deleted) is skipped."""
    buf = memoryview(bytearray(chunk))
    total = 0
    for f in files:
        try:
            with open(f, "rb", buffering=0) as fh:
                while not stop.is_set() and (n := fh.readinto(buf)):
                    total += n
        except OSError:
            continue
        if stop.is_set():
            break
    return total


def warm_in_background(path: Path, stop: threading.Event) -> threading.Thread | None:
    """Read an ``on_disk`` shard's :data:`SEARCHED_FILES` into the page cache on a low-priority thread.

    The engine drops a mapped file's pages from the page cache when it closes the shard, so each process
    starts cold: without this, the first searches of a 1M-point KB fault their pages in one 4 KB read at a
    time (step p50 34 ms, mean 51 ms, against 20 ms once warm; ``bench_scale_lexical``). One sequential read
    of the 560 MB takes 0.3 s, while the KB already answers. Nothing is pinned: RSS does not grow, and the
    kernel may evict the pages again under memory pressure. One thread per shard at a time; ``stop`` (set
    when the store closes) ends it early; files larger than half the available memory are left alone (they
    would only evict hotter pages). Returns the thread, or None when nothing is warmed."""
    files = searched_files(path)
    size = sum(f.stat().st_size for f in files if f.exists())
    room = available_memory()
    if not files or (room is not None and size > room // 2):
        return None
    key = Path(path).resolve()

    def run() -> None:
        if sys.platform.startswith("linux"):  # a thread's own nice value: Linux takes its native id
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except OSError:
                pass
        try:
            read_into_cache(files, stop)
        finally:
            with _WARMING_LOCK:
                if _WARMING.get(key) is threading.current_thread():
                    del _WARMING[key]

    with _WARMING_LOCK:
        running = _WARMING.get(key)
        if running is not None and running.is_alive():
            return running
        t = _WARMING[key] = threading.Thread(target=run, name=f"mmroute-warm-{key.parent.name}", daemon=True)
    t.start()
    return t


def auto_quantization(path: Path) -> str | None:
    """What ``quantization="auto"`` means for the shard at ``path``: ``"scalar"`` for a new one, what an
    existing one was built with otherwise (read from its config; the shard is not opened)."""
    cfg = Path(path) / _CONFIG_FILE
    if not cfg.is_file():
        return "scalar"
    try:
        stored = json.loads(cfg.read_text()).get("quantization_config") or {}
    except (OSError, ValueError, AttributeError):
        stored = {}  # _stored_dim reports an unreadable config
    return next((kind for kind in ("scalar", "binary") if kind in stored), None)


def _q():  # the extension is imported lazily so that importing mmroute stays cheap
    import qdrant_edge

    return qdrant_edge


def _edge_error(action: str, e: Exception) -> StoreError | KBLockedError:
    msg = str(e)
    if "WouldBlock" in msg or "lock" in msg.lower():
        return KBLockedError(
            f"the Qdrant Edge shard is open in another process ({action}: {msg})",
            hint="a shard with a WAL has one owner at a time: wait for the indexing run to finish, "
            "or search a copy/snapshot of the KB",
        )
    return StoreError(
        f"Qdrant Edge failed to {action}: {msg}",
        hint="the store's files may be damaged: `mmroute kb doctor` checks every KB; a damaged KB "
        "is removed with `mmroute kb delete NAME --yes` and indexed again",
    )


def auto_hnsw_ef(n: int) -> int:
    """Search beam for a graph of ``n`` points: 128 up to 100k, then 128 * sqrt(n / 100k) (a
    multiple of 16), at most 512. About 400 at 1M points.

    >>> auto_hnsw_ef(50_000), auto_hnsw_ef(400_000), auto_hnsw_ef(1_000_000), auto_hnsw_ef(10**8)
    (128, 256, 400, 512)
    """
    ef = 128.0 * math.sqrt(max(n, 1) / 100_000)
    return int(min(512, max(128, 16 * round(ef / 16))))


class EdgeStore:
    """A :class:`~mmroute.stores.base.VectorStore` on a Qdrant Edge shard.

    Options (all JSON-serialisable; they are stored in the KB manifest):

    - ``distance``: ``"cosine"`` (default) or ``"dot"``; identical on unit vectors.
    - ``m``, ``ef_construct``: HNSW graph degree and build beam.
    - ``hnsw_ef``: search beam, an int or ``"auto"`` (default: grows with the point count, see
      :func:`auto_hnsw_ef`); higher is slower and more exact. ``exact=True`` scans everything.
    - ``full_scan_threshold_kb``: searches scan segments smaller than this (KB of vectors) exactly.
    - ``indexing_threshold_kb``: segments larger than this get an HNSW graph when optimized
      (None: Qdrant's default, 10 MB, i.e. about 6,500 384-d vectors).
    - ``quantization``: ``"auto"`` (default: ``"scalar"`` for a new shard, an existing shard keeps
      what it was built with, so opening an old KB never triggers a rebuild), ``None``, ``"scalar"``
      (int8 copy in RAM, +25% vector memory; the graph walk is ~2x cheaper than on float32) or
      ``"binary"`` (1 bit); searches rescore the ``oversampling`` x k best candidates with the original
      vectors, so returned scores are exact.
    - ``on_disk``: keep the vectors (original and quantized) and the lexical index on disk, mapped and
      read on demand, instead of loading them into RAM when the shard opens: a KB opens in a fraction
      of the time (see ``bench_scale_lexical --store-option on_disk=true``); the files every search walks
      are read into the page cache in the background (:func:`warm_in_background`) while it answers.
    - ``optimize``: when to build the HNSW index: ``"close"`` (default), ``"flush"`` or ``"never"``.
    - ``payload_indexes``: payload field -> ``keyword|integer|float|bool`` index, for fast filters.
    - ``indexing_threads`` (0 = all cores), ``search_threads`` (None = derived from cores), ``wal``.
    - ``lexical``: keep sparse BM25 vectors too (a dict from :func:`mmroute.terms.lexical_spec`), or None.
    """

    backend = "edge"

    def __init__(
        self,
        path: Path,
        *,
        distance: str = "cosine",
        m: int = 16,
        ef_construct: int = 128,
        hnsw_ef: int | str = "auto",
        exact: bool = False,
        full_scan_threshold_kb: int = 10_000,
        indexing_threshold_kb: int | None = None,
        quantization: str | None = "auto",
        oversampling: float = 2.0,
        on_disk: bool = False,
        optimize: str = "close",
        payload_indexes: Mapping[str, str] | None = None,
        indexing_threads: int = 0,
        search_threads: int | None = None,
        wal: bool = True,
        read_only: bool = False,
        lexical: Mapping[str, Any] | None = None,
    ) -> None:
        if distance not in ("cosine", "dot"):
            raise ConfigError(f"edge store: unknown distance {distance!r}", hint="use 'cosine' or 'dot'")
        if quantization not in (None, "auto", "scalar", "binary"):
            raise ConfigError(
                f"edge store: unknown quantization {quantization!r}", hint="use 'auto', null, 'scalar' or 'binary'"
            )
        if optimize not in ("close", "flush", "never"):
            raise ConfigError(
                f"edge store: unknown optimize policy {optimize!r}", hint="use 'close', 'flush' or 'never'"
            )
        if hnsw_ef != "auto" and (isinstance(hnsw_ef, bool) or not isinstance(hnsw_ef, int) or hnsw_ef < 1):
            raise ConfigError(
                f"edge store: hnsw_ef must be 'auto' or an integer >= 1, not {hnsw_ef!r}",
                hint='e.g. {"hnsw_ef": 256} for more recall, or "auto"',
            )
        if m < 4 or ef_construct < m:
            raise ConfigError("edge store: need m >= 4 and ef_construct >= m")
        self.path = Path(path)
        self.distance = distance
        self.m = int(m)
        self.ef_construct = int(ef_construct)
        self.hnsw_ef: int | str = hnsw_ef
        self._count_cache: int | None = None
        self.exact = bool(exact)
        self.full_scan_threshold_kb = int(full_scan_threshold_kb)
        self.indexing_threshold_kb = None if indexing_threshold_kb is None else int(indexing_threshold_kb)
        self.quantization = quantization
        self._quant: str | None = None if quantization == "auto" else quantization  # resolved by open()
        self.oversampling = float(oversampling)
        self.on_disk = bool(on_disk)
        self.optimize_policy = optimize
        self.payload_indexes = dict(_DEFAULT_PAYLOAD_INDEXES if payload_indexes is None else payload_indexes)
        self.indexing_threads = int(indexing_threads)
        self.search_threads = search_threads
        self.wal = bool(wal)
        self.read_only = bool(read_only)
        self.lexical = check_lexical(lexical, self.backend)
        self._copy_dir: Path | None = None
        self._warm_stop = threading.Event()  # set on close: ends the shard's page-cache warming early
        self._shard: Any = None
        self._dim: int | None = None
        self._dirty = False
        self._lock = threading.RLock()
        self._owner_fd: int | None = None

    def __repr__(self) -> str:
        return (
            f"EdgeStore({str(self.path)!r}, m={self.m}, ef_construct={self.ef_construct}, "
            f"hnsw_ef={self.hnsw_ef}, quantization={self.quantization!r})"
        )

    def options(self) -> dict[str, Any]:
        """The constructor options, as stored in the KB manifest."""
        return {
            "distance": self.distance,
            "m": self.m,
            "ef_construct": self.ef_construct,
            "hnsw_ef": self.hnsw_ef,
            "exact": self.exact,
            "full_scan_threshold_kb": self.full_scan_threshold_kb,
            "indexing_threshold_kb": self.indexing_threshold_kb,
            "quantization": self.quantization,
            "oversampling": self.oversampling,
            "on_disk": self.on_disk,
            "optimize": self.optimize_policy,
            "payload_indexes": dict(self.payload_indexes),
            "indexing_threads": self.indexing_threads,
            "search_threads": self.search_threads,
            "wal": self.wal,
            "lexical": self.lexical,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def _config(self, dim: int) -> Any:
        q = _q()
        quant = None
        if self._quant == "scalar":
            quant = q.ScalarQuantizationConfig(type=q.ScalarType.Int8, quantile=0.99, always_ram=not self.on_disk)
        elif self._quant == "binary":
            quant = q.BinaryQuantizationConfig(always_ram=not self.on_disk)
        vectors = q.EdgeVectorParams(
            size=dim,
            distance=q.Distance.Cosine if self.distance == "cosine" else q.Distance.Dot,
            memory=q.Memory.Cold if self.on_disk else q.Memory.Cached,
        )
        hnsw = q.HnswIndexConfig(
            m=self.m,
            ef_construct=self.ef_construct,
            full_scan_threshold=self.full_scan_threshold_kb,
            max_indexing_threads=self.indexing_threads,
        )
        optimizers = None
        if self.indexing_threshold_kb is not None:
            optimizers = q.EdgeOptimizersConfig(indexing_threshold=self.indexing_threshold_kb)
        sparse = None
        if self.lexical is not None:
            sparse = {
                SPARSE_NAME: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf, on_disk=True if self.on_disk else None)
            }
        return q.EdgeConfig(
            vectors=vectors,
            sparse_vectors=sparse,
            hnsw_config=hnsw,
            quantization_config=quant,
            optimizers=optimizers,
            max_search_threads=self.search_threads,
            wal_enabled=self.wal,
        )

    def _stored_dim(self) -> int | None:
        cfg = self.path / _CONFIG_FILE
        if not cfg.is_file():
            return None
        try:
            return int(json.loads(cfg.read_text())["vectors"][""]["size"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise StoreError(
                f"Qdrant Edge config {cfg} is unreadable: {e}",
                hint="the store is damaged; delete the KB and index it again",
            ) from None

    def _resolve_quantization(self) -> None:
        """``quantization="auto"``: scalar for a new shard, what an existing shard was built with otherwise."""
        if self.quantization != "auto":
            return
        self._quant = auto_quantization(self.path)

    def effective_quantization(self) -> str | None:
        """The quantization in use (``quantization="auto"`` resolved; valid once the store is open)."""
        return self._quant

    @property
    def owner_lock_path(self) -> Path:
        return self.path.parent / f".{self.path.name}.owner.lock"

    def _take_ownership(self) -> None:
        """Lock the shard for this process before touching its files (see the module doc)."""
        if not self.wal:
            return
        path = self.owner_lock_path
        try:
            fd = try_flock(path)
        except OSError as e:
            raise StoreError(f"cannot lock {path}: {e.strerror}") from None
        if fd is None:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            raise KBLockedError(
                f"the Qdrant Edge shard {self.path} is open in another process" + (f" (pid {pid})" if pid else ""),
                hint="a shard with a WAL has one owner at a time: wait for that process to finish or close it, "
                "or search a copy/snapshot of the KB",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._owner_fd = fd

    def _release_ownership(self) -> None:
        if self._owner_fd is not None:
            fd, self._owner_fd = self._owner_fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def open(self, dim: int) -> None:
        """Open the shard under ``path``, creating it on first use; replays the WAL after a crash."""
        with self._lock:
            if self._shard is not None:
                if dim != self._dim:
                    raise StoreError(f"edge store is open with dim {self._dim}, not {dim}")
                return
            q = _q()
            stored = self._stored_dim()
            if stored is not None and stored != dim:
                raise StoreError(
                    f"edge store at {self.path} holds {stored}-d vectors, asked to open it for {dim}-d",
                    hint="use the encoder the KB was built with, or index into a new KB",
                )
            self._resolve_quantization()
            if self.read_only and stored is not None and is_read_only(self.path):
                self._open_copy(dim)
                return
            # opening in place writes (lock files, the WAL replayed after a crash) into memory-mapped files: on
            # a full disk that is a SIGBUS, not an error, so refuse first
            check_free_space(self.path, f"opening the store {self.path}", need=OPEN_FREE_BYTES)
            self._take_ownership()
            try:
                if stored is None:
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._shard = q.EdgeShard.create(str(self.path), self._config(dim))
                    self._dim = dim
                    self._shard.flush()
                else:
                    if not self.on_disk:
                        read_ahead(self.path)
                    self._shard = q.EdgeShard.load(str(self.path), self._config(dim))
                    self._dim = dim
            except Exception as e:  # the extension raises plain Exceptions
                self._shard = None
                self._release_ownership()
                if isinstance(e, StoreError):
                    raise
                if self.lexical is not None and "incompatible" in str(e).lower() and SPARSE_NAME in str(e):
                    raise no_sparse_error(self.backend, self.path) from None
                raise _edge_error(f"open {self.path}", e) from None
            if stored is not None and self.on_disk:
                self._warm_stop = threading.Event()
                try:
                    warm_in_background(self.path, self._warm_stop)
                except (RuntimeError, OSError):  # no thread or an unreadable file: searches fault pages in instead
                    pass

    def _open_copy(self, dim: int) -> None:
        """Load a private copy of a read-only shard (the engine writes on load; see the module doc)."""
        if lock_is_held(self.owner_lock_path):
            raise KBLockedError(
                f"the Qdrant Edge shard {self.path} is open in another process",
                hint="wait for that process to finish or close it",
            )
        tmp = Path(tempfile.mkdtemp(prefix="mmroute-edge-ro-"))
        try:
            shutil.copytree(self.path, tmp / "store", copy_function=shutil.copyfile)
            for d, _dirs, _files in os.walk(tmp):
                os.chmod(d, 0o700)
            self._shard = _q().EdgeShard.load(str(tmp / "store"), self._config(dim))
        except Exception as e:  # the extension raises plain Exceptions
            shutil.rmtree(tmp, ignore_errors=True)
            self._shard = None
            raise _edge_error(f"open a copy of the read-only store {self.path}", e) from None
        self._copy_dir, self._dim = tmp, dim

    def _require(self) -> Any:
        check_open(self._dim, self.backend)
        return self._shard

    def _build_index(self, shard: Any) -> bool:
        """Payload indexes (once the KB is big enough for them to matter), then the HNSW graph."""
        q = _q()
        if self.payload_indexes and shard.count(q.CountRequest(exact=False)) >= _PAYLOAD_INDEX_MIN_POINTS:
            have = set(shard.info().payload_schema)
            for fld, kind in self.payload_indexes.items():
                if fld not in have:
                    shard.update(q.UpdateOperation.create_field_index(fld, _schema(kind)))
        return bool(shard.optimize())

    def flush(self) -> None:
        with self._lock:
            shard = self._require()
            with engine_errors(_edge_error, "flush"):
                if self._dirty and self.optimize_policy == "flush":
                    self._build_index(shard)
                    self._dirty = False
                shard.flush()

    def optimize(self) -> bool:
        """Build the HNSW index (and merge segments) now; True if anything changed."""
        with self._lock:
            shard = self._require()
            with engine_errors(_edge_error, "optimize"):
                changed = self._build_index(shard)
                shard.flush()
            self._dirty = False
            return changed

    def close(self) -> None:
        self._warm_stop.set()
        with self._lock:
            if self._shard is None:
                return
            try:
                if self._dirty and self.optimize_policy == "close" and not self.read_only:
                    self._build_index(self._shard)
                if not self.read_only:
                    self._shard.flush()
                self._shard.close()
            except Exception as e:
                raise _edge_error("close", e) from None
            finally:
                self._shard = None
                self._dim = None
                self._dirty = False
                self._count_cache = None
                self._release_ownership()
                if self._copy_dir is not None:
                    shutil.rmtree(self._copy_dir, ignore_errors=True)
                    self._copy_dir = None

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        q = _q()
        with self._lock:
            shard = self._require()
            pts = dedupe_last(points)
            mat = point_matrix(pts, self._dim or 0, self.backend)
            with engine_errors(_edge_error, "upsert"):
                for start in range(0, len(pts), _UPSERT_BATCH):
                    batch = [
                        q.Point(_uuid(p.id), self._point_vector(q, mat[start + i], p), dict(p.payload))
                        for i, p in enumerate(pts[start : start + _UPSERT_BATCH])
                    ]
                    shard.update(q.UpdateOperation.upsert_points(batch))
            self._dirty = True
            self._count_cache = None

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        q = _q()
        with self._lock:
            shard = self._require()
            with engine_errors(_edge_error, "delete"):
                shard.update(q.UpdateOperation.delete_points([_uuid(i) for i in ids]))
            self._dirty = True
            self._count_cache = None

    # -- reads -------------------------------------------------------------------------------

    def _params(self) -> Any:
        q = _q()
        quant = None
        if self._quant is not None:
            quant = q.QuantizationSearchParams(rescore=True, oversampling=self.oversampling)
        return q.SearchParams(hnsw_ef=self.effective_hnsw_ef(), exact=self.exact, quantization=quant)

    def effective_hnsw_ef(self) -> int:
        """The search beam used now: ``hnsw_ef``, or :func:`auto_hnsw_ef` of the point count."""
        if self.hnsw_ef != "auto":
            return int(self.hnsw_ef)
        return auto_hnsw_ef(self.count())

    def _request(
        self, vector: np.ndarray, k: int, flt: Filter | None, params: Any, fields: Sequence[str] | None = None
    ) -> Any:
        q = _q()
        # a list of floats crosses into the extension faster than a float32 array (0.01 vs 0.025 ms per query)
        return q.QueryRequest(
            limit=k,
            query=q.Query.Nearest(vector.tolist()),
            with_payload=payload_selector(fields),
            filter=_edge_filter(flt),
            params=params,
        )

    def search(
        self, vector: np.ndarray, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        shard = self._require()
        v = as_matrix(vector, self._dim or 0, self.backend)[0]
        if k <= 0:
            return []
        try:
            res = shard.query(self._request(v, k, flt, self._params(), fields))
        except Exception as e:
            raise _edge_error("search", e) from None
        return [ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in res]

    def search_batch(self, vectors: np.ndarray, k: int, flt: Filter | None = None) -> list[list[ScoredPoint]]:
        shard = self._require()
        mat = as_matrix(vectors, self._dim or 0, self.backend)
        if k <= 0 or len(mat) == 0:
            return [[] for _ in range(len(mat))]
        q = _q()
        params = self._params()
        try:
            res = shard.query_batch(q.QueryBatchRequest([self._request(v, k, flt, params) for v in mat]))
        except Exception as e:
            raise _edge_error("search", e) from None
        return [[ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in r] for r in res]

    def get(self, ids: Sequence[str]) -> list[ScoredPoint]:
        if not ids:
            return []
        shard = self._require()
        with engine_errors(_edge_error, "retrieve points"):
            recs = shard.retrieve([_uuid(i) for i in ids], with_payload=True, with_vector=False)
        return [ScoredPoint(str(r.id), 0.0, r.payload or {}) for r in recs]

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        shard = self._require()
        with engine_errors(_edge_error, "retrieve points"):
            recs = shard.retrieve([_uuid(i) for i in ids], with_payload=False, with_vector=False)
        return {str(r.id) for r in recs}

    def all_ids(self) -> set[str]:
        q = _q()
        shard = self._require()
        out: set[str] = set()
        offset = None
        with engine_errors(_edge_error, "scroll"):
            while True:
                recs, offset = shard.scroll(
                    q.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, with_payload=False, with_vector=False)
                )
                out.update(str(r.id) for r in recs)
                if offset is None:
                    return out

    def iter_points(self, batch_size: int = 1024) -> Iterator[list[Point]]:
        """All points with vectors and payloads, a page at a time (for moving a KB between stores)."""
        q = _q()
        shard = self._require()
        offset = None
        while True:
            with engine_errors(_edge_error, "scroll"):
                recs, offset = shard.scroll(
                    q.ScrollRequest(offset=offset, limit=batch_size, with_payload=True, with_vector=[""])
                )
            if recs:
                yield [Point(str(r.id), np.asarray(_plain_vector(r.vector), np.float32), r.payload or {}) for r in recs]
            if offset is None:
                return

    def count(self) -> int:
        """Points in the shard. Counted once and remembered until this store writes: no other process can
        write while it owns the shard (an exact count of 100k points costs about 6 ms, and the step-wise
        retriever checks it on every question to know whether the KB's title index is current)."""
        with self._lock:
            if self._count_cache is None:
                q = _q()
                shard = self._require()
                with engine_errors(_edge_error, "count"):
                    self._count_cache = int(shard.count(q.CountRequest(exact=True)))
            return self._count_cache

    # -- lexical (sparse BM25) and hybrid search ---------------------------------------------

    def has_sparse(self) -> bool:
        return self.lexical is not None

    def _point_vector(self, q: Any, dense: np.ndarray, p: Point) -> Any:
        """The engine's vector of a point: the dense one, plus the saturated term frequencies."""
        if self.lexical is None or p.sparse is None or not len(p.sparse):
            return dense
        lx = self.lexical
        weights = saturate(p.sparse.values, lx["k1"], lx["b"], lx["avgdl"])
        return {"": dense, SPARSE_NAME: q.SparseVector(list(p.sparse.indices), weights)}

    def _sparse_query(self, query: SparseVector) -> Any:
        if self.lexical is None:
            raise no_sparse_error(self.backend, self.path)
        q = _q()
        return q.Query.Nearest(q.SparseVector(list(query.indices), [float(v) for v in query.values]), using=SPARSE_NAME)

    def search_sparse(
        self, query: SparseVector, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        shard = self._require()
        sq = self._sparse_query(query)
        if k <= 0 or not len(query):
            return []
        q = _q()
        with engine_errors(_edge_error, "search the lexical index"):
            res = shard.query(
                q.QueryRequest(
                    limit=k,
                    query=sq,
                    with_payload=payload_selector(fields),
                    filter=_edge_filter(flt),
                )
            )
        return [ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in res]

    def search_hybrid(
        self,
        vector: np.ndarray,
        query: SparseVector,
        k: int,
        flt: Filter | None = None,
        fusion: Fusion = Fusion(),
        fields: Sequence[str] | None = None,
    ) -> list[ScoredPoint]:
        shard = self._require()
        v = as_matrix(vector, self._dim or 0, self.backend)[0]
        sq = self._sparse_query(query)
        if k <= 0:
            return []
        q = _q()
        n = max(k, fusion.candidates)
        ef = _edge_filter(flt)
        prefetch = [q.Prefetch(limit=n, query=q.Query.Nearest(v), params=self._params(), filter=ef)]
        if len(query):
            prefetch.append(q.Prefetch(limit=n, query=sq, filter=ef))
        weights = list(fusion.weights[: len(prefetch)])
        fq = q.Fusion.Rrf(k=fusion.k, weights=weights) if fusion.method == "rrf" else q.Fusion.Dbsf()
        with engine_errors(_edge_error, "run a hybrid search"):
            res = shard.query(
                q.QueryRequest(limit=k, prefetches=prefetch, query=fq, with_payload=payload_selector(fields))
            )
        return [ScoredPoint(str(p.id), float(p.score), p.payload or {}) for p in res]

    def indexed_count(self) -> int:
        """Vectors covered by the HNSW index (the rest are scanned exactly)."""
        return int(self._require().info().indexed_vectors_count)

    def disk_bytes(self) -> int:
        return tree_bytes(self.path)


def _plain_vector(v: Any) -> Any:
    """The unnamed dense vector of a record (a list, or a one-entry mapping of name -> list)."""
    if isinstance(v, dict):
        return v[""] if "" in v else next(iter(v.values()))
    return v


def _uuid(pid: str) -> str:
    try:
        return str(uuid.UUID(str(pid)))
    except ValueError:
        raise StoreError(
            f"point id {pid!r} is not a UUID", hint="build point ids with mmroute.types.point_id(kb, item_id)"
        ) from None


def _schema(kind: str) -> Any:
    q = _q()
    table = {
        "keyword": q.PayloadSchemaType.Keyword,
        "integer": q.PayloadSchemaType.Integer,
        "float": q.PayloadSchemaType.Float,
        "bool": q.PayloadSchemaType.Bool,
    }
    try:
        return table[kind]
    except KeyError:
        raise ConfigError(
            f"edge store: unknown payload index type {kind!r}", hint=f"use one of {', '.join(table)}"
        ) from None


def _edge_filter(flt: Filter | None) -> Any:
    """Our :class:`Filter` as a Qdrant Edge filter (all conditions in ``must``)."""
    if flt is None or flt.empty:
        return None
    q = _q()
    must: list[Any] = []
    for key, value in flt.equals.items():
        must.append(_match_one(q, key, value))
    for key, values in flt.any_of.items():
        vals = list(values)
        if vals and all(isinstance(v, str) for v in vals):
            must.append(q.FieldCondition(key=key, match=q.MatchAny(vals)))
        elif vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            must.append(q.FieldCondition(key=key, match=q.MatchAny(vals)))
        else:  # mixed types, bools, floats or empty: one branch per value (an empty list matches nothing)
            must.append(
                q.Filter(should=[_match_one(q, key, v) for v in vals])
                if vals
                else q.Filter(must=[q.HasIdCondition(set())])
            )
    for key, (lo, hi) in flt.ranges.items():
        must.append(q.FieldCondition(key=key, range=q.RangeFloat(gte=lo, lte=hi)))
    return q.Filter(must=must)


def _match_one(q: Any, key: str, value: Any) -> Any:
    if isinstance(value, float) and not isinstance(value, bool):
        return q.FieldCondition(key=key, range=q.RangeFloat(gte=value, lte=value))
    return q.FieldCondition(key=key, match=q.MatchValue(value))
