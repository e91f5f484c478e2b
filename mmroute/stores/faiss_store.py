"""FAISS: an in-memory index (exact ``flat`` or approximate ``hnsw``), persisted atomically on flush.

Layout under ``path``::

    CURRENT.json          {"format": 1, "gen": G, "dim": D, "index": "flat"|"hnsw", "next_slot": N}
    index-G.faiss         the CPU index; FAISS label = slot number
    points-G.jsonl        one line per live point: {"slot", "id", "payload"[, "sparse"]}
    bm25-G/               the lexical index (option ``lexical``): a ``bm25s`` index over the points'
                          term frequencies (its files: the BM25 score matrix, the vocabulary of term
                          ids, the parameters) plus ``ids.json``, the point id of each BM25 document

``flush()`` writes generation G+1 (each file to a temp name, fsync, ``os.replace``), then swaps
``CURRENT.json`` the same way and deletes generation G, so a crash at any moment leaves one complete
generation on disk: the last one flushed. Writes after the last flush are lost (the index is
in memory); each flush rewrites the whole index, which is fine for the KB sizes FAISS is used for
here (in-memory and GPU serving) and is the price of having no WAL.

Ids: FAISS labels are slots assigned in insertion order. Upserting an existing id tombstones its old
slot and appends the new vector, so an id is never returned twice; searches exclude tombstones
with an ``IDSelector`` (on the CPU) or by over-fetching (on a GPU copy). ``flat`` indexes are
compacted at every flush that finds tombstones, ``hnsw`` ones when tombstones exceed
``compact_ratio`` of the graph (rebuilding a graph is expensive).

Filters are applied in Python: the search over-fetches ``max(k * overfetch, k + 64)`` candidates and
keeps those whose payload matches; if fewer than ``k`` survive while more points match, it falls back
to an exact scan over the matching points, so filtered results are always complete (and exact).

GPU: with ``gpu="auto"`` (default) or ``True``, and ``faiss.get_num_gpus() > 0``, flat indexes are
searched on a GPU copy made with ``index_cpu_to_gpu`` (refreshed after writes); HNSW stays on the CPU
(FAISS has no GPU HNSW). Without a GPU, ``gpu=True`` warns once and runs on the CPU.

Lexical search (option ``lexical``): each point's term frequencies (:mod:`mmroute.terms`) are kept
with its payload, and a ``bm25s`` index (k1 and b from the option, avgdl measured over the points)
is rebuilt from them at each flush that follows a change (or at the first sparse search after one)
and saved beside the FAISS file. Hybrid search fuses the dense and BM25 lists in Python with
Qdrant's RRF/DBSF formulas (:func:`mmroute.stores._common.fuse`), so results match the Qdrant stores.

Example::

    store = FaissStore(Path("kb/store"), index="hnsw", M=32, ef_search=64)
    store.open(384)
    store.upsert(points); store.flush()
    store.search(query_vec, k=10, flt=Filter(any_of={"kind": ["image", "clip"]}))
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, StoreError
from ..fsutil import atomic_write_json
from ..terms import SparseVector
from ._common import as_matrix, check_lexical, check_open, dedupe_last, fuse, no_sparse_error, point_matrix, tree_bytes
from .base import Filter, Fusion, Point, ScoredPoint

log = logging.getLogger(__name__)

_CURRENT = "CURRENT.json"
_FORMAT = 1
_warned_no_gpu = False


def _bm25s():
    import bm25s

    return bm25s


def _faiss():
    try:
        import faiss
    except ImportError:  # pragma: no cover - depends on the environment
        from ..errors import ModelUnavailableError

        raise ModelUnavailableError(
            "the faiss store needs the faiss package",
            hint="pip install 'mmroute[faiss]' (CPU) or 'mmroute[gpu]' (faiss-gpu), never both",
        ) from None
    return faiss


def check_graph_options(M: object, ef_construction: object, ef_search: object) -> None:  # noqa: N803 - FAISS's name
    """The HNSW graph options are integers in range: M=0 aborted the process inside FAISS (a C++ assertion).
    Checked wherever a store is written (a new KB, a copy or move's destination, an index run), for a flat
    index too, which does not use them; a KB opened for reading is not refused for options it was built
    with, so that ``kb move`` can give it new ones."""
    graph = (("M", M, 2, 32), ("ef_construction", ef_construction, 1, 100), ("ef_search", ef_search, 1, 64))
    for key, value, least, default in graph:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(
                f"faiss store: {key} must be an integer >= {least}, not {value!r}",
                hint=f"leave it out for the default ({key}={default}); a KB built with it takes new options "
                f"with `mmroute kb move KB --store faiss --store-option {key}={default}`",
            )


class FaissStore:
    """A :class:`~mmroute.stores.base.VectorStore` on a FAISS inner-product index.

    Options: ``index`` (``"flat"`` exact, or ``"hnsw"``), ``M``, ``ef_construction``, ``ef_search``
    (HNSW), ``overfetch`` (filtered searches), ``compact_ratio`` (HNSW tombstones), ``gpu``
    (``"auto"``, True, False). ``read_only`` (set by KBs opened for searching): open never writes
    (no stray-file cleanup, no rebuild on disk, no flush on close). ``lexical``: keep a BM25 index too
    (a dict from :func:`mmroute.terms.lexical_spec`).
    """

    backend = "faiss"

    def __init__(
        self,
        path: Path,
        *,
        index: str = "flat",
        M: int = 32,
        ef_construction: int = 100,
        ef_search: int = 64,
        overfetch: int = 8,
        compact_ratio: float = 0.2,
        gpu: bool | str = "auto",
        read_only: bool = False,
        lexical: Mapping[str, Any] | None = None,
    ) -> None:
        if index not in ("flat", "hnsw"):
            raise ConfigError(f"faiss store: unknown index {index!r}", hint="use 'flat' or 'hnsw'")
        if gpu not in ("auto", True, False):
            raise ConfigError(f"faiss store: gpu must be 'auto', true or false, not {gpu!r}")
        if not read_only:
            check_graph_options(M, ef_construction, ef_search)
            if isinstance(compact_ratio, bool) or not isinstance(compact_ratio, (int, float)) or compact_ratio < 0:
                raise ConfigError(
                    f"faiss store: compact_ratio must be a number >= 0, not {compact_ratio!r}",
                    hint="the share of deleted slots that triggers a rebuild (0: any; above 1: never); e.g. 0.2",
                )
        self.path = Path(path)
        self.index_kind = index
        self.M = int(M)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self.overfetch = max(1, int(overfetch))
        self.compact_ratio = float(compact_ratio)
        self.gpu = gpu
        self.read_only = bool(read_only)
        self.lexical = check_lexical(lexical, self.backend)
        self._sparse: dict[str, SparseVector] = {}
        self._bm25: Any = None
        self._bm25_ids: list[str] = []
        self._bm25_stale = False
        self._dim: int | None = None
        self._index: Any = None
        self._slot_ids: list[str | None] = []
        self._slot_of: dict[str, int] = {}
        self._payloads: dict[str, Mapping[str, Any]] = {}
        self._tombstones = 0
        self._gen = 0
        self._dirty = False
        self._gpu_index: Any = None
        self._gpu_stale = True
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"FaissStore({str(self.path)!r}, index={self.index_kind!r}, gpu={self.gpu!r})"

    def options(self) -> dict[str, Any]:
        return {
            "index": self.index_kind,
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "overfetch": self.overfetch,
            "compact_ratio": self.compact_ratio,
            "gpu": self.gpu,
            "lexical": self.lexical,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def _new_index(self, dim: int) -> Any:
        faiss = _faiss()
        if self.index_kind == "flat":
            return faiss.IndexFlatIP(dim)
        ix = faiss.IndexHNSWFlat(dim, self.M, faiss.METRIC_INNER_PRODUCT)
        ix.hnsw.efConstruction = self.ef_construction
        ix.hnsw.efSearch = self.ef_search
        return ix

    def open(self, dim: int) -> None:
        with self._lock:
            if self._index is not None:
                if dim != self._dim:
                    raise StoreError(f"faiss store is open with dim {self._dim}, not {dim}")
                return
            cur = self._read_current()
            if cur is None:
                if not self.read_only:
                    self.path.mkdir(parents=True, exist_ok=True)
                self._dim, self._index = dim, self._new_index(dim)
                self._slot_ids, self._slot_of, self._payloads = [], {}, {}
                self._sparse, self._bm25, self._bm25_ids, self._bm25_stale = {}, None, [], False
                self._tombstones, self._gen = 0, 0
                return
            if int(cur["dim"]) != dim:
                raise StoreError(
                    f"faiss store at {self.path} holds {cur['dim']}-d vectors, asked to open it for {dim}-d",
                    hint="use the encoder the KB was built with, or index into a new KB",
                )
            self._load(cur, dim)

    def _read_current(self) -> dict[str, Any] | None:
        f = self.path / _CURRENT
        if not f.is_file():
            return None
        try:
            cur = json.loads(f.read_text(encoding="utf-8"))
            if cur.get("format") != _FORMAT:
                raise ValueError(f"unknown format {cur.get('format')!r}")
            return cur
        except (OSError, ValueError, AttributeError) as e:
            raise StoreError(
                f"faiss store state {f} is unreadable: {e}",
                hint="the store is damaged; delete the KB and index it again",
            ) from None

    def _load(self, cur: Mapping[str, Any], dim: int) -> None:
        faiss = _faiss()
        gen = int(cur["gen"])
        ipath, ppath = self._files(gen)
        try:
            index = faiss.read_index(str(ipath))
            slot_ids: list[str | None] = [None] * index.ntotal
            payloads: dict[str, Mapping[str, Any]] = {}
            slot_of: dict[str, int] = {}
            sparse: dict[str, SparseVector] = {}
            with open(ppath, encoding="utf-8") as fh:
                for line in fh:
                    rec = json.loads(line)
                    slot_ids[rec["slot"]] = rec["id"]
                    slot_of[rec["id"]] = rec["slot"]
                    payloads[rec["id"]] = rec["payload"]
                    if "sparse" in rec and self.lexical is not None:
                        sparse[rec["id"]] = SparseVector.from_dict(rec["sparse"])
        except (OSError, RuntimeError, ValueError, KeyError, IndexError) as e:
            raise StoreError(
                f"faiss store generation {gen} in {self.path} is unreadable: {e}",
                hint="the store is damaged; delete the KB and index it again",
            ) from None
        self._dim, self._index, self._gen = dim, index, gen
        self._slot_ids, self._slot_of, self._payloads = slot_ids, slot_of, payloads
        self._sparse = sparse
        self._tombstones = len(slot_ids) - len(slot_of)
        if self.lexical is not None:
            if cur.get("lexical") is None:
                raise no_sparse_error(self.backend, self.path)
            self._load_bm25(gen)
        self._gpu_stale = True
        if cur.get("index") != self.index_kind:  # the options changed: rebuild as the requested kind
            self._compact()
            self._dirty = not self.read_only
        elif self.index_kind == "hnsw":
            index.hnsw.efSearch = self.ef_search
        if not self.read_only:
            self._remove_stray(keep=gen)

    def _files(self, gen: int) -> tuple[Path, Path]:
        return self.path / f"index-{gen}.faiss", self.path / f"points-{gen}.jsonl"

    def _bm25_dir(self, gen: int) -> Path:
        return self.path / f"bm25-{gen}"

    def _remove_stray(self, keep: int) -> None:
        """Delete files of other generations and temp files (left by a crash mid-flush)."""
        keep_names = {p.name for p in self._files(keep)} | {_CURRENT, self._bm25_dir(keep).name}
        for f in self.path.iterdir():
            if (
                f.is_file()
                and f.name not in keep_names
                and (f.name.startswith(("index-", "points-")) or f.name.endswith(".tmp"))
            ):
                f.unlink(missing_ok=True)
            elif f.is_dir() and f.name not in keep_names and f.name.startswith("bm25-"):
                shutil.rmtree(f, ignore_errors=True)

    # -- lexical (BM25 via bm25s) --------------------------------------------------------------

    def _load_bm25(self, gen: int) -> None:
        folder = self._bm25_dir(gen)
        if not (folder / "ids.json").is_file():  # nothing to load (no words) or an old layout: rebuild on use
            self._bm25, self._bm25_ids, self._bm25_stale = None, [], True
            return
        try:
            self._bm25 = _bm25s().BM25.load(str(folder), mmap=True)
            self._bm25_ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as e:
            raise StoreError(
                f"faiss store lexical index {folder} is unreadable: {e}",
                hint="rebuild it with `mmroute kb reindex-lexical NAME`",
            ) from None
        self._bm25_stale = False

    def _build_bm25(self) -> None:
        """A bm25s index over the live points' term frequencies (term ids mapped to a dense vocabulary)."""
        ids = [pid for pid in self._slot_ids if pid is not None and pid in self._sparse]
        if not ids:
            self._bm25, self._bm25_ids, self._bm25_stale = None, [], False
            return
        vocab: dict[str, int] = {}
        corpus: list[list[int]] = []
        for pid in ids:
            sv = self._sparse[pid]
            doc: list[int] = []
            for t, c in zip(sv.indices, sv.values):
                j = vocab.setdefault(str(t), len(vocab))
                doc.extend([j] * max(1, int(round(c))))
            corpus.append(doc)
        lx = self.lexical or {}
        bm = _bm25s().BM25(k1=lx.get("k1", 1.2), b=lx.get("b", 0.75))
        bm.index((corpus, vocab), show_progress=False)
        self._bm25, self._bm25_ids, self._bm25_stale = bm, ids, False

    def _save_bm25(self, gen: int) -> None:
        folder = self._bm25_dir(gen)
        shutil.rmtree(folder, ignore_errors=True)
        if self._bm25 is None:
            return
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self._bm25.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(self._bm25_ids), encoding="utf-8")
        for f in tmp.iterdir():
            _fsync_file(f)
        os.replace(tmp, folder)

    def has_sparse(self) -> bool:
        return self.lexical is not None

    def search_sparse(
        self, query: SparseVector, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        with self._lock:
            self._require()
            if self.lexical is None:
                raise no_sparse_error(self.backend, self.path)
            if self._bm25_stale:
                self._build_bm25()
            bm = self._bm25
            if k <= 0 or bm is None or not len(query):
                return []
            cols = [bm.vocab_dict[str(t)] for t in query.indices if str(t) in bm.vocab_dict]
            if not cols:
                return []
            scores = np.asarray(bm.get_scores_from_ids(cols), dtype=np.float64)
            hits = np.flatnonzero(scores > 0)
            order = hits[np.argsort(-scores[hits], kind="stable")]
            out: list[ScoredPoint] = []
            for j in order:
                pid = self._bm25_ids[j]
                payload = self._payloads.get(pid)
                if payload is None or (flt is not None and not flt.empty and not flt.matches(payload)):
                    continue
                out.append(ScoredPoint(pid, float(scores[j]), payload))
                if len(out) == k:
                    break
            return out

    def search_hybrid(
        self,
        vector: np.ndarray,
        query: SparseVector,
        k: int,
        flt: Filter | None = None,
        fusion: Fusion = Fusion(),
        fields: Sequence[str] | None = None,
    ) -> list[ScoredPoint]:
        with self._lock:
            self._require()
            if self.lexical is None:
                raise no_sparse_error(self.backend, self.path)
            if k <= 0:
                as_matrix(vector, self._dim or 0, self.backend)
                return []
            n = max(k, fusion.candidates)
            dense = self.search_batch(vector, n, flt)[0]
            sparse = self.search_sparse(query, n, flt)
            return fuse(dense, sparse, k, fusion)

    def _require(self) -> Any:
        check_open(self._dim, self.backend)
        return self._index

    def flush(self) -> None:
        """Write a new generation atomically (see the module docstring); a no-op without changes."""
        with self._lock:
            self._require()
            if not self._dirty:
                return
            if self._tombstones and (
                self.index_kind == "flat" or self._tombstones > self.compact_ratio * max(1, self._index.ntotal)
            ):
                self._compact()
            faiss = _faiss()
            gen = self._gen + 1
            ipath, ppath = self._files(gen)
            try:
                tmp = ipath.with_name(ipath.name + ".tmp")
                faiss.write_index(self._index, str(tmp))
                _fsync_file(tmp)
                os.replace(tmp, ipath)
                tmp = ppath.with_name(ppath.name + ".tmp")
                with open(tmp, "w", encoding="utf-8") as fh:
                    for slot, pid in enumerate(self._slot_ids):
                        if pid is not None:
                            rec = {"slot": slot, "id": pid, "payload": self._payloads[pid]}
                            if pid in self._sparse:
                                rec["sparse"] = self._sparse[pid].to_dict()
                            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, ppath)
                if self.lexical is not None:
                    if self._bm25_stale:
                        self._build_bm25()
                    self._save_bm25(gen)
                atomic_write_json(
                    self.path / _CURRENT,
                    {
                        "format": _FORMAT,
                        "gen": gen,
                        "dim": self._dim,
                        "index": self.index_kind,
                        "lexical": self.lexical,
                    },
                )
            except (OSError, RuntimeError, TypeError, ValueError) as e:
                raise StoreError(
                    f"faiss store could not write {self.path}: {e}",
                    hint="check free disk space and permissions; the previous flush is intact",
                ) from None
            self._gen = gen
            self._dirty = False
            self._remove_stray(keep=gen)

    def close(self) -> None:
        with self._lock:
            if self._index is None:
                return
            try:
                if not self.read_only:
                    self.flush()
            finally:
                self._index = self._gpu_index = None
                self._dim = None
                self._slot_ids, self._slot_of, self._payloads = [], {}, {}
                self._sparse, self._bm25, self._bm25_ids = {}, None, []

    def _compact(self) -> None:
        """Rebuild the index from the live slots only (drops tombstones, renumbers slots)."""
        live = [s for s, pid in enumerate(self._slot_ids) if pid is not None]
        vecs = self._vectors(live)
        index = self._new_index(self._dim or 0)
        if len(live):
            index.add(vecs)
        ids = [self._slot_ids[s] for s in live]
        self._index = index
        self._slot_ids = list(ids)
        self._slot_of = {pid: i for i, pid in enumerate(ids) if pid is not None}
        self._tombstones = 0
        self._gpu_stale = True

    def _vectors(self, slots: Sequence[int]) -> np.ndarray:
        if not len(slots):
            return np.zeros((0, self._dim or 0), np.float32)
        return self._index.reconstruct_batch(np.asarray(slots, dtype=np.int64))

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        with self._lock:
            index = self._require()
            pts = dedupe_last(points)
            mat = point_matrix(pts, self._dim or 0, self.backend)
            payloads = [_json_payload(p.payload) for p in pts]
            for p in pts:
                self._tombstone(p.id)
            start = index.ntotal
            index.add(mat)
            for i, (p, payload) in enumerate(zip(pts, payloads)):
                self._slot_ids.append(p.id)
                self._slot_of[p.id] = start + i
                self._payloads[p.id] = payload
                if self.lexical is not None and p.sparse is not None and len(p.sparse):
                    self._sparse[p.id] = p.sparse
            self._bm25_stale = self.lexical is not None
            self._dirty = True
            self._gpu_stale = True

    def _tombstone(self, pid: str) -> bool:
        slot = self._slot_of.pop(pid, None)
        if slot is None:
            return False
        self._slot_ids[slot] = None
        self._payloads.pop(pid, None)
        if self._sparse.pop(pid, None) is not None:
            self._bm25_stale = True
        self._tombstones += 1
        return True

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            self._require()
            if any([self._tombstone(pid) for pid in ids]):
                self._dirty = True
                self._gpu_stale = True

    # -- reads -------------------------------------------------------------------------------

    def _searcher(self) -> tuple[Any, bool]:
        """The index to search and whether it is a GPU copy (which cannot take an IDSelector)."""
        global _warned_no_gpu
        if self.gpu is False or self.index_kind != "flat":
            if self.gpu is True and self.index_kind != "flat" and not _warned_no_gpu:
                _warned_no_gpu = True
                log.warning(
                    "faiss store %s: gpu=true, but HNSW indexes have no GPU version in FAISS; searching on the CPU",
                    self.path,
                )
            return self._index, False
        faiss = _faiss()
        ngpu = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
        if ngpu <= 0:
            if self.gpu is True and not _warned_no_gpu:
                _warned_no_gpu = True
                log.warning(
                    "faiss store: gpu=True but FAISS sees no GPU (faiss-cpu, or no CUDA device); searching on the CPU"
                )
            return self._index, False
        if self._gpu_stale or self._gpu_index is None:
            try:
                if not hasattr(self, "_gpu_res"):
                    self._gpu_res = faiss.StandardGpuResources()
                self._gpu_index = faiss.index_cpu_to_gpu(self._gpu_res, 0, self._index)
                self._gpu_stale = False
            except (RuntimeError, AttributeError) as e:
                log.warning("faiss store: moving the index to the GPU failed (%s); searching on the CPU", e)
                self.gpu = False
                return self._index, False
        return self._gpu_index, True

    def _raw_search(self, mat: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``kk`` live slots per row (slot -1 where there are fewer)."""
        faiss = _faiss()
        index, on_gpu = self._searcher()
        if self._tombstones and on_gpu:
            fetch = min(index.ntotal, kk + self._tombstones)
            D, I = index.search(mat, fetch)
            return _drop_dead(D, I, self._slot_ids, kk)
        sel = None
        if self._tombstones:
            dead = np.asarray([s for s, pid in enumerate(self._slot_ids) if pid is None], dtype=np.int64)
            batch = faiss.IDSelectorBatch(dead)
            sel = faiss.IDSelectorNot(batch)
        if self.index_kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, kk))
            if sel is not None:
                params.sel = sel
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        D, I = index.search(mat, kk, params=params)
        return D, I

    def search(
        self, vector: np.ndarray, k: int, flt: Filter | None = None, fields: Sequence[str] | None = None
    ) -> list[ScoredPoint]:
        return self.search_batch(vector, k, flt)[0]  # payloads are in memory: all of them cost nothing extra

    def search_batch(self, vectors: np.ndarray, k: int, flt: Filter | None = None) -> list[list[ScoredPoint]]:
        with self._lock:
            self._require()
            mat = as_matrix(vectors, self._dim or 0, self.backend)
            live = len(self._slot_of)
            if k <= 0 or live == 0 or len(mat) == 0:
                return [[] for _ in range(len(mat))]
            active = flt if flt is not None and not flt.empty else None  # None: nothing filtered out
            kk = min(live, max(k * self.overfetch, k + 64) if active is not None else k)
            D, I = self._raw_search(mat, kk)
            out: list[list[ScoredPoint]] = []
            matching: list[int] | None = None
            for row, (ds, ss) in enumerate(zip(D, I)):
                hits: list[ScoredPoint] = []
                for d, s in zip(ds, ss):
                    if s < 0:
                        continue
                    pid = self._slot_ids[s]
                    if pid is None:
                        continue
                    payload = self._payloads[pid]
                    if active is not None and not active.matches(payload):
                        continue
                    hits.append(ScoredPoint(pid, float(d), payload))
                    if len(hits) == k:
                        break
                if active is not None and len(hits) < k:
                    if matching is None:
                        matching = [
                            s
                            for s, pid in enumerate(self._slot_ids)
                            if pid is not None and active.matches(self._payloads[pid])
                        ]
                    if len(matching) > len(hits):
                        hits = self._exact(mat[row], matching, k)
                out.append(hits)
            return out

    def _exact(self, q: np.ndarray, slots: list[int], k: int) -> list[ScoredPoint]:
        vecs = self._vectors(slots)
        scores = vecs @ q
        top = np.argsort(-scores, kind="stable")[:k]
        return [
            ScoredPoint(
                self._slot_ids[slots[i]] or "", float(scores[i]), self._payloads[self._slot_ids[slots[i]] or ""]
            )
            for i in top
        ]

    def get(self, ids: Sequence[str]) -> list[ScoredPoint]:
        with self._lock:
            self._require()
            return [ScoredPoint(pid, 0.0, self._payloads[pid]) for pid in dict.fromkeys(ids) if pid in self._slot_of]

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        with self._lock:
            self._require()
            return {pid for pid in ids if pid in self._slot_of}

    def all_ids(self) -> set[str]:
        with self._lock:
            self._require()
            return set(self._slot_of)

    def iter_points(self, batch_size: int = 1024) -> Iterator[list[Point]]:
        """All points with vectors and payloads, a page at a time (for moving a KB between stores)."""
        with self._lock:
            self._require()
            live = sorted(self._slot_of.items(), key=lambda kv: kv[1])
        for s in range(0, len(live), batch_size):
            chunk = live[s : s + batch_size]
            with self._lock:
                vecs = self._vectors([slot for _, slot in chunk])
                pts = [Point(pid, vecs[i], self._payloads[pid]) for i, (pid, _) in enumerate(chunk)]
            yield pts

    def count(self) -> int:
        with self._lock:
            self._require()
            return len(self._slot_of)

    def disk_bytes(self) -> int:
        return tree_bytes(self.path)


def _json_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy that is known to serialise, so a bad payload fails at upsert, not at flush."""
    try:
        return json.loads(json.dumps(dict(payload), ensure_ascii=False))
    except (TypeError, ValueError) as e:
        raise StoreError(
            f"payload is not JSON-serialisable: {e}",
            hint="payloads must hold only str, numbers, bools, None, lists and dicts",
        ) from None


def _drop_dead(D: np.ndarray, I: np.ndarray, slot_ids: list[str | None], kk: int) -> tuple[np.ndarray, np.ndarray]:
    outD = np.full((len(I), kk), -np.inf, dtype=np.float32)
    outI = np.full((len(I), kk), -1, dtype=np.int64)
    for r in range(len(I)):
        keep = [(d, s) for d, s in zip(D[r], I[r]) if s >= 0 and slot_ids[s] is not None][:kk]
        for j, (d, s) in enumerate(keep):
            outD[r, j], outI[r, j] = d, s
    return outD, outI


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
