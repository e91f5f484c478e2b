"""What kind of answer a question asks for, and which of its words must appear near the answer.

The offline generator has no QA model, so it leans on the question's form: "how many" wants a
number, "when"/"what year" a date, "who" a person or group, "where" a place, "which X"/"what X"
something of kind X. The verifier reuses the same analysis for its key-term checks: SQuAD 2.0's
unanswerable questions are near-copies of answerable ones with one entity, number or negation changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..text import NEGATIONS, STOPWORDS, WH_WORDS, Token, stem, tokenize


class AnswerType(str, Enum):
    PERSON = "person"
    DATE = "date"
    NUMBER = "number"
    LOCATION = "location"
    ENTITY = "entity"
    """A named thing (capitalised span or noun phrase), e.g. "which dynasty", "what language"."""
    DESCRIPTION = "description"
    """A short phrase or clause: "what is X", "why", "how" (manner)."""


_NUMBER_Q = re.compile(
    r"\bhow (many|much|long|old|far|large|big|high|tall|wide|deep|heavy|fast|often)\b"
    r"|\bwhat (percentage|percent|proportion|fraction|number|amount|size|population|"
    r"distance|length|height|speed|temperature|rate|share|ratio|total)\b"
    r"|\b(how|what) (many|much)\b|\bwhat is the (number|amount|population|total)\b"
)
_DATE_Q = re.compile(
    r"\bwhen\b|\b(what|which|in what|what) (year|years|decade|century|centuries|date|day|"
    r"month|time period|period|era|age|season|time)\b|\bhow long ago\b|\bsince when\b"
)
_LOC_Q = re.compile(
    r"\bwhere\b|\b(what|which) (country|countries|city|cities|town|region|area|place|"
    r"continent|state|county|counties|location|island|province|river|mountain|port|"
    r"kingdom|territory|nation|district|neighborhood|valley|coast|sea|ocean|peninsula)\b"
)
_PERSON_Q = re.compile(
    r"\b(who|whom|whose)\b|\b(what|which) (person|people|man|woman|king|queen|leader|"
    r"ruler|emperor|duke|president|scientist|author|writer|artist|group|team|company|"
    r"organization|organisation|family|dynasty|tribe|player|founder|pope|general)\b"
)
_WHAT_X = re.compile(r"\b(what|which) (?:kind of |type of |sort of |form of |part of )?([a-z][a-z-]+)")
_DESC_Q = re.compile(
    r"\bwhy\b|\bhow (did|does|do|is|are|was|were|can|could|would|will)\b|\bwhat (is|was|are|were|does|did|do)\b"
)


@dataclass(frozen=True)
class QuestionAnalysis:
    """The parts of a question the generator and the verifier care about."""

    text: str
    answer_type: AnswerType
    focus: str | None
    """The noun after "what"/"which" ("what *language*"), stemmed, when there is one."""
    terms: tuple[str, ...]
    """Stems of the question's content words, in order, without duplicates."""
    key_terms: tuple[str, ...]
    """Stems of capitalised words and numbers of the question (not its first word): names and
    figures that must appear in the evidence for the question to be answerable from it."""
    negated: bool
    tokens: tuple[Token, ...]
    wh_first: bool = False
    """The question starts with its wh-word ("Who founded X?"), so the answer tends to precede the
    copied words in the evidence; otherwise ("X was founded in what year?") it tends to follow them."""


def analyze_question(question: str) -> QuestionAnalysis:
    q = " ".join(question.split())
    low = q.lower()
    toks = tokenize(q)
    focus: str | None = None
    m = _WHAT_X.search(low)
    if m and m.group(2) not in STOPWORDS:
        focus = stem(m.group(2))
    if _NUMBER_Q.search(low):
        atype = AnswerType.NUMBER
    elif _DATE_Q.search(low):
        atype = AnswerType.DATE
    elif _PERSON_Q.search(low):
        atype = AnswerType.PERSON
    elif _LOC_Q.search(low):
        atype = AnswerType.LOCATION
    elif focus is not None:
        atype = AnswerType.ENTITY
    elif _DESC_Q.search(low):
        atype = AnswerType.DESCRIPTION
    else:
        atype = AnswerType.ENTITY
    terms: list[str] = []
    keys: list[str] = []
    first_word = True
    for t in toks:
        if not t.is_word:
            continue
        lw = t.lower
        if lw in STOPWORDS or lw in {"year", "century", "decade"}:
            first_word = False
            continue
        s = stem(t.text)
        if s not in terms:
            terms.append(s)
        if (any(c.isdigit() for c in t.text) or (t.is_capitalised and not first_word)) and s not in keys:
            keys.append(s)
        first_word = False
    negated = any(t.lower in NEGATIONS or t.lower.endswith("n't") for t in toks)
    return QuestionAnalysis(
        text=q,
        answer_type=atype,
        focus=focus,
        terms=tuple(terms),
        key_terms=tuple(keys),
        negated=negated,
        tokens=tuple(toks),
        wh_first=bool(toks) and toks[0].lower in WH_WORDS | {"in", "on", "at", "from", "by", "to", "for"},
    )
