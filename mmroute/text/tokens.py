"""Tokens: with character offsets (answering, verification), folded words (lexical search), stems.

No tagger or parser ships offline, so everything here is regular expressions plus small word lists:
tokens with character offsets, the Snowball English stemmer for matching question words against evidence
("founded" ~ "founding"), accent folding and word tokens for search, and a title's trailing
disambiguation ("Up (film)").
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from .wordlists import LOOKING_WORDS, MEDIA_WORDS, NUMBER_WORDS, STOPWORDS

_ENGLISH = snowballstemmer.stemmer("english")
_ENGLISH_LOCK = threading.Lock()  # a Snowball stemmer keeps its word in itself while it works: one at a time

_TOKEN_RE = re.compile(
    r"\$?\d+(?:[.,:]\d+)*(?:st|nd|rd|th|s)?%?"  # numbers, ordinals, decades, money, percents
    r"|[^\W\d_]\w*(?:[-'’]\w+)*"  # words, hyphenated words, O'Brien
    r"|[^\w\s]",
    re.UNICODE,
)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_PAREN_RE = re.compile(r"\s*\([^)]*\)\s*$")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.text[:1].isalnum() or self.text[:1] == "$"

    @property
    def is_number(self) -> bool:
        return any(c.isdigit() for c in self.text) or self.text.lower() in NUMBER_WORDS

    @property
    def is_capitalised(self) -> bool:
        return self.text[:1].isupper()


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The Snowball (Porter2) English stem of a word's lemma, lower-cased, a possessive's "'s" dropped; numbers and
    words of up to 3 letters are kept whole. "harasses" ~ "harass", "died" ~ "die", "began" ~ "begin".

    A hand-made suffix stripper did this before and told users things that were false of the texts: "these words of
    the question do not appear near the answer: harasses" beside "three rodents rudely harass him" ("harass" lost
    its last "s"), and "die" beside "died" (too short to strip). A stemmer alone cannot join irregular forms, so a
    word that LemmInflect's tables give one lemma only ("began" -> "begin", "won" -> "win", "men" -> "man") is stemmed
    as that lemma; one with two ("born": born or bear, "found", "left") stays itself."""
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if any(c.isdigit() for c in w):
        return w
    w = lemma(w)
    if len(w) <= 3:
        return w
    with _ENGLISH_LOCK:
        return str(_ENGLISH.stemWord(w))


@lru_cache(maxsize=1 << 16)
def lemma(word: str) -> str:
    """A lower-case word's lemma where LemmInflect's tables give it one ("began" -> "begin"), else the word."""
    from lemminflect import getAllLemmas

    lemmas = {str(lemma).lower() for readings in getAllLemmas(word).values() for lemma in readings}
    if len(lemmas) == 1:
        (lemma,) = lemmas
        if lemma.isalpha():
            return lemma
    return word


DERIVATIONAL_SUFFIXES = (
    "r",
    "er",
    "or",
    "ee",
    "ion",
    "ment",
    "ement",
    "ist",
    "ism",
    "al",
    "ity",
    "ive",
    "ness",
    "ship",
    "ure",
)
"""What turns one word of a family into another after stemming: "direct" + "or", "found" + "er", "settl" + "ement"."""


def same_family(a: str, b: str) -> bool:
    """Whether two stems are one word family: equal, or the longer is the shorter (of 4 letters or more) plus one of
    :data:`DERIVATIONAL_SUFFIXES` ("director" and "directed" stem to "director" and "direct")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short) and long[len(short) :] in DERIVATIONAL_SUFFIXES


@lru_cache(maxsize=64)
def stems_of(words: tuple[str, ...]) -> frozenset[str]:
    """The stems of a word list (``stems_of(MEDIA_WORDS)``), computed on first use, not at import: stemming loads
    the lemma tables (0.3 s)."""
    return frozenset(stem(w) for w in words)


def content_stems(tokens: Iterable[Token]) -> list[str]:
    """Stems of the content words (no stopwords, no punctuation)."""
    return [stem(t.text) for t in tokens if t.is_word and t.lower not in STOPWORDS]


@lru_cache(maxsize=1 << 14)
def text_stems(text: str) -> tuple[str, ...]:
    """:func:`content_stems` of ``text``'s tokens, remembered: verification and reading stem the same evidence
    sentences for every draft and every question about them (profiled: 20% of a warm ``ask`` before this)."""
    return tuple(content_stems(tokenize(text)))


def is_content(tok: Token) -> bool:
    return tok.is_word and tok.lower not in STOPWORDS


class LocalIdf:
    """Inverse document frequency over a small set of texts (the retrieved evidence sentences).

    No corpus statistics exist at answer time, so rarity is judged within the evidence itself: a word
    that appears in every retrieved sentence tells little about which sentence answers.
    """

    def __init__(self, docs: Sequence[Iterable[str]]) -> None:
        self.n = max(len(docs), 1)
        self.df: Counter[str] = Counter()
        for d in docs:
            self.df.update(set(d))

    def __call__(self, term: str) -> float:
        return math.log(1.0 + (self.n + 1) / (self.df.get(term, 0) + 0.5))


def fold(text: str) -> str:
    """Lowercase and strip accents so "Fährmann" matches "Fahrmann"."""
    if text.isascii():  # nothing to decompose (most text): 20x faster than the general path, same result
        return text.lower()
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def search_tokens(text: str) -> list[str]:
    """All word tokens of a text, folded (stop words kept: titles and n-grams need them)."""
    return _WORD_RE.findall(fold(text))


def strip_parenthetical(title: str) -> str:
    """A title without its trailing disambiguation: "Up (2009 film)" -> "Up"."""
    return _PAREN_RE.sub("", title)


def word_coverage(question_stems: set[str], text: str) -> float:
    """Share of the question's content stems that ``text`` holds."""
    if not question_stems:
        return 0.0
    return len(question_stems & set(text_stems(text))) / len(question_stems)


def only_about_the_medium(question: str) -> bool:
    """Whether every content word of ``question`` names a medium or asks about looking at it ("What is in this
    picture?", "What does this photo show?", "Who is this?"): a question about a query image itself, with no words
    that an item's caption or text could match."""
    return set(text_stems(question)) <= stems_of((*MEDIA_WORDS, *LOOKING_WORDS))
