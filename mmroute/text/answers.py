"""SQuAD answer normalisation and the answer-acceptance metric (evaluation, reading, verification)."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

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
                if a[i : i + len(gw)] == gw:
                    return True
    return False
