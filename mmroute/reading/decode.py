"""Start/end logits -> ranked answer spans, the SQuAD 2.0 way.

For each window the best (start, end) pairs are taken from the top ``n_best`` start and end positions,
keeping pairs inside the passage with ``start <= end``, at most ``max_answer_tokens`` tokens and no line break
inside (a line break parts a photo's captions, a clip's subtitle cues and a document's paragraphs: "saucer\nImage"
is two texts' words). A span's
score is ``start_logit + end_logit``; the window's *null score* is the same sum at ``[CLS]``. Across
windows and passages spans compete on their score; the question's null score is the lowest window null
score (the window most sure that an answer exists), as in the reference SQuAD 2.0 post-processing.

``length_penalty`` (logits per token beyond the first, default 0) ranks spans by
``score - length_penalty * (tokens - 1)``. A reader fine-tuned on a few thousand questions overrates long
spans (it learnt "the answer is somewhere in here"); a small penalty trades that back. The penalty only
orders the candidates: ``Span.score`` stays the raw logit sum, so margins against the null score keep
their meaning. ``mmroute reader calibrate`` chooses it on training questions and stores it with the reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .windows import Window


@dataclass(frozen=True)
class Span:
    """An answer candidate: ``text == passages[passage_index][char_start:char_end]``."""

    text: str
    passage_index: int
    char_start: int
    char_end: int
    score: float
    """start + end logit."""
    probability: float
    """Softmax probability of this (start, end) pair within its window (start prob x end prob)."""
    window_null: float = 0.0
    """The [CLS] start+end logit of the window the span was read in."""
    tokens: int = 1
    """Length of the span in model tokens."""

    @property
    def window_margin(self) -> float:
        """Span score minus its own window's no-answer score: comparable across windows and passages."""
        return self.score - self.window_null


@dataclass(frozen=True)
class WindowLogits:
    """One window's start/end logits and the passage characters each token covers (None outside it)."""

    passage_index: int
    offsets: tuple[tuple[int, int] | None, ...]
    start: np.ndarray
    end: np.ndarray

    @property
    def null(self) -> float:
        return float(self.start[0] + self.end[0])

    def __len__(self) -> int:
        return len(self.offsets)


@dataclass(frozen=True)
class Placement:
    """Where an answer (written by anyone) sits in the passages, and how the reader scores it there."""

    passage_index: int
    char_start: int
    char_end: int
    window_margin: float
    """start + end logit of the answer's tokens minus the window's no-answer score (best occurrence)."""
    tokens: int = 1
    """Length of the placed answer in model tokens."""


@dataclass(frozen=True)
class Reading:
    """What a reader found for one question: n-best spans (best first) and the no-answer score."""

    spans: tuple[Span, ...]
    null_score: float
    """Lowest [CLS] start+end logit over all windows."""
    null_probability: float
    """Softmax probability of the [CLS] pair in the window the best span came from (1.0 if no span)."""
    windows: tuple[WindowLogits, ...] = field(default=(), repr=False, compare=False)
    """The logits behind the spans, so that any answer can be scored where it occurs (:meth:`place`)."""
    passages: tuple[str, ...] = field(default=(), repr=False, compare=False)
    length_penalty: float = 0.0
    """The span-length penalty the spans were ranked with (see the module doc)."""

    def ranking_margin(self, window_margin: float, tokens: int) -> float:
        """A window margin as this reading ranks it: less ``length_penalty`` per token beyond the first.

        Whoever ranks spans across passages (adding retrieval scores, say) ranks on this, so a long span the
        reader itself put below a short one does not win back its place there."""
        return penalised(window_margin, tokens, self.length_penalty)

    @property
    def best(self) -> Span | None:
        return self.spans[0] if self.spans else None

    @property
    def margin(self) -> float:
        """Best span score minus the null score: > 0 means the reader prefers answering."""
        return (self.spans[0].score - self.null_score) if self.spans else float("-inf")

    def place(self, answer: str, max_answer_tokens: int = 30) -> Placement | None:
        """The reader's best score for ``answer`` at any place it occurs in the passages (case and spacing
        ignored), whether or not it is among the n-best spans; None when the answer occurs nowhere.

        This is how the verifier asks the reader about an answer someone else wrote: a correct answer the
        reader ranks second still scores close to the best span; an answer to a different question scores low.
        """
        return max(self.placements(answer, max_answer_tokens), key=lambda p: p.window_margin, default=None)

    def placements(self, answer: str, max_answer_tokens: int = 30) -> list[Placement]:
        """Every place ``answer`` occurs in the passages (as :meth:`place` finds them), in every window
        that holds it whole, with the reader's score there."""
        pattern = answer_pattern(answer)
        if pattern is None:
            return []
        out: list[Placement] = []
        for w in self.windows:
            text = self.passages[w.passage_index]
            starts = {o[0]: i for i, o in enumerate(w.offsets) if o is not None}
            ends = {o[1]: i for i, o in enumerate(w.offsets) if o is not None}
            for m in pattern.finditer(text):
                i, j = starts.get(m.start()), ends.get(m.end())
                if i is None or j is None or j < i or j - i + 1 > max_answer_tokens:
                    continue
                margin = float(w.start[i] + w.end[j]) - w.null
                out.append(Placement(w.passage_index, m.start(), m.end(), margin, j - i + 1))
        return out


def redecode(reading: Reading, **options: Any) -> Reading:
    """The same reading decoded again with other :func:`decode` options (no model call); the length
    penalty stays the reading's unless ``options`` name another."""
    options.setdefault("length_penalty", reading.length_penalty)
    return decode(
        reading.windows,
        [w.start for w in reading.windows],
        [w.end for w in reading.windows],
        reading.passages,
        **options,
    )


def answer_pattern(answer: str) -> re.Pattern[str] | None:
    """A case-insensitive pattern for ``answer`` in a passage: any run of spaces between its words, word
    boundaries at both ends, a leading article and trailing punctuation of the answer ignored."""
    text = re.sub(r"^(?:the|a|an)\s+", "", answer.strip(), flags=re.IGNORECASE).strip(" .,;:!?\"'")
    words = text.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def penalised(score: float, tokens: int, length_penalty: float) -> float:
    """``score`` less ``length_penalty`` per token beyond the first: how spans are ranked."""
    return score - length_penalty * (tokens - 1)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max()
    return x - m - np.log(np.exp(x - m).sum())


def decode(
    windows: Sequence[Window | WindowLogits],
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    passages: Sequence[str],
    *,
    n_best: int = 20,
    max_answer_tokens: int = 30,
    length_penalty: float = 0.0,
) -> Reading:
    def rank(sp: Span) -> float:
        return penalised(sp.score, sp.tokens, length_penalty)

    spans: dict[tuple[int, int, int], Span] = {}
    logits: list[WindowLogits] = []
    null_score = float("inf")
    null_prob_by_window: list[float] = []
    best_window: dict[tuple[int, int, int], int] = {}
    for wi, (w, s, e) in enumerate(zip(windows, start_logits, end_logits)):
        s = np.asarray(s, dtype=np.float64)[: len(w)]
        e = np.asarray(e, dtype=np.float64)[: len(w)]
        logits.append(WindowLogits(w.passage_index, w.offsets, s, e))
        null_score = min(null_score, float(s[0] + e[0]))
        ls, le = _log_softmax(s), _log_softmax(e)
        null_prob_by_window.append(float(np.exp(ls[0] + le[0])))
        ctx = np.array([o is not None for o in w.offsets])
        s_masked = np.where(ctx, s, -np.inf)
        e_masked = np.where(ctx, e, -np.inf)
        starts = np.argsort(-s_masked)[:n_best]
        ends = np.argsort(-e_masked)[:n_best]
        for i in starts:
            if not ctx[i]:
                continue
            for j in ends:
                if not ctx[j] or j < i or j - i + 1 > max_answer_tokens:
                    continue
                a, b = w.offsets[i][0], w.offsets[j][1]
                text = passages[w.passage_index][a:b].strip()
                if "\n" in text:
                    continue  # across a line break: two captions, two subtitle cues, two paragraphs of a document
                key = (w.passage_index, a, b)
                span = Span(
                    text,
                    w.passage_index,
                    a,
                    b,
                    float(s[i] + e[j]),
                    float(np.exp(ls[i] + le[j])),
                    float(s[0] + e[0]),
                    int(j - i + 1),
                )
                if not span.text or (key in spans and rank(spans[key]) >= rank(span)):
                    continue
                spans[key] = span
                best_window[key] = wi
    ranked = sorted(spans.values(), key=lambda sp: -rank(sp))[:n_best]
    if not ranked:
        null = null_score if null_score != float("inf") else 0.0
        return Reading((), null, 1.0, tuple(logits), tuple(passages), length_penalty)
    top = ranked[0]
    null_p = null_prob_by_window[best_window[(top.passage_index, top.char_start, top.char_end)]]
    return Reading(tuple(ranked), null_score, null_p, tuple(logits), tuple(passages), length_penalty)
