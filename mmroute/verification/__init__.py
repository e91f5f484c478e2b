"""Answer verification: evidence-support and dual-path signals, an optional LLM judge, and a
calibrated answer-or-abstain policy."""

from .base import VERIFIERS, Judge, JudgeResult, Verifier
from .policy import Policy
from .verifier import EvidenceVerifier

__all__ = ["VERIFIERS", "EvidenceVerifier", "Judge", "JudgeResult", "Policy", "Verifier"]
