"""The title-mention matcher: which KB item titles a text names.

Dense MiniLM vectors blur names ("Walls and Bridges" vs. any Lennon album), while multi-hop
questions hinge on them: a bridge question names its first-hop entity, and the second hop's
title usually appears verbatim in the first hop's text. BM25 over the words lives in the store
(``KnowledgeBase.search_sparse``, :mod:`mmroute.terms`); what no store or library does is this:

- :meth:`TitleIndex.mentions` — which item titles occur as token n-grams in a text, each weighted
  by how specific the title is (the IDF of its rarest content token over the KB's items), so a
  title made only of stop words ("The Who", "It") never matches and a common word matches weakly.

The index holds only the titled items' ids (by folded title), each title's weight, and the document
frequency of the words of those titles. It is built **at index time** and saved beside the store, as
``<store folder>.titles.npz`` in the KB folder (``store.titles.npz``; :func:`title_index_path`): the
indexer updates it after every run from the run's own writes (each upsert's old payload out, the new one
in: :class:`TitleIndexBuilder`), ``kb copy`` / ``kb move`` / ``kb reindex-lexical`` build it while they
stream the points into the new store folder, so the manifest write that switches a KB to that folder
commits its title index too (the old folder's file is removed with the old store). :func:`title_index_for`
loads it lazily on a KB's first search (about 0.2 s for a million titles; nothing else of the KB is
read) and keeps it per process until the KB changes. The file records the store folder, item count and
``updated_at`` it was built for; when they no longer match the KB (an older mmroute, a run killed
between the manifest and this file) the index is rebuilt from the payloads as before, with a one-line
hint to run ``mmroute kb reindex-lexical NAME``, which saves it again.

File format (version 1, an uncompressed ``.npz``, no pickles): ``meta`` (JSON: format, version,
tokenizer, stamp, modality, n), ``titles`` (the folded titles, UTF-8, newline-separated), ``starts``
(int64, title j's ids are ids ``starts[j]:starts[j+1]``), ``ids`` / ``id_ends`` (the item ids as one
UTF-8 blob and the end offset of each), ``weights`` (float32 per title), ``df_tokens`` / ``df`` (the
title words and their document frequencies), ``first_tokens`` / ``first_len`` (each title's first word
and the longest title starting with it), ``all_tokens`` / ``all_df`` (every word's document frequency:
what an indexing run updates the index from, without reading the KB again; searches never read them).
Loading makes one dict of the titles; the ids are decoded only for matched titles.

>>> idx = TitleIndex([Item(id="a", kind=Granularity.PARAGRAPH, title="Walls and Bridges", text="...")])
>>> idx.mentions("released on his album Walls and Bridges")
[TitleMention(title='walls and bridges', ids=('a',), weight=...)]
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..fsutil import atomic_write_bytes
from ..terms import STOPWORDS, TOKENIZER
from ..terms import tokens as content_tokens
from ..terms import words as tokens
from ..text import strip_parenthetical
from ..types import Item

__all__ = [
    "STOPWORDS",
    "TITLE_INDEX_SUFFIX",
    "TitleIndex",
    "TitleIndexBuilder",
    "TitleMention",
    "content_tokens",
    "load_title_index",
    "save_title_index",
    "title_index_for",
    "title_index_path",
    "title_key",
    "tokens",
]

log = logging.getLogger(__name__)

MAX_TITLE_TOKENS = 10
MENTION_CACHE_SIZE = 4096
"""Texts whose title matches a :class:`TitleIndex` remembers (evidence texts recur across steps)."""
TITLE_INDEX_SUFFIX = ".titles.npz"
TITLE_INDEX_FORMAT = "mmroute-title-index"
TITLE_INDEX_VERSION = 1

Stamp = tuple[str, int, str]
"""What a saved index was built for: (the manifest's store folder, item count, ``updated_at``)."""


def make_stamp(store_dir: str, count: int, updated_at: str | None) -> Stamp:
    return (str(store_dir), int(count), str(updated_at or ""))


def title_key(title: str) -> tuple[str, ...]:
    """Tokens a title is matched by: folded, without a trailing disambiguation "(film)"."""
    return tuple(tokens(strip_parenthetical(title)))


@dataclass(frozen=True)
class TitleMention:
    """A KB title found in a text: the folded title, the items carrying it, and its specificity."""

    title: str
    ids: tuple[str, ...]
    weight: float
    start: int = 0
    """Token offset of the mention in the text (earlier mentions are usually the subject)."""


class TitleIndexBuilder:
    """Collects titles and word document frequencies from items or payloads, one at a time (so a KB's
    points can be streamed through it), then :meth:`build` makes the :class:`TitleIndex`.

    ``keep_items``: keep the titled items themselves (the index then needs no store to fetch them).
    ``dedupe``: ignore an item id seen before (a list of items); without it the caller says what each write
    replaced (:meth:`remove` the old payload, then :meth:`add` the new one), as the indexer does to keep a
    saved index current without reading the whole KB again (:meth:`from_saved`)."""

    def __init__(self, modality: str | None = None, keep_items: bool = True, dedupe: bool = True) -> None:
        self.modality = modality
        self.keep_items = keep_items
        self.n = 0
        """Items counted (the N of the document frequencies)."""
        self._titles: dict[str, list[str]] = {}
        self._seen: set[str] | None = set() if dedupe else None
        self._df: Counter[str] = Counter()
        self._items: dict[str, Item] = {}

    @staticmethod
    def _fields(raw: Item | Mapping[str, Any]) -> tuple[str, str | None, str]:
        if isinstance(raw, Item):
            return raw.id, raw.title, raw.text or ""
        return str(raw["item_id"]), raw.get("title"), raw.get("text") or ""

    @staticmethod
    def _key(title: str | None) -> str | None:
        if not title:
            return None
        key = title_key(title)
        if key and any(t not in STOPWORDS for t in key) and len(key) <= MAX_TITLE_TOKENS:
            return " ".join(key)
        return None

    def add(self, raw: Item | Mapping[str, Any]) -> None:
        iid, title, text = self._fields(raw)
        if self._seen is not None:
            if iid in self._seen:
                return
            self._seen.add(iid)
        self.n += 1
        self._df.update(set(content_tokens(f"{title or ''} {text}")))
        key = self._key(title)
        if key is not None:
            self._titles.setdefault(key, []).append(iid)
            if self.keep_items:
                self._items[iid] = raw if isinstance(raw, Item) else Item.from_payload(raw)

    def remove(self, raw: Item | Mapping[str, Any]) -> None:
        """Forget an item that was counted (its payload as it was counted)."""
        iid, title, text = self._fields(raw)
        if self._seen is not None:
            self._seen.discard(iid)
        self.n = max(0, self.n - 1)
        for t in set(content_tokens(f"{title or ''} {text}")):
            left = self._df.get(t, 0) - 1
            if left > 0:
                self._df[t] = left
            else:
                self._df.pop(t, None)
        key = self._key(title)
        ids = self._titles.get(key) if key is not None else None
        if ids is not None and iid in ids:
            ids.remove(iid)
            if not ids:
                del self._titles[key]  # type: ignore[arg-type]
        self._items.pop(iid, None)

    def add_all(self, raws: Iterable[Item | Mapping[str, Any]]) -> TitleIndexBuilder:
        for raw in raws:
            self.add(raw)
        return self

    @classmethod
    def from_saved(cls, directory: Path, stamp: Stamp) -> TitleIndexBuilder | None:
        """The state a saved title index was built from (titles, every word's document frequency, N), to
        update it with a run's writes; None when the file is missing, stale or unreadable."""
        try:
            with np.load(title_index_path(directory, stamp[0]), allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
                if _meta_stamp(meta) != stamp:
                    return None
                titles = _decode_all(z["titles"].tobytes(), z["title_ends"].tolist())
                starts = z["starts"].tolist()
                ends = z["id_ends"].tolist()
                blob = z["ids"].tobytes()
                words, counts = _split(z["all_tokens"]), z["all_df"].tolist()
        except _UNREADABLE:
            return None
        b = cls(meta.get("modality"), keep_items=False, dedupe=False)
        b.n = int(meta["n"])
        b._df = Counter(dict(zip(words, counts)))
        for j, key in enumerate(titles):
            b._titles[key] = [
                blob[(ends[x - 1] if x else 0) : ends[x]].decode("utf-8") for x in range(starts[j], starts[j + 1])
            ]
        return b

    def build(self) -> TitleIndex:
        n = self.n
        order = sorted((_title_hash(k), k) for k in self._titles)
        titles = [k for _, k in order]
        df = {t: self._df.get(t, 0) for key in titles for t in key.split(" ") if t not in STOPWORDS}

        def weight(key: str) -> float:
            content = [t for t in key.split(" ") if t not in STOPWORDS]
            if not content or n == 0:
                return 0.0
            return min(1.0, max(_idf(n, df.get(t, 0)) for t in content) / math.log(n + 1.0))

        ids = [i for key in titles for i in self._titles[key]]
        starts = np.cumsum([0, *(len(self._titles[key]) for key in titles)], dtype=np.int64)
        index = TitleIndex._from_parts(
            titles=titles,
            hashes=np.asarray([h for h, _ in order], dtype=np.uint64),
            starts=starts,
            ids=ids,
            weights=np.asarray([weight(k) for k in titles], dtype=np.float32),
            df=df,
            n=n,
            modality=self.modality,
            items=dict(self._items),
        )
        index._all_df = self._df
        return index


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class TitleIndex:
    """Titles of a fixed list of items, and the document frequency of their words (see module doc).

    Built from items (or store payloads) directly, or loaded from a KB's saved file
    (:func:`load_title_index`); the titled items themselves are then fetched from the KB on demand
    (:meth:`item`)."""

    modality: str | None
    """Modality of the KB the items come from (a routing hint for follow-ups aimed at them)."""
    n: int
    """Items the document frequencies were counted over."""
    _hashes: np.ndarray
    _title_blob: bytes
    _title_ends: np.ndarray
    _starts: np.ndarray
    _ids: list[str] | None
    _id_blob: bytes | None
    _id_ends: np.ndarray | None
    _weights: np.ndarray
    _df_parts: tuple[np.ndarray, np.ndarray] | None
    _df_dict: dict[str, int] | None
    _items: dict[str, Item]
    _fetch: Callable[[Sequence[str]], Sequence[Item]] | None
    _ids_of: dict[int, tuple[str, ...]]
    _first: dict[str, int]
    _found: dict[str, tuple[tuple[str, int, int], ...]]
    _all_df: Counter[str] | None
    """Every word's document frequency (kept by a freshly built index, saved for later updates)."""

    def __init__(self, items: Sequence[Item | Mapping[str, Any]], modality: str | None = None) -> None:
        built = TitleIndexBuilder(modality).add_all(items).build()
        self.__dict__.update(built.__dict__)

    @classmethod
    def _from_parts(
        cls,
        *,
        titles: list[str] | None,
        hashes: np.ndarray,
        starts: np.ndarray,
        title_blob: bytes | None = None,
        title_ends: np.ndarray | None = None,
        ids: list[str] | None = None,
        id_blob: bytes | None = None,
        id_ends: np.ndarray | None = None,
        weights: np.ndarray,
        df: dict[str, int] | tuple[np.ndarray, np.ndarray],
        n: int,
        modality: str | None,
        items: dict[str, Item] | None = None,
        fetch: Callable[[Sequence[str]], Sequence[Item]] | None = None,
        first: dict[str, int] | None = None,
    ) -> TitleIndex:
        self = cls.__new__(cls)
        self.modality = modality
        self.n = int(n)
        self._hashes = np.asarray(hashes, dtype=np.uint64)
        if titles is not None:
            encoded = [t.encode("utf-8") for t in titles]
            title_blob = b"".join(encoded)
            title_ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
        assert title_blob is not None and title_ends is not None
        self._title_blob = title_blob
        self._title_ends = np.asarray(title_ends, dtype=np.int64)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ids = ids
        self._id_blob = id_blob
        self._id_ends = id_ends
        self._weights = np.asarray(weights, dtype=np.float32)
        self._df_dict, self._df_parts = (df, None) if isinstance(df, dict) else (None, df)
        self._items = dict(items or {})
        self._fetch = fetch
        self._ids_of = {}
        self._found = {}
        self._all_df = None
        if first is None:
            first = {}
            for key in titles or ():
                head, _, _ = key.partition(" ")
                length = key.count(" ") + 1
                if first.get(head, 0) < length:
                    first[head] = length
        self._first = first  # first token of each title -> the longest title starting with it
        return self

    @property
    def _df(self) -> dict[str, int]:
        """Document frequency of each title word (read from a loaded file on first use)."""
        if self._df_dict is None:
            assert self._df_parts is not None
            tokens_blob, counts = self._df_parts
            self._df_dict = dict(zip(_split(tokens_blob), counts.tolist()))
        return self._df_dict

    @property
    def has_titles(self) -> bool:
        return len(self._hashes) > 0

    def _title_at(self, j: int) -> str:
        ends = self._title_ends
        return self._title_blob[(int(ends[j - 1]) if j else 0) : int(ends[j])].decode("utf-8")

    def _find(self, key: str) -> int | None:
        """The number of title ``key`` (a binary search of its 64-bit hash, checked against the title)."""
        h = np.uint64(_title_hash(key))
        j = int(np.searchsorted(self._hashes, h))
        if j < len(self._hashes) and self._hashes[j] == h and self._title_at(j) == key:
            return j
        return None

    def __len__(self) -> int:
        return self.n

    def idf(self, token: str) -> float:
        return _idf(self.n, self._df.get(token, 0))

    def title_weight(self, key: tuple[str, ...]) -> float:
        """Specificity of a title in [0, 1]: IDF of its rarest content token over log(N+1)."""
        j = self._find(" ".join(key))
        if j is not None:
            return float(self._weights[j])
        content = [t for t in key if t not in STOPWORDS]
        if not content or self.n == 0:
            return 0.0
        return min(1.0, max(self.idf(t) for t in content) / math.log(self.n + 1.0))

    def _title_ids(self, j: int) -> tuple[str, ...]:
        got = self._ids_of.get(j)
        if got is None:
            a, b = self._starts[j], self._starts[j + 1]
            if self._ids is not None:
                got = tuple(self._ids[a:b])
            else:
                assert self._id_blob is not None and self._id_ends is not None
                ends, blob = self._id_ends, self._id_blob
                got = tuple(blob[(ends[x - 1] if x else 0) : ends[x]].decode("utf-8") for x in range(a, b))
            self._ids_of[j] = got
        return got

    def titled_ids(self) -> list[str]:
        """Every titled item's id."""
        return [i for j in range(len(self._hashes)) for i in self._title_ids(j)]

    def mentions(self, text: str, exclude: Iterable[str] = ()) -> list[TitleMention]:
        """KB titles occurring in ``text`` (longest match wins at each position), in text order.

        Items in ``exclude`` are left out of the returned ids (e.g. the item the text comes from).
        The step-wise retriever asks this of the same evidence texts many times (every step ranks the
        whole pool), so the matches of recent texts are remembered.
        """
        found = self._found.get(text)
        if found is None:
            found = self._match(text)
            if len(self._found) >= MENTION_CACHE_SIZE:
                self._found.clear()
            self._found[text] = found
        skip = set(exclude)
        out: list[TitleMention] = []
        for key, j, start in found:
            ids = self._title_ids(j)
            kept = tuple(x for x in ids if x not in skip) if skip else ids
            if kept:
                out.append(TitleMention(key, kept, float(self._weights[j]), start))
        return out

    def _match(self, text: str) -> tuple[tuple[str, int, int], ...]:
        """(title, title number, token offset) of each title in ``text``, in text order."""
        toks = tokens(text)
        first = self._first
        find = self._find
        found: list[tuple[str, int, int]] = []
        seen: set[str] = set()
        i = 0
        n_toks = len(toks)
        while i < n_toks:
            longest = first.get(toks[i])
            if longest is None:
                i += 1
                continue
            matched = 0
            for n in range(min(longest, n_toks - i), 0, -1):
                key = " ".join(toks[i : i + n])
                j = find(key)
                if j is None:
                    continue
                matched = n
                if key not in seen:
                    seen.add(key)
                    found.append((key, j, i))
                break
            i += matched or 1
        return tuple(found)

    def ids_with_title(self, title: str) -> tuple[str, ...]:
        j = self._find(" ".join(title_key(title)))
        return () if j is None else self._title_ids(j)

    def item(self, item_id: str) -> Item | None:
        """A titled item (fetched from the KB the first time when the index was loaded from its file)."""
        got = self._items.get(item_id)
        if got is None and self._fetch is not None:
            self.prefetch([item_id])
            got = self._items.get(item_id)
        return got

    def prefetch(self, item_ids: Iterable[str]) -> None:
        """Fetch the items not held yet in one store call (a loaded index holds none at first)."""
        if self._fetch is None:
            return
        want = [i for i in dict.fromkeys(item_ids) if i not in self._items]
        if want:
            for it in self._fetch(want):
                self._items[it.id] = it

    # ----- persistence ---------------------------------------------------------------------------
    def to_bytes(self, stamp: Stamp) -> bytes:
        ids = self.titled_ids()
        encoded = [i.encode("utf-8") for i in ids]
        meta = {
            "format": TITLE_INDEX_FORMAT,
            "version": TITLE_INDEX_VERSION,
            "tokenizer": TOKENIZER,
            "stamp": list(stamp),
            "modality": self.modality,
            "n": self.n,
        }
        df_tokens = sorted(self._df)
        first_tokens = sorted(self._first)
        buf = io.BytesIO()
        np.savez(
            buf,
            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
            hashes=self._hashes,
            titles=np.frombuffer(self._title_blob, dtype=np.uint8),
            title_ends=self._title_ends,
            starts=np.asarray(self._starts, dtype=np.int64),
            ids=np.frombuffer(b"".join(encoded), dtype=np.uint8),
            id_ends=np.cumsum([len(e) for e in encoded], dtype=np.int64),
            weights=np.asarray(self._weights, dtype=np.float32),
            df_tokens=np.frombuffer("\n".join(df_tokens).encode("utf-8"), dtype=np.uint8),
            df=np.asarray([self._df[t] for t in df_tokens], dtype=np.int64),
            first_tokens=np.frombuffer("\n".join(first_tokens).encode("utf-8"), dtype=np.uint8),
            first_len=np.asarray([self._first[t] for t in first_tokens], dtype=np.uint8),
            **self._all_df_arrays(),  # type: ignore[arg-type]
        )
        return buf.getvalue()

    def _all_df_arrays(self) -> dict[str, np.ndarray]:
        """Every word's document frequency, when this index was built here (a loaded index has not read them)."""
        if self._all_df is None:
            return {}
        words = sorted(self._all_df)
        return {
            "all_tokens": np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
            "all_df": np.asarray([self._all_df[w] for w in words], dtype=np.int64),
        }


_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)
"""What a missing, torn or foreign title index file raises when read."""


def _title_hash(key: str) -> int:
    """64-bit hash of a folded title (blake2b): titles are looked up by binary search of these."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def _decode_all(blob: bytes, ends: list[int]) -> list[str]:
    return [blob[(ends[j - 1] if j else 0) : ends[j]].decode("utf-8") for j in range(len(ends))]


def _split(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def title_index_path(directory: Path, store_dir: str) -> Path:
    """Where the title index of the store in ``directory / store_dir`` is saved."""
    return Path(directory) / f"{store_dir}{TITLE_INDEX_SUFFIX}"


def save_title_index(directory: Path, index: TitleIndex, stamp: Stamp) -> Path:
    """Write ``index`` as the title index of the store folder named in ``stamp``, atomically (readers see
    the old or the new file)."""
    path = title_index_path(directory, stamp[0])
    atomic_write_bytes(path, index.to_bytes(stamp))
    return path


def read_stamp(directory: Path, store_dir: str) -> Stamp | None:
    """The stamp of a saved title index (None when there is none or it is unreadable)."""
    try:
        with np.load(title_index_path(directory, store_dir), allow_pickle=False) as z:
            return _meta_stamp(json.loads(z["meta"].tobytes().decode("utf-8")))
    except _UNREADABLE:
        return None


def _meta_stamp(meta: Mapping[str, Any]) -> Stamp | None:
    if meta.get("format") != TITLE_INDEX_FORMAT or meta.get("version") != TITLE_INDEX_VERSION:
        return None
    if meta.get("tokenizer") != TOKENIZER:
        return None
    s = meta.get("stamp")
    return (str(s[0]), int(s[1]), str(s[2])) if isinstance(s, list) and len(s) == 3 else None


def load_title_index(
    directory: Path,
    stamp: Stamp,
    fetch: Callable[[Sequence[str]], Sequence[Item]] | None = None,
) -> TitleIndex | None:
    """The saved title index of the store folder ``stamp[0]`` of a KB folder, or None when it is missing,
    unreadable, of another format, version or tokenizer, or built for another state of the KB (``stamp``).
    ``fetch(ids)`` returns titled items by id (the KB's ``get_items``)."""
    try:
        with np.load(title_index_path(directory, stamp[0]), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            if _meta_stamp(meta) != stamp:
                return None
            return TitleIndex._from_parts(
                titles=None,
                hashes=z["hashes"],
                title_blob=z["titles"].tobytes(),
                title_ends=z["title_ends"],
                starts=z["starts"],
                id_blob=z["ids"].tobytes(),
                id_ends=z["id_ends"],
                weights=z["weights"],
                df=(z["df_tokens"], z["df"]),
                n=int(meta["n"]),
                modality=meta.get("modality"),
                fetch=fetch,
                first=dict(zip(_split(z["first_tokens"]), z["first_len"].tolist())),
            )
    except _UNREADABLE as e:
        log.debug("title index in %s unreadable: %s", directory, e)
        return None


def build_from_points(pages: Iterable[Sequence[Any]], modality: str | None) -> TitleIndex:
    """A title index from a store's ``iter_points`` pages (payloads only are read; items are not kept)."""
    builder = TitleIndexBuilder(modality, keep_items=False)
    for page in pages:
        for p in page:
            builder.add(p.payload)
    return builder.build()


def kb_stamp(kb: Any) -> Stamp:
    """The current stamp of an open :class:`mmroute.kb.KnowledgeBase`."""
    return make_stamp(kb.manifest.store_dir, kb.store.count(), kb.info.updated_at)


class _IndexCache:
    """One :class:`TitleIndex` per KB: loaded from the KB's file, else built; rebuilt when the KB changes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Stamp, TitleIndex]] = {}
        self._lock = threading.Lock()
        self._hinted: set[str] = set()

    def get(self, kb: Any) -> TitleIndex:
        info = kb.info
        directory = getattr(kb, "directory", None)
        key = str(directory or info.name)
        stamp = kb_stamp(kb)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == stamp:
                if hit[1]._fetch is not None:  # fetch through the KB object in use (an older one may be closed)
                    hit[1]._fetch = kb.get_items
                return hit[1]
        index = load_title_index(directory, stamp, fetch=kb.get_items) if directory is not None else None
        if index is None:
            index = self._build(kb, key)
        with self._lock:
            self._cache[key] = (stamp, index)
        return index

    def _build(self, kb: Any, key: str) -> TitleIndex:
        t = time.perf_counter()
        store = kb.store
        ids = sorted(store.all_ids())
        builder = TitleIndexBuilder(kb.info.modality.value)
        for start in range(0, len(ids), 4096):
            for p in store.get(ids[start : start + 4096]):
                builder.add(p.payload)
        index = builder.build()
        index._all_df = None  # only saving needs every word's frequency; a search never writes the file
        if key not in self._hinted and len(ids) >= HINT_MIN_ITEMS:
            self._hinted.add(key)
            log.warning(
                "KB %r has no up-to-date saved title index; built it from its %d items in %.1f s "
                "(run `mmroute kb reindex-lexical %s` to save it)",
                kb.name,
                len(ids),
                time.perf_counter() - t,
                kb.name,
            )
        return index


HINT_MIN_ITEMS = 0
"""KBs smaller than this rebuild their title index silently."""

_CACHE = _IndexCache()


def title_index_for(kb: object) -> TitleIndex:
    """The title index of a :class:`mmroute.kb.KnowledgeBase`: its saved file when that matches the KB,
    else built from its payloads (with a hint); cached per process until the KB changes."""
    return _CACHE.get(kb)
