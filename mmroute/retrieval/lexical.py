"""The title-mention matcher: which KB item titles a text names.

Dense MiniLM vectors blur names ("Walls and Bridges" vs. any Lennon album), while multi-hop
questions hinge on them: a bridge question names its first-hop entity, and the second hop's
title usually appears verbatim in the first hop's text. BM25 over the words lives in the store
(``KnowledgeBase.search_sparse``, :mod:`mmroute.terms`); what no store or library does is this:

- :meth:`TitleIndex.mentions` — which item titles occur as token n-grams in a text, each weighted
  by how specific the title is (the IDF of its rarest content token over the KB's items), so a
  title made only of stop words ("The Who", "It") never matches and a common word matches weakly.

The index holds only the titled items (their titles, and the document frequency of the words of
those titles); it is built from the KB's payloads once per process and KB (:func:`title_index_for`)
and rebuilt when the KB's item count or ``updated_at`` changes. A KB without titles costs one pass
over its payloads and holds nothing.

>>> idx = TitleIndex([Item(id="a", kind=Granularity.PARAGRAPH, title="Walls and Bridges", text="...")])
>>> idx.mentions("released on his album Walls and Bridges")
[TitleMention(title='walls and bridges', ids=('a',), weight=...)]
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..terms import STOPWORDS
from ..terms import tokens as content_tokens
from ..terms import words as tokens
from ..text import strip_parenthetical
from ..types import Item

__all__ = ["STOPWORDS", "TitleIndex", "TitleMention", "content_tokens", "title_index_for", "title_key", "tokens"]

MAX_TITLE_TOKENS = 10


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


class TitleIndex:
    """Titles of a fixed list of items, and the document frequency of their words (see module doc)."""

    def __init__(self, items: Sequence[Item | Mapping[str, Any]], modality: str | None = None) -> None:
        self.modality = modality
        """Modality of the KB the items come from (a routing hint for follow-ups aimed at them)."""
        self.items: dict[str, Item] = {}
        """The titled items, by id."""
        self._titles: dict[tuple[str, ...], list[str]] = defaultdict(list)
        seen: set[str] = set()
        texts: list[str] = []
        for raw in items:  # Items, or store payloads (only the titled ones become Items)
            iid, title = (raw.id, raw.title) if isinstance(raw, Item) else (str(raw["item_id"]), raw.get("title"))
            if iid in seen:
                continue
            seen.add(iid)
            text = raw.text if isinstance(raw, Item) else (raw.get("text") or "")
            texts.append(f"{title or ''} {text}")
            if title:
                key = title_key(title)
                if key and any(t not in STOPWORDS for t in key) and len(key) <= MAX_TITLE_TOKENS:
                    self._titles[key].append(iid)
                    self.items[iid] = raw if isinstance(raw, Item) else Item.from_payload(raw)
        self.n = len(seen)
        wanted = {t for key in self._titles for t in key if t not in STOPWORDS}
        self._df: Counter[str] = Counter()
        if wanted:
            for text in texts:
                self._df.update(wanted.intersection(content_tokens(text)))
        self._first_tokens = {k[0] for k in self._titles}
        self._max_title_len = max((len(k) for k in self._titles), default=0)

    @property
    def has_titles(self) -> bool:
        return bool(self._titles)

    def __len__(self) -> int:
        return self.n

    def idf(self, token: str) -> float:
        df = self._df.get(token, 0)
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

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
                key = tuple(toks[i : i + n])
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
    """One :class:`TitleIndex` per KB, rebuilt when the KB changes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[object, ...], TitleIndex]] = {}
        self._lock = threading.Lock()

    def get(self, kb: object) -> TitleIndex:
        info = kb.info  # type: ignore[attr-defined]
        store = kb.store  # type: ignore[attr-defined]
        key = str(getattr(kb, "directory", info.name))
        stamp = (store.count(), info.updated_at)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        ids = sorted(store.all_ids())
        payloads: list[Mapping[str, Any]] = []
        for start in range(0, len(ids), 4096):
            payloads.extend(p.payload for p in store.get(ids[start : start + 4096]))
        index = TitleIndex(payloads, modality=info.modality.value)
        with self._lock:
            self._cache[key] = (stamp, index)
        return index


_CACHE = _IndexCache()


def title_index_for(kb: object) -> TitleIndex:
    """The cached title index of a :class:`mmroute.kb.KnowledgeBase` (built on first use)."""
    return _CACHE.get(kb)
