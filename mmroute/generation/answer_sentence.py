"""The evidence sentence of an answer whose generator names none (an LLM's): the one sharing most of its words.

The verifier checks an answer against its sentence, and ``ask`` marks that sentence among the evidence
("<- the answer's sentence"); an answer that shares no word with any sentence has none to mark.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text import split_sentences, text_stems
from ..types import Hit


def best_support(answer: str, hits: Sequence[Hit]) -> str:
    """The evidence sentence sharing most words with the answer (what the verifier checks against); "" when no
    sentence shares one: the answer has no sentence in the evidence, and none is shown as its sentence (the
    verifier then reads the evidence's first sentence, as it always has: :func:`first_sentence`)."""
    want = set(text_stems(answer))
    best, best_n = "", 0
    for h in hits:
        text = h.item.text or ""
        for a, b in split_sentences(text):
            n = len(want & set(text_stems(text[a:b])))
            if n > best_n:
                best, best_n = text[a:b], n
    return best


def first_sentence(hits: Sequence[Hit]) -> str:
    """The first sentence of the first hit with text: what stands for the sentence of an answer that has none."""
    for h in hits:
        text = h.item.text or ""
        for a, b in split_sentences(text):
            return text[a:b]
    return ""
