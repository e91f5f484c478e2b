"""Answer verification: evidence-support and dual-path signals, an optional LLM judge, and a
calibrated answer-or-abstain policy."""
from .policy import Policy
from .verifier import VERIFIERS, EvidenceVerifier, Verifier

__all__ = ["VERIFIERS", "EvidenceVerifier", "Policy", "Verifier"]
