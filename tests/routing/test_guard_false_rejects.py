"""The guard never rejects a real question: acronyms, names, numbers, non-English proper nouns pass; keyboard
mash is still rejected (the negative control). Every question of the shared data: evals/eval/eval_guard_false_rejects.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.eval.eval_guard_false_rejects import GENERATED
from mmroute.routing.default import default_router


@pytest.fixture(scope="module")
def guard():
    return default_router().guard


@pytest.mark.parametrize("question", GENERATED)
def test_real_questions_pass(guard, question: str) -> None:
    assert guard.check_text(question).action == "pass", guard.check_text(question)


@pytest.mark.parametrize("mash", ["asdkjh qwkejh zxcmnb", "sdfghjkl", "qwrtzp xcvbnm lkjhg", "ksjdf lskdjf wpeori"])
def test_keyboard_mash_is_rejected(guard, mash: str) -> None:
    assert guard.check_text(mash).action == "reject"


SYLLABLES = ["ka", "zhu", "ngu", "yen", "bjo", "rk", "tsi", "pas", "wło", "dzi", "mierz", "xi", "qin", "oğ", "lu"]
name = st.lists(st.sampled_from(SYLLABLES), min_size=2, max_size=4).map(lambda s: "".join(s).capitalize())
acronym = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=5)
year = st.integers(1000, 2030).map(str)
TEMPLATES = (
    "Who won the {y} {a} {n} Cup?",
    "When did {n} {n2} join {a}?",
    "What did {n} write in {y}?",
    "Where is {n} located?",
    "How many members does {a} have in {n}?",
)


@settings(max_examples=150, deadline=None)
@given(t=st.sampled_from(TEMPLATES), n=name, n2=name, a=acronym, y=year)
def test_generated_questions_with_names_acronyms_and_numbers_pass(guard, t, n, n2, a, y) -> None:
    q = t.format(n=n, n2=n2, a=a, y=y)
    assert guard.check_text(q).action == "pass", (q, guard.check_text(q))


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("Los Angeles Times reasons las two based", None),  # a step-wise follow-up query of an English question
        ("Las Vegas is in which state of the US?", None),
        ("De la Rosa won what in 1999?", None),
        ("¿Cuál es la capital de la provincia de Los Ríos?", "es"),  # the controls: the languages themselves
        ("El Paso de los Toros es una ciudad del Uruguay", "es"),
        ("Quelle est la capitale de la France et pourquoi est-elle si grande ?", "fr"),
        ("¿Dónde está Normandía?", "es"),  # a new user's: no function word, but only Spanish opens with "¿"
        ("Qui était Rollon ?", "fr"),  # a new user's: "était" is French's "was"
        ("Wer war Rollo und wann wurde er geboren?", "de"),
        ("Quem foi Rollo?", "pt"),
        ("Who was Rollo, and what did the Normans call him?", None),
    ],
)
def test_function_words_inside_names_say_nothing_of_the_language(query: str, language: str | None) -> None:
    from mmroute.routing.guard import QueryGuard

    assert QueryGuard.language(query) == language
