"""Synthetic unanswerable questions (``reader train --synthetic-unanswerable``) and the no-answer AUC."""

from __future__ import annotations

import re

import pytest

from mmroute.reading.evaluation import no_answer_auc
from mmroute.reading.squad import QAExample
from mmroute.training.unanswerables import KINDS, synthetic_unanswerables

P1 = (
    "The Normans gave their name to Normandy, a region in France, in the 10th century. "
    "Their first ruler, Rollo, signed a treaty with Charles III in 911."
)
P2 = "Later the Normans conquered Sicily and England. William of Normandy won at Hastings in 1066."
P3 = "In the south of Italy, Robert Guiscard founded a county near Apulia."


def _ex(i: int, question: str, context: str, answer: str) -> QAExample:
    return QAExample(f"q{i}", "Normans", question, context, (answer,), (context.index(answer),))


EXAMPLES = [
    _ex(0, "In what country is Normandy located?", P1, "France"),
    _ex(1, "Who was the first ruler of the Normans?", P1, "Rollo"),
    _ex(2, "In what year did Rollo sign a treaty with Charles III?", P1, "911"),
    _ex(3, "Which battle did William of Normandy win in 1066?", P2, "Hastings"),
    _ex(4, "Who founded a county near Apulia?", P3, "Robert Guiscard"),
    _ex(6, "Who signed a legal treaty with Charles III?", P1, "Rollo"),
    QAExample("u5", "Normans", "Who ruled Spain?", P1, (), ()),
]
ANSWERABLE = 6
FUNCTION_WORDS = {"in", "before", "of", "the", "and"}
"""What an impossible condition adds besides its year or place."""


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"\w+", text)}


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "paragraph"])
def test_each_edit_inserts_only_words_the_paragraph_lacks(kind: str) -> None:
    made = synthetic_unanswerables(EXAMPLES, fraction=1.0, seed=0, kinds=[kind])
    assert made, f"{kind} applies to some of these questions"
    by_id = {e.id: e for e in EXAMPLES}
    for neg in made:
        src = by_id[neg.id.split("-unanswerable-")[0]]
        assert neg.id.endswith(f"-unanswerable-{kind}") and not neg.answerable and neg.answer_starts == ()
        assert neg.context == src.context and neg.question != src.question
        inserted = _words(neg.question) - _words(src.question) - FUNCTION_WORDS
        assert inserted and not inserted & _words(src.context), (src.question, neg.question)
        assert neg.plausible_answers == src.answers, "the original answer is the plausible (wrong) one"
    if kind == "antonym":
        assert any("last ruler" in n.question for n in made)
    if kind == "number":
        assert [n.id for n in made] == ["q3-unanswerable-number"], "only q3 has a number the paragraph has"
    if kind == "negation":
        assert "Who wasn't the first ruler of the Normans?" in {n.question for n in made}
        assert "In what year didn't Rollo sign a treaty with Charles III?" in {n.question for n in made}
    if kind == "exclusion":
        assert [n.question for n in made] == ["Who signed a illegal treaty with Charles III?"]
    if kind == "condition":
        assert all(re.search(r" (in [A-Z]\w+|before \d{4})[^?]*\?$", n.question) for n in made)


def test_negation_needs_a_paragraph_without_negation() -> None:
    ctx = "The Normans did not stay in Normandy. Rollo ruled from 911."
    ex = QAExample("q", "T", "When did Rollo rule?", ctx, ("911",), (ctx.index("911"),))
    assert synthetic_unanswerables([ex], fraction=1.0, kinds=["negation"]) == []


def test_the_other_paragraph_lacks_every_gold_answer() -> None:
    made = synthetic_unanswerables(EXAMPLES, fraction=1.0, seed=0, kinds=["paragraph"])
    by_id = {e.id: e for e in EXAMPLES}
    assert len(made) == ANSWERABLE, "every answerable question has another paragraph without its answer"
    for neg in made:
        src = by_id[neg.id.split("-unanswerable-")[0]]
        assert neg.question == src.question and neg.context != src.context and neg.plausible_answers == ()
        assert not any(a.casefold() in neg.context.casefold() for a in src.answers)


def test_fraction_seed_and_bad_kinds() -> None:
    assert synthetic_unanswerables(EXAMPLES, fraction=0.0) == []
    all_made = synthetic_unanswerables(EXAMPLES, fraction=1.0, seed=3)
    assert len(all_made) == ANSWERABLE, "one per answerable question, never from an unanswerable one"
    assert all(not n.id.startswith("u5") for n in all_made)
    assert synthetic_unanswerables(EXAMPLES, fraction=1.0, seed=3) == all_made, "deterministic for a seed"
    with pytest.raises(ValueError, match="unknown kinds"):
        synthetic_unanswerables(EXAMPLES, kinds=["sarcasm"])


def test_sentence_initial_words_are_not_names() -> None:
    """ "Murders were the base ..." must not make "Murders" a name to swap in or out."""
    ctx = "Murders were the base of the story. The writer Truman Capote visited Kansas."
    ex = QAExample("q", "T", "What did Truman Capote visit?", ctx, ("Kansas",), (ctx.index("Kansas"),))
    other = QAExample("r", "T", "Where?", "Harper Lee lived in Monroeville.", ("Monroeville",), (20,))
    made = synthetic_unanswerables([ex, other], fraction=1.0, seed=0, kinds=["entity"])
    assert made and all("Murders" not in n.question for n in made)
    assert {n.question for n in made if n.id.startswith("q-")} <= {
        "What did Harper Lee visit?",
        "What did Monroeville visit?",
    }


def test_no_answer_auc() -> None:
    assert no_answer_auc([(3.0, True), (1.0, False), (2.0, True), (0.0, False)]) == 1.0
    assert no_answer_auc([(0.0, True), (1.0, False)]) == 0.0
    assert no_answer_auc([(1.0, True), (1.0, False)]) == 0.5, "ties count half"
    assert no_answer_auc([(1.0, True)]) is None


def test_squad_files_keep_the_plausible_answers_of_unanswerable_questions(data_dir) -> None:
    from mmroute.reading.squad import load_squad

    dev = load_squad(data_dir / "text/squad2_dev/dev-v2.0-shared3articles.json")
    unanswerable = [e for e in dev if not e.answerable]
    assert unanswerable and sum(1 for e in unanswerable if e.plausible_answers) >= 0.9 * len(unanswerable)
    assert all(p in e.context for e in unanswerable for p in e.plausible_answers), "spans of the paragraph"
    assert not any(e.plausible_answers for e in dev if e.answerable)
