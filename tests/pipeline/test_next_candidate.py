"""When the verifier withholds the top draft, the generator's next-ranked answers are verified before "I don't
know": the right answer often sits in the second passage. Real reader, stub retriever and verifier."""

from __future__ import annotations

from collections.abc import Sequence

from mmroute.config import PipelineConfig
from mmroute.generation.base import RankingGenerator
from mmroute.generation.reader_gen import ReaderGenerator
from mmroute.pipeline import Pipeline
from mmroute.types import Draft, Hit, RetrievalResult, Verdict, Verification


class FixedRetriever:
    name = "fixed"

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = tuple(hits)

    def warm_up(self) -> None: ...

    def retrieve(self, question: str, k: int = 5, kbs=None, image=None) -> RetrievalResult:  # noqa: ANN001
        return RetrievalResult(question, self.hits[:k], ())


class AcceptsOnly:
    """Supports exactly the answers it is given; records what it was asked to verify."""

    name = "accepts-only"

    def __init__(self, *accepted: str) -> None:
        self.accepted = set(accepted)
        self.seen: list[str] = []

    def warm_up(self) -> None: ...

    def verify(self, question: str, draft: Draft, hits: Sequence[Hit], alt: Draft | None = None) -> Verification:
        self.seen.append(draft.text or "")
        ok = draft.text in self.accepted
        verdict = Verdict.SUPPORTED if ok else Verdict.UNSUPPORTED
        return Verification(verdict, 0.9 if ok else 0.1, ("supported" if ok else "withheld: low",), {}, not ok)


Q = "Who was the leader of the Norse raiders?"


def test_the_reader_ranks_distinct_candidates(normans_hits) -> None:
    gen = ReaderGenerator(device="cpu")
    assert isinstance(gen, RankingGenerator)
    from mmroute.generation.extractive import ExtractiveGenerator

    assert not isinstance(ExtractiveGenerator(), RankingGenerator), "its own candidates() is another method"
    first = gen.generate(Q, normans_hits)
    more = gen.next_answers(Q, normans_hits, 3)
    texts = [first.text] + [d.text for d in more]
    assert len(more) == 3 and len({t.casefold() for t in texts}) == 4, texts
    assert all(d.support and d.evidence_ids for d in more)


def test_a_withheld_draft_gives_way_to_the_next_supported_one(normans_hits) -> None:
    gen = ReaderGenerator(device="cpu")
    first = gen.generate(Q, normans_hits).text
    second = gen.next_answers(Q, normans_hits, 1)[0].text
    verifier = AcceptsOnly(second)
    ans = Pipeline(FixedRetriever(normans_hits), gen, verifier, PipelineConfig(dual_path=False)).ask(Q)
    assert not ans.abstained and ans.text == second
    assert verifier.seen == [first, second]
    assert f"the reader's first answer {first!r} was withheld (low); this is its next" in ans.verification.reasons
    # none of them supported: "I don't know" with the first draft's own reason, after at most 2 more tries
    verifier = AcceptsOnly()
    ans = Pipeline(FixedRetriever(normans_hits), gen, verifier, PipelineConfig(dual_path=False)).ask(Q)
    assert ans.abstained and ans.text == first and len(verifier.seen) == 3
    # turned off
    verifier = AcceptsOnly(second)
    cfg = PipelineConfig(dual_path=False, next_candidates=0)
    ans = Pipeline(FixedRetriever(normans_hits), gen, verifier, cfg).ask(Q)
    assert ans.abstained and verifier.seen == [first]


class FollowUpRejected(FixedRetriever):
    """The question searched in the KBs the caller named (no route), then a follow-up query the guard rejected."""

    def retrieve(self, question: str, k: int = 5, kbs=None, image=None) -> RetrievalResult:  # noqa: ANN001
        from mmroute.types import RetrievalStep, RouteDecision

        rejected = RouteDecision("Los Angeles Times las", (), (), (), "guard (language): 'es'", "guard", 0.1, True)
        steps = (
            RetrievalStep(0, question, ("squad-paragraph",), self.hits[:k]),
            RetrievalStep(1, "Los Angeles Times las", (), (), rejected),
        )
        return RetrievalResult(question, self.hits[:k], steps)


def test_a_rejected_follow_up_query_does_not_reject_the_question(normans_hits) -> None:
    """A follow-up query the guard rejects is that query's fate, not the question's: the question (KBs named, so it
    has no route) is answered from its own hits. Found by a new user: "The reasons for the las two counties ..."
    was "I don't know: the question fits none of the knowledge bases" because of its follow-up's route. The
    control: the question's own rejected route still rejects it."""
    gen = ReaderGenerator(device="cpu")
    ans = Pipeline(FollowUpRejected(normans_hits), gen, AcceptsOnly(), PipelineConfig(dual_path=False)).ask(Q)
    assert ans.route is None and "fits none of the knowledge bases" not in ans.reason
    assert ans.draft.text and ans.reason.startswith("withheld")

    class QuestionRejected(FixedRetriever):
        def retrieve(self, question: str, k: int = 5, kbs=None, image=None) -> RetrievalResult:  # noqa: ANN001
            from mmroute.types import RetrievalStep, RouteDecision

            rejected = RouteDecision(question, (), (), (), "guard (language): 'es'", "guard", 0.1, True)
            return RetrievalResult(question, (), (RetrievalStep(0, question, (), (), rejected),))

    ans = Pipeline(QuestionRejected(normans_hits), gen, AcceptsOnly(), PipelineConfig(dual_path=False)).ask(Q)
    assert ans.abstained and "fits none of the knowledge bases" in ans.reason
