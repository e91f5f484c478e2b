"""Indexing: sources -> items -> vectors -> a KB, idempotently and resumably.

How a run survives being killed (even by SIGKILL) and re-run:

1. The KB's writer lock is held for the whole run (the kernel drops it if the process dies).
2. Before a source is indexed its manifest record is saved as ``partial`` with the file's hash.
3. Items get deterministic point ids (uuid5 of KB name + item id), so an upsert of an item that
   is already stored replaces it instead of duplicating it. A photo or video item whose id an item of another
   file still on disk holds (two folders' ``img1.png``) is not written: a problem says so (:func:`keep_others_items`).
4. On a re-run, a source recorded ``done`` with the same fingerprint (:func:`source_fingerprint`: the file's
   hash, with its caption and subtitle sidecars') is skipped; for a ``partial`` one
   only the items whose ids are missing from the store are encoded again; a source whose
   fingerprint changed is loaded again and its items re-encoded, except text items the store holds alike
   (:func:`stored_alike`: their vectors come from their payload alone).
5. After each source the store is flushed (durable) and the manifest is rewritten atomically.

Words are indexed too: a new KB's store gets the ``lexical`` option (:func:`lexical_store_spec`), and
every item with words (text, title, captions, subtitles) is written with its sparse term-frequency
vector (:func:`mmroute.terms.payload_terms`) beside its dense vector, for BM25 and hybrid search.

>>> from mmroute.indexer import Indexer
>>> report = Indexer(Home()).index("hop", Path("corpus.jsonl"))[0]
>>> report.indexed, report.skipped
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .encoders.base import Encoder, normalize
from .errors import InputError, ItemError, KBExistsError, KBLockedError
from .fsutil import WriterLock, file_sha256
from .kb import Home, validate_kb_name
from .limits import check_free_space
from .loaders.base import LoadProblem
from .loaders.detect import SourcePlan, get_loader, ignored_json, ignored_note, plan_sources
from .manifest import Manifest, SourceRecord, utc_now
from .retrieval.lexical import Stamp, TitleIndexBuilder, build_from_points, make_stamp, save_title_index
from .stores.base import Point, VectorStore, open_store, require_lasting
from .terms import DEFAULT_AVGDL, lexical_spec, payload_terms
from .types import EncoderSpec, Granularity, Item, KBInfo, Modality, StoreSpec, point_id

log = logging.getLogger(__name__)

DEFAULT_ENCODERS: Mapping[Modality, EncoderSpec] = {
    Modality.TEXT: EncoderSpec("minilm"),
    Modality.IMAGE: EncoderSpec("conse"),
    Modality.VIDEO: EncoderSpec("video-frames"),
}
DEFAULT_GRANULARITY: Mapping[Modality, str] = {
    Modality.TEXT: "paragraph",
    Modality.IMAGE: "image",
    Modality.VIDEO: "clip",
}
VALID_GRANULARITIES: Mapping[Modality, set[str]] = {
    Modality.TEXT: {"paragraph", "document", "both"},
    Modality.IMAGE: {"image"},
    Modality.VIDEO: {"clip", "video", "both"},
}
DEFAULT_STORE = StoreSpec("edge")

CHECKPOINT_S = 5.0
"""While a source's items are written, the store is flushed and the manifest's count saved at least this often, so
``kb list`` shows what a run cut short left (it showed 0 for a KB holding 192 items)."""

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as items are encoded (stage = KB name)."""


@dataclass
class IndexReport:
    """What one indexing run did to one KB."""

    kb: str
    granularity: str
    indexed: int = 0
    """Items encoded and written in this run."""
    unchanged: int = 0
    """Items already present (from an earlier or interrupted run) and not re-encoded."""
    removed: int = 0
    """Items of an earlier run that their source no longer makes (an edited file's old paragraphs, a deleted
    file's items): removed, so no answer quotes text that is in no file."""
    sources_done: int = 0
    sources_unchanged: int = 0
    problems: list[LoadProblem] = field(default_factory=list)
    count: int = 0
    """Items in the KB after the run."""
    elapsed_s: float = 0.0
    encode_s: float = 0.0
    titles_s: float = 0.0
    """Time spent saving the KB's title index (:mod:`mmroute.retrieval.lexical`)."""
    notes: list[str] = field(default_factory=list)
    """Files of the input left out on purpose, one line each (e.g. a ``data.json`` nothing reads)."""

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kb": self.kb,
            "granularity": self.granularity,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
            "sources_done": self.sources_done,
            "sources_unchanged": self.sources_unchanged,
            "count": self.count,
            "elapsed_s": round(self.elapsed_s, 3),
            "encode_s": round(self.encode_s, 3),
            "problems": [{"source": p.source, "line": p.line, "message": p.message} for p in self.problems],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IndexReport:
        return cls(
            kb=str(d["kb"]),
            granularity=str(d["granularity"]),
            indexed=int(d.get("indexed") or 0),
            unchanged=int(d.get("unchanged") or 0),
            removed=int(d.get("removed") or 0),
            sources_done=int(d.get("sources_done") or 0),
            sources_unchanged=int(d.get("sources_unchanged") or 0),
            problems=[
                LoadProblem(source=str(p["source"]), message=str(p["message"]), line=p.get("line"))
                for p in d.get("problems") or ()
            ],
            count=int(d.get("count") or 0),
            elapsed_s=float(d.get("elapsed_s") or 0.0),
            encode_s=float(d.get("encode_s") or 0.0),
            notes=[str(n) for n in d.get("notes") or ()],
        )


def lexical_store_spec(store: StoreSpec, granularity: Granularity) -> StoreSpec:
    """``store`` with the ``lexical`` option (BM25 with the granularity's expected item length) unless the
    caller set that option (``lexical=null`` builds a dense-only KB)."""
    if "lexical" in store.options:
        return store
    return StoreSpec(store.backend, {**store.options, "lexical": lexical_spec(DEFAULT_AVGDL[granularity.value])})


def kb_names_for(name: str, granularities: Sequence[Granularity]) -> list[str]:
    """``both`` makes two KBs: ``NAME-paragraph`` + ``NAME-document`` (or ``-clip``/``-video``)."""
    if len(granularities) == 1:
        return [name]
    return [f"{name}-{g.value}" for g in granularities]


def resolve_granularities(modality: Modality, granularity: str | None) -> list[Granularity]:
    g = granularity or DEFAULT_GRANULARITY[modality]
    if g not in VALID_GRANULARITIES[modality]:
        raise InputError(
            f"granularity {g!r} does not apply to {modality.value} input",
            hint=f"use one of: {', '.join(sorted(VALID_GRANULARITIES[modality]))}",
        )
    if g == "both":
        return (
            [Granularity.PARAGRAPH, Granularity.DOCUMENT]
            if modality is Modality.TEXT
            else [Granularity.CLIP, Granularity.VIDEO]
        )
    return [Granularity(g)]


def _discard(directory: Path) -> None:
    """Remove a KB folder this run created and left empty (its writer lock is still held)."""
    trash = directory.with_name(f".deleting-{directory.name}-{os.getpid()}")
    os.replace(directory, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _nothing_indexed(
    kb: str, modality: Modality, plans: Sequence[SourcePlan], problems: Sequence[LoadProblem]
) -> InputError:
    what = str(plans[0].path) if len(plans) == 1 else f"{len(plans)} files"
    why = f": {'; '.join(str(p) for p in problems[:3])}" if problems else " (empty)"
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    hint = (
        'check that the input holds records (text JSONL needs "id" and "text" per line), as UTF-8 text'
        if modality is Modality.TEXT
        else f"replace or remove the unreadable {modality.value} files named, then run the command again"
    )
    return InputError(f"nothing indexed from {what}{why}{more}; KB {kb!r} was not created", hint=hint)


LINE_PREFIX = "line "
"""A source's recorded error names its line this way (``line 2: malformed JSON``) in the manifest."""
_RECORDED_LINE = re.compile(rf"{LINE_PREFIX}(\d+): (.*)", re.S)


def recorded_problem(source: str, error: str) -> LoadProblem:
    """A problem recorded in the manifest, reported again when its unchanged source is skipped: with its line
    number where it had one, so a re-run says ``bad.jsonl:2: malformed JSON`` as the first run did."""
    m = _RECORDED_LINE.fullmatch(error)
    return LoadProblem(source, m.group(2), int(m.group(1))) if m else LoadProblem(source, error)


def loader_options_for(loader: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of ``mmroute index`` that ``loader`` takes (the clip options are the video and image loaders')."""
    return dict(options) if loader in ("video", "image") else {}


class Indexer:
    """Indexes files or folders into KBs of a :class:`Home`. See the module doc for resume semantics."""

    def __init__(
        self,
        home: Home,
        batch_size: int = 64,
        progress: ProgressFn | None = None,
        flush_every: int = 50,
        open_wait_s: float = 5.0,
    ) -> None:
        self.home = home
        self.open_wait_s = float(open_wait_s)
        self.batch_size = batch_size
        self.progress = progress
        self.flush_every = flush_every

    def index(
        self,
        kb: str,
        input_path: Path,
        *,
        modality: str | Modality | None = None,
        granularity: str | None = None,
        encoder: EncoderSpec | None = None,
        store: StoreSpec | None = None,
        description: str = "",
        loader_options: Mapping[str, Any] | None = None,
    ) -> list[IndexReport]:
        validate_kb_name(kb)
        if store is not None:
            require_lasting(store)
        # anchored to the working directory: items keep their source file's path (a photo shown by the app, a
        # video's subtitles found beside it, an image sent to an endpoint) wherever the home is used from later
        input_path = Path(input_path).absolute()
        mod = Modality(modality) if modality else None
        mod, plans, plan_problems = plan_sources(Path(input_path), mod)
        grans = resolve_granularities(mod, granularity)
        for loader in dict.fromkeys(plan.loader for plan in plans):  # bad options fail here, before a KB exists
            get_loader(loader, **loader_options_for(loader, dict(loader_options or {})))
        root = Path(input_path) if Path(input_path).is_dir() else Path(input_path).parent
        reports = []
        notes = [ignored_note(f) for f in ignored_json(Path(input_path))]
        for name, gran in zip(kb_names_for(kb, grans), grans):
            report = self._index_kb(
                name,
                mod,
                gran,
                plans,
                list(plan_problems),
                root,
                encoder,
                store,
                description,
                dict(loader_options or {}),
                input_is_folder=Path(input_path).is_dir(),
            )
            report.notes = list(notes)
            reports.append(report)
        return reports

    # ------------------------------------------------------------------------------------------
    def _prepare_manifest(
        self,
        name: str,
        modality: Modality,
        gran: Granularity,
        encoder: EncoderSpec | None,
        store: StoreSpec | None,
        description: str,
    ) -> tuple[Manifest, Encoder]:
        directory = self.home.kb_dir(name)
        if self.home.exists(name):
            manifest = Manifest.load(directory)
            info = manifest.info
            if info.granularity is not gran or info.modality is not modality:
                raise KBExistsError(
                    f"KB {name!r} holds {info.modality.value}/{info.granularity.value} items, not {modality.value}/{gran.value}",
                    hint="choose another --kb name, or delete the KB first with `mmroute kb delete`",
                )
            if encoder is not None and encoder.name != info.encoder.name:
                raise KBExistsError(
                    f"KB {name!r} was encoded with {info.encoder.name!r}, not {encoder.name!r}",
                    hint="vectors of different encoders cannot share a KB; use a new --kb name",
                )
            if description and description != info.description:
                manifest.info = info.replace(description=description)
            enc = self.home.encoders.get(manifest.info.encoder)
            return manifest, enc
        spec = encoder or DEFAULT_ENCODERS[modality]
        enc = self.home.encoders.get(spec)
        enc.warm_up()
        now = utc_now()
        info = KBInfo(
            name=name,
            modality=modality,
            granularity=gran,
            encoder=enc.spec,
            dim=enc.dim,
            store=lexical_store_spec(store or DEFAULT_STORE, gran),
            description=description,
            created_at=now,
            updated_at=now,
        )
        return Manifest(info=info), enc

    def _index_kb(
        self,
        name: str,
        modality: Modality,
        gran: Granularity,
        plans: Sequence[SourcePlan],
        problems: list[LoadProblem],
        root: Path,
        encoder: EncoderSpec | None,
        store_spec: StoreSpec | None,
        description: str,
        loader_options: dict[str, Any],
        input_is_folder: bool = False,
    ) -> IndexReport:
        """Index ``plans`` into KB ``name``. Items that a re-read source no longer makes are removed, and so are
        the items of a file that was indexed from the folder ``root`` (``input_is_folder``) and is gone."""
        t0 = time.perf_counter()
        directory = self.home.kb_dir(name)
        report = IndexReport(kb=name, granularity=gran.value, problems=problems)
        created = not directory.exists()
        check_free_space(directory, f"writing KB {name!r}")  # before the lock file: nothing written yet
        with WriterLock(directory, name):
            self.home.forget(name)
            is_new = not self.home.exists(name)
            try:
                manifest, enc = self._prepare_manifest(name, modality, gran, encoder, store_spec, description)
                store = open_store(
                    manifest.info.store.backend, manifest.store_path(directory), manifest.info.store.options
                )
                self._open_store(store, manifest.info.dim)
            except BaseException:  # no encoder, no store: a folder this run made would be left empty
                if created:
                    _discard(directory)
                raise
            try:
                before = make_stamp(manifest.store_dir, store.count(), manifest.info.updated_at)
                titles = self._title_state(directory, manifest, before)
                if not is_new:  # a run killed from here on leaves the saved title index stale, never wrong
                    manifest.info = manifest.info.replace(updated_at=utc_now())
                manifest.save(directory)
                # Sources smaller than a batch (one image per file) are encoded together: an encoder
                # call per file costs several times the batched call (evals/bench/bench_indexing).
                group: list[_PendingSource] = []
                now: dict[str, frozenset[str]] = {}  # reloaded source -> the point ids it makes now
                made: set[str] = set()  # every point id a source read in this run makes
                read: set[str] = set()  # the sources read in this run
                for i, plan in enumerate(plans):
                    pending = self._load_source(name, plan, gran, root, store, manifest, report, loader_options)
                    if pending is not None:
                        group.append(pending)
                        made |= pending.ids
                        read.add(pending.key)
                        if pending.reloaded:
                            now[pending.key] = pending.ids
                    if group and (i == len(plans) - 1 or sum(len(g.todo) for g in group) >= self.batch_size):
                        self._store_sources(name, group, enc, store, manifest, report, titles)
                        group = []
                        manifest.info = manifest.info.replace(count=store.count(), updated_at=utc_now())
                        manifest.save(directory)
                gone = vanished_sources(manifest, root) if input_is_folder else []
                for key in gone:
                    now[key] = frozenset()
                if now:
                    stale = stale_points(store, now, made)
                    if stale:  # a file of this run that was not read (unchanged) may make them too: keep those
                        unread = [p for p in plans if str(p.path.resolve()) not in read]
                        kept = self._point_ids(name, unread, gran, root, loader_options)
                        stale = [p for p in stale if p.id not in kept]
                    report.removed = remove_points(store, stale, titles)
                    for key in gone:
                        manifest.sources.pop(key, None)
                    for key in now:  # swept: a re-run may skip them now (a run killed before this sweeps again)
                        record = manifest.sources.get(key)
                        if record is not None and record.status == "partial":
                            manifest.sources[key] = replace(record, status="done")
                manifest.info = manifest.info.replace(count=store.count(), updated_at=utc_now())
                manifest.save(directory)
                if manifest.info.count:
                    t = time.perf_counter()
                    try:
                        self._save_titles(directory, manifest, store, titles)
                    except OSError as e:  # the KB is indexed; its searches rebuild the title index
                        log.warning(
                            "KB %r: could not save its title index (%s); run `mmroute kb reindex-lexical %s`",
                            name,
                            e,
                            name,
                        )
                    report.titles_s = time.perf_counter() - t
            finally:
                store.close()
            if is_new and manifest.info.count == 0:
                _discard(directory)
                raise _nothing_indexed(name, modality, plans, report.problems)
        report.count = manifest.info.count
        report.elapsed_s = time.perf_counter() - t0
        return report

    @staticmethod
    def _title_state(directory: Path, manifest: Manifest, before: Stamp) -> TitleIndexBuilder | None:
        """What the run's writes update: an empty title index for an empty KB, the saved one when it matches
        the KB, else None (rebuilt from every payload at the end)."""
        if before[1] == 0:
            return TitleIndexBuilder(manifest.info.modality.value, keep_items=False, dedupe=False)
        return TitleIndexBuilder.from_saved(directory, before)

    @staticmethod
    def _save_titles(directory: Path, manifest: Manifest, store: VectorStore, titles: TitleIndexBuilder | None) -> None:
        """Save the KB's title index for its state now (after the manifest: a run killed in between leaves
        a stale index, which searches detect and rebuild)."""
        stamp = make_stamp(manifest.store_dir, manifest.info.count, manifest.info.updated_at)
        if titles is None or titles.n != manifest.info.count:  # (a count off means a write was missed)
            index = build_from_points(store.iter_points(), manifest.info.modality.value)
        else:
            index = titles.build()
        save_title_index(directory, index, stamp)

    def _open_store(self, store: VectorStore, dim: int) -> None:
        """Open the store, waiting up to ``open_wait_s`` for a reader that has it open to let go.

        New readers are refused while the writer lock is held, so short searches drain quickly;
        a process that keeps the KB open (the app) makes the run fail with a clear KBLockedError.
        """
        deadline = time.monotonic() + self.open_wait_s
        while True:
            try:
                store.open(dim)
                return
            except KBLockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    @staticmethod
    def _point_ids(
        kb: str, plans: Sequence[SourcePlan], gran: Granularity, root: Path, loader_options: dict[str, Any]
    ) -> set[str]:
        """The point ids ``plans`` make (read again, nothing encoded): what a removal must leave alone."""
        ids: set[str] = set()
        for plan in plans:
            loader = get_loader(plan.loader, **loader_options_for(plan.loader, loader_options))
            ids.update(point_id(kb, it.id) for it in loader.load(plan.path, [gran], root=root).items if it.kind is gran)
        return ids

    def _load_source(
        self,
        kb: str,
        plan: SourcePlan,
        gran: Granularity,
        root: Path,
        store: VectorStore,
        manifest: Manifest,
        report: IndexReport,
        loader_options: dict[str, Any],
    ) -> _PendingSource | None:
        """Hash and load one source, marking it partial; None when it is unchanged or unreadable."""
        key = str(plan.path.resolve())
        loader = get_loader(plan.loader, **loader_options_for(plan.loader, loader_options))
        try:
            sha = source_fingerprint(plan.path, loader.companions(plan.path, root))
        except OSError as e:
            report.problems.append(LoadProblem(str(e.filename or plan.path), f"cannot read: {e.strerror}"))
            return None
        prev = manifest.sources.get(key)
        if prev is not None and prev.sha256 == sha and prev.status == "done":
            report.sources_unchanged += 1
            report.unchanged += prev.items
            report.problems.extend(recorded_problem(str(plan.path), m) for m in prev.errors)
            return None
        resume = prev is not None and prev.sha256 == sha  # partial run of the same content
        manifest.sources[key] = SourceRecord(path=key, sha256=sha, status="partial", updated_at=utc_now())
        manifest.save(self.home.kb_dir(kb))

        loaded = loader.load(plan.path, [gran], root=root)
        items = [it for it in loaded.items if it.kind is gran]
        if gran in MEDIA_GRANULARITIES and items:
            items = keep_others_items(kb, store, items, loaded.problems)
        report.problems.extend(loaded.problems)
        ids = [point_id(kb, it.id) for it in items]
        todo = list(zip(ids, items))
        if resume and items:
            present = store.existing_ids(ids)
            todo = [(pid, it) for pid, it in todo if pid not in present]
            report.unchanged += len(items) - len(todo)
        elif gran in TEXT_GRANULARITIES and todo and store.count():
            same = stored_alike(store, todo)
            todo = [(pid, it) for pid, it in todo if pid not in same]
            report.unchanged += len(same)
        # a source that could not be read at all this time keeps what it made before (its problem is reported)
        reloaded = prev is not None and bool(items or not loaded.problems)
        return _PendingSource(key, sha, len(items), todo, list(loaded.problems), frozenset(ids), reloaded)

    def _store_sources(
        self,
        kb: str,
        group: list[_PendingSource],
        enc: Encoder,
        store: VectorStore,
        manifest: Manifest,
        report: IndexReport,
        titles: TitleIndexBuilder | None = None,
    ) -> None:
        """Encode and upsert the items of loaded sources together, flush, then mark each one done."""
        todo = [t for g in group for t in g.todo]
        failed_ids: set[str] = set()

        def checkpoint() -> None:  # what is flushed is counted: `kb list` of a run cut short shows it
            manifest.info = manifest.info.replace(count=store.count(), updated_at=utc_now())
            manifest.save(self.home.kb_dir(kb))

        self._encode_and_store(kb, todo, enc, store, report, failed_ids, titles, checkpoint)
        store.flush()
        for g in group:
            failed = sum(1 for pid, _ in g.todo if pid in failed_ids)
            manifest.sources[g.key] = SourceRecord(
                path=g.key,
                sha256=g.sha,
                status="partial" if g.reloaded else "done",  # until the end of the run removes what it no longer makes
                items=g.items - failed,
                skipped=len(g.problems) + failed,
                errors=[p.message if p.line is None else f"{LINE_PREFIX}{p.line}: {p.message}" for p in g.problems],
                updated_at=utc_now(),
            )
            report.sources_done += 1

    def _encode_and_store(
        self,
        kb: str,
        todo: list[tuple[str, Item]],
        enc: Encoder,
        store: VectorStore,
        report: IndexReport,
        failed_ids: set[str] | None = None,
        titles: TitleIndexBuilder | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> tuple[int, int]:
        saved = time.monotonic()
        written = failed = 0
        total = len(todo)
        for b, start in enumerate(range(0, total, self.batch_size)):
            batch = todo[start : start + self.batch_size]
            t = time.perf_counter()
            vectors, ok = self._encode_batch(enc, [it for _, it in batch], report)
            report.encode_s += time.perf_counter() - t
            lexical = store.has_sparse()
            points = []
            for (pid, it), vec, good in zip(batch, vectors, ok):
                if good:
                    payload = it.to_payload()
                    points.append(Point(pid, vec, payload, sparse=payload_terms(payload) if lexical else None))
            if failed_ids is not None:
                failed_ids.update(pid for (pid, _), good in zip(batch, ok) if not good)
            if points:
                # a full disk mid-run: stop with one line before the store maps pages the disk cannot hold
                check_free_space(self.home.kb_dir(kb), f"writing KB {kb!r}")
                if titles is not None:  # what each write replaces leaves the title index, what it writes enters
                    for old in store.get([p.id for p in points]):
                        titles.remove(old.payload)
                    for p in points:
                        titles.add(p.payload)
                store.upsert(points)
            written += len(points)
            failed += len(batch) - len(points)
            report.indexed += len(points)
            due = checkpoint is not None and time.monotonic() - saved >= CHECKPOINT_S
            if (b + 1) % self.flush_every == 0 or due:
                store.flush()
                if checkpoint is not None:
                    checkpoint()
                    saved = time.monotonic()
            if self.progress:
                self.progress(kb, min(start + len(batch), total), total)
        return written, failed

    def _encode_batch(self, enc: Encoder, items: list[Item], report: IndexReport) -> tuple[np.ndarray, list[bool]]:
        """Encode a batch; if it fails, encode item by item so one bad item does not sink the batch."""
        try:
            return normalize(enc.encode_items(items)), [True] * len(items)
        except (ItemError, OSError, ValueError, RuntimeError) as batch_error:
            if len(items) == 1:
                report.problems.append(_item_problem(items[0], batch_error))
                return np.zeros((1, enc.dim), np.float32), [False]
        vecs = np.zeros((len(items), enc.dim), np.float32)
        ok = [False] * len(items)
        for i, it in enumerate(items):
            try:
                vecs[i] = normalize(enc.encode_items([it]))[0]
                ok[i] = True
            except (ItemError, OSError, ValueError, RuntimeError) as e:
                report.problems.append(_item_problem(it, e))
        return vecs, ok


MEDIA_GRANULARITIES = frozenset({Granularity.IMAGE, Granularity.CLIP, Granularity.VIDEO})
"""Items whose ids the indexer makes (a file's path relative to the folder indexed), not the user."""


def source_fingerprint(path: Path, companions: Sequence[Path]) -> str:
    """What a source's manifest record keeps to tell whether it changed: the file's SHA-256, combined with its
    companions' (the caption and subtitle sidecars its items are made of) when it has any, so that editing a
    photo's ``NAME.txt`` or a folder's ``captions.json`` re-indexes the photo."""
    sha = file_sha256(path)
    if not companions:
        return sha
    h = hashlib.sha256(sha.encode())
    for c in sorted(set(companions)):
        h.update(f"\0{os.path.relpath(c, path.parent)}\0{companion_sha256(c)}".encode())
    return h.hexdigest()


def companion_sha256(path: Path) -> str:
    """A sidecar's SHA-256, computed once per version of it (one ``captions.json`` describes every photo of a
    folder)."""
    st = path.stat()
    return cached_sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(path))


TEXT_GRANULARITIES = frozenset({Granularity.PARAGRAPH, Granularity.DOCUMENT})
"""Items whose vectors are made from their payload alone (words, title): one stored alike needs no new vector."""
LOOKUP_BATCH = 1024
"""Stored items read at a time when a changed text source is compared with what the KB holds."""


def stored_alike(store: VectorStore, todo: Sequence[tuple[str, Item]]) -> set[str]:
    """The point ids of ``todo`` that the store already holds with the same payload, the source file's path aside.

    A text item's vectors (dense and BM25) are made from its payload alone, so such an item needs no new ones: a
    corpus with ten records appended, or the same corpus indexed from a copy, encodes what is new, not all of it
    (a changed file's fingerprint used to re-encode every item). Media items are not compared: their vectors come
    from the pixels too."""
    same: set[str] = set()
    for start in range(0, len(todo), LOOKUP_BATCH):
        batch = dict(todo[start : start + LOOKUP_BATCH])
        for p in store.get(list(batch)):
            item = batch.get(p.id)
            if item is not None and without_source(p.payload) == without_source(item.to_payload()):
                same.add(p.id)
    return same


def vanished_sources(manifest: Manifest, folder: Path) -> list[str]:
    """Recorded sources inside ``folder`` whose file no longer exists (a file deleted since it was indexed)."""
    inside = folder.resolve()
    return [key for key in manifest.sources if Path(key).is_relative_to(inside) and not _exists(Path(key))]


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a path that cannot be checked (no permission) counts as existing: nothing is removed."""
    try:
        return path.exists()
    except OSError:
        return True


def stale_points(store: VectorStore, now: Mapping[str, frozenset[str]], made: Collection[str] = ()) -> list[Point]:
    """The points whose payload names a source of ``now`` (by resolved path) but whose id that source no longer
    makes, less those any source read in this run makes (``made``: a file renamed or moved keeps its items, whose
    payload still names the old file). One pass over the store, only when a source was re-read or is gone."""
    resolved: dict[str, str] = {}
    stale: list[Point] = []
    for batch in store.iter_points():
        for p in batch:
            source = p.payload.get("source")
            if not isinstance(source, str) or p.id in made:
                continue
            key = resolved.get(source)
            if key is None:
                key = resolved[source] = str(Path(source).resolve())
            keep = now.get(key)
            if keep is not None and p.id not in keep:
                stale.append(p)
    return stale


def remove_points(store: VectorStore, points: Sequence[Point], titles: TitleIndexBuilder | None = None) -> int:
    """Delete ``points`` (and their titles from the run's title index); returns how many."""
    if points:
        store.delete([p.id for p in points])
        store.flush()
        if titles is not None:
            for p in points:
                titles.remove(p.payload)
    return len(points)


def without_source(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "source"}


def keep_others_items(kb: str, store: VectorStore, items: list[Item], problems: list[LoadProblem]) -> list[Item]:
    """``items`` less those whose id the KB already gives to another file that is still there (a problem each).

    A media item's id is its file's path relative to the folder indexed, so two folders each with an
    ``img1.png`` give two photos one id: the second would silently replace the first (its captions too), and
    the first folder's record would still say it is indexed. A stored item whose file is gone (the folder was
    moved) may be replaced."""
    stored = {
        p.payload.get("item_id"): p.payload.get("source") for p in store.get([point_id(kb, it.id) for it in items])
    }
    keep: list[Item] = []
    for it in items:
        other = stored.get(it.id)
        if other and it.source and Path(other).resolve() != Path(it.source).resolve() and Path(other).is_file():
            problems.append(
                LoadProblem(
                    it.source,
                    f"not indexed: KB {kb!r} already holds {it.id!r} from {other} (ids are paths relative to the "
                    "folder indexed); index both from one folder above them, or into another KB",
                )
            )
        else:
            keep.append(it)
    return keep


@dataclass
class _PendingSource:
    """A loaded source waiting for its items to be encoded and stored."""

    key: str
    sha: str
    items: int
    todo: list[tuple[str, Item]]
    problems: list[LoadProblem]
    ids: frozenset[str] = frozenset()
    """Point ids of every item the source makes now (written in this run or already stored)."""
    reloaded: bool = False
    """The KB held items of this source before: those the source no longer makes are removed."""


def _item_problem(item: Item, error: BaseException) -> LoadProblem:
    msg = getattr(error, "message", None) or str(error) or error.__class__.__name__
    return LoadProblem(item.source or item.id, f"item {item.id!r} could not be encoded: {msg}")
