"""Synthetic unanswerable questions, to teach a reader when its paragraph does not hold the answer.

A reader's no-answer score is only as good as the unanswerable questions it trained on. The shared
SQuAD 2.0 training articles hold few (348 of 4,719 questions, 7%) while half of the dev questions are
unanswerable, and every retrieved passage but one is a passage without the answer; a reader trained on
them learns to always answer. SQuAD 2.0's writers made an unanswerable question by editing an answerable
one so that it still looks answerable from the paragraph (Rajpurkar et al., 2018: antonyms 20%, entity
swaps 21%, and others). :func:`synthetic_unanswerables` makes more the same way, by rules, from the
answerable questions of the training data, each over its own paragraph:

- ``entity``: a name in the question that the paragraph mentions becomes a name from another paragraph
  of the same article that this paragraph never mentions ("When were the Normans in Normandy?" ->
  "When were the Normans in Sicily?");
- ``number``: a number in the question that the paragraph has becomes one it does not have (a year moves
  by a few years to decades, other numbers change by a factor);
- ``antonym``: a comparative or ordering word becomes its opposite ("first" -> "last", "before" ->
  "after") when the paragraph never uses the opposite;
- ``negation``: the question's auxiliary verb is negated ("When did the Normans conquer England?"
  -> "When didn't the Normans conquer England?") when the paragraph states nothing negated;
- ``exclusion``: a word becomes its mutually exclusive alternative ("legal" -> "illegal", "male" ->
  "female", "always" -> "never") when the paragraph never uses the alternative;
- ``condition``: an impossible condition is added: a year or a place the paragraph never mentions
  ("Who ruled Normandy?" -> "Who ruled Normandy in Sicily?");
- ``paragraph``: the unchanged question over another paragraph of its article that contains none of
  its gold answers (what a reader meets in retrieved evidence).

Every edited question keeps its original gold answers as ``plausible_answers``: spans of the asked type
in the paragraph, exactly what SQuAD 2.0 calls a plausible answer and what a verifier must learn to stop.

The inserted word never occurs in the paragraph, which keeps most labels right; some stay wrong (an
edited question the paragraph still answers), the noise every rule-made negative carries. Nothing here
reads evaluation data: use it on training files only.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..reading.squad import QAExample
from ..text import ANTONYMS, EXCLUSIVES, NEGATIONS

KINDS: tuple[str, ...] = ("entity", "number", "antonym", "negation", "exclusion", "condition", "paragraph")
"""The rules (see the module doc)."""

_ANTONYM_RE = re.compile(r"\b(" + "|".join(sorted(ANTONYMS, key=len, reverse=True)) + r")\b", re.IGNORECASE)

_EXCLUSIVE_RE = re.compile(r"\b(" + "|".join(sorted(EXCLUSIVES, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_NEGATED_AUX = {
    "is": "isn't",
    "was": "wasn't",
    "were": "weren't",
    "are": "aren't",
    "did": "didn't",
    "does": "doesn't",
    "do": "don't",
    "can": "can't",
    "could": "couldn't",
    "has": "hasn't",
    "have": "haven't",
    "had": "hadn't",
    "will": "won't",
    "would": "wouldn't",
    "should": "shouldn't",
}
# the first auxiliary among the question's first words ("When did ...", "In what year was ...")
_AUX_RE = re.compile(r"^\W*(?:\w+\s+){0,3}?(" + "|".join(_NEGATED_AUX) + r")\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(1[5-9]\d\d|20[0-2]\d)\b")

# a run of capitalised words, allowing "of", "the", "de" between them ("Duchy of Normandy")
_NAME_RE = re.compile(r"\b[A-Z][\w'\-.]*[\w](?:\s+(?:(?:of|the|de|von|van|del|la|le|and)\s+)?[A-Z][\w'\-]*\w)*")
_NUMBER_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,])|(?<![\w.,])\d+(?:\.\d+)?(?![\w,])")
_WORD_RE = re.compile(r"\w+")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)\W*$")
# question words and other capitalised function words that are not names
_NOT_NAMES = frozenset(
    "what who whom whose when where which why how in the a an during after before on at for by of to from is "
    "was were did does do are has had have can could would will should according besides other along apart "
    "since until while if as with about under over between among name list give".split()
)


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD_RE.findall(text)}


def _names(text: str) -> list[str]:
    """Capitalised runs that are not just a capitalised function word (a question's first word)."""
    out = []
    for m in _NAME_RE.finditer(text):
        words = m.group(0).split()
        while words and words[0].casefold() in _NOT_NAMES:
            words = words[1:]
        if not words or all(w.casefold() in _NOT_NAMES for w in words):
            continue
        # one capitalised word opening a sentence ("Murders were ...") is usually not a name
        if len(words) == 1 and words[0] == m.group(0) and _SENTENCE_START.search(text[: m.start()]):
            continue
        out.append(" ".join(words))
    return out


def _absent(insert: str, context_words: set[str]) -> bool:
    """Whether none of ``insert``'s words (other than function words) occurs in the paragraph."""
    words = _words(insert) - _NOT_NAMES
    return bool(words) and not (words & context_words)


def _entity_swap(ex: QAExample, names_by_article: dict[str, list[str]], rng: random.Random) -> str | None:
    ctx_words = _words(ex.context)
    mentioned = [n for n in _names(ex.question) if n.casefold() in ex.context.casefold()]
    if not mentioned:
        return None
    old = rng.choice(mentioned)
    names = names_by_article[ex.title]
    pool = [n for n in rng.sample(names, min(len(names), 40)) if n != old and _absent(n, ctx_words)]
    if not pool:
        return None
    same_size = [n for n in pool if len(n.split()) == len(old.split())]
    new = rng.choice(same_size or pool)
    return ex.question.replace(old, new, 1)


def _other_number(old: str, rng: random.Random) -> str:
    plain = old.replace(",", "")
    if "." in plain:
        return f"{float(plain) * rng.choice((2, 3, 0.5)):g}"
    value = int(plain)
    if 1000 <= value <= 2100:  # a year: nearby, so the question stays plausible
        return str(value + rng.choice((-1, 1)) * rng.randint(3, 40))
    new = (
        value * rng.choice((2, 3, 10))
        if value < 10
        else value + rng.choice((-1, 1)) * max(1, value // rng.randint(3, 5))
    )
    return f"{new:,}" if "," in old else str(new)


def _number_swap(ex: QAExample, rng: random.Random) -> str | None:
    present = [m for m in _NUMBER_RE.finditer(ex.question) if m.group(0) in ex.context]
    if not present:
        return None
    m = rng.choice(present)
    for _ in range(5):
        new = _other_number(m.group(0), rng)
        if new not in ex.context and new.replace(",", "") not in ex.context:
            return ex.question[: m.start()] + new + ex.question[m.end() :]
    return None


def _same_case(new: str, old: str) -> str:
    return new.capitalize() if old[0].isupper() else new


def _word_swap(ex: QAExample, table: dict[str, str], pattern: re.Pattern[str], rng: random.Random) -> str | None:
    """A word of ``table`` in the question becomes its counterpart, when the paragraph never uses that."""
    ctx_words = _words(ex.context)
    hits = [m for m in pattern.finditer(ex.question) if table[m.group(0).casefold()] not in ctx_words]
    if not hits:
        return None
    m = rng.choice(hits)
    new = _same_case(table[m.group(0).casefold()], m.group(0))
    return ex.question[: m.start()] + new + ex.question[m.end() :]


def _negate(ex: QAExample) -> str | None:
    """The question's first auxiliary, negated ("When did" -> "When didn't"), over a paragraph without
    any negation (where the negated question might still be answered)."""
    if _words(ex.context) & NEGATIONS or "n't" in ex.context:
        return None
    m = _AUX_RE.match(ex.question)
    if not m:
        return None
    aux = m.group(1)
    return ex.question[: m.start(1)] + _same_case(_NEGATED_AUX[aux.casefold()], aux) + ex.question[m.end(1) :]


def _impossible_condition(ex: QAExample, names_by_article: dict[str, list[str]], rng: random.Random) -> str | None:
    """A year or a place the paragraph never mentions, as a condition at the end of the question (a year
    before the paragraph's earliest one, or before 1900 when it has none)."""
    q = ex.question.rstrip().rstrip("?").rstrip()
    if not q or len(q.split()) < 3:
        return None
    ctx_words = _words(ex.context)
    names = names_by_article[ex.title]
    places = [
        n
        for n in rng.sample(names, min(len(names), 40))
        if len(n) >= 5 and _absent(n, ctx_words) and n.casefold() not in q.casefold()
    ]
    years = [int(y) for y in _YEAR_RE.findall(ex.context)]
    if places and (not years or rng.random() < 0.5):
        condition = f"in {rng.choice(places)}"
    else:
        anchor = min(years) if years else 1900
        year = anchor - rng.randint(5, 60)
        if str(year) in ex.context:
            return None
        condition = f"before {year}"
    return f"{q} {condition}?"


def synthetic_unanswerables(
    examples: Sequence[QAExample], fraction: float = 0.5, seed: int = 0, kinds: Sequence[str] = KINDS
) -> list[QAExample]:
    """Unanswerable questions made from about ``fraction`` of the answerable ``examples`` (see module doc).

    Each chosen question yields at most one, by a rule drawn at random among ``kinds``; when the drawn rule
    does not apply, the question edits are tried (in random order) before ``paragraph``, so that edited
    questions, the kind SQuAD 2.0's writers made, are not crowded out. Ids end in ``-unanswerable-<kind>``.
    Deterministic for a seed.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; use some of {list(KINDS)}")
    rng = random.Random(f"unanswerable|{seed}")
    names_by_article: dict[str, list[str]] = defaultdict(list)
    paragraphs_by_article: dict[str, list[str]] = defaultdict(list)
    for ex in examples:
        if ex.context not in paragraphs_by_article[ex.title]:
            paragraphs_by_article[ex.title].append(ex.context)
    for title, paragraphs in paragraphs_by_article.items():
        names_by_article[title] = sorted({n for p in paragraphs for n in _names(p)})

    def other_paragraph(ex: QAExample) -> QAExample | None:
        golds = [a.casefold() for a in ex.answers]
        pool = [
            p for p in paragraphs_by_article[ex.title] if p != ex.context and not any(g in p.casefold() for g in golds)
        ]
        return replace(ex, context=rng.choice(pool), answers=(), answer_starts=()) if pool else None

    edits: dict[str, Callable[[QAExample], str | None]] = {
        "entity": lambda ex: _entity_swap(ex, names_by_article, rng),
        "number": lambda ex: _number_swap(ex, rng),
        "antonym": lambda ex: _word_swap(ex, ANTONYMS, _ANTONYM_RE, rng),
        "negation": _negate,
        "exclusion": lambda ex: _word_swap(ex, EXCLUSIVES, _EXCLUSIVE_RE, rng),
        "condition": lambda ex: _impossible_condition(ex, names_by_article, rng),
    }
    originals = {(ex.question, ex.context) for ex in examples}
    out: list[QAExample] = []
    for ex in examples:
        if not ex.answerable or rng.random() >= fraction:
            continue
        # "condition" applies to almost any question: only when drawn, or it would crowd out the rest
        edits_first = [k for k in kinds if k not in ("paragraph", "condition")]
        rng.shuffle(edits_first)
        drawn = rng.choice(list(kinds))
        order = [drawn] + [k for k in edits_first if k != drawn] + (["paragraph"] if "paragraph" in kinds else [])
        for kind in dict.fromkeys(order):
            if kind == "paragraph":
                made = other_paragraph(ex)
            else:
                q = edits[kind](ex)
                made = (
                    replace(ex, question=q, answers=(), answer_starts=(), plausible_answers=ex.answers)
                    if q and q != ex.question
                    else None
                )
            if made is not None and (made.question, made.context) not in originals:
                out.append(replace(made, id=f"{ex.id}-unanswerable-{kind}"))
                break
    return out
