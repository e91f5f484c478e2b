"""Canonical routing text: what every router featurises, so that surface form does not pick the route.

Users paste the same question in many forms: with lettered answer options, over several lines, with
a leading "Question:" or a trailing "Thanks!", in lower case, without the question mark. None of that
changes what knowledge the question needs, so before any routing feature is computed the query goes
through :func:`canonicalize`, which

1. normalises the characters: Unicode NFKC, curly quotes and apostrophes to straight ones, dashes to
   ``-``, and every run of whitespace (line breaks and tabs included) to one space;
2. separates **lettered answer options** from the stem and keeps the stem: options one per line
   (``(A) ...``, ``A. ...``, ``A) ...``, ``a: ...``; an ``Options:``/``Choices:`` header line and a
   final ``Answer:`` line go too) or inline (``... (A) x (B) y``, ``... A. x B. y``). Options count
   only as a run of consecutive letters from A (at least two, or ``A`` alone on its own line); a
   question that mentions "plan B" keeps it;
3. strips **leading instructions** ("Answer briefly:", "Question:", "Q:", "Please answer the
   following question:", "Quick question:", "Hi,") and **trailing pleasantries** ("Thanks!",
   "Thank you in advance.", "Cheers", "please"), repeatedly;
4. (version 2) drops **framing sentences** before and after the question: sentences about the asker,
   not the question ("I was going through my notes and there is something I cannot figure out.",
   "I have already looked in a few places but found nothing."): first person singular, at least eight
   words, not ending in ``?`` or ``:``, no digits, quotes or ``|``; the last sentence left always
   stays. None of the 2,425 shared routing questions has one, so only wrapped questions change;
5. **case-folds** and drops the final ``?``, ``.`` or ``!`` (a colon stays: "X is:" is a stem whose
   answer completes it, which is a meaningful cue), so "all lower case" and "no question mark" are
   the same text as the original;
6. (version 2) undoes **transposed letters**: a word of four letters or more that is not a known word
   (``mmroute/data/canonical_words.txt``, the 21,719 whole words of MiniLM's WordPiece vocabulary,
   roughly by frequency, also taken with a regular suffix: "coldest", "orgasms") becomes the most
   frequent known word that one swap of neighbouring letters gives ("plnaet" -> "planet"). Only swaps:
   allowing any single edit also "corrected" rare names and terms (533 of the 2,425 shared questions
   changed, "tarim" -> "trim", "creatine" -> "creating"); with swaps only 53 change.

If nothing would be left (the whole text was an instruction, say) the whitespace-normalised text is
used instead. The options are returned separately (:attr:`CanonicalQuery.options`); the shipped router
routes on the stem alone: a "has options" feature did not help under the invariance tests
(``evals/results/router_generalisation.json``), since a question is routed by what it asks, not by
whether choices came with it.

``CANONICAL_VERSION`` is stored in router artifacts and a router is always fed the canonicalisation it
was trained with: version 1 (steps 1-3 and 5) for artifacts of issue 15's first round, the raw text for
routers trained before it existed (no version in their artifact).

>>> canonical_text("Question:  Psychological egoism is:\\n(A) a theory\\n(B) a fallacy\\nThanks!")
'psychological egoism is:'
>>> canonicalize("Who wrote Hamlet (A) Marlowe (B) Shakespeare").options
('Marlowe', 'Shakespeare')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

CANONICAL_VERSION = 2

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_WS = re.compile(r"\s+")

# an option marker: "(A)", "[A]", "A)", "A.", "A:" followed by whitespace (letters A-H, either case)
_LINE_OPTION = re.compile(r"^\s*(?:\(([A-Ha-h])\)|\[([A-Ha-h])\]|([A-Ha-h])[.):])\s*(.*)$")
_OPTION_HEADER = re.compile(r"^\s*(?:(?:answer\s+)?(?:options|choices)|(?:possible\s+)?answers)\s*:?\s*$", re.I)
_ANSWER_LINE = re.compile(r"^\s*(?:answer|your answer|correct answer)\s*:?\s*$", re.I)
_INLINE_MARK = re.compile(r"(?:(?<=\s)|^)(?:\(([A-Ha-h])\)|\[([A-Ha-h])\]|([A-Ha-h])[.):])(?=\s)")

_LEAD = re.compile(
    r"^(?:"
    r"(?:hi|hello|hey)(?:\s+there)?\s*[,!.:-]+"
    r"|(?:please\s+)?(?:answer|respond|reply)(?:\s+(?:briefly|concisely|quickly|shortly|this|to|"
    r"the|following|question|in\s+one\s+(?:word|sentence)|with\s+(?:a|one)\s+(?:word|letter)))*\s*[:-]"
    r"|(?:quick\s+|short\s+|simple\s+|trivia\s+|exam\s+|test\s+|practice\s+)?question(?:\s*\d+)?\s*[:.-]"
    r"|q\s*\d*\s*[:.]"
    r"|(?:query|prompt|input)\s*:"
    r")\s*",
    re.I,
)
_TRAIL = re.compile(
    r"(?:^|(?<=[\s,.!?;:)]))(?:"
    r"(?:many\s+)?thanks?(?:\s+(?:you|u))?(?:\s+(?:so|very)\s+much)?(?:\s+in\s+advance)?(?:\s+for\s+(?:your|the)\s+help)?"
    r"|thx|tia|cheers|please|pls|plz|much\s+appreciated|(?:any\s+)?help\s+(?:is\s+)?appreciated"
    r")[\s!.:)]*$",
    re.I,
)
_FINAL = re.compile(r"[\s?.!]+$")


@dataclass(frozen=True)
class CanonicalQuery:
    """The canonical routing text of a query and what was taken out of it."""

    text: str
    """What routers featurise: the case-folded stem (see module doc)."""
    stem: str
    """The stem with its case and punctuation, whitespace normalised."""
    options: tuple[str, ...] = ()
    """Lettered answer options separated from the stem, in order."""
    removed: tuple[str, ...] = ()
    """Leading instructions and trailing pleasantries that were stripped."""


def _normalise_chars(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").translate(_TRANSLATE)


def _letter(m: re.Match[str]) -> str:
    return next(g for g in m.groups()[:3] if g).upper()


def _split_line_options(lines: list[str]) -> tuple[list[str], list[str]]:
    """Options given one per line after the stem: the longest tail of lines that is a run A, B, C..."""
    opts: list[tuple[str, str]] = []
    stem_end = len(lines)
    i = len(lines) - 1
    while i >= 1 and _ANSWER_LINE.match(lines[i]):  # "Answer:" at the end of an exam prompt
        stem_end = i
        i -= 1
    j = i
    while j >= 1:
        m = _LINE_OPTION.match(lines[j])
        if not m:
            break
        opts.append((_letter(m), m.group(4).strip()))
        j -= 1
    opts.reverse()
    letters = "".join(letter for letter, _ in opts)
    # a run that starts at A and goes on without gaps; "A" alone on one line counts too
    if opts and "ABCDEFGH".startswith(letters) and j >= 0:
        k = j
        if k >= 1 and _OPTION_HEADER.match(lines[k]):
            k -= 1
        stem = lines[: k + 1]
        if any(s.strip() for s in stem):
            return stem, [o for _, o in opts]
    return lines[:stem_end], []


def _split_inline_options(text: str) -> tuple[str, list[str]]:
    """Options inline after the stem: markers A, B, ... in order, at least two, the first after some text."""
    marks = list(_INLINE_MARK.finditer(text))
    for start in range(len(marks)):
        if _letter(marks[start]) != "A" or not text[: marks[start].start()].strip():
            continue
        run = [marks[start]]
        for m in marks[start + 1 :]:
            if _letter(m) == chr(ord(_letter(run[-1])) + 1):
                run.append(m)
        if len(run) < 2:
            continue
        opts = [text[a.end() : b.start()].strip() for a, b in zip(run, run[1:])] + [text[run[-1].end() :].strip()]
        if "?" in opts[-1]:  # "Is (a) the sun or (b) the moon bigger?": the question goes on, no options
            continue
        stem = text[: run[0].start()].strip()
        stem = _OPTION_TAIL.sub("", stem)
        if stem:
            return stem, opts
    return text, []


_OPTION_TAIL = re.compile(r"\s*(?:(?:answer\s+)?(?:options|choices)|answers)\s*:?\s*$", re.I)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|(?<=:)\s+(?=[A-Z])")
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|my|me|myself)\b", re.I)
_FRAME_MIN_WORDS = 8


def _is_framing(sentence: str) -> bool:
    """A sentence about the asker, not the question: first person singular, at least eight words, not
    itself a question or a stem (no final ``?`` or ``:``), no digits, quotes or ``|`` (content markers)."""
    s = sentence.strip()
    return (
        not s.endswith(("?", ":"))
        and len(s.split()) >= _FRAME_MIN_WORDS
        and bool(_FIRST_PERSON.search(s))
        and not any(c.isdigit() or c in '"|' for c in s)
    )


def _strip_framing(stem: str) -> tuple[str, list[str]]:
    """Drop framing sentences (:func:`_is_framing`) before and after the question; never the last sentence left."""
    sents = _SENTENCE_END.split(stem)
    removed: list[str] = []
    while len(sents) > 1 and _is_framing(sents[0]):
        removed.append(sents.pop(0))
    while len(sents) > 1 and _is_framing(sents[-1]):
        removed.append(sents.pop())
    return " ".join(sents), removed


_WORDS: dict[str, int] | None = None
_ALPHA_WORD = re.compile(r"[a-z]{4,}")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _word_ranks() -> dict[str, int]:
    """The spelling word list (``mmroute/data/canonical_words.txt``: the whole-word entries of MiniLM's
    WordPiece vocabulary, roughly by frequency) -> rank."""
    global _WORDS
    if _WORDS is None:
        path = Path(__file__).resolve().parents[1] / "data" / "canonical_words.txt"
        _WORDS = {w: i for i, w in enumerate(path.read_text(encoding="utf-8").split())}
    return _WORDS


_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ies", "y"),
    ("ied", "y"),
    ("ing", ""),
    ("ing", "e"),
    ("est", ""),
    ("er", ""),
    ("ed", ""),
    ("ed", "e"),
    ("es", ""),
    ("s", ""),
    ("ly", ""),
    ("d", ""),
)


def _known(word: str, ranks: dict[str, int]) -> int | None:
    """The rank of ``word``, or of its stem under a regular English suffix (``coldest``, ``orgasms``); else None."""
    r = ranks.get(word)
    if r is not None:
        return r
    for suf, rep in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            r = ranks.get(word[: -len(suf)] + rep)
            if r is not None:
                return r
    return None


def _correct_word(word: str, ranks: dict[str, int]) -> str:
    """An unknown word (:func:`_known`) becomes the most frequent known word one edit away (a swap of
    neighbours first, then a deletion, a substitution, an insertion); with none, it stays."""
    if _known(word, ranks) is not None:
        return word
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1 and b[0] != b[1]]
    known = [(k, c) for c in swaps if (k := _known(c, ranks)) is not None]
    return min(known)[1] if known else word


def _correct_spelling(folded: str) -> str:
    """Unknown lower-case words of four letters or more corrected by one edit (see :func:`_correct_word`)."""
    ranks = _word_ranks()
    return _ALPHA_WORD.sub(lambda m: _correct_word(m.group(0), ranks), folded)


def canonicalize(text: str, version: int = CANONICAL_VERSION) -> CanonicalQuery:
    """The canonical form of ``text`` (see module doc) under canonicalisation ``version`` (1 or 2)."""
    return _canonicalize(text, frame=version >= 2, spell=version >= 2)


def _canonicalize(text: str, frame: bool, spell: bool) -> CanonicalQuery:
    raw = _normalise_chars(text)
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    while len(lines) > 1 and _TRAIL.fullmatch(lines[-1].strip()):  # "Thanks!" on a line of its own
        lines.pop()
    stem_lines, options = _split_line_options(lines) if len(lines) > 1 else (lines, [])
    stem = _WS.sub(" ", " ".join(stem_lines)).strip()
    if not options:
        stem, options = _split_inline_options(stem)
    removed: list[str] = []
    for _ in range(4):  # "Hi, question: ..." and "... thanks, cheers!" nest
        m = _LEAD.match(stem)
        if m and stem[m.end() :].strip():
            removed.append(m.group(0).strip())
            stem = stem[m.end() :].strip()
            continue
        m = _TRAIL.search(stem)
        if m and stem[: m.start()].strip(" ,;-"):
            removed.append(m.group(0).strip())
            stem = stem[: m.start()].rstrip(" ,;-")
            continue
        break
    if frame:
        stem, framing = _strip_framing(stem)
        removed.extend(framing)
    folded = _FINAL.sub("", stem).casefold().strip()
    if not folded:
        folded = _WS.sub(" ", raw).strip().casefold()
    if spell:
        folded = _correct_spelling(folded)
    return CanonicalQuery(text=folded, stem=stem, options=tuple(options), removed=tuple(removed))


def canonical_text(text: str, version: int = CANONICAL_VERSION) -> str:
    """:attr:`CanonicalQuery.text` of ``text``: the string every router featurises."""
    return canonicalize(text, version).text


def routing_text(text: str, version: int | None) -> str:
    """The text a router artifact of canonicalisation ``version`` featurises (``None``: the raw text)."""
    if not version:
        return text
    return canonical_text(text, version)
