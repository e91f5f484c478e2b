"""The step-wise loop: hops, evidence ranking, budgets, stop reasons, routing across KBs."""

from __future__ import annotations

import json

import pytest

from mmroute.errors import ConfigError
from mmroute.kb import Home
from mmroute.retrieval import RETRIEVERS, Retriever
from mmroute.retrieval.planners import FollowUp, PlanState
from mmroute.retrieval.stepwise import StepwiseConfig, StepwiseRetriever
from tests.retrieval.conftest import KeywordRouter, NoRetrievalRouter

BRIDGE_Q = "Which record label issued the album that Nobody Loves You was released on?"
PHOTO_Q = "When was the engineer of the tower in the night photo born?"


class StopPlanner:
    name = "stop-stub"

    def warm_up(self) -> None:
        pass

    def plan(self, state: PlanState) -> FollowUp:
        return FollowUp.done("stub says stop", planner=self.name)


class RepeatPlanner:
    """Always asks the same follow-up, so only the budgets can end the loop."""

    name = "repeat-stub"

    def __init__(self) -> None:
        self.states: list[PlanState] = []

    def warm_up(self) -> None:
        pass

    def plan(self, state: PlanState) -> FollowUp:
        self.states.append(state)
        return FollowUp(query=f"John Lennon album {len(state.steps)}", why="stub")


def test_registered_and_conforms(world: Home) -> None:
    r = RETRIEVERS.create("stepwise", home=world, router=None, max_steps=2)
    assert isinstance(r, Retriever) and isinstance(r, StepwiseRetriever)
    assert r.config.max_steps == 2 and r.planner.name == "offline"


def test_bridge_hop_follows_the_entity_named_by_the_first_hop(world: Home) -> None:
    r = StepwiseRetriever(world, search_k=2, stop_when_sufficient=False)
    res = r.retrieve(BRIDGE_Q, k=2, kbs=["wiki"])
    assert len(res.steps) >= 2
    first, second = res.steps[0], res.steps[1]
    assert first.query == BRIDGE_Q and first.kbs == ("wiki",)
    assert "w1" in [h.item.id for h in first.hits]
    assert "w2" not in [h.item.id for h in first.hits], "the fixture must need the second hop"
    assert second.query.startswith("Walls and Bridges")
    assert "w2" in second.new_ids
    assert "bridge entity 'Walls and Bridges'" in second.note
    assert first.bridge is None and second.bridge == "Walls and Bridges"  # what the verifier's first-hop check reads
    assert set(res.ids) == {"w1", "w2"}
    # every step is recorded and serialisable; evidence is deduplicated across steps
    new = [i for s in res.steps for i in s.new_ids]
    assert len(new) == len(set(new))
    assert len(res.ids) == len(set(res.ids))
    json.dumps(res.to_dict())
    assert res.stop_reason and res.stop_reason in res.steps[-1].note


def test_follow_up_is_routed_to_a_different_kb(world: Home) -> None:
    router = KeywordRouter(["photo", "picture"], kb_if="photos", kb_else="wiki")
    r = StepwiseRetriever(world, router=router, search_k=2)
    res = r.retrieve(PHOTO_Q, k=3)
    assert res.steps[0].kbs == ("photos",) and res.steps[0].route is not None
    assert res.steps[0].hits[0].item.id == "p1"
    hop = res.steps[1]
    assert hop.query.startswith("Gustave Eiffel") and "photo" not in hop.query
    assert hop.kbs == ("wiki",) and hop.route is not None and hop.route.kbs == ("wiki",)
    assert "w5" in hop.new_ids
    # the step names its own route: the answer's route line says the KBs beyond the question's route are in the steps
    assert f"routed ({', '.join(hop.route.chosen)})" in hop.note, hop.note
    assert {("photos", "p1"), ("wiki", "w5")} <= {(h.kb, h.item.id) for h in res.hits}
    assert router.queries[:2] == [PHOTO_Q, hop.query]


def test_follow_ups_say_the_caller_named_the_kbs(world: Home) -> None:
    """With `--kb hop` every follow-up step said "routed" (a new user's run): one named KB is searched as named,
    without the router; among several named KBs the router picks and the step says among which."""
    router = KeywordRouter(["photo", "picture"], kb_if="photos", kb_else="wiki")
    res = StepwiseRetriever(world, router=router, search_k=2).retrieve(PHOTO_Q, k=3, kbs=["photos"])
    assert len(res.steps) >= 2 and router.queries == []
    assert all(s.kbs == ("photos",) and "KBs named by the caller" in s.note for s in res.steps), res.steps
    res = StepwiseRetriever(world, router=router, search_k=2).retrieve(PHOTO_Q, k=3, kbs=["photos", "wiki"])
    hop = res.steps[1]
    assert hop.kbs == ("wiki",) and "routed among the KBs named by the caller" in hop.note, hop.note


def test_without_router_follow_ups_stay_on_the_first_kbs(world: Home) -> None:
    r = StepwiseRetriever(world, search_k=2)
    res = r.retrieve(PHOTO_Q, k=3, kbs=["photos"])
    assert all(s.kbs == ("photos",) for s in res.steps[1:]) or len(res.steps) == 1


def test_step_budget(world: Home) -> None:
    res = StepwiseRetriever(world, planner=RepeatPlanner(), max_steps=1).retrieve(BRIDGE_Q, k=5, kbs=["wiki"])
    assert len(res.steps) == 1 and res.stop_reason == "step budget spent (1)"
    res = StepwiseRetriever(
        world, planner=RepeatPlanner(), max_steps=3, search_k=1, stop_when_sufficient=False
    ).retrieve(BRIDGE_Q, k=5, kbs=["wiki"])
    assert len(res.steps) == 3 and res.stop_reason == "step budget spent (3)"


def test_evidence_budget(world: Home) -> None:
    r = StepwiseRetriever(world, planner=RepeatPlanner(), max_items=3, search_k=2, max_steps=5)
    res = r.retrieve(BRIDGE_Q, k=5, kbs=["wiki"])
    assert res.stop_reason == "evidence budget spent (3 items)"
    assert len(res.hits) == 3 and len(res.steps) == 2
    assert sum(len(s.new_ids) for s in res.steps) == 3


def test_the_default_evidence_budget_lets_a_question_routed_to_several_kbs_step() -> None:
    """At 40 items, a question routed to two KBs (20 candidates each) spent the budget on its first search
    and never took a follow-up: every default step of a route to two or three KBs must fit."""
    cfg = StepwiseConfig()
    assert cfg.max_items >= 2 * cfg.search_k * cfg.max_steps
    assert cfg.max_items >= 3 * cfg.search_k * (cfg.max_steps - 1)


def test_time_budget(world: Home) -> None:
    r = StepwiseRetriever(world, planner=RepeatPlanner(), time_budget_s=0.0, max_steps=5)
    res = r.retrieve(BRIDGE_Q, k=5, kbs=["wiki"])
    assert len(res.steps) == 1 and res.stop_reason == "time budget spent (0 s)"


def test_planner_stop_and_planner_sees_state(world: Home) -> None:
    res = StepwiseRetriever(world, planner=StopPlanner()).retrieve(BRIDGE_Q, k=3, kbs=["wiki"])
    assert len(res.steps) == 1 and res.stop_reason == "planner stopped: stub says stop"
    planner = RepeatPlanner()
    StepwiseRetriever(world, planner=planner, max_steps=3, search_k=2, stop_when_sufficient=False).retrieve(
        BRIDGE_Q, k=3, kbs=["wiki"]
    )
    first, second = planner.states
    assert first.question == BRIDGE_Q and len(first.steps) == 1 and first.asked == (BRIDGE_Q,)
    assert set(first.indexes) == {"wiki"} and len(second.steps) == 2
    assert second.steps[1].query == "John Lennon album 1" and second.evidence


def test_sufficient_evidence_stops_early(world: Home) -> None:
    q = "Nobody Loves You song album Walls and Bridges Apple Records"
    res = StepwiseRetriever(world, planner=RepeatPlanner(), max_steps=3).retrieve(q, k=2, kbs=["wiki"])
    assert res.stop_reason == "evidence suffices" and len(res.steps) == 1
    assert set(res.ids) == {"w1", "w2"}


def test_router_choosing_no_retrieval(world: Home) -> None:
    res = StepwiseRetriever(world, router=NoRetrievalRouter()).retrieve("What is 2 + 2?", k=3)
    assert res.hits == () and len(res.steps) == 1 and res.steps[0].kbs == ()
    assert res.stop_reason == "router chose no retrieval"


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        StepwiseConfig(max_steps=0)
    with pytest.raises(ConfigError):
        StepwiseConfig(max_items=0)


def test_an_item_held_by_two_kbs_is_one_piece_of_evidence(tmp_path) -> None:  # noqa: ANN001
    """A KB and its copy (``kb copy wiki wiki2``) both answer: the evidence held the same paragraph 3 times in 5.
    The same id and words from another file (two folders' ``IMG_0001.JPG``) stay two items."""
    from mmroute.indexer import Indexer
    from tests.retrieval.conftest import HASH, WIKI, make_kb

    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "wiki", WIKI)
    Indexer(home).index("wiki2", tmp_path / "wiki.jsonl", granularity="paragraph", encoder=HASH)  # the same file
    make_kb(home, tmp_path, "other", WIKI)  # the same rows, written to other.jsonl

    def retrieve(*kbs: str) -> list:
        return StepwiseRetriever(home, config=StepwiseConfig(max_steps=1)).retrieve(BRIDGE_Q, k=5, kbs=list(kbs)).hits

    both = retrieve("wiki", "wiki2")
    shown = [(h.item.id, h.item.text) for h in both]
    assert len(both) == 5 and len(set(shown)) == 5, shown
    assert [h.item.id for h in both] == [h.item.id for h in retrieve("wiki")]  # the same evidence as one KB gives
    apart = retrieve("wiki", "other")
    assert len({(h.item.id, h.item.text) for h in apart}) < 5  # the control: another file's items are not merged
