"""A count the evidence gives two ways is withheld with both counts named; a count the evidence agrees on passes.

The texts are the shared SQuAD 2.0 dev paragraphs where a new user was shown 'eight' for the metropolitan areas of
Southern California (one paragraph says seven, another eight)."""

from __future__ import annotations

import pytest

from mmroute.types import Draft, Granularity, Hit, Item
from mmroute.verification import EvidenceVerifier, Policy
from mmroute.verification.counts import counted_phrase, counts_in, draft_count, other_count
from tests.conftest import squad_hits

SEVEN, EIGHT = "squad2/Southern_California/2", "squad2/Southern_California/22"
QUESTION = "How many metropolitan areas does Southern California's population encompass?"


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        (QUESTION, ("metropolitan", "areas")),
        ("How many counties initially made up the definition of southern California?", ("counties",)),
        ("How many Major Soccer League teams were in Los Angeles?", ("Major", "Soccer", "League", "teams")),
        ("How many of the counties are coastal?", ()),
        ("When did the Normans arrive?", ()),
    ],
)
def test_the_phrase_a_question_counts(question: str, phrase: tuple[str, ...]) -> None:
    assert counted_phrase(question) == phrase


def test_a_count_is_a_number_before_every_word_of_the_phrase_or_a_name() -> None:
    phrase = ("metropolitan", "areas")
    said = [
        c.said
        for text in (
            "Southern California's population encompasses seven metropolitan areas, or MSAs: the Los Angeles area",
            "Southern California consists of one Combined Statistical Area, eight Metropolitan Statistical Areas",
            "The region is home to two extended metropolitan areas that exceed five million in population.",
            "Three of the country's largest metropolitan areas",
        )
        for c in counts_in(text, phrase)
    ]
    assert said == ["seven metropolitan areas", "eight Metropolitan Statistical Areas"]
    assert [draft_count(a) for a in ("eight", "10,000", "3.5 million", "three times", "the 5th", "first")] == [
        8,
        10_000,
        3_500_000,
        3,
        None,
        None,
    ]


def test_the_evidences_other_count_is_named_and_a_single_count_is_not(data_dir) -> None:
    both = squad_hits(data_dir, [EIGHT, SEVEN])
    found = other_count(QUESTION, "eight", both)
    assert found is not None
    assert found.reason() == (
        "the evidence also gives another count: 'seven metropolitan areas' (Southern California), beside "
        "'eight Metropolitan Statistical Areas' (Southern California)"
    )
    assert other_count(QUESTION, "seven", both) is not None  # the right count has the same caveat here
    # controls: one paragraph's own count, a phrase the evidence does not count two ways, an answer that is no count
    assert other_count(QUESTION, "seven", squad_hits(data_dir, [SEVEN])) is None
    assert other_count("How many extended metropolitan areas are there?", "two", both) is None
    assert other_count(QUESTION, "Los Angeles", both) is None
    quake = _hit("q", "Southern California has about 10,000 earthquakes a year. The 1994 Northridge earthquake ...")
    assert other_count("How many earthquakes does it have each year?", "10,000", [quake]) is None  # a year is no count


def _hit(item_id: str, text: str) -> Hit:
    return Hit(Item(item_id, Granularity.PARAGRAPH, text, "Southern California"), 0.6, "squad")


SEVEN_SAID = _hit("p2", "Southern California's population encompasses seven metropolitan areas, or MSAs.")
EIGHT_SAID = _hit("p22", "Southern California consists of eight Metropolitan Statistical Areas.")
FINDING = (
    "the evidence also gives another count: 'seven metropolitan areas' (Southern California), beside "
    "'eight Metropolitan Statistical Areas' (Southern California)"
)


@pytest.mark.parametrize("threshold", [0.1, 0.999])
def test_the_verifier_names_the_other_count_beside_its_verdict_and_keeps_the_verdict(threshold: float) -> None:
    """Shown: the other count comes right after the verdict; withheld: last, since it is not why. Either way the
    verdict is the policy's, and evidence with one count adds nothing."""
    policy = Policy(("cov_window",), (1.0,), 0.0, (0.5,), (0.5,), threshold)
    verifier = EvidenceVerifier(policy=policy, reader=None, support_model=None)
    draft = Draft("eight", ("p22",), EIGHT_SAID.item.text, 0.9, "reader")
    both = verifier.verify(QUESTION, draft, [EIGHT_SAID, SEVEN_SAID])
    alone = verifier.verify(QUESTION, draft, [EIGHT_SAID])
    assert (both.verdict, both.abstain) == (alone.verdict, alone.abstain)
    assert both.abstain is (threshold > 0.5)
    assert both.reasons.index(FINDING) == (len(both.reasons) - 1 if both.abstain else 1)
    assert not any("another count" in r for r in alone.reasons)
