"""The one tokenizer of mmroute's lexical (sparse, BM25) search, for documents and queries alike.

Tokenizer ``words-v1`` (:data:`TOKENIZER`), applied to an item's title, text and captions at index
time and to the query at search time:

1. Unicode NFKD, lower-case, combining marks dropped ("Fährmann" -> "fahrmann", "É" -> "e");
2. split into ``\\w+`` runs (Unicode-aware: letters, digits, underscore of any script; "東京" is
   one token, "it's" is "it" + "s");
3. stop words (:data:`STOPWORDS`, a short English list) dropped; tokens longer than 40 characters
   dropped (hashes, base64).

Term ids are the first 4 bytes (little-endian) of ``blake2b(token)``: a stable 32-bit hash, so a
query needs no vocabulary and two KBs (or two stores) agree on ids. Collisions (about 1 in 4 billion
per pair of distinct tokens) merge two tokens' postings, which BM25 tolerates.

A document's sparse vector holds the *raw term frequencies* (:func:`document_terms`); a query's holds
1.0 per distinct term (:func:`query_terms`). BM25 is the store's job (the store's ``lexical``
option holds ``k1``, ``b`` and ``avgdl``):

- Qdrant Edge and Qdrant keep the vectors in a sparse vector named ``lexical`` with
  ``modifier=IDF``: the engine computes each term's IDF over the collection at query time, and the
  store writes the *saturated* term frequency ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``
  (BM25's length normalisation, client side, with the KB's fixed ``avgdl``); the score is then
  ``sum over query terms of IDF(t) * saturated_tf(t)``, i.e. BM25.
- FAISS KBs keep a ``bm25s`` index (same k1, b; avgdl from the corpus itself) beside the FAISS file.

>>> tokens("Fährmann's 2 Boats -- and the RIVER")
['fahrmann', '2', 'boats', 'river']
>>> query_terms("the river river").indices == [term_id("river")]
True
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .text import SEARCH_STOPWORDS, search_tokens

TOKENIZER = "words-v1"
"""Name and version of the tokenizer; recorded in every KB manifest that has a lexical index."""

STOPWORDS = SEARCH_STOPWORDS
"""The short English list of :mod:`mmroute.text.wordlists` shared with title matching."""
MAX_TOKEN_CHARS = 40
BM25_K1 = 1.2
BM25_B = 0.75


words = search_tokens
"""Every word token of a text, folded, stop words kept (what title matching uses)."""


def tokens(text: str) -> list[str]:
    """The tokenizer: folded word tokens without stop words or over-long tokens (see module doc)."""
    return [t for t in words(text) if t not in STOPWORDS and len(t) <= MAX_TOKEN_CHARS]


@lru_cache(maxsize=1 << 18)
def term_id(token: str) -> int:
    """Stable 32-bit id of a token (blake2b, 4 bytes, little-endian)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


@dataclass(frozen=True)
class SparseVector:
    """Term ids (sorted, distinct) and their weights."""

    indices: list[int]
    values: list[float]

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def length(self) -> float:
        """Document length in tokens (the sum of the term frequencies)."""
        return float(sum(self.values))

    def to_dict(self) -> dict[str, list]:
        return {"indices": list(self.indices), "values": list(self.values)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SparseVector:
        return cls([int(i) for i in d["indices"]], [float(v) for v in d["values"]])


def _vector(counts: Mapping[int, float]) -> SparseVector:
    ids = sorted(counts)
    return SparseVector(ids, [float(counts[i]) for i in ids])


def document_terms(text: str) -> SparseVector:
    """Raw term frequencies of a document's text."""
    counts: Counter[int] = Counter(term_id(t) for t in tokens(text))
    return _vector(counts)


def query_terms(text: str) -> SparseVector:
    """1.0 per distinct query term (BM25 counts a repeated query word once)."""
    return _vector({term_id(t): 1.0 for t in tokens(text)})


def payload_text(payload: Mapping[str, Any]) -> str:
    """What an item's lexical vector is built from: title, text and captions (subtitles of a clip
    are in its text; an image's captions in ``captions``)."""
    parts: list[str] = []
    title = payload.get("title")
    if title:
        parts.append(str(title))
    if payload.get("text"):
        parts.append(str(payload["text"]))
    caps = payload.get("captions") or ()
    parts.extend(str(c) for c in caps if c and str(c) not in parts)
    return "\n".join(parts)


def payload_terms(payload: Mapping[str, Any]) -> SparseVector | None:
    """The document vector of a stored item (None when it carries no words)."""
    vec = document_terms(payload_text(payload))
    return vec if len(vec) else None


def saturate(tf: Iterable[float], k1: float, b: float, avgdl: float) -> list[float]:
    """BM25's term-frequency saturation with length normalisation (the document length is the sum
    of the term frequencies): ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``."""
    tf = [float(x) for x in tf]
    dl = sum(tf)
    norm = k1 * (1.0 - b + b * dl / max(avgdl, 1e-9))
    return [x * (k1 + 1.0) / (x + norm) for x in tf]


def lexical_spec(avgdl: float, k1: float = BM25_K1, b: float = BM25_B) -> dict[str, Any]:
    """The store option ``lexical`` (and the manifest's record of the lexical index)."""
    return {"tokenizer": TOKENIZER, "k1": float(k1), "b": float(b), "avgdl": round(float(avgdl), 2)}


DEFAULT_AVGDL = {"paragraph": 55.0, "document": 600.0, "image": 12.0, "clip": 40.0, "video": 300.0}
"""Expected tokens per item by granularity, used as BM25's ``avgdl`` for a new KB (measured on the
shared corpora: multi-hop paragraphs 52, SQuAD paragraphs 57). ``mmroute kb reindex-lexical``
replaces it with the KB's measured average."""
