"""The verifier and judge roles live in verification/base.py; the shipped implementations satisfy them."""

from __future__ import annotations

from mmroute.types import Verdict
from mmroute.verification import VERIFIERS, EvidenceVerifier, Judge, JudgeResult, Verifier
from mmroute.verification.judge import LLMJudge


class _Client:
    def chat(self, messages, max_tokens=0, temperature=0.0):  # noqa: ANN001, ANN201
        class R:
            text = '{"verdict": "contradicted", "confidence": 0.9, "explanation": "the passage says 1066"}'

        return R()


def test_the_shipped_verifier_and_judge_play_their_roles():
    assert isinstance(VERIFIERS.create("evidence", reader=None), Verifier)
    judge = LLMJudge(_Client())
    assert isinstance(judge, Judge) and not isinstance(EvidenceVerifier(reader=None), Judge)
    res = judge.judge("When did the Normans invade?", "1067", [])
    assert isinstance(res, JudgeResult) and res.verdict is Verdict.CONTRADICTED and res.confidence == 0.9
