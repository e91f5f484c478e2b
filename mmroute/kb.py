"""Knowledge bases and the home directory that holds them.

Layout of a home (``--home``, ``$MMROUTE_HOME`` or ``~/.mmroute``)::

    HOME/kbs/NAME/manifest.json   KB descriptor + per-source indexing state
    HOME/kbs/NAME/store/          the vector store's files (backend-specific)
    HOME/kbs/NAME/.write.lock     held by the one process indexing into the KB

Search modes (:data:`SEARCH_MODES`): ``dense`` (cosine of the encoder's vectors), ``sparse`` (BM25
over the words, :mod:`mmroute.terms`) and ``hybrid`` (both, fused in the store by
:class:`mmroute.stores.base.Fusion`). A KB indexed before lexical search existed has no sparse
index: ``hybrid`` then falls back to ``dense`` (logged once, with the hint ``mmroute kb
reindex-lexical NAME``) and ``sparse`` is an error with that hint.

Usage::

    from mmroute import Home
    home = Home()                       # or Home("/path/to/home")
    kb = home.open("hop")
    for hit in kb.search("Who directed Inception?", k=5):
        print(hit.rank, hit.score, hit.item.id)
"""

from __future__ import annotations

import atexit
import builtins
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .encoders.base import Encoder, create_encoder, normalize
from .errors import InputError, KBLockedError, KBNotFoundError, MMRouteError, StoreError
from .fsutil import WriterLock, lock_is_held
from .kbcheck import KBProblem, ManifestCheck, leftovers, scan
from .limits import validate_kb_name
from .manifest import MANIFEST_NAME, Manifest
from .stores.base import Filter, Fusion, ScoredPoint, VectorStore, open_store
from .terms import query_terms
from .types import EncoderSpec, Hit, Item, KBInfo, point_id

log = logging.getLogger(__name__)
SEARCH_MODES = ("dense", "sparse", "hybrid")
_warned_dense_only: set[str] = set()


def default_home() -> Path:
    return Path(os.environ.get("MMROUTE_HOME") or Path.home() / ".mmroute").expanduser()


class EncoderCache:
    """Shares one warm encoder between KBs with the same spec (e.g. paragraph + document KBs)."""

    def __init__(self) -> None:
        self._encoders: dict[str, Encoder] = {}
        self._lock = threading.Lock()

    def get(self, spec: EncoderSpec) -> Encoder:
        key = repr(sorted(spec.to_dict().items(), key=str))
        with self._lock:
            enc = self._encoders.get(key)
            if enc is None:
                enc = create_encoder(spec)
                self._encoders[key] = enc
            return enc


_SHARED_ENCODERS = EncoderCache()


class _StoreShare:
    """Open stores shared by every :class:`KnowledgeBase` of this process, with a reference count.

    An embedded store (Qdrant Edge, qdrant-client local mode) admits one owner at a time, so two
    ``Home`` objects on the same path in one process (a Pipeline and a LlamaIndex retriever, two app
    sessions) must share one handle instead of locking each other out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[tuple[str, str], tuple[VectorStore, int]] = {}

    def acquire(self, backend: str, path: Path, options: dict, dim: int) -> VectorStore:
        key = (backend, str(Path(path).resolve()))
        with self._lock:
            held = self._stores.get(key)
            if held is not None:
                self._stores[key] = (held[0], held[1] + 1)
                return held[0]
            store = open_store(backend, path, options)
            store.open(dim)
            self._stores[key] = (store, 1)
            return store

    def close_all(self) -> None:
        """Close every open store (at interpreter exit, before the engines' own finalizers run)."""
        with self._lock:
            held, self._stores = [s for s, _ in self._stores.values()], {}
        for store in held:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - best effort at exit; the stores' files are already durable
                pass

    def release(self, store: VectorStore) -> None:
        with self._lock:
            for key, (held, refs) in list(self._stores.items()):
                if held is store:
                    if refs > 1:
                        self._stores[key] = (held, refs - 1)
                        return
                    del self._stores[key]
                    break
        store.close()


_SHARED_STORES = _StoreShare()
atexit.register(_SHARED_STORES.close_all)


TIE_SLACK = 16
"""Extra dense candidates fetched so that equal scores at the k-th place are settled by id, not by the engine."""


def settle_ties(points: Sequence[ScoredPoint], k: int) -> list[ScoredPoint]:
    """The best ``k`` points, equal scores (to 1e-6) ordered by point id: engines return ties in no fixed
    order (insertion order, segment layout, threads), so without this the same question could get other
    evidence after a ``kb copy`` or a reindex."""
    return sorted(points, key=lambda p: (-round(p.score, 6), p.id))[:k]


class KnowledgeBase:
    """One KB: a descriptor, its encoder and its vector store. Searching is thread-safe.

    >>> kb = Home().open("hop")
    >>> [h.item.id for h in kb.search("Christopher Nolan profession", k=3)]
    """

    def __init__(self, directory: Path, manifest: Manifest, encoders: EncoderCache | None = None) -> None:
        self.directory = directory
        self.manifest = manifest
        self._encoders = encoders or _SHARED_ENCODERS
        self._store: VectorStore | None = None
        self._lock = threading.RLock()

    # ----- descriptor -------------------------------------------------------------------------
    @property
    def info(self) -> KBInfo:
        return self.manifest.info

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def encoder(self) -> Encoder:
        return self._encoders.get(self.info.encoder)

    @property
    def store(self) -> VectorStore:
        """The KB's store, opened for reading (refused while an indexing run holds the KB)."""
        return self.reading_store()

    @property
    def store_path(self) -> Path:
        return self.manifest.store_path(self.directory)

    def reading_store(self, held: WriterLock | None = None) -> VectorStore:
        """The store opened for reading; ``held`` is this process's own writer lock on the KB (``kb move``
        reads the KB it is moving), which then does not count as a writer."""
        with self._lock:
            if self._store is None:
                lock = WriterLock(self.directory, self.name)
                mine = held is not None and held.held and held.path == lock.path
                writer = None if mine else lock.active_holder()
                if writer is not None:
                    # refuse before touching the store: an indexing run is about to open or has it. Name
                    # the writer seen here: asking the lock again could find it just released
                    raise self._being_written(writer)
                try:
                    self._store = _SHARED_STORES.acquire(
                        self.info.store.backend,
                        self.store_path,
                        {**self.info.store.options, "read_only": True},
                        self.info.dim,
                    )
                except KBLockedError as e:
                    raise self._locked(e) from None
                except StoreError as e:
                    raise StoreError(
                        f"KB {self.name!r} cannot be opened: {e.message}",
                        hint=f"its store is damaged; delete it with `mmroute kb delete {self.name} --yes` "
                        "and index it again",
                    ) from None
            return self._store

    def _being_written(self, pid: int) -> KBLockedError:
        who = f"process {pid}" if pid else "another process"
        return KBLockedError(
            f"KB {self.name!r} is being written by {who}", hint="search again when that indexing run has finished"
        )

    def _locked(self, error: KBLockedError) -> KBLockedError:
        """Name the process that has the store (an embedded store admits one process at a time)."""
        pid = WriterLock(self.directory, self.name).active_holder()
        if pid is not None and pid != os.getpid():  # this process's own lock (`kb move`) is not the one in the way
            return self._being_written(pid)
        return KBLockedError(
            f"KB {self.name!r} is open in another process ({error.message})",
            hint="an embedded store has one owner at a time: close the app or the other "
            "process using this KB, or use a Qdrant server (--store qdrant with url)",
        )

    def count(self) -> int:
        return self.store.count()

    # ----- search -----------------------------------------------------------------------------
    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        return normalize(self.encoder.encode_queries(list(queries)))

    @property
    def has_lexical(self) -> bool:
        """Whether the KB's store keeps a lexical (sparse BM25) index (see module doc)."""
        return bool(self.info.store.options.get("lexical"))

    def search_mode(self, mode: str) -> str:
        """The mode a search in ``mode`` runs in on this KB: ``hybrid`` is ``dense`` without a lexical index."""
        if mode not in SEARCH_MODES:
            raise InputError(f"unknown search mode {mode!r}", hint=f"use one of: {', '.join(SEARCH_MODES)}")
        if self.has_lexical or mode == "dense":
            return mode
        if mode == "sparse":
            raise StoreError(
                f"KB {self.name!r} has no lexical index (it was indexed before mmroute indexed words)",
                hint=f"add one without re-encoding: `mmroute kb reindex-lexical {self.name}`",
            )
        if self.name not in _warned_dense_only:
            _warned_dense_only.add(self.name)
            log.warning(
                "KB %r has no lexical index, so it is searched by dense vectors only; add one with "
                "`mmroute kb reindex-lexical %s`",
                self.name,
                self.name,
            )
        return "dense"

    def search(
        self, query: str, k: int = 10, flt: Filter | None = None, mode: str = "dense", fusion: Fusion | None = None
    ) -> list[Hit]:
        """Top-k items for a text query, best first: by cosine (``dense``), BM25 (``sparse``) or both
        fused (``hybrid``, see :class:`~mmroute.stores.base.Fusion`)."""
        mode = self.search_mode(mode)
        if mode == "sparse":
            return self.search_sparse(query, k, flt)
        vector = self.embed_queries([query])[0]
        if mode == "hybrid":
            return self.search_hybrid(vector, query, k, flt, fusion)
        return self.search_vector(vector, k, flt)

    def search_sparse(self, query: str, k: int = 10, flt: Filter | None = None) -> list[Hit]:
        """Top-k items by BM25 of the query's words (items sharing no word are not returned)."""
        if k <= 0:
            return []
        return self._hits(settle_ties(self.store.search_sparse(query_terms(query), k + TIE_SLACK, flt), k))

    def point_of(self, item_id: str) -> str:
        """The store's id of one of this KB's items (what :meth:`dense_pool` and :meth:`sparse_pool` list)."""
        return point_id(self.name, item_id)

    def dense_pool(self, vector: np.ndarray, k: int = 100, flt: Filter | None = None) -> list[tuple[str, float]]:
        """(point id, cosine) of the top-k points, best first, as :meth:`search_vector` ranks them, without
        reading their items: a candidate pool is mostly scored and dropped, and the store need not read a
        payload page per candidate (see :meth:`items_at` for the few kept)."""
        if k <= 0:
            return []
        pts = settle_ties(self.store.search(np.asarray(vector, dtype=np.float32), k + TIE_SLACK, flt, fields=[]), k)
        return [(p.id, float(p.score)) for p in pts]

    def sparse_pool(self, query: str, k: int = 10, flt: Filter | None = None) -> list[tuple[str, float]]:
        """(point id, BM25 score) of the top-k points, best first, as :meth:`search_sparse` ranks them,
        without reading their items (like :meth:`dense_pool`)."""
        if k <= 0:
            return []
        pts = settle_ties(self.store.search_sparse(query_terms(query), k + TIE_SLACK, flt, fields=[]), k)
        return [(p.id, float(p.score)) for p in pts]

    def items_at(self, point_ids: Iterable[str]) -> dict[str, Item]:
        """The items at these point ids (those that exist), by point id."""
        return {p.id: Item.from_payload(p.payload) for p in self.store.get(list(point_ids))}

    def search_hybrid(
        self, vector: np.ndarray, query: str, k: int = 10, flt: Filter | None = None, fusion: Fusion | None = None
    ) -> list[Hit]:
        """Top-k items for a query vector and the query's words, fused in the store.

        The hits come in fused order with cosine-scale scores (the reader and the verifier weigh hit scores
        calibrated on cosines): the dense cosines of the returned items, sorted, assigned in fused order. An
        item only the words found, outside the dense candidates, counts at the lowest candidate cosine.
        """
        if k <= 0:
            return []
        fusion = fusion or Fusion()
        vec = np.asarray(vector, dtype=np.float32)
        n = max(k, fusion.candidates)
        fused = self.store.search_hybrid(vec, query_terms(query), n, flt, fusion, fields=[])
        dense = {p.id: p.score for p in self.store.search(vec, n, flt, fields=[])}
        floor = min(dense.values(), default=0.0)
        # rank fusion ties often (RRF: dense rank 1 + sparse rank 3 = dense 3 + sparse 1) and engines break
        # ties in no fixed order: the same question must get the same evidence, so ties go to the higher
        # cosine, then to the point id, before the cut to k
        fused = sorted(fused, key=lambda p: (-round(p.score, 9), -dense.get(p.id, floor), p.id))[:k]
        scores = sorted((dense.get(p.id, floor) for p in fused), reverse=True)
        items = self.items_at(p.id for p in fused)  # payloads of the k kept, not of the n candidates
        kept = [(items[p.id], s) for p, s in zip(fused, scores) if p.id in items]
        return [Hit(item=item, score=float(s), kb=self.name, rank=i + 1) for i, (item, s) in enumerate(kept)]

    def _hits(self, points: Sequence[ScoredPoint]) -> list[Hit]:
        return [
            Hit(item=Item.from_payload(p.payload), score=float(p.score), kb=self.name, rank=i + 1)
            for i, p in enumerate(points)
        ]

    def search_image(self, path: Path, k: int = 10, flt: Filter | None = None) -> list[Hit]:
        """Top-k items for a query image (needs an encoder that embeds images)."""
        try:
            vec = normalize(self.encoder.encode_image_queries([Path(path)]))[0]
        except NotImplementedError:
            raise InputError(
                f"KB {self.name!r} holds text embedded by a text-only encoder, so it cannot be searched with an image",
                hint="search an image or video KB with --image (see `mmroute kb list`), or give a text query",
            ) from None
        return self.search_vector(vec, k, flt)

    def search_vector(self, vector: np.ndarray, k: int = 10, flt: Filter | None = None) -> list[Hit]:
        if k <= 0:
            return []
        pts = settle_ties(self.store.search(np.asarray(vector, dtype=np.float32), k + TIE_SLACK, flt), k)
        return [
            Hit(item=Item.from_payload(p.payload), score=float(p.score), kb=self.name, rank=i + 1)
            for i, p in enumerate(pts)
        ]

    def search_batch(self, queries: Sequence[str], k: int = 10, flt: Filter | None = None) -> list[list[Hit]]:
        vecs = self.embed_queries(queries)
        out = []
        for found in self.store.search_batch(vecs, k + TIE_SLACK, flt):
            res = settle_ties(found, k)
            out.append(
                [
                    Hit(item=Item.from_payload(p.payload), score=float(p.score), kb=self.name, rank=i + 1)
                    for i, p in enumerate(res)
                ]
            )
        return out

    def get_items(self, item_ids: Iterable[str]) -> list[Item]:
        ids = [point_id(self.name, i) for i in item_ids]
        return [Item.from_payload(p.payload) for p in self.store.get(ids)]

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                store, self._store = self._store, None
                _SHARED_STORES.release(store)

    def __repr__(self) -> str:
        return f"KnowledgeBase({self.name!r}, {self.info.granularity.value}, {self.info.store.backend})"


class Home:
    """The directory that holds a user's KBs. Opened KBs are cached per Home instance."""

    def __init__(self, root: str | os.PathLike[str] | None = None, encoders: EncoderCache | None = None) -> None:
        self.root = Path(root).expanduser() if root else default_home()
        self.encoders = encoders or _SHARED_ENCODERS
        self._open: dict[str, KnowledgeBase] = {}
        self._lock = threading.Lock()
        self._checks = ManifestCheck()

    @property
    def kbs_dir(self) -> Path:
        return self.root / "kbs"

    def kb_dir(self, name: str) -> Path:
        return self.kbs_dir / validate_kb_name(name)

    def exists(self, name: str) -> bool:
        return (self.kb_dir(name) / MANIFEST_NAME).is_file()

    def names(self) -> list[str]:
        """The KBs whose manifest can be read (see :meth:`broken` for the others)."""
        return scan(self.kbs_dir, self._checks)[0]

    def broken(self) -> list[KBProblem]:
        """KB folders that cannot be used (unreadable or missing manifest) and unfinished leftovers."""
        return scan(self.kbs_dir, self._checks)[1]

    def problem(self, name: str) -> KBProblem | None:
        """What is wrong with KB ``name``, if it is broken."""
        validate_kb_name(name)
        return next((p for p in self.broken() if p.name == name), None)

    def list(self) -> list[KBInfo]:
        """Descriptors of the readable KBs (a manifest damaged since the scan is skipped too)."""
        out = []
        for n in self.names():
            try:
                out.append(Manifest.load(self.kb_dir(n)).info)
            except (StoreError, FileNotFoundError):
                continue
        return out

    def manifest(self, name: str) -> Manifest:
        directory = self.kb_dir(name)
        if not self.exists(name):
            problem = self.problem(name)
            if problem is not None:
                raise StoreError(problem.problem, hint=problem.hint)
            raise KBNotFoundError(
                f"no KB named {name!r} in {self.root}",
                hint=f"known KBs: {', '.join(self.names()) or 'none'}; create one with `mmroute index --kb {name} --input PATH`",
            )
        return Manifest.load(directory)

    def open(self, name: str) -> KnowledgeBase:
        with self._lock:
            kb = self._open.get(name)
            if kb is None:
                kb = KnowledgeBase(self.kb_dir(name), self.manifest(name), self.encoders)
                self._open[name] = kb
            return kb

    def infos(self) -> builtins.list[KBInfo]:
        """Descriptors of the KBs, from the manifests this Home already holds (one directory
        listing, no manifest reads for KBs opened before): what routers need on every query."""
        return [self.open(n).info for n in self.names()]

    def open_all(self) -> builtins.list[KnowledgeBase]:
        return [self.open(n) for n in self.names()]

    def writing(self) -> builtins.list[str]:
        """Names of the KBs an indexing run is writing now (their stores cannot be searched until it ends).

        Routed questions skip these KBs and say so in the trace instead of failing. ``mmroute serve``
        extends the set with the KBs its own index jobs are about to write.
        """
        return [n for n in self.names() if WriterLock(self.kb_dir(n), n).active_holder() is not None]

    def forget(self, name: str) -> None:
        """Close and drop a cached KB (after it was re-indexed or deleted)."""
        with self._lock:
            kb = self._open.pop(name, None)
        if kb is not None:
            kb.close()

    def _refuse_if_open_elsewhere(self, name: str) -> None:
        """:class:`KBLockedError` while another process has KB ``name``'s store open (the app, a search): deleting
        it under that process would leave it serving a KB that no longer exists. A store that admits one process
        at a time (Qdrant Edge with its WAL) says so by its owner lock, which is probed without opening the store;
        other stores, and a KB whose manifest cannot be read, are deleted as before."""
        try:
            manifest = self.manifest(name)
            spec = manifest.info.store
            path = manifest.store_path(self.kb_dir(name))
            store = open_store(spec.backend, path, {**spec.options, "read_only": True})
        except MMRouteError:  # a broken KB, or a store this install cannot build: nothing to ask
            return
        lock = getattr(store, "owner_lock_path", None)  # constructed only: nothing is opened or loaded
        if not isinstance(lock, Path) or not lock_is_held(lock):
            return
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid == os.getpid():  # this process's own reader (a server deleting a KB it serves) lets go on delete
            return
        raise KBLockedError(
            f"KB {name!r} is open in another process" + (f" (pid {pid})" if pid else ""),
            hint=f"close the app or the process using it, then run `mmroute kb delete {name}` again",
        )

    def delete(self, name: str) -> builtins.list[Path]:
        """Delete KB ``name`` (healthy or broken) and the leftovers of interrupted copies/deletes of it.

        Returns the folders removed; :class:`KBNotFoundError` when there is nothing of that name.
        """
        directory = self.kb_dir(name)
        removed: list[Path] = []
        if directory.is_dir():
            with WriterLock(directory, name):
                self.forget(name)
                self._refuse_if_open_elsewhere(name)
                trash = directory.with_name(f".deleting-{name}-{os.getpid()}")
                os.replace(directory, trash)
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(directory)
        for rest in leftovers(self.kbs_dir, name):
            shutil.rmtree(rest, ignore_errors=True)
            removed.append(rest)
        if not removed:
            self.manifest(name)  # raises KBNotFoundError with a hint
        return removed
