"""Why a draft was withheld, in plain words: only signals that push the estimate down *and* sit on their bad
side are named; never a signal name; and a withheld held-out reader draft gets such a reason."""

from __future__ import annotations

import re

from mmroute.verification import Policy
from mmroute.verification.explain import BAD_SIDE, weighed_against


def policy(coef: dict[str, float]) -> Policy:
    names = tuple(coef)
    return Policy(names, tuple(coef.values()), 0.0, tuple(0.5 for _ in names), tuple(0.25 for _ in names), 0.5)


def test_a_signal_is_named_only_when_it_pushes_down_from_its_bad_side() -> None:
    p = policy({"retrieval_top": 1.0, "cov_paragraph": -0.5, "type_match": 1.0})
    # retrieval_top low with a positive weight: pushes down from its bad side -> named
    # cov_paragraph high with a negative weight: pushes down, but high coverage is good -> not named
    # type_match high with a positive weight: pushes up -> not named
    said = weighed_against(p, {"retrieval_top": 0.1, "cov_paragraph": 0.9, "type_match": 1.0})
    assert said == ["the best passage is only loosely related to the question"]
    assert weighed_against(p, {"retrieval_top": 0.9, "cov_paragraph": 0.9, "type_match": 1.0}) == []


def test_the_strongest_pushes_come_first_and_phrases_are_not_repeated() -> None:
    p = policy({"sim_q_support": 1.0, "sim_qa_support": 1.0, "reader_null_prob": -2.0, "retrieval_top": 0.2})
    said = weighed_against(
        p, {"sim_q_support": 0.0, "sim_qa_support": 0.0, "reader_null_prob": 1.0, "retrieval_top": 0.0}
    )
    assert said == [
        "the reader thinks the evidence may not hold the answer",
        "the answer's sentence is not close in meaning to the question",
    ]


def test_the_reader_is_not_said_to_disagree_when_its_best_span_is_the_answer() -> None:
    p = policy({"reader_draft_gap": 1.0, "reader_best_f1": 0.1})
    assert weighed_against(p, {"reader_draft_gap": -3.0, "reader_best_f1": 1.0}) == []
    assert weighed_against(p, {"reader_draft_gap": -3.0, "reader_best_f1": 0.0}) == [
        "the reader scores other spans above this answer"
    ]


def test_every_phrase_is_plain_words() -> None:
    for name, (side, phrase) in BAD_SIDE.items():
        assert side in ("low", "high")
        assert "_" not in phrase and name not in phrase and re.fullmatch(r"[a-z' ,().]+", phrase), phrase
