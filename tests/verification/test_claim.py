"""Sentence answers are verified by their claim: the span they assert, found before verifying; span answers
are their own claim. Positive and negative controls through the packaged verifier."""

from __future__ import annotations

import pytest

from mmroute.types import Draft
from mmroute.verification.claim import claim_draft, claimed_answer, occurs_in
from mmroute.verification.verifier import EvidenceVerifier

Q = "Who was the leader of the Norse raiders?"


@pytest.fixture(scope="module")
def reader():
    from mmroute.reading.reader import shared_reader

    r = shared_reader("packaged", "cpu")
    r.warm_up()
    return r


def test_spans_are_their_own_claim(normans_hits, reader) -> None:
    assert claimed_answer(Q, "Rollo", normans_hits, reader) == "Rollo"
    long_span = "raiders and pirates from Denmark, Iceland and Norway"
    assert occurs_in(long_span, normans_hits[0].item.text)
    assert claimed_answer(Q, long_span, normans_hits, reader) == long_span


@pytest.mark.parametrize(
    "sentence",
    [
        "Based on the context, the answer is Rollo.",
        "The answer: Rollo",
        "According to the passage, the leader of the Norse raiders was Rollo.",
        "The Norse raiders and pirates were led by their leader Rollo, who swore fealty to King Charles III.",
    ],
)
def test_a_sentence_answer_is_checked_by_its_claim(sentence: str, normans_hits, reader) -> None:
    claim = claimed_answer(Q, sentence, normans_hits, reader)
    assert "Rollo" in claim and len(claim.split()) <= 3, claim
    d = claim_draft(Q, Draft(sentence, generator="openai"), normans_hits, reader)
    assert d.text == claim and "Rollo" in d.support


@pytest.mark.parametrize(
    "sentence",
    [
        "According to the passage, it is Rollo.",
        "The answer to your question is Rollo, as the text says.",
        "It's Rollo, according to the context.",
    ],
)
def test_a_copula_and_an_attribution_are_not_part_of_the_claim(sentence: str, normans_hits) -> None:
    """Without a reader too: "it is Rollo" was the claim of the first, and the reader cut the others' claims."""
    assert claimed_answer(Q, sentence, normans_hits) == "Rollo"


def test_a_claim_that_is_a_sentence_keeps_its_words(normans_hits) -> None:
    """The control: only a lead-in and a closing attribution go; words of the claim itself stay."""
    sentence = "According to the passage, it was their leader Rollo who swore fealty."
    assert claimed_answer(Q, sentence, normans_hits) == "their leader Rollo who swore fealty"


def test_without_a_reader_the_lead_in_is_dropped(normans_hits) -> None:
    assert claimed_answer(Q, "Based on the context, the answer is their leader Rollo.", normans_hits) == (
        "their leader Rollo"
    )


def test_the_verifier_judges_sentences_as_it_judges_spans(normans_hits) -> None:
    v = EvidenceVerifier()
    span = v.verify(Q, Draft("Rollo", generator="openai"), normans_hits)
    right = v.verify(
        Q, Draft("Based on the context, the leader of the Norse raiders was Rollo.", generator="openai"), normans_hits
    )
    assert not span.abstain and not right.abstain, (span.reasons, right.reasons)
    assert any("claim" in r and "Rollo" in r for r in right.reasons)
    wrong = v.verify(
        Q, Draft("Based on the context, the leader of the Norse raiders was King Charles III.", generator="openai"),
        normans_hits,
    )  # fmt: skip
    assert wrong.abstain, wrong.reasons
