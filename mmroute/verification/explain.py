"""Why a draft was withheld, in plain words that are true of the texts.

A policy is a logistic regression over standardised signals, so each signal's push on the log-odds is
``coef * (value - mean) / scale`` (:meth:`~mmroute.verification.policy.Policy.contributions`). A signal
is named when it pushes the estimate down *and* its statement holds: every :class:`Reason` has a test on
the signal's value that makes its sentence true of the question, the answer and the evidence (a reason
about negation names the negation word it found; one about the answer's type names the type asked for;
a similarity is named with its value). The signals are correlated and a fitted coefficient can carry the
opposite sign to a signal's plain meaning, so a push alone never makes a reason: "the question and the
sentence differ in negation" is never said when neither has a negation, nor "not the kind of thing the
question asks for" of a name given to a Who-question.

>>> weighed_against(policy, signals, words)
["the reader gives 'no answer' a probability of 71%", 'the answer's sentence is not close in meaning ...']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .policy import Policy

Words = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Reason:
    holds: Callable[[float], bool]
    """Whether the statement is true for this value of its signal."""
    say: Callable[[float, Words], str]
    """The statement, given the value and the words behind the signals (``compute_signals``)."""


def _fixed(text: str) -> Callable[[float, Words], str]:
    return lambda _v, _w: text


def _listed(words: Sequence[str], limit: int = 4) -> str:
    return ", ".join(f"'{w}'" for w in list(words)[:limit])


def _negation(_v: float, w: Words) -> str:
    q, s = list(w.get("question_negations", ())), list(w.get("support_negations", ()))
    if q and not s:
        return f"the question says {_listed(q)} but the answer's sentence has no negation"
    if s and not q:
        return f"the answer's sentence says {_listed(s)} but the question has no negation"
    return "the question and the answer's sentence differ in negation"


def _opposite(_v: float, w: Words) -> str:
    q, s = list(w.get("question_opposites", ())), list(w.get("support_opposites", ()))
    if q and s:
        return f"the question says {_listed(q[:1])} where the answer's sentence says {_listed(s[:1])}"
    return "the question says the opposite of the answer's sentence"


_ASKED = {"number": "a number", "date": "a date", "person": "a person", "location": "a place"}
_LACKS = {"number": "no number", "date": "no number or year", "person": "no name", "location": "no name"}


def _type(_v: float, w: Words) -> str:
    t = (list(w.get("answer_type", ())) or ["thing"])[0]
    return f"the question asks for {_ASKED.get(t, 'a ' + t)} and the answer has {_LACKS.get(t, 'none')}"


def _missing(_v: float, w: Words) -> str:
    miss = list(w.get("missing_surface", ()))
    pairs = list(w.get("missing_as", ()))
    said = [f"'{q}' appears as '{f}'" for q, f in zip(pairs[0::2], pairs[1::2])]
    elsewhere = list(w.get("missing_in_item_surface", ()))
    if elsewhere:
        medium = (list(w.get("medium", ())) or ["the item's words"])[0]
        verb = "appears" if len(elsewhere) == 1 else "appear"
        said.append(f"{_listed(elsewhere)} {verb} only elsewhere in {medium}")
    if not miss and said:
        return "; ".join(said)
    head = (
        "these words of the question do not appear near the answer: " + _listed(miss, 6)
        if miss
        else "words of the question do not appear near the answer"
    )
    return "; ".join([head, *said])


def _key_missing(_v: float, w: Words) -> str:
    miss = list(w.get("key_missing_surface", ()))
    titled = list(w.get("key_in_title_surface", ()))
    said = [f"the answer's passage does not mention {_listed(miss)}"] if miss else []
    if titled:
        said.append(f"the answer's passage names {_listed(titled)} only in its title")
    return "; ".join(said) or "a name or number of the question is missing from the answer's passage"


def bridged_finding(w: Words) -> str:
    """A two-hop answer's passage reached through another that gives the question's names: both subjects named."""
    via, subject = list(w["bridge"])[:2]
    names = _listed(list(w.get("key_bridged_surface", ())))
    return f"the passage on '{via}' gives {names} and names '{subject}', the subject of the answer's passage"


def _repeats(v: float, w: Words) -> str:
    """The answer's words that repeat the question, and those that only share a stem with a question word (the
    signal counts both: "computability" was said to repeat a question that says "computational")."""
    repeats, shares = list(w.get("repeats", ())), list(w.get("shares_stem", ()))
    if not repeats and not shares:
        return f"{v:.0%} of the answer's words repeat the question"
    said = [f"the answer repeats the question's {_listed(repeats)}"] if repeats else []
    pairs = [f"'{a}' shares its stem with the question's '{q}'" for a, q in zip(shares[::2], shares[1::2])]
    if pairs:
        said.append(("the answer's " if not repeats else "") + ", ".join(pairs[:3]))
    return "; ".join(said)


def _pct(template: str) -> Callable[[float, Words], str]:
    return lambda v, _w: template.format(f"{v:.0%}")


def _val(template: str) -> Callable[[float, Words], str]:
    return lambda v, _w: template.format(f"{v:.2f}")


def _weak_words(where: str) -> Reason:
    return Reason(lambda v: v < 0.5, _fixed(f"most of the question's distinctive words are missing from {where}"))


REASONS: dict[str, Reason] = {
    "answer_in_evidence": Reason(lambda v: v < 1.0, _fixed("some words of the answer are not in the evidence")),
    "answer_repeats_question": Reason(lambda v: v >= 0.5, _repeats),
    "cov_sentence": _weak_words("the answer's sentence"),
    "cov_window": _weak_words("the answer's sentence and its neighbours"),
    "cov_paragraph": _weak_words("the answer's passage"),
    "entities_in_evidence": Reason(lambda v: v < 1.0, _fixed("a name in the answer is not in the evidence")),
    "key_missing": Reason(lambda v: v >= 1.0, _key_missing),
    "key_missing_any": Reason(lambda v: v >= 1.0, _key_missing),
    "missing_idf_max": Reason(lambda v: v > 0.0, _missing),
    "missing_terms": Reason(lambda v: v >= 1.0, _missing),
    "negation_mismatch": Reason(lambda v: v >= 1.0, _negation),
    "opposite_conflict": Reason(lambda v: v >= 1.0, _opposite),
    "number_conflict": Reason(
        lambda v: v >= 1.0, _fixed("a number in the question differs from the one in the evidence")
    ),
    "numbers_agree": Reason(lambda v: v < 1.0, _fixed("a number in the answer is not in the evidence")),
    "reader_best_f1": Reason(lambda v: v < 0.99, _fixed("the reader's own best answer is a different one")),
    "reader_best_margin": Reason(lambda v: v < 0.0, _fixed("the reader scores 'no answer' above its best answer")),
    "reader_margin": Reason(
        lambda v: v < 0.0, _fixed("the reader scores 'no answer' above every span of the evidence")
    ),
    "reader_null_prob": Reason(lambda v: v >= 0.5, _pct("the reader gives 'no answer' a probability of {}")),
    "reader_best_prob": Reason(lambda v: v < 0.5, _pct("the reader gives its best answer a probability of only {}")),
    "draft_score": Reason(lambda v: v < 0.5, _val("the generator's own score for this answer is low ({})")),
    "reader_draft_margin": Reason(lambda v: v < 0.0, _fixed("the reader scores 'no answer' above this answer")),
    "reader_support_margin": Reason(
        lambda v: v < 0.0, _fixed("read alone, the answer's sentence holds no answer to the question for the reader")
    ),
    "reader_support_draft": Reason(
        lambda v: v < 0.0, _fixed("read alone, the answer's sentence does not give this answer for the reader")
    ),
    "reader_draft_gap": Reason(lambda v: v <= -1.0, _fixed("the reader scores other spans above this answer")),
    "reader_expected_f1": Reason(lambda v: v < 0.5, _fixed("the reader's likely answers mostly differ from this one")),
    "retrieval_top": Reason(lambda v: v < 0.5, _val("the best passage's retrieval score is only {}")),
    "sim_q_best": Reason(lambda v: v < 0.5, _val("no evidence sentence is close in meaning to the question (best {})")),
    "sim_q_support": Reason(
        lambda v: v < 0.5, _val("the answer's sentence is not close in meaning to the question ({})")
    ),
    "sim_qa_support": Reason(
        lambda v: v < 0.5, _val("the answer's sentence is not close in meaning to the question with the answer ({})")
    ),
    "type_match": Reason(lambda v: v < 0.5, _type),
    "dual_agree": Reason(lambda v: v < 0.5, _fixed("a second path does not give the same answer")),
    "support_model": Reason(
        lambda v: v < 0.0,
        lambda v, _w: (
            "the support model, trained to tell supported answers from plausible wrong ones, "
            f"rates this answer unsupported by its sentence ({1 / (1 + math.exp(-v)):.0%} supported)"
        ),
    ),
}
"""Each signal a policy may use that can be put in words: when the statement holds, and the statement.
Signals without an entry are never named."""

MIN_PUSH = 0.25
"""Pushes on the log-odds smaller than this (in absolute value) are not worth naming."""

READER_DISAGREES = frozenset({"reader_draft_gap", "reader_best_f1", "reader_expected_f1"})
"""Signals that say the reader would answer otherwise: not named when its best span is the answer itself
(``reader_best_f1`` 1; the draft may also occur elsewhere in the evidence, where the reader scores it lower)."""


def weighed_against(
    policy: Policy, signals: Mapping[str, float], words: Words | None = None, limit: int = 2
) -> list[str]:
    """Up to ``limit`` distinct plain-language reasons, strongest push first (see module doc)."""
    out: list[str] = []
    for name, push in policy.contributions(signals):
        if push > -MIN_PUSH or name not in REASONS or name not in signals:
            continue
        if name in READER_DISAGREES and float(signals.get("reader_best_f1", 0.0)) >= 0.99:
            continue
        reason, value = REASONS[name], float(signals[name])
        if not reason.holds(value):
            continue
        phrase = reason.say(value, words or {})
        if phrase not in out:
            out.append(phrase)
        if len(out) >= limit:
            break
    return out


READER_AGREES = "the reader picks the same answer in the evidence"
"""The one finding of :func:`reader_view` in a draft's favour."""

ALL_WORDS_AROUND = "every content word of the question appears around the answer"
"""The finding that no question word is missing near the answer."""

FINDING_SIGNALS: dict[str, frozenset[str]] = {
    ALL_WORDS_AROUND: frozenset({"cov_sentence", "cov_window", "cov_paragraph", "missing_terms", "missing_idf_max"}),
    READER_AGREES: frozenset({"reader_best_f1", "reader_expected_f1", "reader_draft_gap", "reader_draft_margin"}),
}
"""The signals a finding in a draft's favour is about."""


def weighs_for(policy: Policy, signals: Mapping[str, float], finding: str) -> bool:
    """Whether ``policy`` counts ``finding`` in the draft's favour: its signals' pushes on the log-odds add up to
    at least 0 (a finding no signal of the policy is about is taken as said). A true finding the policy weighs
    against (it learnt from correlated signals) is not called a point in the answer's favour."""
    names = FINDING_SIGNALS.get(finding, frozenset())
    pushes = [push for name, push in policy.contributions(signals) if name in names and name in signals]
    return not pushes or sum(pushes) >= 0.0


def reader_view(signals: Mapping[str, float]) -> list[str]:
    """What the reader's own reading of the evidence says of the draft, in words true of its signals.

    When the reader scores "no answer" above every span, its best span is no choice of an answer: a draft equal
    to that span is said to be out-scored too, never "picked" (both were once said of one draft)."""
    if "reader_margin" not in signals:
        return []
    same = signals["reader_best_f1"] >= 0.99
    out: list[str] = []
    if signals["reader_margin"] < 0:
        out.append(
            "the reader scores 'no answer' above every span of the evidence, this answer included"
            if same
            else "the reader scores 'no answer' above every span of the evidence"
        )
    if same and signals["reader_margin"] >= 0:
        out.append(READER_AGREES)
    elif not same and signals["reader_expected_f1"] < 0.2:
        out.append("the reader does not find this answer in the evidence")
    return out
