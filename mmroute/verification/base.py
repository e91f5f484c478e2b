"""The verifier role and the judge role.

A :class:`Verifier` judges a generator's :class:`~mmroute.types.Draft` against the retrieved evidence
and returns a :class:`~mmroute.types.Verification` (verdict, calibrated confidence, reasons, signals;
``abstain=True`` tells the pipeline to say "I don't know"). Implementations register in
:data:`VERIFIERS`; the default is :class:`~mmroute.verification.verifier.EvidenceVerifier`.

A :class:`Judge` is a second opinion a verifier may consult (an LLM reading the evidence,
:class:`~mmroute.verification.judge.LLMJudge`): it can veto a supported answer, never rescue one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..registry import Registry
from ..types import Draft, Hit, Verdict, Verification


@runtime_checkable
class Verifier(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def verify(self, question: str, draft: Draft, hits: Sequence[Hit], alt: Draft | None = None) -> Verification:
        """Judge ``draft`` against ``hits``; ``alt`` is the dual-path answer when there is one."""
        ...


VERIFIERS: Registry[Verifier] = Registry("verifier", {"evidence": "mmroute.verification.verifier:EvidenceVerifier"})
"""Verifiers by name; factories take keyword options."""


@dataclass(frozen=True)
class JudgeResult:
    """A judge's verdict on one answer, its confidence, a one-sentence explanation and the checks it made."""

    verdict: Verdict
    confidence: float
    explanation: str
    checks: tuple[tuple[str, str], ...] = ()


@runtime_checkable
class Judge(Protocol):
    def judge(self, question: str, answer: str, hits: Sequence[Hit]) -> JudgeResult:
        """Is ``answer`` to ``question`` supported by ``hits``? A failure to judge is ``UNSUPPORTED``."""
        ...
