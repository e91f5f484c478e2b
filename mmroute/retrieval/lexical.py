"""Lexical signals over a KB's items: BM25 and a title/entity index.

Dense MiniLM vectors blur names ("Walls and Bridges" vs. any Lennon album), while multi-hop
questions hinge on them: a bridge question names its first-hop entity, and the second hop's
title usually appears verbatim in the first hop's text. This module gives the step-wise
retriever two exact signals built from the items' payloads (``store.all_ids`` + ``store.get``):

- :meth:`LexicalIndex.bm25` — Okapi BM25 (k1=1.2, b=0.75, the textbook defaults) over title + text;
- :meth:`LexicalIndex.mentions` — which item titles occur as token n-grams in a text, each
  weighted by how specific the title is (the IDF of its rarest content token), so a title made
  only of stop words ("The Who", "It") never matches and a common word matches weakly.

Indexes are cached per KB (:func:`lexical_index_for`) and rebuilt when the KB's item count
or ``updated_at`` changes.

>>> idx = LexicalIndex([Item(id="a", kind=Granularity.PARAGRAPH, title="Walls and Bridges", text="...")])
>>> idx.mentions("released on his album Walls and Bridges")
[TitleMention(title='walls and bridges', ids=('a',), weight=...)]
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..types import Item

STOPWORDS = frozenset("""
a an the and or but nor of in on at to for from by with without about as into onto over under
is are was were be been being am do does did done has have had having can could shall should will
would may might must it its it's this that these those there here who whom whose which what when where
why how than then so such not no yes if else also both either neither each any all some many much
more most other another same own i me my we us our you your he him his she her they them their
one ones s t via per vs etc
""".split())

_TOKEN = re.compile(r"\w+", re.UNICODE)
_PAREN = re.compile(r"\s*\([^)]*\)\s*$")
BM25_K1 = 1.2
BM25_B = 0.75
MAX_TITLE_TOKENS = 10


def _fold(text: str) -> str:
    """Lowercase and strip accents so "Fährmann" matches "Fahrmann"."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """All word tokens of a text, folded (stop words kept: titles and n-grams need them)."""
    return _TOKEN.findall(_fold(text))


def content_tokens(text: str) -> list[str]:
    """Folded tokens without stop words (what BM25 and "does the question name it" look at)."""
    return [t for t in tokens(text) if t not in STOPWORDS]


def title_key(title: str) -> tuple[str, ...]:
    """Tokens a title is matched by: folded, without a trailing disambiguation "(film)"."""
    return tuple(tokens(_PAREN.sub("", title)))


@dataclass(frozen=True)
class TitleMention:
    """A KB title found in a text: the folded title, the items carrying it, and its specificity."""

    title: str
    ids: tuple[str, ...]
    weight: float
    start: int = 0
    """Token offset of the mention in the text (earlier mentions are usually the subject)."""


class LexicalIndex:
    """BM25 postings and a title index over a fixed list of items (see module doc)."""

    def __init__(self, items: Sequence[Item], modality: str | None = None) -> None:
        self.modality = modality
        """Modality of the KB the items come from (a routing hint for follow-ups aimed at them)."""
        self.items: dict[str, Item] = {}
        self._postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self._length: dict[str, int] = {}
        self._titles: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for it in items:
            if it.id in self.items:
                continue
            self.items[it.id] = it
            toks = content_tokens(f"{it.title or ''} {it.text}")
            self._length[it.id] = len(toks)
            for tok, tf in Counter(toks).items():
                self._postings[tok].append((it.id, tf))
            if it.title:
                key = title_key(it.title)
                if key and any(t not in STOPWORDS for t in key) and len(key) <= MAX_TITLE_TOKENS:
                    self._titles[key].append(it.id)
        self.n = len(self.items)
        self._avgdl = (sum(self._length.values()) / self.n) if self.n else 1.0
        self._first_tokens = {k[0] for k in self._titles}
        self._max_title_len = max((len(k) for k in self._titles), default=0)

    @property
    def has_titles(self) -> bool:
        return bool(self._titles)

    def __len__(self) -> int:
        return self.n

    def idf(self, token: str) -> float:
        df = len(self._postings.get(token, ()))
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def bm25(self, query: str, k: int = 50) -> list[tuple[str, float]]:
        """Top-k (item id, BM25 score) for a query, best first."""
        scores: dict[str, float] = defaultdict(float)
        for tok in set(content_tokens(query)):
            posting = self._postings.get(tok)
            if not posting:
                continue
            idf = self.idf(tok)
            for iid, tf in posting:
                norm = BM25_K1 * (1 - BM25_B + BM25_B * self._length[iid] / self._avgdl)
                scores[iid] += idf * tf * (BM25_K1 + 1) / (tf + norm)
        return sorted(scores.items(), key=lambda kv: -kv[1])[:k]

    def title_weight(self, key: tuple[str, ...]) -> float:
        """Specificity of a title in [0, 1]: IDF of its rarest content token over log(N+1)."""
        content = [t for t in key if t not in STOPWORDS]
        if not content or self.n == 0:
            return 0.0
        return min(1.0, max(self.idf(t) for t in content) / math.log(self.n + 1.0))

    def mentions(self, text: str, exclude: Iterable[str] = ()) -> list[TitleMention]:
        """KB titles occurring in ``text`` (longest match wins at each position), in text order.

        Items in ``exclude`` are left out of the returned ids (e.g. the item the text comes from).
        """
        toks = tokens(text)
        skip = set(exclude)
        found: list[TitleMention] = []
        seen: set[tuple[str, ...]] = set()
        i = 0
        while i < len(toks):
            if toks[i] not in self._first_tokens:
                i += 1
                continue
            matched = 0
            for n in range(min(self._max_title_len, len(toks) - i), 0, -1):
                key = tuple(toks[i:i + n])
                ids = self._titles.get(key)
                if ids is None:
                    continue
                matched = n
                if key not in seen:
                    seen.add(key)
                    kept = tuple(x for x in ids if x not in skip)
                    if kept:
                        found.append(TitleMention(" ".join(key), kept, self.title_weight(key), i))
                break
            i += matched or 1
        return found

    def ids_with_title(self, title: str) -> tuple[str, ...]:
        return tuple(self._titles.get(title_key(title), ()))


class _IndexCache:
    """One :class:`LexicalIndex` per KB, rebuilt when the KB changes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[object, ...], LexicalIndex]] = {}
        self._lock = threading.Lock()

    def get(self, kb: object) -> LexicalIndex:
        info = kb.info  # type: ignore[attr-defined]
        store = kb.store  # type: ignore[attr-defined]
        key = str(getattr(kb, "directory", info.name))
        stamp = (store.count(), info.updated_at)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        ids = sorted(store.all_ids())
        items: list[Item] = []
        for start in range(0, len(ids), 1024):
            items.extend(Item.from_payload(p.payload) for p in store.get(ids[start:start + 1024]))
        index = LexicalIndex(items, modality=info.modality.value)
        with self._lock:
            self._cache[key] = (stamp, index)
        return index


_CACHE = _IndexCache()


def lexical_index_for(kb: object) -> LexicalIndex:
    """The cached lexical index of a :class:`mmroute.kb.KnowledgeBase` (built on first use)."""
    return _CACHE.get(kb)
