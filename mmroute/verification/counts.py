"""Does the evidence give another count of what a "how many" question counts?

"How many metropolitan areas does Southern California have?" The Southern California article says "seven
metropolitan areas, or MSAs" in one paragraph and "Southern California consists of ... eight Metropolitan Statistical
Areas" in another. The reader gives one of them, and the policy, which weighs the draft's own passage, finds it
well supported: a new user was shown 'eight' with nothing to say that the evidence also says seven.

:func:`other_count` finds the evidence's other counts, from statements about the texts alone:

- the question asks "how many" of a phrase: the words after "how many" up to the first function word or word that
  can only be a verb or an adverb, ending in a common noun ("metropolitan areas"; "counties" of "How many counties
  initially made up ...");
- the answer is a count (digits or number words: "eight", "10,000", "3.5 million"; not an ordinal, not a year);
- a *count* in the evidence is a number (not a year) followed by words that hold every word of the phrase and end
  with one of them, every word between being a word of the phrase or capitalised (part of a name: "eight
  Metropolitan Statistical Areas"). "Two extended metropolitan areas" is not a count of metropolitan areas
  ("extended" narrows it), nor is "one Combined Statistical Area" (no "metropolitan");
- the evidence counts the phrase with the answer's number and, somewhere, with another number.

The finding is shown beside the verdict and does not change it. Withholding on it was tried and measured on the 950
shared SQuAD 2.0 dev questions (their offline end-to-end drafts, ``bench_answers --records``): the finding holds for
6 drafts, 4 of them shown, and withholding them would have stopped 1 wrong answer and 3 right ones ("12 million"
inhabitants of the Los Angeles area, beside the city's "four million inhabitants"). Two counts of the same words are often counts of different
things, so the finding says only what the texts give (:meth:`OtherCount.reason`), not that they disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..text import NUMBER_WORDS, STOPWORDS, Token, stem, tokenize
from ..types import Hit, Verification

_HOW_MANY = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
MAX_PHRASE = 5
"""Words of the question's phrase kept at most ("Major Soccer League teams")."""
MAX_GAP = 4
"""Words a count's number may stand before the phrase's last word ("eight Metropolitan Statistical Areas")."""
_UNITS = {
    **{
        w: i
        for i, w in enumerate(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen".split()
        )
    },
    **{w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)},
    "dozen": 12,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_DIGITS = re.compile(r"^\d+(?:,\d{3})*(?:\.\d+)?$")
_YEAR = re.compile(r"^(?:1\d{3}|20\d{2}|2100)$")
_ONLY_NOT_NOUNS = frozenset({"VERB", "ADV", "AUX"})


@dataclass(frozen=True)
class Count:
    """A number the evidence (or the draft) gives, and the words it gives it with."""

    value: float
    said: str
    source: Hit | None = None


@dataclass(frozen=True)
class OtherCount:
    """The answer's count as the evidence gives it, and another count of the same words in the evidence."""

    answer: Count
    other: Count

    def reason(self) -> str:
        def where(c: Count) -> str:
            item = c.source.item if c.source is not None else None
            return f" ({item.title or item.id})" if item is not None else ""

        return (
            f"the evidence also gives another count: {self.other.said!r}{where(self.other)}, beside "
            f"{self.answer.said!r}{where(self.answer)}"
        )


def _word_value(word: str) -> float | None:
    """The value of one number token ("eight", "10,000", "twenty-five"), None for anything else (ordinals and
    years too: four digits from 1000 to 2100 without a comma)."""
    w = word.lower()
    if _YEAR.match(w):
        return None
    if _DIGITS.match(w):
        return float(w.replace(",", ""))
    parts = w.split("-")
    if all(p in _UNITS for p in parts) and len(parts) <= 2:
        return float(sum(_UNITS[p] for p in parts))
    return None


def _number_at(tokens: Sequence[Token], i: int) -> tuple[float, int] | None:
    """(value, index past it) of the number phrase starting at ``tokens[i]`` ("3.5 million"), else None."""
    value = _word_value(tokens[i].text)
    if value is None:
        return None
    j = i + 1
    while j < len(tokens) and tokens[j].lower in _SCALES:
        value *= _SCALES[tokens[j].lower]
        j += 1
    return value, j


def _can_name_a_thing(word: str) -> bool:
    """A word that may be part of a noun phrase: not a function word, and not one only ever a verb or an adverb."""
    from lemminflect import getAllLemmas

    if word.lower() in STOPWORDS or word.lower() in NUMBER_WORDS:
        return False
    readings = set(getAllLemmas(word))
    return word[:1].isupper() or not readings or not readings <= _ONLY_NOT_NOUNS


def counted_phrase(question: str) -> tuple[str, ...]:
    """The words a "how many" question counts ("metropolitan areas"); () when it asks no "how many"."""
    m = _HOW_MANY.search(question)
    if m is None:
        return ()
    words: list[str] = []
    for t in tokenize(question[m.end() :]):
        if not t.is_word or not _can_name_a_thing(t.text) or len(words) >= MAX_PHRASE:
            break
        words.append(t.text)
    while words and words[-1][:1].isupper():  # it ends in a common noun: "teams" of "Major Soccer League teams"
        words.pop()
    return tuple(words)


def draft_count(answer: str) -> float | None:
    """The count a draft gives: its first number phrase ("three times" -> 3), None when it has none."""
    tokens = [t for t in tokenize(answer) if t.is_word]
    for i in range(len(tokens)):
        found = _number_at(tokens, i)
        if found is not None:
            return found[0]
    return None


def counts_in(text: str, phrase: Sequence[str], source: Hit | None = None) -> list[Count]:
    """Every count of ``phrase`` in ``text`` (see module doc)."""
    wanted = {stem(w) for w in phrase}
    tokens = tokenize(text)
    out: list[Count] = []
    for i in range(len(tokens)):
        found = _number_at(tokens, i)
        if found is None:
            continue
        value, j = found
        seen: set[str] = set()
        end = None
        for k in range(j, min(j + MAX_GAP, len(tokens))):
            t = tokens[k]
            s = stem(t.text) if t.is_word else ""
            if s not in wanted and not (t.is_word and t.is_capitalised):
                break
            seen.add(s)
            if s in wanted and wanted <= seen:
                end = k
        if end is not None:
            out.append(Count(value, text[tokens[i].start : tokens[end].end], source))
    return out


def other_count(question: str, answer: str, hits: Sequence[Hit]) -> OtherCount | None:
    """The answer's count in the evidence and another count of what the question counts (module doc); else None."""
    phrase = counted_phrase(question)
    value = draft_count(answer) if phrase else None
    if value is None:
        return None
    counts = [c for h in hits for c in counts_in(h.item.readable, phrase, h)]
    mine = next((c for c in counts if c.value == value), None)
    other = next((c for c in counts if c.value != value), None)
    if mine is None or other is None:
        return None
    return OtherCount(mine, other)


def with_other_counts(question: str, answer: str, hits: Sequence[Hit], ver: Verification) -> Verification:
    """``ver`` with :func:`other_count`'s finding among its reasons when there is one, its verdict as it is: right
    after the verdict of an answer shown, last for one withheld (it is not why). ``answer``: a short answer, or a
    sentence answer's claim."""
    found = other_count(question, answer, hits)
    if found is None:
        return ver
    if ver.abstain:
        return replace(ver, reasons=(*ver.reasons, found.reason()))
    return replace(ver, reasons=(ver.reasons[0], found.reason(), *ver.reasons[1:]))
