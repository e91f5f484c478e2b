"""Reader signals: what a trained extractive reader thinks of an answer, whoever wrote the answer.

The verifier reads the evidence itself with the packaged reader (:mod:`mmroute.reading`), so it can
judge drafts from any generator by the same yardstick:

- ``reader_margin``: best span score minus the no-answer score (is there an answer in this evidence?);
- ``reader_best_prob`` / ``reader_null_prob``: the best span's and [CLS]'s probabilities in its window;
- ``reader_best_f1``: SQuAD token-F1 of the draft against the reader's best span (ranked as the reader
  generator ranks them: margin over the window's no-answer score plus retrieval score);
- ``reader_expected_f1``: the draft's F1 against each n-best span, weighted by a softmax over those
  ranking scores and a no-answer alternative - the reader's own estimate of how right the draft is. A correct LLM answer that the reader ranks second still earns credit here; a
  plausible answer to a *different* question from the same passage earns little.
- ``reader_draft_margin``: the reader's own score for the draft where it occurs in the evidence (start +
  end logit of its tokens over the window's no-answer score), even when it is not among the n-best;
- ``reader_draft_gap``: the draft's best score on the ranking scale (over every place it occurs, each with
  its passage's bonus) minus the best span's: 0 when the reader would have answered the same, very
  negative for an answer the reader finds implausible or cannot place.

:func:`sentence_signals` asks the same reader about the draft's own sentence alone (question + sentence:
the reader was trained on 12.6k unanswerable questions made by negating, swapping or conditioning
answerable ones, each with its original answer as the plausible wrong one, so this is its learned view of
whether this sentence supports this answer):

- ``reader_support_margin``: its best span in the sentence over "no answer";
- ``reader_support_draft``: the draft's own score in the sentence over "no answer" (-20 when the sentence
  does not contain it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..reading.decode import Reading, Span
from ..reading.squad import f1_score

READER_FEATURES = (
    "reader_margin",
    "reader_best_prob",
    "reader_null_prob",
    "reader_best_margin",
    "reader_best_f1",
    "reader_expected_f1",
    "reader_draft_margin",
    "reader_draft_gap",
    "reader_support_margin",
    "reader_support_draft",
)
_CLIP = 20.0


def reader_signals(
    answer: str,
    reading: Reading,
    ranked: Sequence[tuple[Span, float]] | None = None,
    null_rank_score: float = 0.0,
    passage_bonus: Sequence[float] | None = None,
) -> dict[str, float]:
    """Signals for ``answer``; ``ranked`` = (span, ranking score) best first (default: by span margin),
    ``null_rank_score`` = the no-answer alternative on the same scale, ``passage_bonus[i]`` = what the
    ranking adds to a span's window margin for being in passage ``i`` (default 0)."""
    if not reading.spans:
        return {
            "reader_margin": -_CLIP,
            "reader_best_prob": 0.0,
            "reader_null_prob": 1.0,
            "reader_best_margin": -_CLIP,
            "reader_best_f1": 0.0,
            "reader_expected_f1": 0.0,
            "reader_draft_margin": -_CLIP,
            "reader_draft_gap": -_CLIP,
        }
    if ranked is None:
        ranked = sorted(
            ((sp, reading.ranking_margin(sp.window_margin, sp.tokens)) for sp in reading.spans), key=lambda x: -x[1]
        )
        null_rank_score = 0.0
    scores = [r for _, r in ranked] + [null_rank_score]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    z = sum(weights)
    expected = sum(w / z * f1_score(answer, [sp.text]) for w, (sp, _) in zip(weights, ranked))
    best = ranked[0][0]
    places = reading.placements(answer)
    if not places:
        draft_margin = draft_gap = -_CLIP
    else:
        # each on its own scale: the best window margin anywhere, and the best *ranking* score (margin, length
        # penalty and the passage's bonus), so an answer that also occurs in a lower-ranked passage (the same
        # paragraph in a paragraph KB and a document KB) is not judged by its weaker copy
        draft_margin = max(p.window_margin for p in places)
        ranking = max(
            reading.ranking_margin(p.window_margin, p.tokens)
            + (passage_bonus[p.passage_index] if passage_bonus else 0.0)
            for p in places
        )
        draft_gap = min(0.0, ranking - ranked[0][1])
    return {
        "reader_draft_margin": _clip(draft_margin),
        "reader_draft_gap": _clip(draft_gap),
        "reader_margin": max(-_CLIP, min(_CLIP, reading.margin)),
        "reader_best_prob": best.probability,
        "reader_null_prob": reading.null_probability,
        "reader_best_margin": max(-_CLIP, min(_CLIP, best.window_margin)),
        "reader_best_f1": f1_score(answer, [best.text]),
        "reader_expected_f1": expected,
    }


def sentence_signals(answer: str, reading: Reading | None) -> dict[str, float]:
    """The reader's view of the draft's own sentence (see module doc); ``reading`` = the reader over
    (question, [sentence]), None when the draft has no sentence."""
    if reading is None or not reading.spans:
        return {"reader_support_margin": -_CLIP, "reader_support_draft": -_CLIP}
    place = reading.place(answer)
    return {
        "reader_support_margin": _clip(reading.margin),
        "reader_support_draft": _clip(place.window_margin) if place else -_CLIP,
    }


def _clip(x: float) -> float:
    return max(-_CLIP, min(_CLIP, x))
