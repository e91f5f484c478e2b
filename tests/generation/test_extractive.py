"""The offline extractive generator on real SQuAD 2.0 paragraphs."""
from __future__ import annotations

import pytest

from mmroute.generation import GENERATORS, create_generator
from mmroute.generation.extractive import ExtractiveGenerator, candidate_spans
from mmroute.generation.textutil import answer_matches, tokenize


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
