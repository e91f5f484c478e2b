"""The default evidence verifier (the role, :class:`~mmroute.verification.base.Verifier`, is in :mod:`.base`).

A verifier judges a generator's :class:`~mmroute.types.Draft` against the retrieved evidence and
returns a :class:`~mmroute.types.Verification`: a verdict (supported / unsupported / contradicted /
no_evidence), a confidence (the calibrated probability that the answer is correct), human-readable
reasons and the raw signals. ``abstain=True`` tells the pipeline to say "I don't know".

:class:`EvidenceVerifier` combines

- the evidence-support signals of :mod:`.signals`;
- the reader signals of :mod:`.reading`: the verifier reads the evidence itself with the packaged
  extractive reader and asks how likely the draft is under the reader's span distribution, whoever
  wrote it (the reader generator, an LLM, an endpoint), and whether the evidence holds an answer at all;
- the dual-path signal: agreement between the draft and a second answer produced without the primary
  path (an LLM's closed-book answer; for the lexical extractor, a second lexical reading);
- optionally an LLM judge (:class:`~mmroute.verification.judge.LLMJudge`), which can only veto;

through a calibrated :class:`~mmroute.verification.policy.Policy`, one per generator kind
(:class:`~mmroute.verification.policy.PolicySet`): reader drafts and drafts of any other generator are
calibrated separately, so an LLM's correct answer is not judged by the reader's habits.

Beside the verdict, an answer to a "how many" question is shown with any other count of the same words that the
evidence gives (:mod:`.counts`: "the evidence also gives another count: 'seven metropolitan areas' ...").

>>> v = EvidenceVerifier()
>>> ver = v.verify(question, draft, hits, alt=alt_draft)
>>> ver.verdict, ver.confidence, ver.reasons
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..generation.answer_sentence import first_sentence
from ..generation.embedding import SentenceEmbedder, shared_embedder
from ..generation.question import analyze_question
from ..types import ESTIMATE_SIGNAL, THRESHOLD_SIGNAL, Draft, Hit, Verdict, Verification, percentages
from .base import Judge
from .claim import claim_draft
from .counts import with_other_counts
from .explain import (
    ALL_WORDS_AROUND,
    READER_AGREES,
    REASONS,
    bridged_finding,
    reader_view,
    weighed_against,
    weighs_for,
)
from .policy import Policy, PolicySet, policy_kind
from .reading import reader_signals, sentence_signals
from .signals import answer_agreement, compute_signals
from .support import SupportModel, shared_support_model


def signal_vector(
    question: str,
    draft: Draft,
    hits: Sequence[Hit],
    alt: Draft | None,
    embedder: SentenceEmbedder,
    reader: Any = None,
    support_model: SupportModel | None = None,
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """All signals a policy may use: evidence support, the reader's view, the learned support model's
    log-odds (``support_model``), dual path, the draft's own score.

    A sentence answer is judged by its claim (:mod:`.claim`); ``words["claim"]`` holds it when it differs."""
    claimed = claim_draft(question, draft, hits, reader)
    if not claimed.support:  # an answer with no sentence in the evidence is read against its first one, as ever
        claimed = replace(claimed, support=first_sentence(hits))
    sig, words = compute_signals(question, claimed, hits, embedder, analyze_question(question))
    if claimed.text != draft.text:
        words["claim"] = [claimed.text or ""]
    draft = claimed
    sig["dual_agree"] = answer_agreement(draft.text, alt.text) if alt is not None else 0.0
    sig["dual_available"] = float(alt is not None and alt.text is not None)
    sig["draft_score"] = float(draft.score)
    if support_model is not None:
        texts = [h.item.readable for h in hits]
        sig["support_model"] = support_model.logit(question, draft.text or "", texts, draft.support)
    if reader is not None:
        from ..generation.reader_gen import passage_bonus, ranked_spans, reading_chunks

        _, chunks = reading_chunks(question, hits)
        reading = reader.read(question, [c.text for c in chunks])
        sig.update(reader_signals(draft.text or "", reading, ranked_spans(reading, chunks), 0.0, passage_bonus(chunks)))
        sig.update(
            sentence_signals(draft.text or "", reader.read(question, [draft.support]) if draft.support else None)
        )
    return sig, words


class EvidenceVerifier:
    """Evidence + dual-path verifier with a calibrated answer-or-abstain policy (see module doc)."""

    name = "evidence"

    def __init__(
        self,
        policy: Policy | PolicySet | str | None = None,
        judge: Judge | None = None,
        embedder: SentenceEmbedder | None = None,
        reader: Any = "packaged",
        support_model: SupportModel | str | None = "packaged",
        threshold: float | None = None,
    ) -> None:
        """``threshold``: the estimated chance of being right an answer needs to be shown, for every generator,
        instead of each policy's calibrated one (the user guide's "How strict" gives the measured trade-off)."""
        if threshold is not None and (isinstance(threshold, bool) or not 0.0 <= float(threshold) <= 1.0):
            raise ConfigError(
                f"the verifier's threshold is an estimated chance between 0 and 1, not {threshold!r:.40}",
                hint="e.g. --verifier-option threshold=0.3 to answer more (and be wrong more often)",
            )
        self.threshold = None if threshold is None else float(threshold)
        self._policy_arg = policy
        self._policies: PolicySet | None = PolicySet.of(policy) if isinstance(policy, (Policy, PolicySet)) else None
        self.judge = judge
        self._embedder = embedder
        self._reader_arg = reader
        self._support_arg = support_model

    @property
    def policies(self) -> PolicySet:
        if self._policies is None:
            self._policies = PolicySet.load(Path(self._policy_arg) if isinstance(self._policy_arg, str) else None)
        return self._policies

    @property
    def policy(self) -> Policy:
        """The policy for drafts of generators without their own (LLMs, endpoints)."""
        return self.policies.for_kind("generic")

    @property
    def uses_dual_path(self) -> bool:
        """Whether any policy weighs the dual-path answer (if none does, the pipeline need not ask for one)."""
        return any(f.startswith("dual_") for p in self.policies.policies.values() for f in p.features)

    def policy_for(self, draft: Draft) -> Policy:
        return self.policies.for_kind(policy_kind(draft.generator))

    @property
    def reader(self) -> Any:
        """The reader behind the reader signals (None when the policy needs none, or ``reader=None``)."""
        if isinstance(self._reader_arg, str):
            if not any(f.startswith("reader_") for p in self.policies.policies.values() for f in p.features):
                return None
            from ..reading.reader import shared_reader

            self._reader_arg = shared_reader(self._reader_arg)
        return self._reader_arg

    @property
    def support_model(self) -> SupportModel | None:
        """The learned support model (None when no policy weighs it, or ``support_model=None``)."""
        if isinstance(self._support_arg, str):
            if not any("support_model" in p.features for p in self.policies.policies.values()):
                return None
            self._support_arg = (
                shared_support_model() if self._support_arg == "packaged" else shared_support_model(self._support_arg)
            )
        return self._support_arg

    @property
    def embedder(self) -> SentenceEmbedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def warm_up(self) -> None:
        from ..text import stem

        stem("began")  # loads the lemma tables (0.3 s) here, not in the first question's verification
        self.embedder.warm_up()
        if self.reader is not None:
            self.reader.warm_up()
        if self.support_model is not None:
            self.support_model.warm_up()

    def verify(self, question: str, draft: Draft, hits: Sequence[Hit], alt: Draft | None = None) -> Verification:
        if not hits:
            return Verification(Verdict.NO_EVIDENCE, 0.0, ("nothing was retrieved for this question",), {}, True)
        if not draft.text:
            return Verification(
                Verdict.NO_EVIDENCE, 0.0, ("the generator found no answer in the retrieved evidence",), {}, True
            )
        sig, words = signal_vector(question, draft, hits, alt, self.embedder, self.reader, self.support_model)
        policy = self.policy_for(draft)
        p = policy.probability(sig)
        sig[ESTIMATE_SIGNAL] = p
        shown = shown_words(question, words)
        against_facts, favour = self._reasons(sig, shown, alt, policy, policy_kind(draft.generator))
        threshold = policy.threshold if self.threshold is None else self.threshold
        sig[THRESHOLD_SIGNAL] = threshold
        low = p < threshold  # withheld on the estimate: the findings in its favour are said to be so
        reasons = [*against_facts, *(([f"in its favour: {'; '.join(favour)}"] if favour else []) if low else favour)]
        verdict = Verdict.SUPPORTED if p >= threshold else Verdict.UNSUPPORTED
        if sig["number_conflict"] >= 1.0:
            verdict = Verdict.CONTRADICTED
            reasons.insert(0, "a number in the question differs from the one in the evidence")
        elif sig["entities_in_evidence"] < 0.5 or sig["numbers_agree"] < 0.5:
            verdict = Verdict.CONTRADICTED if sig["numbers_agree"] < 0.5 else Verdict.UNSUPPORTED
            reasons.insert(0, "the answer names things (names or numbers) that the evidence does not contain")
        if self.judge is not None and verdict is Verdict.SUPPORTED:
            jr = self.judge.judge(question, draft.text, hits)
            sig["judge"] = {"supported": 1.0, "unsupported": 0.0, "contradicted": -1.0}.get(jr.verdict.value, 0.0)
            reasons.append(
                f"LLM judge: {jr.verdict.value} ({jr.explanation})"
                if jr.explanation
                else f"LLM judge: {jr.verdict.value}"
            )
            if jr.verdict is not Verdict.SUPPORTED:
                verdict = jr.verdict
        abstain = verdict is not Verdict.SUPPORTED
        if words.get("claim"):
            reasons.insert(0, f"the answer's claim, checked against the evidence: {words['claim'][0]!r}")
        if low:
            against = weighed_against(policy, sig, shown)
            reasons.insert(
                0,
                "what weighed most against it: " + "; ".join(against)
                if against
                else "no finding weighed much against it on its own: the estimate is low because answers with "
                "signals like these were often wrong on the calibration questions",
            )
        said, needs = percentages(p, threshold)
        head = (
            f"supported: estimated chance the answer is right {said} (needs {needs})"
            if not abstain
            else f"withheld: estimated chance the answer is right is only {said} (needs {needs})"
        )
        checked = Verification(verdict, p, tuple([head, *reasons]), sig, abstain)
        return with_other_counts(question, words["claim"][0] if words.get("claim") else draft.text, hits, checked)

    def _reasons(
        self,
        sig: dict[str, float],
        words: Mapping[str, Sequence[str]],
        alt: Draft | None,
        policy: Policy,
        kind: str,
    ) -> tuple[list[str], list[str]]:
        """Plain-language findings about the texts, those against the answer and those in its favour: question
        words as the user wrote them, no stems or signal names. That the reader picks the same answer is only
        said of another generator's draft: of the reader's own, it is the reader agreeing with itself."""
        against: list[str] = []
        favour: list[str] = []
        if words.get("key_missing") or words.get("key_in_title"):
            against.append(REASONS["key_missing"].say(1.0, words))
        if words.get("key_bridged_surface") and len(words.get("bridge", ())) == 2:
            favour.append(bridged_finding(words))
        if words.get("missing"):
            against.append(REASONS["missing_terms"].say(1.0, words))
        elif words.get("terms"):  # never of a question with no content words ("What is in this picture?")
            favour.append(ALL_WORDS_AROUND)
        for signal in ("negation_mismatch", "opposite_conflict"):
            if sig.get(signal):
                against.append(REASONS[signal].say(1.0, words))
        for finding in reader_view(sig):
            if finding != READER_AGREES:
                against.append(finding)
            elif kind != "reader":
                favour.append(finding)
        if alt is not None:
            if sig["dual_agree"] >= 0.99:
                favour.append(f"a second, independent path gives the same answer ({alt.generator})")
            elif alt.text:
                against.append(f"a second path ({alt.generator}) answers differently: {alt.text!r}")
            else:
                against.append(f"a second path ({alt.generator}) finds no answer")
        return against, [f for f in favour if weighs_for(policy, sig, f)]


def shown_words(question: str, words: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """The signals' words with the question's own words for their stems, for the reasons: ``missing_surface`` (words
    of the question absent near the answer), ``missing_as`` (pairs of a question word and the one word of its family
    that is there instead: "director", "directed"), ``missing_in_item_surface`` (absent near the answer but elsewhere
    in the same photo's or clip's words), ``key_missing_surface`` (names and numbers of the question its passage
    lacks), ``key_in_title_surface`` (those only its title gives) and ``key_bridged_surface`` (those a bridging
    passage gives: ``bridge`` = that passage's subject and the answer passage's)."""
    in_item = set(words.get("missing_in_item", ()))
    missing = [m for m in words.get("missing", ()) if m not in in_item]
    forms = list(words.get("missing_as", ())) or [""] * len(missing)
    forms = [f for m, f in zip(words.get("missing", ()), forms) if m not in in_item]
    related = [(m, f) for m, f in zip(missing, forms) if f]
    pairs = [w for m, f in related for w in (surface_words(question, [m]) or [m])[:1] + [f]]
    return {
        **words,
        "missing_surface": surface_words(question, [m for m, f in zip(missing, forms) if not f]),
        "missing_as": pairs,
        "missing_in_item_surface": surface_words(question, sorted(in_item, key=list(words["missing"]).index))
        if in_item
        else [],
        "key_missing_surface": surface_words(question, words.get("key_missing", [])),
        "key_in_title_surface": surface_words(question, words.get("key_in_title", [])),
        "key_bridged_surface": surface_words(question, words.get("key_bridged", [])),
    }


def surface_words(question: str, stems: Sequence[str]) -> list[str]:
    """The question's own words for the given stems (the verifier's signals work on stems). A name whose every word
    is among them is said whole: "P.S. Jerusalem", not "P", "Jerusalem"."""
    from ..text import STOPWORDS, stem, tokenize

    by_stem: dict[str, str] = {}
    for t in tokenize(question):
        if t.is_word:
            by_stem.setdefault(stem(t.lower), t.text)
            by_stem.setdefault(stem(t.text), t.text)
    words = [by_stem.get(s, s) for s in stems]
    for m in _NAME_RE.finditer(question):
        parts = [stem(t.text) for t in tokenize(m.group(0)) if t.is_word and t.lower not in STOPWORDS]
        at = [i for i, s in enumerate(stems) if s in parts]
        if len(parts) > 1 and set(parts) <= set(stems):
            words[at[0]] = m.group(0)
            for i in at[1:]:
                words[i] = ""
    return [w for w in dict.fromkeys(words) if w]


_NAME_RE = re.compile(r"[A-Z][\w'\u2019-]*\.?(?:(?:\s+|(?<=\.))[A-Z][\w'\u2019-]*\.?)*")
"""A run of capitalised words and initials in a question ("P.S. Jerusalem", "Eileen Collins")."""
