"""Both planners: the offline bridge-entity planner, and the LLM planner against a loopback server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mmroute.kb import Home
from mmroute.retrieval.lexical import TitleIndex
from mmroute.retrieval.planners import LLMPlanner, OfflinePlanner, PlanState, parse_reply
from mmroute.retrieval.planners.llm import RETRIEVERS_TO_MODALITY, MalformedPlan
from mmroute.retrieval.stepwise import StepwiseRetriever
from mmroute.types import Granularity, Hit, Item
from tests.helpers.fake_openai import FakeOpenAI, Reply, down_url
from tests.retrieval.conftest import WIKI

Q = "Which record label issued the album that Nobody Loves You was released on?"
GOOD = (
    "<think>The album is known; its label is not.</think>\n<sub-question>Which label issued Walls and "
    "Bridges?</sub-question>\n<ret>Text Retriever</ret>"
)


def _items() -> dict[str, Item]:
    return {i: Item(id=i, kind=Granularity.PARAGRAPH, title=t, text=x) for i, t, x in WIKI}


def _state(evidence_ids: list[str], **kw: object) -> PlanState:
    items = _items()
    hits = [Hit(item=items[i], score=1.0 - n / 10, kb="wiki", rank=n + 1) for n, i in enumerate(evidence_ids)]
    return PlanState(
        question=Q, steps=(), evidence=tuple(hits), indexes={"wiki": TitleIndex(list(items.values()), "text")}, **kw
    )  # type: ignore[arg-type]


# ----- offline ---------------------------------------------------------------------------------
def test_offline_targets_the_entity_the_question_does_not_name() -> None:
    f = OfflinePlanner().plan(_state(["w1", "w3"]))
    assert not f.stop and f.target == "Walls and Bridges" and f.modality == "text"
    words = f.query.split()
    assert f.query.startswith("Walls and Bridges") and "record" in words and "label" in words
    assert "nobody" not in words, "words the first hop already covers are not repeated"


def test_offline_follows_a_bridge_found_lower_down_but_not_the_best_evidence() -> None:
    # Walls and Bridges already ranks second: the hop is still taken (it confirms the chain and lets the
    # retriever rank the bridge by the follow-up), but an entity that is the best evidence is not re-searched
    assert OfflinePlanner().plan(_state(["w1", "w2"])).target == "Walls and Bridges"
    f = OfflinePlanner().plan(_state(["w2", "w1"]))
    assert f.target != "Walls and Bridges"
    assert OfflinePlanner(skip_top=2).plan(_state(["w1", "w2"])).target != "Walls and Bridges"


def test_offline_takes_a_span_after_the_titles_and_then_stops() -> None:
    f = OfflinePlanner().plan(_state(["w1"], targets=("Walls and Bridges",)))
    assert f.target == "John Lennon" and f.why.startswith("bridge span")
    assert f.trust == 0.0, "a guessed span's hits are ranked by the question, not by the span"
    assert not f.bridge, "a guessed span is no KB item the evidence named"
    f = OfflinePlanner().plan(_state(["w1"], targets=("Walls and Bridges", "John Lennon")))  # not the bare "1974"
    assert f.stop and "no unexplored bridge entity" in f.why
    assert not OfflinePlanner(spans=False).plan(_state(["w1"], targets=("Walls and Bridges",))).target


def test_offline_decomposes_a_question_that_names_two_entities() -> None:
    items = _items()
    question = "Which was released first, Double Fantasy or Mind Games?"
    hits = tuple(Hit(item=items[i], score=1.0 - n / 10, kb="wiki", rank=n + 1) for n, i in enumerate(["w4", "w3"]))
    state = PlanState(
        question=question,
        steps=(),
        evidence=hits,
        indexes={"wiki": TitleIndex(list(items.values()), "text")},
        targets=("Yoko Ono",),  # the bridge from Double Fantasy's text, already followed
    )
    f = OfflinePlanner().plan(state)
    assert f.why.startswith("named entity") and f.target == "Double Fantasy" and f.trust == 1.0
    assert not f.bridge, "an entity the question names is not a bridge past it"
    assert f.query.split()[2:] == ["released", "first"], "the entity, then the question's other words"
    again = OfflinePlanner().plan(PlanState(**{**state.__dict__, "targets": ("Yoko Ono", "Double Fantasy")}))
    assert again.target == "Mind Games"
    assert OfflinePlanner(compare=False, spans=False).plan(state).stop


def test_offline_without_titles_uses_proper_nouns_of_the_answer_sentence() -> None:
    item = Item(
        id="x", kind=Granularity.PARAGRAPH, text="Photo of a tower at night. It was built by Gustave Eiffel's company."
    )
    state = PlanState(
        question="Who built the tower in the night photo?",
        steps=(),
        evidence=(Hit(item=item, score=0.5, kb="photos"),),
        indexes={},
    )
    f = OfflinePlanner().plan(state)
    assert f.target is not None and f.target.startswith("Gustave Eiffel")


# ----- LLM reply format ------------------------------------------------------------------------
def test_parse_reply_good_none_and_malformed() -> None:
    step = parse_reply(GOOD)
    assert step.sub_question == "Which label issued Walls and Bridges?" and step.modality == "text"
    assert (
        parse_reply("<sub-question>Describe the statue</sub-question><ret>Text Image Retriever</ret>").modality
        == "image"
    )
    assert parse_reply("<sub-question>None</sub-question>\n<ret>None</ret>").sub_question is None
    for bad in (
        "Walls and Bridges",
        "<sub-question></sub-question><ret>Text Retriever</ret>",
        "<sub-question>a?</sub-question><ret>Web Search</ret>",
        "<sub-question>a?</sub-question><sub-question>b?</sub-question><ret>Text Retriever</ret>",
        "<sub-question>a?</sub-question><ret>None</ret>",
    ):
        with pytest.raises(MalformedPlan):
            parse_reply(bad)


def test_reply_format_covers_the_r1router_gold_traces(data_dir: Path) -> None:
    path = data_dir / "stepwise" / "r1router_valid_traces.jsonl"
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        for step in json.loads(line)["steps"]:
            if step["step_type"] != "ret":
                continue
            gold = step["answer"]
            reply = f"<think>x</think><sub-question>{gold['query']}</sub-question><ret>{gold['retriever'][0]}</ret>"
            parsed = parse_reply(reply)
            assert gold["retriever"][0] in RETRIEVERS_TO_MODALITY
            if gold["query"].strip().lower() == "none":
                assert parsed.sub_question is None
            else:
                assert parsed.sub_question == " ".join(gold["query"].split())
            n += 1
    assert n > 300


# ----- LLM planner over HTTP -------------------------------------------------------------------
def test_llm_planner_good_reply_drives_the_next_hop(world: Home) -> None:
    with FakeOpenAI([Reply.ok(GOOD), Reply.ok("<sub-question>None</sub-question><ret>None</ret>")]) as srv:
        planner = LLMPlanner(base_url=srv.base_url, model="planner-test", timeout_s=5)
        res = StepwiseRetriever(world, planner=planner, search_k=2, stop_when_sufficient=False).retrieve(
            Q, k=3, kbs=["wiki"]
        )
        assert [s.query for s in res.steps] == [Q, "Which label issued Walls and Bridges?"]
        assert "w2" in res.ids
        assert res.stop_reason.startswith("planner stopped: the model says")
        first = srv.requests[0]
        assert first["model"] == "planner-test" and first["temperature"] == 0
        user = first["messages"][1]["content"]
        assert f"Original question: {Q}" in user and "Sub-question1:" in user and "Retrieved1-0:" in user
        assert "Sub-question2: Which label issued Walls and Bridges?" in srv.requests[1]["messages"][1]["content"]


def test_llm_planner_malformed_reply_falls_back_to_offline(world: Home) -> None:
    with FakeOpenAI([Reply.ok("Sure! Look up Walls and Bridges next.")]) as srv:
        planner = LLMPlanner(base_url=srv.base_url, model="m", timeout_s=5)
        res = StepwiseRetriever(world, planner=planner, search_k=2, max_steps=2, stop_when_sufficient=False).retrieve(
            Q, k=3, kbs=["wiki"]
        )
        hop = res.steps[1]
        assert hop.query.startswith("Walls and Bridges")
        assert "llm fallback: malformed reply (expected one <sub-question> tag, found 0)" in hop.note


def test_llm_planner_slow_or_down_endpoint_falls_back_in_time() -> None:
    with FakeOpenAI([Reply.slow(3.0, GOOD)]) as srv:
        planner = LLMPlanner(base_url=srv.base_url, model="m", timeout_s=0.3, max_retries=0)
        t = time.perf_counter()
        f = planner.plan(_state(["w1"]))
        assert time.perf_counter() - t < 2.5
        assert f.why.startswith("llm fallback: endpoint failed") and f.target == "Walls and Bridges"
    f = LLMPlanner(base_url=down_url(), model="m", timeout_s=0.5).plan(_state(["w1"]))
    assert f.why.startswith("llm fallback: endpoint failed") and not f.stop


def test_llm_planner_repeated_sub_question_falls_back() -> None:
    with FakeOpenAI([Reply.ok(f"<sub-question>{Q}</sub-question><ret>Text Retriever</ret>")]) as srv:
        f = LLMPlanner(base_url=srv.base_url, model="m").plan(_state(["w1"], asked=(Q,)))
        assert "repeated an earlier sub-question" in f.why and f.target == "Walls and Bridges"


def test_offline_follow_up_keeps_the_question_as_context_when_nothing_is_missing() -> None:
    # the first hop holds every word of the question: the follow-up is not the bare entity ("Nevada")
    items = _items()
    state = PlanState(
        question="Which album was Nobody Loves You released on?",
        steps=(),
        evidence=(Hit(item=items["w1"], score=0.9, kb="wiki", rank=1),),
        indexes={"wiki": TitleIndex(list(items.values()), "text")},
    )
    f = OfflinePlanner().plan(state)
    assert f.target == "Walls and Bridges"
    assert f.query.startswith("Walls and Bridges ") and "album" in f.query.split()[3:]


@pytest.mark.parametrize(
    ("span", "tidy"),
    [
        ("Pikolo Espresso Bar.", "Pikolo Espresso Bar"),  # a caption's full stop ('Pikolo Espresso Bar. picture')
        ("History.The", "History"),  # a corpus's lost sentence break ('History.The x')
        ("P.S. Jerusalem", "P.S. Jerusalem"),
        ("John F.", "John F."),
        ("U.S.", "U.S."),
        ("St. Louis", "St. Louis"),
        ("Since Turing", "Turing"),  # a sentence's first word ('Since Turing kind standard')
        (
            "Photograph of Eileen Collins",
            "Eileen Collins",
        ),  # a caption's medium word ('Photograph of Eileen Collins photo')
        ("Japan Football League", "Japan Football League"),
    ],
)
def test_a_bridge_span_leaves_behind_what_its_pattern_takes_from_around_it(span: str, tidy: str) -> None:
    from mmroute.retrieval.planners.offline import tidy_span

    assert tidy_span(span) == tidy


def test_a_span_inside_its_sentence_keeps_its_own_capitals() -> None:
    """'... the Near East.' gave "East" once "Near" counted as a sentence's opening word; only a span that opens its
    sentence loses an opening function word. An article goes either way."""
    from mmroute.retrieval.planners.offline import tidy_span

    assert tidy_span("Near East.", opens=False) == "Near East" and tidy_span("Near East", opens=True) == "East"
    assert tidy_span("The Duchy of Normandy", opens=False) == "Duchy of Normandy"


def test_offline_follows_nothing_up_for_a_question_with_no_words_beyond_its_medium() -> None:
    """ "What is in this picture?" asked with a photo of coffee followed up 'Pikolo Espresso Bar. picture' and 'Rachel
    Michetti picture' (the caption's credits). The control: a question with words of its own still gets its span,
    without the caption's full stop."""
    item = Item(
        id="coffee.png",
        kind=Granularity.IMAGE,
        text="Coffee cup. This photograph is courtesy of Pikolo Espresso Bar. It was taken by Rachel Michetti.",
    )
    hits = (Hit(item=item, score=0.99, kb="photos", rank=1),)
    bare = OfflinePlanner().plan(PlanState(question="What is in this picture?", steps=(), evidence=hits, indexes={}))
    assert bare.stop and bare.why == "the question has no words beyond its medium to follow up"
    worded = OfflinePlanner().plan(
        PlanState(question="Which espresso bar gave this photograph?", steps=(), evidence=hits, indexes={})
    )
    assert not worded.stop and worded.target == "Pikolo Espresso Bar"
