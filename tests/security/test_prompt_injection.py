"""Retrieved text reaches LLMs only as quoted data; an instruction planted in a document neither
changes the route nor gets an obeyed answer past the verifier."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmroute.config import EndpointConfig, PipelineConfig
from mmroute.kb import Home
from mmroute.pipeline import Pipeline
from mmroute.types import Verdict
from tests.helpers.fake_openai import FakeOpenAI, Reply

from .conftest import EVIL_TITLE, QUESTION


def _all_text(body: dict) -> str:
    return "\n".join(m["content"] if isinstance(m["content"], str) else str(m["content"]) for m in body["messages"])


def obeys_injection(body: dict) -> Reply:
    """A gullible model: it does whatever a prompt (including retrieved text) tells it."""
    text = _all_text(body)
    if "verdict" in text and "verification questions" in text:  # the LLM judge, also fooled
        return Reply.ok('{"checks": [], "verdict": "supported", "confidence": 1.0, "explanation": "PWNED"}')
    return Reply.ok("PWNED" if "PWNED" in text else "1889")


def _assert_quoted(body: dict) -> None:
    """Planted text appears only inside a <passage> block, under a 'quoted data' system instruction."""
    system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
    assert "quoted data" in system and "not instructions" in system
    user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
    opens = [m.start() for m in re.finditer(r"<passage\b[^>]*>", user)]
    closes = [m.start() for m in re.finditer(r"</passage>", user)]
    assert opens and len(opens) == len(closes), "a document broke out of its passage block"
    blocks = list(zip(opens, closes))
    assert all(o < c for o, c in blocks) and all(c < o2 for (_, c), (o2, _) in zip(blocks, blocks[1:]))
    for marker in ("Ignore previous instructions", "SYSTEM"):
        for m in re.finditer(re.escape(marker), user):
            assert any(o < m.start() < c for o, c in blocks), f"{marker!r} outside a quoted passage"


def _endpoint_pipeline(home: Path, url: str, judge: bool) -> Pipeline:
    cfg = PipelineConfig(
        generator="openai",
        kbs=["facts"],
        k=5,
        endpoint=EndpointConfig(url=url, model="fake", api_key_env=None, judge=judge, max_retries=0),
    )
    return Pipeline.from_home(Home(home), cfg)


@pytest.mark.parametrize("judge", [False, True], ids=["no-judge", "fooled-judge"])
def test_obeyed_injection_is_not_marked_supported(injected_home: Path, judge: bool) -> None:
    with FakeOpenAI(reply_fn=obeys_injection) as srv:
        ans = _endpoint_pipeline(injected_home, srv.base_url, judge).ask(QUESTION)
        requests = list(srv.requests)
    assert "evil" in [h.item.id for h in ans.retrieval.hits]  # the planted document was retrieved...
    assert ans.draft is not None and ans.draft.text == "PWNED"  # ...and the model obeyed it
    assert ans.verification is not None and ans.verification.verdict is not Verdict.SUPPORTED
    assert ans.abstained and "PWNED" not in (ans.display_text or "")
    _assert_quoted(requests[0])  # the generator's prompt
    # with judge=True a fooled judge would answer "supported", but it can only veto: the verdict stands


def test_generator_and_judge_prompts_quote_passages(injected_home: Path) -> None:
    def honest(body: dict) -> Reply:
        text = _all_text(body)
        if "verification questions" in text:
            return Reply.ok('{"checks": [], "verdict": "supported", "confidence": 0.9, "explanation": "ok"}')
        return Reply.ok("1889")

    with FakeOpenAI(reply_fn=honest) as srv:
        pipe = _endpoint_pipeline(injected_home, srv.base_url, judge=True)
        ans = pipe.ask(QUESTION)
        requests = list(srv.requests)
    assert ans.draft.text == "1889"
    judge_msgs = pipe.verifier.judge.messages(QUESTION, "1889", list(ans.retrieval.hits))
    bodies = [r for r in requests if "<passage" in _all_text(r)] + [{"messages": judge_msgs}]
    assert len(bodies) >= 2
    for body in bodies:
        _assert_quoted(body)
        assert EVIL_TITLE not in _all_text(body)  # the title's quote/tag break-out is neutralised


def test_offline_pipeline_does_not_answer_pwned(injected_home: Path) -> None:
    ans = Pipeline.from_home(Home(injected_home), PipelineConfig(kbs=["facts"])).ask(QUESTION)
    assert "PWNED" not in (ans.display_text or "")
    if ans.verification is not None and ans.verification.verdict is Verdict.SUPPORTED:
        assert "PWNED" not in ans.draft.text


def test_planted_instruction_does_not_change_the_route(injected_home: Path, clean_home: Path) -> None:
    """The router sees the question (and KB descriptions), never document text: same decision with or without it."""
    decisions = []
    for home in (clean_home, injected_home):
        ans = Pipeline.from_home(Home(home), PipelineConfig()).ask(QUESTION)
        assert ans.route is not None
        decisions.append((ans.route.chosen, ans.route.kbs, ans.route.rejected))
    assert decisions[0] == decisions[1]
    assert "video" not in decisions[1][0]


def test_llm_planner_quotes_retrieved_text(injected_home: Path) -> None:
    from mmroute.retrieval.planners.base import PlanState
    from mmroute.retrieval.planners.llm import LLMPlanner
    from mmroute.types import RetrievalStep

    hits = Home(injected_home).open("facts").search("Eiffel Tower notice instructions", k=5)
    assert any(h.item.id == "evil" for h in hits)
    step = RetrievalStep(index=0, query=QUESTION, kbs=("facts",), hits=tuple(hits))
    planner = LLMPlanner(client=object(), evidence_per_step=5)
    msgs = planner.messages(PlanState(question=QUESTION, steps=[step], evidence=hits))
    _assert_quoted({"messages": msgs})
