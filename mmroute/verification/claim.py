"""The answer a draft claims, whatever its style: a short span, or a sentence around one.

Chat models answer in sentences ("Based on the context, the answer is Falcon 9."), readers in spans. The
verifier's signals compare an answer with the evidence word by word, so a sentence that repeats the
question and adds a lead-in looks unsupported even when its claim is right. :func:`claimed_answer` finds
the claim first:

1. an answer that occurs in the evidence as it is, is its own claim;
2. a lead-in ("Based on the context,", "The answer is", "According to the passage, it is") and an attribution
   at the end (", as the text says") are dropped; a few words left are the claim;
3. otherwise the extractive reader reads the sentence itself as a passage for the question: its best
   span that also occurs in the evidence is the claim (else its best span; without a reader, the
   sentence less its lead-in and attribution).

The user is shown the model's sentence; the verifier judges the claim (:func:`claim_draft`).

>>> claimed_answer("What rocket is on the pad?", "The rocket shown on the pad is SpaceX's Falcon 9.", hits, reader)
"SpaceX's Falcon 9"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..text import normalize_answer
from ..types import Draft, Hit

SHORT_WORDS = 4
"""An answer of at most this many words is taken as a span."""
_LEAD_IN = re.compile(
    r"^\s*(?:(?:based on|according to|from|given) (?:the |this )?(?:context|evidence|passage|text|information|"
    r"documents?|sources?)[^,:]*[,:]\s*)?(?:(?:the )?(?:final |short )?answer(?: to (?:your|the|this) question)?"
    r"(?: is|:)\s*)?(?:(?:it|this|that)(?: is|'s| was)\s+)?",
    re.IGNORECASE,
)
"""What comes before the claim: "Based on the context,", "According to the passage, it is", "The answer to your
question is"."""
_TAIL = re.compile(
    r",?\s+(?:as (?:the |this )?(?:context|evidence|passage|text|document)s? (?:says|states|shows|mentions)|"
    r"according to (?:the |this )?(?:context|evidence|passage|text|documents?))\s*\.?\s*$",
    re.IGNORECASE,
)
"""What comes after it: ", as the text says", "according to the passage"."""


def _evidence_text(hits: Sequence[Hit]) -> str:
    return " ".join(h.item.readable for h in hits)


def occurs_in(answer: str, evidence: str) -> bool:
    """Whether ``answer`` occurs in ``evidence`` after SQuAD normalisation (case, punctuation, articles)."""
    a = normalize_answer(answer)
    return bool(a) and f" {a} " in f" {normalize_answer(evidence)} "


def claimed_answer(question: str, answer: str, hits: Sequence[Hit], reader: Any = None) -> str:
    """The claim of ``answer`` (see module doc)."""
    text = answer.strip()
    evidence = _evidence_text(hits)
    if occurs_in(text, evidence):
        return text
    body = _TAIL.sub("", _LEAD_IN.sub("", text, count=1)).strip().rstrip(".").strip() or text
    if len(body.split()) <= SHORT_WORDS or occurs_in(body, evidence) or reader is None:
        return text if body.rstrip(".") == text.rstrip(".") else body
    reading = reader.read(question, [body])
    for span in reading.spans:
        if occurs_in(span.text, evidence):
            return span.text
    return reading.best.text if reading.best else body


def claim_draft(question: str, draft: Draft, hits: Sequence[Hit], reader: Any = None) -> Draft:
    """``draft`` with its claim as the text (and the evidence sentence holding the claim as the support,
    when the draft's own support does not hold it); the draft itself when it is its own claim."""
    if not draft.text:
        return draft
    claim = claimed_answer(question, draft.text, hits, reader)
    if claim == draft.text:
        return draft
    from ..generation.answer_sentence import best_support

    support = draft.support if draft.support and occurs_in(claim, draft.support) else best_support(claim, hits)
    return replace(draft, text=claim, support=support)
