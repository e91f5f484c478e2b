"""Is the answer only the first hop of a bridge question?

"When did the director of film Laughter In Hell die?" is answered in two hops: the film's passage names its
director, Edward L. Cahn, and Cahn's passage holds the dates of his life. The step-wise retriever follows such
a *bridge* (:attr:`mmroute.types.RetrievalStep.bridge`: a KB item that the evidence named and the question did
not), but the reader reads every passage with the whole question, and the film's passage, which shares most of
the question's words, gives its own date: "Laughter in Hell is a 1933 American Pre-Code drama film directed by
Edward L. Cahn". The verifier's policies, calibrated on single-passage questions, cannot see this: the answer is a
date, it sits beside the question's words, and the reader is sure of it.

:func:`first_hop` says so when all of these hold (each a statement about the texts, shown to the user as such):

- the retriever followed a bridge, and the bridge item itself is in the evidence;
- the answer's sentence comes from a passage that names the bridge, which the question does not name;
- the bridge item's passage does not contain the answer (the draft: the right answer may well be there), and the
  answer is not the bridge itself;
- the bridge item's passage holds a word of the question that the answer's passage lacks ("director": the film's
  passage says "directed by"), so the question reaches past the answer's passage. Life dates in parentheses
  ("(February 12, 1899 - August 25, 1963)") hold "born", "birth", "die", "death" and "dead": "When did the man who
  directed Laughter in Hell die?" shares no other word with Cahn's passage.

Measured through ``Pipeline.ask`` on the demo home with the offline defaults (the rule has no fitted parameter, but
it was written after reading the multi-hop failures, so those figures are in-sample):

- the 89 shared multi-hop questions: it holds for 16 drafts, 2 of the 8 wrong answers the policy let through ("1933"
  and "1953", films' years given for their directors' deaths) and none of the 13 right drafts;
- the 950 SQuAD 2.0 dev questions, asked of the same home (whose multi-hop KB names "Nevada" and "Mexico-United
  States border" beside the Southern California article): it holds for 5 drafts, none shown, one of them right.
  Without the last condition it withheld 2 right answers there (a question's typo, "snowbaorder", is a word the
  answer's passage lacks) to stop 2 more wrong multi-hop ones (measured with the earlier stemmer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import content_stems, normalize_answer, stem, strip_parenthetical, text_stems, tokenize
from ..types import Draft, Hit, RetrievalStep

_POSSESSIVE = re.compile(r"['\u2019]s\b")
LIFE_DATES = re.compile(r"\([^()]*?\d{3,4}\s*[\u2013\u2014-]\s*[^()]*?\d{3,4}[^()]*\)")
"""A person's life in parentheses: "(February 12, 1899 \u2013 August 25, 1963)", "(1850\u20131891)"."""
LIFE_WORDS = ("born", "birth", "die", "death", "dead")
"""Words of a question that life dates answer, though the passage that gives them says none of them."""


@dataclass(frozen=True)
class FirstHop:
    """The draft's passage, the bridge it led to, and that bridge's item."""

    source: Hit
    bridge: str
    second: Hit
    answer: str
    """The draft, as the generator wrote it."""
    words: tuple[str, ...]
    """The question's words that the bridge's passage holds and the answer's passage lacks, as the user wrote them."""

    def reason(self) -> str:
        """Only what is true of the texts: the words behind the rule stay out (the question's "director" is not in
        the film's passage, but "directed by" is, and saying the one without the other misled)."""
        name = self.source.item.title or self.source.item.id
        return (
            f"it likely answers only the first step of the question: it comes from {name!r}, which names "
            f"{self.bridge!r}, a name the question does not give; the search went on to the passage on "
            f"{self.bridge!r}, and that passage does not contain {self.answer!r}"
        )


def _norm(text: str) -> str:
    """SQuAD's answer normalisation, a possessive's "'s" dropped first ("Edward L. Cahn's film")."""
    return normalize_answer(_POSSESSIVE.sub("", text))


def _has(text: str, part: str) -> bool:
    return bool(part) and f" {part} " in f" {text} "


def first_hop(question: str, draft: Draft, hits: Sequence[Hit], steps: Sequence[RetrievalStep]) -> FirstHop | None:
    """The bridge the draft stops short of (see module doc), or ``None``."""
    bridges = [s.bridge for s in steps if s.bridge]
    answer = _norm(draft.text or "")
    if not bridges or not answer or not draft.support:
        return None
    source = next((h for h in hits if draft.support in h.item.readable), None)
    if source is None:
        return None
    source_text = f"{source.item.title or ''} {source.item.readable}"
    said, asked = _norm(source_text), _norm(question)
    lacking = set(content_stems(tokenize(question))) - set(text_stems(source_text))  # asked, not in its passage
    for bridge in bridges:
        name = _norm(strip_parenthetical(bridge))
        if not name or name == answer or _has(asked, name) or not _has(said, name):
            continue
        seconds = [
            h for h in hits if h.item.id != source.item.id and _norm(strip_parenthetical(h.item.title or "")) == name
        ]
        if not seconds or any(_has(_norm(h.item.readable), answer) for h in seconds):
            continue
        second = seconds[0]
        second_text = f"{second.item.title or ''} {second.item.readable}"
        holds = set(text_stems(second_text))
        if LIFE_DATES.search(second.item.readable):
            holds |= {stem(w) for w in LIFE_WORDS}
        needed = lacking & holds
        if needed:
            words = dict.fromkeys(t.text for t in tokenize(question) if t.is_word and stem(t.text) in needed)
            return FirstHop(source, bridge, second, draft.text or "", tuple(words))
    return None
