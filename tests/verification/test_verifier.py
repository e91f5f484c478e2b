"""The evidence verifier end to end, and the chain-of-verification LLM judge over loopback HTTP."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mmroute.generation import create_generator
from mmroute.llm.openai_compat import ChatClient
from mmroute.reading.squad import exact_match
from mmroute.types import Draft, Verdict
from mmroute.verification import VERIFIERS, EvidenceVerifier, Policy
from mmroute.verification.judge import LLMJudge, parse_judgement
from tests.helpers.fake_openai import FakeOpenAI, Reply
from tests.verification.heldout import KNOWN_REGRESSION, QUESTIONS, hits_for


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


@pytest.fixture(scope="module")
def heldout_reader_runs(verifier, data_dir):
    """The packaged reader's draft and its verification for each held-out question and its twin.

    Data: ``tests/verification/heldout.py`` - paragraphs of the multi-hop corpus with questions written
    for this test, which neither the reader (trained on SQuAD train articles) nor the verifier policies
    (fitted on the SQuAD dev articles) ever saw. Evidence: the question's paragraph and two others.
    """
    reader = create_generator("reader")
    runs = []
    for q in QUESTIONS:
        hits = hits_for(data_dir, q)
        d, t = reader.generate(q.question, hits), reader.generate(q.twin, hits)
        runs.append((q, d, verifier.verify(q.question, d, hits), t, verifier.verify(q.twin, t, hits)))
    return runs


def _auc(pos: list[float], neg: list[float]) -> float:
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


@pytest.mark.xfail(
    reason=KNOWN_REGRESSION,
    strict=True,
)
def test_reader_answers_pass_where_their_unanswerable_twins_are_withheld(heldout_reader_runs):
    """What a user of the default generator depends on, on held-out data.

    The reader policy is strict by design (calibrated to keep wrong answers under 8% of questions, it lets
    about a quarter of the reader's correct answers through: ``evals/results/verifier_calibration.json``).
    Measured here: 5 of the 14 correct drafts shown, 1 of 15 twins ('PNU' for the university's rector);
    the bounds leave a margin.
    """
    correct = [r for r in heldout_reader_runs if exact_match(r[1].text or "", list(r[0].answers))]
    assert len(correct) >= 12, "the reader itself should answer most held-out questions"
    shown = [r for r in correct if r[2].verdict is Verdict.SUPPORTED]
    assert len(shown) >= 3, f"only {len(shown)} of {len(correct)} correct reader answers were let through"
    for q, d, v, _, _ in shown:
        assert not v.abstain and d.evidence_ids[0] == q.paragraph
    wrong_shown = [r[0].question for r in heldout_reader_runs if r[2].verdict is Verdict.SUPPORTED and r not in correct]
    assert not wrong_shown, f"wrong reader answers let through: {wrong_shown}"
    twins_shown = [(r[0].twin, r[3].text) for r in heldout_reader_runs if not r[4].abstain]
    assert len(twins_shown) <= 2, f"answers to unanswerable questions let through: {twins_shown}"
    for q, _, v, _, tv in heldout_reader_runs:  # a pair: the answer shown, its twin withheld
        if v.verdict is Verdict.SUPPORTED:
            assert tv.abstain and tv.verdict is not Verdict.SUPPORTED, q.twin
    for _, _, _, _, tv in heldout_reader_runs:
        assert tv.abstain is (tv.verdict is not Verdict.SUPPORTED) and tv.reasons


def test_confidence_separates_answerable_from_unanswerable(heldout_reader_runs):
    """The verifier's confidence ranks correct answers above answers to unanswerable questions (AUC; measured
    0.83 here; a verifier that ignores the evidence scores about 0.5)."""
    pos = [r[2].confidence for r in heldout_reader_runs if exact_match(r[1].text or "", list(r[0].answers))]
    neg = [r[4].confidence for r in heldout_reader_runs]
    assert _auc(pos, neg) >= 0.75
    assert {"cov_window", "key_missing", "reader_expected_f1", "reader_margin"} <= set(
        heldout_reader_runs[0][2].signals
    )


def test_any_generator_correct_answers_pass_and_wrong_ones_are_stopped(verifier, data_dir):
    """Drafts of any other generator (an LLM behind an endpoint: the generic policy) on held-out data.

    Positive control: the gold answer passes. Negative controls: another question's answer (a fluent
    hallucination, absent from this evidence) is stopped; a wrong span of the evidence paragraph itself
    (same paragraph, often the same type: the verifier's hard case) scores below the gold answer and is
    mostly stopped. Targets (issue 12): >= 80% of correct answers through at <= 10% of wrong ones.
    Measured here with the reader trained on synthetic unanswerable questions and the generic policy fitted
    with same-paragraph wrong answers too: 6/15 same-paragraph spans through, the gold answer above the
    wrong span in 13/15 and on average 0.66 above it. Fitted without them, the policy's threshold fell low
    enough for 10/15 of these spans to pass (5/15 with the earlier reader and its policy).
    """
    gold, halluc, span = [], [], []
    for i, q in enumerate(QUESTIONS):
        hits = hits_for(data_dir, q)
        other = QUESTIONS[(i + 5) % len(QUESTIONS)].answers[0]
        gold.append(verifier.verify(q.question, Draft(text=q.answers[0], generator="openai"), hits))
        halluc.append(verifier.verify(q.question, Draft(text=other, generator="openai"), hits))
        span.append(verifier.verify(q.question, Draft(text=q.wrong, generator="openai"), hits))
    n = len(QUESTIONS)
    assert sum(v.verdict is Verdict.SUPPORTED for v in gold) >= 0.8 * n
    assert sum(not v.abstain for v in halluc) <= 0.1 * n
    assert sum(not v.abstain for v in span) <= n // 2
    assert sum(g.confidence > w.confidence for g, w in zip(gold, span)) >= n - 3
    assert sum(g.confidence - w.confidence for g, w in zip(gold, span)) / n >= 0.25


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
    assert v.confidence_text() == "no estimate: nothing to check an answer against"  # not "confidence 0.00"


def test_hallucinated_llm_answer_is_stopped_where_the_right_one_passes(verifier, normans_hits):
    q = "Who was the Norse leader?"
    right = verifier.verify(
        q, Draft(text="Rollo", evidence_ids=("squad2/Normans/0",), generator="smollm2"), normans_hits
    )
    wrong = verifier.verify(
        q, Draft(text="Harald Bluetooth", evidence_ids=("squad2/Normans/0",), generator="smollm2"), normans_hits
    )
    assert right.verdict is Verdict.SUPPORTED and not right.abstain  # positive control
    assert wrong.abstain and wrong.verdict is not Verdict.SUPPORTED


def _judge_reply(verdict: str) -> Reply:
    return Reply.ok(
        json.dumps(
            {
                "checks": [{"question": "Was Rollo the leader?", "answer": "yes"}],
                "verdict": verdict,
                "confidence": 0.9,
                "explanation": "passage 1 says so",
            }
        )
    )


def test_llm_judge_can_veto(gen, normans_hits):
    q = "Who was the Norse leader?"
    d = gen.generate(q, normans_hits)
    with FakeOpenAI([_judge_reply("supported"), _judge_reply("contradicted")]) as srv:
        lenient = Policy(("cov_window",), (1.0,), 0.0, (0.0,), (1.0,), 0.0)  # lets every draft reach the judge
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


def test_withheld_drafts_say_what_weighed_against_them_in_plain_words(heldout_reader_runs):
    withheld = [
        v for (_, _, v, _, tv) in heldout_reader_runs for v in (v, tv) if v.abstain and v.verdict is Verdict.UNSUPPORTED
    ]
    assert withheld, "the held-out twins are unanswerable: some drafts must be withheld"
    said = [r for v in withheld for r in v.reasons if r.startswith("what weighed most against it: ")]
    assert len(said) >= len(withheld) / 2, (len(said), len(withheld))
    assert not any("_" in r for v in withheld for r in v.reasons)


def test_a_withheld_answer_says_which_findings_are_in_its_favour(normans_hits):
    """A draft withheld on the estimate alone: findings for it are said to be in its favour (a bare "every content
    word appears around the answer" read as a reason to withhold it), and with no finding against it that is said
    too. The control: the same draft supported lists the same finding plainly."""
    draft = Draft("Rollo", ("squad2/Normans/0",), "", generator="offline")

    def policy(threshold: float) -> Policy:
        return Policy(("cov_window",), (1.0,), 0.0, (0.5,), (0.5,), threshold)

    withheld = EvidenceVerifier(policy=policy(0.99), reader=None, support_model=None).verify(
        "Who was the Norse leader?", draft, normans_hits
    )
    assert withheld.abstain and withheld.reasons[0].startswith("withheld")
    assert withheld.reasons[1].startswith("no finding weighed much against it on its own")
    assert "in its favour: every content word of the question appears around the answer" in withheld.reasons
    assert "every content word of the question appears around the answer" not in withheld.reasons
    supported = EvidenceVerifier(policy=policy(0.0), reader=None, support_model=None).verify(
        "Who was the Norse leader?", draft, normans_hits
    )
    assert not supported.abstain and "every content word of the question appears around the answer" in supported.reasons
    assert not any(r.startswith(("in its favour", "no finding weighed")) for r in supported.reasons)


def test_a_true_finding_the_policy_weighs_against_is_not_called_in_the_answers_favour(normans_hits):
    """Every question word around the answer is true of the texts, but a policy that learnt a negative weight for it
    (SQuAD 2.0's unanswerable questions copy the paragraph's words) counts it against the answer: it is then not said
    to be in the answer's favour, withheld or shown. The control: the same finding under a positive weight is."""
    draft = Draft("Rollo", ("squad2/Normans/0",), "", generator="offline")
    finding = "every content word of the question appears around the answer"
    for threshold in (0.99, 0.0):
        against = EvidenceVerifier(
            policy=Policy(("cov_window",), (-1.0,), 0.0, (0.5,), (0.5,), threshold), reader=None, support_model=None
        ).verify("Who was the Norse leader?", draft, normans_hits)
        assert not any(finding in r for r in against.reasons), against.reasons
        favour = EvidenceVerifier(
            policy=Policy(("cov_window",), (1.0,), 0.0, (0.5,), (0.5,), threshold), reader=None, support_model=None
        ).verify("Who was the Norse leader?", draft, normans_hits)
        assert any(finding in r for r in favour.reasons), favour.reasons


def test_a_finding_without_weight_is_listed_without_saying_nothing_speaks_against_the_answer(normans_hits):
    """A missing question word the policy gives no weight is still a true finding about the texts, and is listed:
    the head then says no finding weighed much on its own, never that nothing speaks against the answer (both were
    once said of "Eileen Collins", withheld at 29% with "flag" missing). The control: no word missing, none listed."""
    draft = Draft("Rollo", ("squad2/Normans/0",), "", generator="offline")
    policy = Policy(("cov_window", "missing_terms"), (-1.0, 0.0), 0.0, (0.5, 0.0), (0.5, 1.0), 0.99)
    verifier = EvidenceVerifier(policy=policy, reader=None, support_model=None)
    flagged = verifier.verify("Who was the Norse leader with the zeppelin?", draft, normans_hits)
    assert flagged.abstain
    assert flagged.reasons[1].startswith("no finding weighed much against it on its own")
    assert any(
        r.startswith("these words of the question do not appear near the answer: 'zeppelin'") for r in flagged.reasons
    )
    assert not any("speaks against" in r for r in flagged.reasons)
    plain = verifier.verify("Who was the Norse leader?", draft, normans_hits)
    assert not any(r.startswith("these words of the question do not appear") for r in plain.reasons)


def test_a_question_without_content_words_is_not_said_to_have_them_all_near_the_answer():
    """ "What is in this picture?" asked of a photo has no content word once "picture" names the medium: that "every
    content word appears around the answer" is vacuous, and is not said. The control: a question with words."""
    from mmroute.types import Granularity, Hit, Item

    photo = Item(id="coffee.png", kind=Granularity.IMAGE, captions=("Coffee cup. A cup of coffee on a saucer.",))
    hits = [Hit(item=photo, score=0.99, kb="photos", rank=1)]
    draft = Draft("Coffee cup", ("coffee.png",), "Coffee cup.", generator="offline")
    v = EvidenceVerifier(
        policy=Policy(("cov_window",), (1.0,), 0.0, (0.5,), (0.5,), 0.0), reader=None, support_model=None
    )
    assert not any("every content word" in r for r in v.verify("What is in this picture?", draft, hits).reasons)
    said = v.verify(
        "What is on the saucer in this picture?",
        Draft("A cup of coffee", ("coffee.png",), "", generator="offline"),
        hits,
    )
    assert "every content word of the question appears around the answer" in said.reasons


def test_the_reader_is_not_said_to_agree_with_its_own_draft(normans_hits):
    """ "The reader picks the same answer in the evidence" was said of nearly every reader draft, wrong ones too: the
    verifier's reader reads what the generator read, so of the reader's own draft it is no finding. It is said of
    the same answer from another generator (the control), where it is independent evidence."""
    question = "Who was the leader of the Norse raiders?"
    verifier = EvidenceVerifier()
    agrees = "the reader picks the same answer in the evidence"
    own = verifier.verify(question, Draft("Rollo", ("squad2/Normans/0",), "", generator="reader"), normans_hits)
    other = verifier.verify(question, Draft("Rollo", ("squad2/Normans/0",), "", generator="openai"), normans_hits)
    assert not any(agrees in r for r in own.reasons), own.reasons
    assert any(agrees in r for r in other.reasons), other.reasons


def test_the_users_threshold_replaces_the_calibrated_one_both_ways(normans_hits):
    """`--verifier-option threshold=X`: a user who wants more answers (or fewer) sets the estimate an answer needs.
    The same draft and estimate: withheld under the policy's 0.99, shown with threshold 0.3, withheld again with
    threshold 1.0 over a policy of 0.0; the head says the user's figure. A threshold outside 0..1 is one line."""
    from mmroute.errors import ConfigError

    draft = Draft("Rollo", ("squad2/Normans/0",), "", generator="offline")
    policy = Policy(("cov_window",), (1.0,), 0.0, (0.5,), (0.5,), 0.99)
    q = "Who was the Norse leader?"
    strict = EvidenceVerifier(policy=policy, reader=None, support_model=None).verify(q, draft, normans_hits)
    lenient = EvidenceVerifier(policy=policy, reader=None, support_model=None, threshold=0.3).verify(
        q, draft, normans_hits
    )
    assert strict.abstain and not lenient.abstain and strict.confidence == lenient.confidence
    assert lenient.reasons[0].endswith("(needs 30%)"), lenient.reasons[0]
    lax = replace(policy, threshold=0.0)
    never = EvidenceVerifier(policy=lax, reader=None, support_model=None, threshold=1.0).verify(q, draft, normans_hits)
    assert never.abstain and never.reasons[0].endswith("(needs 100%)"), never.reasons[0]
    for bad in (1.5, -0.1, True):
        with pytest.raises(ConfigError, match="between 0 and 1"):
            EvidenceVerifier(threshold=bad)


def test_an_answer_with_no_sentence_in_the_evidence_is_marked_on_none_and_verified_as_before(
    verifier, normans_hits
) -> None:
    """An LLM's answer that shares no word with the evidence ("X is a fictional character created by the author")
    had the evidence's first sentence as "its sentence", marked so by ``ask``. It now has none; the verifier
    still reads the first sentence in its place, so its estimate is what it was. The control: an answer that shares
    words keeps the sentence holding most of them."""
    from mmroute.generation.answer_sentence import best_support, first_sentence

    invented = "a fictional character created by the author"
    assert best_support(invented, normans_hits) == ""
    assert "Rollo" in best_support("Rollo", normans_hits)
    question = "Who was the Norse leader?"
    none = verifier.verify(question, Draft(invented, (), "", 0.0, "openai"), normans_hits)
    first = verifier.verify(question, Draft(invented, (), first_sentence(normans_hits), 0.0, "openai"), normans_hits)
    assert none.confidence == first.confidence and none.reasons == first.reasons
