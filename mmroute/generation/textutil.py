"""Light text processing shared by the offline generator and the verifier.

No tagger or parser ships offline, so everything here is regular expressions plus small word lists:
sentence splitting, tokens with character offsets, a crude stemmer for matching question words
against evidence ("founded" ~ "founding"), stopwords, and SQuAD answer normalisation.
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

STOPWORDS = frozenset("""
a an the and or but nor so yet of in on at to for from by with without about above below over under into onto
upon within through during before after since until till against among between across along around behind
beyond near off out up down via per than as
is are was were be been being am do does did doing done have has had having will would shall should can could
may might must ought
i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
this that these those there here what which who whom whose when where why how whether if then else
not no never none n't also too very more most less least much many some any each every all both either
neither other another such same own only just even still again ever already one ones s
called known named name use used using make made get got take taken give given
""".split())

WH_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})

NEGATIONS = frozenset({"not", "no", "never", "n't", "cannot", "none", "nor", "without", "neither"})

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
          "sept", "oct", "nov", "dec")

NUMBER_WORDS = frozenset("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
thousand million billion trillion dozen dozens hundreds thousands millions billions half quarter third
first second fourth fifth sixth seventh eighth ninth tenth""".split())

_TOKEN_RE = re.compile(
    r"\$?\d+(?:[.,:]\d+)*(?:st|nd|rd|th|s)?%?"      # numbers, ordinals, decades, money, percents
    r"|[^\W\d_]\w*(?:[-'’]\w+)*"                    # words, hyphenated words, O'Brien
    r"|[^\w\s]",
    re.UNICODE,
)

# A sentence ends at . ! ? (optionally followed by quotes/brackets) before whitespace and an upper-case
# letter, digit or quote; common abbreviations do not end sentences.
_SENT_END_RE = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"“'(\[]?[A-Z0-9])")
_ABBREV = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "mt", "jr", "sr", "vs", "etc", "inc", "ltd", "co",
                     "e.g", "i.e", "u.s", "u.k", "no", "fig", "approx", "gen", "col", "lt", "sgt", "rev", "ca"})


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


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (whitespace-trimmed, never empty)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END_RE.finditer(text):
        before = text[start:m.start()].rsplit(None, 1)
        last = before[-1].lower().rstrip(".") if before else ""
        if last in _ABBREV or (len(last) == 1 and last.isalpha()):
            continue
        spans.append((start, m.start() + 1))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg.rstrip())
        if trail > lead:
            out.append((a + lead, a + trail))
    return out


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match "invaded"/"invasion" no, but "invaded"/"invading" yes."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or any(c.isdigit() for c in w):
        return w
    for suf, rep in (("ational", "ate"), ("ization", "ize"), ("iveness", "ive"), ("fulness", "ful"),
                     ("ies", "y"), ("ied", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""),
                     ("es", ""), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: len(w) - len(suf)] + rep
            break
    if len(w) > 4 and w[-1] == "e":
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]
    return w


def content_stems(tokens: Iterable[Token]) -> list[str]:
    """Stems of the content words (no stopwords, no punctuation)."""
    return [stem(t.text) for t in tokens if t.is_word and t.lower not in STOPWORDS]


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


# ----- SQuAD answer normalisation and the acceptance metric -------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation and articles, collapse whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def answer_matches(answer: str, golds: Sequence[str], max_extra_words: int = 5) -> bool:
    """True when ``answer`` equals a gold answer after normalisation, or contains one as a
    contiguous word sequence with at most ``max_extra_words`` extra words."""
    a = normalize_answer(answer).split()
    if not a:
        return False
    for g in golds:
        gw = normalize_answer(g).split()
        if not gw:
            continue
        if a == gw:
            return True
        if len(a) - len(gw) <= max_extra_words:
            for i in range(len(a) - len(gw) + 1):
                if a[i:i + len(gw)] == gw:
                    return True
    return False
