"""The canonical routing text (mmroute.routing.canonical) and the surface perturbations (mmroute.training.perturbations)."""

from __future__ import annotations

import pytest

from mmroute.routing.canonical import canonical_text, canonicalize, routing_text
from mmroute.training.perturbations import AUGMENT_KINDS, EXTRA_PERTURBATIONS, PERTURBATIONS, augment, perturb

Q = "Which planet has the largest number of known moons?"
STEM = "which planet has the largest number of known moons"


@pytest.mark.parametrize(
    "text",
    [
        Q,
        "which planet has the largest number of known moons",
        "Which planet has the largest\nnumber of known moons?",
        "  Which   planet has\tthe largest number of known moons ?  \n",
        "WHICH PLANET HAS THE LARGEST NUMBER OF KNOWN MOONS?",
        "Answer briefly: " + Q,
        "Question: " + Q,
        "Q: " + Q,
        "Please answer the following question: " + Q,
        "Hi, quick question: " + Q,
        Q + " Thanks!",
        Q + " Thank you in advance.",
        Q + "\nThanks!",
        Q + "\n(A) Jupiter\n(B) Saturn\n(C) Uranus\n(D) Neptune",
        Q + "\nA. Jupiter\nB. Saturn\nC. Uranus\nD. Neptune\nAnswer:",
        Q + "\nOptions:\nA) Jupiter\nB) Saturn",
        Q + " (A) Jupiter (B) Saturn (C) Uranus (D) Neptune",
        Q + " A. Jupiter B. Saturn C. Uranus D. Neptune",
        Q + " a) Jupiter b) Saturn",
        "Q: " + Q + "\n(A) Jupiter\n(B) Saturn\nThanks!",
    ],
)
def test_surface_forms_share_one_canonical_text(text):
    assert canonical_text(text) == STEM


def test_options_are_returned_apart_from_the_stem():
    c = canonicalize(
        "The main function of red blood cells is to:\n(A) fight infection\n(B) carry oxygen\n(C) clot blood"
    )
    assert c.text == "the main function of red blood cells is to:"  # the colon of an exam stem stays
    assert c.stem == "The main function of red blood cells is to:"
    assert c.options == ("fight infection", "carry oxygen", "clot blood")
    inline = canonicalize("Who wrote Hamlet? (A) Marlowe (B) Shakespeare")
    assert inline.options == ("Marlowe", "Shakespeare") and inline.text == "who wrote hamlet"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Is plan B. better than plan A?", "is plan b. better than plan a"),  # letters, not options
        ("Does vitamin A) help night vision?", "does vitamin a) help night vision"),  # one marker is no run
        ("Which is bigger, (a) the sun or (b) the moon?", "which is bigger, (a) the sun or (b) the moon"),
        ("What did the band Thanks release in 1999?", "what did the band thanks release in 1999"),
        ("Question:", "question:"),  # nothing left: keep it
        ("", ""),
    ],
)
def test_no_false_positives(text, expected):
    assert canonical_text(text) == expected


def test_characters_are_normalised():
    assert (
        canonical_text("What\u2019s the best way to clean a white sink?") == "what's the best way to clean a white sink"
    )
    assert canonical_text("\u201cYou Are\u201d is a song from which album?") == '"you are" is a song from which album'


def test_routing_text_version_zero_is_the_raw_text():
    assert routing_text("  Q: Who?  ", 0) == "  Q: Who?  "
    assert routing_text("  Q: Who wrote it?  ", 1) == "who wrote it"


@pytest.mark.parametrize("kind", PERTURBATIONS + EXTRA_PERTURBATIONS)
def test_perturbations_are_seeded_and_change_the_text(kind):
    a, b = perturb(Q, kind, seed=3), perturb(Q, kind, seed=3)
    assert a == b and a != Q


@pytest.mark.parametrize(
    "kind",
    [
        "options_lines",
        "options_inline",
        "split_lines",
        "extra_whitespace",
        "lower_case",
        "no_question_mark",
        "leading_instruction",
        "trailing_thanks",
    ],
)
def test_the_canonicaliser_undoes_the_listed_surface_changes(kind):
    for seed in range(20):
        assert canonical_text(perturb(Q, kind, seed=seed)) == STEM, perturb(Q, kind, seed=seed)


def test_typos_swap_adjacent_letters_only():
    t = perturb(Q, "typos", seed=1)
    assert len(t) == len(Q) and sorted(t) == sorted(Q) and t != Q


def test_train_and_test_pools_share_no_wrapping():
    for kind in ("very_long", "leading_instruction", "trailing_thanks", "unlisted_instruction"):
        train = {perturb(Q, kind, seed=s, pool="train") for s in range(40)}
        test = {perturb(Q, kind, seed=s, pool="test") for s in range(40)}
        assert not train & test, kind


def test_augment_pairs_each_text_with_its_variants():
    pairs = augment([Q, "What are the steps to repot an orchid?"], per_text=3, seed=0)
    assert [i for i, _ in pairs] == [0, 0, 0, 1, 1, 1]
    assert all(t != [Q, "What are the steps to repot an orchid?"][i] for i, t in pairs)
    assert pairs == augment([Q, "What are the steps to repot an orchid?"], per_text=3, seed=0)
    assert set(AUGMENT_KINDS) <= set(PERTURBATIONS + EXTRA_PERTURBATIONS)


@pytest.mark.parametrize(
    "text",
    [
        "I was reading about space last night and got curious about something. " + Q,
        Q + " I have looked in a few places but the answers I found did not agree.",
        "My friend and I argued about this for an hour over dinner. "
        + Q
        + " Any help at all would get me much further than I am now.",
    ],
)
def test_version_2_drops_first_person_framing_around_the_question(text):
    assert canonical_text(text, 2) == STEM
    assert canonical_text(text, 1) != STEM  # version 1 (routers trained before it) keeps reading it


@pytest.mark.parametrize(
    "text",
    [
        "For which scenario does the main character (who uses I/me/my) do wrong? Scenario 1 | I took his wallet.",
        "I took the train to work. Which station did I get off at?",  # a short sentence is content
        "Tell me about it.",  # nothing else left: kept
        "I left my keys in 2019 somewhere in Paris. Where are they?",  # digits: content
    ],
)
def test_version_2_keeps_content_sentences(text):
    assert canonical_text(text, 2) == canonical_text(text, 1)


def test_version_2_undoes_transposed_letters_only_to_known_words():
    assert canonical_text("Which plnaet has the lagrest number of known moons?", 2) == STEM
    assert canonical_text("Who conquered the Tarim basin?", 2) == "who conquered the tarim basin"  # no known swap
    assert canonical_text("Which plnaet has the lagrest number?", 1) == "which plnaet has the lagrest number"
