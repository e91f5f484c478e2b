"""The offline extractive generator on real SQuAD 2.0 paragraphs."""
from __future__ import annotations

import pytest

from mmroute.generation import GENERATORS, create_generator
from mmroute.generation.extractive import ExtractiveGenerator, candidate_spans
from mmroute.text import answer_matches, tokenize


@pytest.fixture(scope="module")
def gen() -> ExtractiveGenerator:
    g = create_generator("offline")
    g.warm_up()
    return g


def test_registered_names():
    create_generator("offline")
    assert {"offline", "smollm2", "hf-causal", "openai"} <= set(GENERATORS.names())


def test_candidate_spans_find_numbers_dates_names():
    toks = tokenize("In the 10th and 11th centuries Rollo of Normandy led 20,000 Norse raiders.")
    spans = {" ".join(t.text for t in toks[a:b]): k for a, b, k in candidate_spans(toks)}
    assert "date" in spans["10th and 11th centuries"]
    assert "proper" in spans["Rollo of Normandy"]
    assert "number" in spans["20,000"]


@pytest.mark.parametrize("question,gold", [
    ("Who was the Norse leader?", ["Rollo"]),
    ("When were the Normans in Normandy?", ["10th and 11th centuries", "in the 10th and 11th centuries"]),
])
def test_answers_are_short_spans_from_the_evidence(gen, normans_hits, question, gold):
    d = gen.generate(question, normans_hits)
    assert d.text and len(d.text.split()) <= 8
    assert answer_matches(d.text, gold), d.text
    assert d.evidence_ids == ("squad2/Normans/0",)
    assert d.text in d.support and d.support in normans_hits[0].item.text
    assert 0.0 <= d.score <= 1.0 and d.generator == "offline"


def test_lexical_second_path_is_independent_but_agrees_on_easy_questions(gen, normans_hits):
    d = gen.closed_book("Who was the Norse leader?", normans_hits)
    assert d is not None and d.generator == "offline:lexical"
    assert answer_matches(d.text or "", ["Rollo"])


def test_no_evidence_gives_no_answer(gen):
    assert gen.generate("Who was the Norse leader?", []).text is None


def _cands(text: str, spans: list[tuple[str, float]]):
    from mmroute.generation.extractive import Candidate, Sentence
    from mmroute.text import stem

    toks = tuple(tokenize(text))
    sent = Sentence(0, 0, text, toks, tuple(stem(t.text) for t in toks))
    words = [t.text for t in toks]
    out = []
    for phrase, score in spans:
        pw = [t.text for t in tokenize(phrase)]
        a = next(i for i in range(len(words)) if words[i:i + len(pw)] == pw)
        out.append(Candidate(sent, a, a + len(pw), frozenset(), score))
    return out


def test_answer_window_merges_neighbouring_top_candidates_within_the_word_cap():
    from mmroute.generation.extractive import answer_window

    text = "In 911 their leader Rollo swore fealty to King Charles III; the treaty followed."
    ranked = _cands(text, [("leader", 3.0), ("Rollo", 2.5), ("King Charles III", 2.0), ("treaty", 1.0)])
    toks = ranked[0].sentence.tokens
    show = lambda ab: " ".join(t.text for t in toks[ab[0]:ab[1]])  # noqa: E731
    assert show(answer_window(ranked, 0)) == "leader"
    assert show(answer_window(ranked, 2)) == "leader Rollo"
    # "King Charles III" would make the window 7 words; "treaty" is across the semicolon
    assert show(answer_window(ranked, 6)) == "leader Rollo"
    assert show(answer_window(ranked, 8)) == "leader Rollo swore fealty to King Charles III"
    assert show(answer_window(ranked, 20)) == "leader Rollo swore fealty to King Charles III"


def test_generator_answer_window_stays_a_short_answer(normans_hits):
    g = ExtractiveGenerator(answer_window=6)
    d = g.generate("Who was the Norse leader?", normans_hits)
    assert d.text and d.text in d.support
    assert len([w for w in d.text.split() if w.lower() not in {"a", "an", "the"}]) <= 6
    assert answer_matches(d.text, ["Rollo"]), d.text
