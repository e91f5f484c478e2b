"""The verifier role and the default evidence verifier.

A verifier judges a generator's :class:`~mmroute.types.Draft` against the retrieved evidence and
returns a :class:`~mmroute.types.Verification`: a verdict (supported / unsupported / contradicted /
no_evidence), a confidence (the calibrated probability that the answer is correct), human-readable
reasons and the raw signals. ``abstain=True`` tells the pipeline to say "I don't know".

:class:`EvidenceVerifier` combines

- the evidence-support signals of :mod:`.signals`;
- the dual-path signal: agreement between the draft and a second answer produced without the primary
  path (an LLM's closed-book answer; for the offline extractor, a lexical-only reading of the evidence);
- optionally an LLM judge (:class:`~mmroute.verification.judge.LLMJudge`), which can only veto;

through the calibrated :class:`~mmroute.verification.policy.Policy`.

>>> v = EvidenceVerifier()
>>> ver = v.verify(question, draft, hits, alt=alt_draft)
>>> ver.verdict, ver.confidence, ver.reasons
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from ..registry import Registry
from ..types import Draft, Hit, Verdict, Verification
from ..generation.embedding import SentenceEmbedder, shared_embedder
from ..generation.question import analyze_question
from .policy import Policy
from .signals import answer_agreement, compute_signals


@runtime_checkable
class Verifier(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def verify(self, question: str, draft: Draft, hits: Sequence[Hit], alt: Draft | None = None) -> Verification:
        """Judge ``draft`` against ``hits``; ``alt`` is the dual-path answer when there is one."""
        ...


VERIFIERS: Registry[Verifier] = Registry("verifier")


def signal_vector(question: str, draft: Draft, hits: Sequence[Hit], alt: Draft | None,
                  embedder: SentenceEmbedder) -> tuple[dict[str, float], dict[str, list[str]]]:
    """All signals the policy sees (evidence support + dual path + the generator's own margin)."""
    sig, words = compute_signals(question, draft, hits, embedder, analyze_question(question))
    sig["dual_agree"] = answer_agreement(draft.text, alt.text) if alt is not None else 0.0
    sig["dual_available"] = float(alt is not None and alt.text is not None)
    sig["draft_score"] = float(draft.score)
    return sig, words


class EvidenceVerifier:
    """Evidence + dual-path verifier with a calibrated answer-or-abstain policy (see module doc)."""

    name = "evidence"

    def __init__(self, policy: Policy | str | None = None, judge: Any = None,
                 embedder: SentenceEmbedder | None = None) -> None:
        self._policy_arg = policy
        self._policy: Policy | None = policy if isinstance(policy, Policy) else None
        self.judge = judge
        self._embedder = embedder

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = Policy.load(Path(self._policy_arg) if isinstance(self._policy_arg, str) else None)
        return self._policy

    @property
    def embedder(self) -> SentenceEmbedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def warm_up(self) -> None:
        self.embedder.warm_up()
        _ = self.policy

    def verify(self, question: str, draft: Draft, hits: Sequence[Hit], alt: Draft | None = None) -> Verification:
        if not hits:
            return Verification(Verdict.NO_EVIDENCE, 0.0, ("nothing was retrieved for this question",), {}, True)
        if not draft.text:
            return Verification(Verdict.NO_EVIDENCE, 0.0,
                                ("the generator found no answer in the retrieved evidence",), {}, True)
        sig, words = signal_vector(question, draft, hits, alt, self.embedder)
        p = self.policy.probability(sig)
        sig["p_correct"] = p
        reasons = self._reasons(sig, words, alt)
        verdict = Verdict.SUPPORTED if p >= self.policy.threshold else Verdict.UNSUPPORTED
        if sig["number_conflict"] >= 1.0:
            verdict = Verdict.CONTRADICTED
            reasons.insert(0, "a number in the question differs from the one in the evidence")
        elif sig["entities_in_evidence"] < 0.5 or sig["numbers_agree"] < 0.5:
            verdict = Verdict.CONTRADICTED if sig["numbers_agree"] < 0.5 else Verdict.UNSUPPORTED
            reasons.insert(0, "the answer names things (names or numbers) that the evidence does not contain")
        if self.judge is not None and verdict is Verdict.SUPPORTED:
            jr = self.judge.judge(question, draft.text, hits)
            sig["judge"] = {"supported": 1.0, "unsupported": 0.0, "contradicted": -1.0}.get(jr.verdict.value, 0.0)
            reasons.append(f"LLM judge: {jr.verdict.value} ({jr.explanation})" if jr.explanation
                           else f"LLM judge: {jr.verdict.value}")
            if jr.verdict is not Verdict.SUPPORTED:
                verdict = jr.verdict
        abstain = verdict is not Verdict.SUPPORTED
        head = (f"supported: p(correct)={p:.2f} >= threshold {self.policy.threshold:.2f}" if not abstain
                else f"abstaining: p(correct)={p:.2f} (threshold {self.policy.threshold:.2f})")
        return Verification(verdict, p, tuple([head, *reasons]), sig, abstain)

    def _reasons(self, sig: dict[str, float], words: dict[str, list[str]], alt: Draft | None) -> list[str]:
        out: list[str] = []
        if words.get("key_missing"):
            out.append(f"names/numbers of the question not in the evidence: {', '.join(words['key_missing'])}")
        if words.get("missing"):
            out.append(f"question words not near the answer: {', '.join(words['missing'][:6])}")
        else:
            out.append("every content word of the question appears around the answer")
        if sig.get("negation_mismatch"):
            out.append("the question and the supporting sentence differ in negation")
        if alt is not None:
            if sig["dual_agree"] >= 0.99:
                out.append(f"a second, independent path gives the same answer ({alt.generator})")
            elif alt.text:
                out.append(f"a second path ({alt.generator}) answers differently: {alt.text!r}")
            else:
                out.append(f"a second path ({alt.generator}) finds no answer")
        out.append(f"question-evidence similarity {sig['sim_q_support']:.2f}")
        top = [f"{f} {v:+.2f}" for f, v in self.policy.contributions(sig)[:3]]
        out.append("strongest signals (log-odds): " + ", ".join(top))
        return out


@VERIFIERS.register("evidence")
def _evidence(**options: Any) -> EvidenceVerifier:
    return EvidenceVerifier(**options)
