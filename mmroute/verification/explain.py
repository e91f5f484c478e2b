"""Why a draft was withheld, in plain words: the signals that pushed the policy's estimate down the most.

A policy is a logistic regression over standardised signals, so each signal's push on the log-odds is
``coef * (value - mean) / scale`` (:meth:`~mmroute.verification.policy.Policy.contributions`). The
signals are correlated, and a fitted coefficient can carry the opposite sign to the signal's plain
meaning (more question words near the answer is better, yet one of three overlapping coverage signals may
get a negative weight). So a signal is named only when it pushes down *and* its value is on its bad side
of the calibration mean: a phrase never says "few question words are near the answer" when many are.

>>> weighed_against(policy, signals)
['the reader gives this answer a low probability', 'the passage it comes from is only loosely related to the question']
"""

from __future__ import annotations

from collections.abc import Mapping

from .policy import Policy

LOW, HIGH = "low", "high"

BAD_SIDE: dict[str, tuple[str, str]] = {
    "answer_in_evidence": (LOW, "the answer's words are not all in the evidence"),
    "answer_repeats_question": (HIGH, "the answer mostly repeats words of the question"),
    "cov_paragraph": (LOW, "few words of the question appear around the answer"),
    "cov_sentence": (LOW, "few words of the question appear around the answer"),
    "cov_window": (LOW, "few words of the question appear around the answer"),
    "entities_in_evidence": (LOW, "names in the answer are missing from the evidence"),
    "key_missing": (HIGH, "a key word of the question is missing from the answer's passage"),
    "key_missing_any": (HIGH, "a key word of the question is missing from the answer's passage"),
    "missing_idf_max": (HIGH, "a rare word of the question is missing near the answer"),
    "missing_terms": (HIGH, "several words of the question are missing near the answer"),
    "negation_mismatch": (HIGH, "the question and the answer's sentence differ in negation"),
    "number_conflict": (HIGH, "a number in the question differs from the one in the evidence"),
    "numbers_agree": (LOW, "numbers in the answer are not in the evidence"),
    "reader_best_f1": (LOW, "the reader's own best answer is a different one"),
    "reader_best_margin": (LOW, "the reader is unsure the evidence answers the question"),
    "reader_margin": (LOW, "the reader is unsure the evidence answers the question"),
    "reader_null_prob": (HIGH, "the reader thinks the evidence may not hold the answer"),
    "reader_best_prob": (LOW, "the reader gives its best answer a low probability"),
    "draft_score": (LOW, "the generator gives this answer a low score"),
    "reader_draft_margin": (LOW, "the reader's score for this answer barely beats 'no answer'"),
    "reader_draft_gap": (LOW, "the reader scores other spans above this answer"),
    "reader_expected_f1": (LOW, "the reader's likely answers disagree with this one"),
    "retrieval_top": (LOW, "the best passage is only loosely related to the question"),
    "sim_q_best": (LOW, "no passage is close in meaning to the question"),
    "sim_q_support": (LOW, "the answer's sentence is not close in meaning to the question"),
    "sim_qa_support": (LOW, "the answer's sentence is not close in meaning to the question"),
    "type_match": (LOW, "the answer is not the kind of thing the question asks for"),
    "dual_agree": (LOW, "a second path does not give the same answer"),
}
"""Each signal a policy may use: the side of its calibration mean that is bad for the answer, and what that
means in words. Signals without an entry are never named."""

MIN_PUSH = 0.25
"""Pushes on the log-odds smaller than this (in absolute value) are not worth naming."""

READER_DISAGREES = frozenset({"reader_draft_gap", "reader_best_f1", "reader_expected_f1"})
"""Signals that say the reader would answer otherwise: not named when its best span is the answer itself
(``reader_best_f1`` 1; the draft may also occur elsewhere in the evidence, where the reader scores it lower)."""


def weighed_against(policy: Policy, signals: Mapping[str, float], limit: int = 2) -> list[str]:
    """Up to ``limit`` distinct plain-language reasons, strongest push first (see module doc)."""
    means = dict(zip(policy.features, policy.mean))
    out: list[str] = []
    for name, push in policy.contributions(signals):
        if push > -MIN_PUSH or name not in BAD_SIDE or name not in signals:
            continue
        if name in READER_DISAGREES and float(signals.get("reader_best_f1", 0.0)) >= 0.99:
            continue
        side, phrase = BAD_SIDE[name]
        value = float(signals[name])
        if (value >= means[name]) if side == LOW else (value <= means[name]):
            continue
        if phrase not in out:
            out.append(phrase)
        if len(out) >= limit:
            break
    return out
