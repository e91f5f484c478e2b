"""Sentence splitting by regular expressions (no tagger ships offline)."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (optionally followed by quotes/brackets) before whitespace and what may start a sentence
# (:func:`starts_sentence`); common abbreviations do not end sentences.
_SENT_END_RE = re.compile(r"[.!?][\"'”’)\]]*\s+(?=\S)")
_OPENERS = "\"“'([¿¡"
_SYMBOL_STARTS = "#$£€"
"""Symbols a sentence may start with: "#P is an important complexity class", "$5 million was raised"."""


def starts_sentence(text: str, at: int) -> bool:
    """Whether a sentence may start at ``text[at]``: after opening quotes or brackets, an upper-case letter of any
    script ("Ögedei"), a digit or a symbol of :data:`_SYMBOL_STARTS`. "#P is ..." after a full stop was read as the
    end of the sentence before, and a reason quoted the next sentence's "(not decision problems" as the answer's."""
    rest = text[at : at + 8].lstrip(_OPENERS)
    first = rest[:1]
    return first.isupper() or first.isdigit() or (first != "" and first in _SYMBOL_STARTS)


_ABBREV = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "mt",
        "jr",
        "sr",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "no",
        "fig",
        "approx",
        "gen",
        "col",
        "lt",
        "sgt",
        "rev",
        "ca",
    }
)


_LINE_RE = re.compile(r"[^\n]+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (whitespace-trimmed, never empty). A line break always ends a
    sentence: a photo's captions and a video's subtitles and description are joined by them, each its own text
    ("... coarse wood grain).\na cup of coffee on a saucer" is two)."""
    spans: list[tuple[int, int]] = []
    for line in _LINE_RE.finditer(text):
        start = line.start()
        for m in _SENT_END_RE.finditer(text, line.start(), line.end()):
            before = text[max(start, m.start() - 64) : m.start()].rsplit(None, 1)  # the last word (not quadratic)
            last = before[-1].lower().rstrip(".") if before else ""
            if last in _ABBREV or (len(last) == 1 and last.isalpha()) or not starts_sentence(text, m.end()):
                continue
            spans.append((start, m.start() + 1))
            start = m.end()
        spans.append((start, line.end()))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg.rstrip())
        if trail > lead:
            out.append((a + lead, a + trail))
    return out


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`split_sentences`)."""
    return [text[a:b] for a, b in split_sentences(text)]
