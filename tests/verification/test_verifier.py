"""The evidence verifier end to end, and the chain-of-verification LLM judge over loopback HTTP."""
from __future__ import annotations

import json

import pytest

from mmroute.generation import create_generator
from mmroute.llm.openai_compat import ChatClient
from mmroute.types import Draft, Verdict
from mmroute.verification import VERIFIERS, EvidenceVerifier, Policy
from mmroute.verification.judge import LLMJudge, parse_judgement
from tests.helpers.fake_openai import FakeOpenAI, Reply


@pytest.fixture(scope="module")
def gen():
    return create_generator("offline")


@pytest.fixture(scope="module")
def verifier():
    v = VERIFIERS.create("evidence")
    v.warm_up()
    return v


def _run(gen, verifier, q, hits):
    d = gen.generate(q, hits)
    return d, verifier.verify(q, d, hits, gen.closed_book(q, hits))


def test_answerable_question_scores_above_its_adversarial_twin(verifier, normans_hits):
    reader = create_generator("reader")
    d = reader.generate("Who was the Norse leader?", normans_hits)
    v = verifier.verify("Who was the Norse leader?", d, normans_hits)
    assert d.text == "Rollo" and d.generator == "reader"
    assert set(v.signals) >= {"cov_window", "key_missing", "reader_expected_f1", "reader_margin", "p_correct"}
    assert v.verdict is (Verdict.SUPPORTED if v.confidence >= verifier.policy_for(d).threshold else Verdict.UNSUPPORTED)
    twin_q = "Who was the Viking admiral?"
    twin = verifier.verify(twin_q, reader.generate(twin_q, normans_hits), normans_hits)
    assert twin.confidence < v.confidence and twin.abstain


def test_dual_path_answer_is_reported_in_the_reasons(gen, verifier, normans_hits):
    d, v = _run(gen, verifier, "Who was the Norse leader?", normans_hits)
    assert d.text and "Rollo" in d.text
    assert any("second, independent path" in r for r in v.reasons)


def test_adversarial_unanswerable_question_abstains(gen, verifier, normans_hits):
    # SQuAD 2.0 5ad39d53604f3c001a3fe8d1: the paragraph says 10th/11th centuries, not 1000's/1100's
    d, v = _run(gen, verifier, "Who gave their name to Normandy in the 1000's and 1100's", normans_hits)
    assert v.abstain and v.verdict in (Verdict.UNSUPPORTED, Verdict.CONTRADICTED)
    assert any("1000" in r for r in v.reasons)


def test_no_evidence_and_no_draft(verifier, normans_hits):
    v = verifier.verify("Who?", Draft(text="Rollo"), [])
    assert v.verdict is Verdict.NO_EVIDENCE and v.abstain
    v = verifier.verify("Who?", Draft(text=None), normans_hits)
    assert v.verdict is Verdict.NO_EVIDENCE and v.abstain


def test_hallucinated_llm_answer_is_not_supported(verifier, normans_hits):
    d = Draft(text="Harald Bluetooth", evidence_ids=("squad2/Normans/0",), support="", generator="smollm2")
    v = verifier.verify("Who was the Norse leader?", d, normans_hits)
    assert v.abstain


def _judge_reply(verdict: str) -> Reply:
    return Reply.ok(json.dumps({"checks": [{"question": "Was Rollo the leader?", "answer": "yes"}],
                                "verdict": verdict, "confidence": 0.9, "explanation": "passage 1 says so"}))


def test_llm_judge_can_veto(gen, normans_hits):
    q = "Who was the Norse leader?"
    d = gen.generate(q, normans_hits)
    with FakeOpenAI([_judge_reply("supported"), _judge_reply("contradicted")]) as srv:
        lenient = Policy(("cov_window",), (1.0,), 0.0, (0.0,), (1.0,), 0.0)   # lets every draft reach the judge
        v = EvidenceVerifier(policy=lenient, judge=LLMJudge(ChatClient(srv.base_url, "judge", max_retries=0)))
        ok = v.verify(q, d, normans_hits, gen.closed_book(q, normans_hits))
        vetoed = v.verify(q, d, normans_hits, gen.closed_book(q, normans_hits))
        sent = srv.requests[0]["messages"]
    assert ok.verdict is Verdict.SUPPORTED and ok.signals["judge"] == 1.0
    assert vetoed.verdict is Verdict.CONTRADICTED and vetoed.abstain
    assert "quoted data" in sent[1]["content"] and "verification questions" in sent[0]["content"]


def test_judge_reply_parsing():
    r = parse_judgement('Sure!\n```json\n{"verdict": "supported", "confidence": 2, "checks": []}\n```')
    assert r.verdict is Verdict.SUPPORTED and r.confidence == 1.0
    assert parse_judgement("no json here").verdict is Verdict.UNSUPPORTED
    assert parse_judgement('{"verdict": "maybe"}').verdict is Verdict.UNSUPPORTED


def test_judge_endpoint_failure_is_a_veto_not_a_crash(normans_hits):
    with FakeOpenAI([Reply.status(500)]) as srv:
        r = LLMJudge(ChatClient(srv.base_url, "judge", max_retries=0)).judge("Who?", "Rollo", normans_hits)
    assert r.verdict is Verdict.UNSUPPORTED and "failed" in r.explanation
