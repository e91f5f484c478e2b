"""The ask pipeline: route → retrieve → generate → verify → :class:`~mmroute.types.Answer`.

>>> from mmroute import Home, Pipeline, PipelineConfig
>>> pipe = Pipeline.from_home(Home(), PipelineConfig(kbs=["squad"]))
>>> ans = pipe.ask("Who was the Norse leader?")
>>> ans.display_text, ans.verification.verdict, ans.timings_ms["total"]
('Rollo', <Verdict.SUPPORTED: 'supported'>, 180.2)

The answer carries the whole trace: the route decision, every retrieval step, the evidence,
the draft, the verifier's verdict with reasons and signals, and per-stage timings in milliseconds
(``route``, ``retrieve``, ``generate``, ``verify``, ``total``). With verification on, an answer the
verifier does not support becomes an abstention ("I don't know") with the verifier's reason.
Routing happens inside the retriever (it owns the router); its time is reported as ``route``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import PipelineConfig
from .errors import ConfigError
from .generation.base import Generator, RankingGenerator, create_generator
from .generation.moments import asks_for_moment, moment_answer
from .generation.photo_match import asks_which_photo, photo_answer, photo_by_words, users_photo_first
from .kb import Home
from .limits import check_question
from .retrieval.base import RETRIEVERS, Retriever
from .text import only_about_the_medium
from .types import OVERRULED_SIGNAL, Answer, Draft, Hit, RetrievalResult, RetrievalStep, Verdict, Verification
from .verification.base import VERIFIERS, Verifier
from .verification.chain import first_hop

log = logging.getLogger(__name__)


def _router(cfg: PipelineConfig, required: bool) -> Any:
    """The router ``cfg`` names (built by :func:`~mmroute.routing.create_router`, like ``mmroute route``'s),
    else the shipped default router. When the question's KBs are named (``required=False``) a default router
    that cannot load is reported and skipped; when routing decides which KBs to search, its failure is the
    answer. A router named in the config always fails loudly."""
    from .errors import MMRouteError
    from .routing import create_router

    if cfg.router:
        return create_router(cfg.router, **cfg.router_options)
    try:
        return create_router("default")
    except MMRouteError as e:
        if required:
            raise
        log.warning("the default router cannot load (%s); searching the named KBs without it", e)
        return None


class Pipeline:
    """Answers questions over the KBs of a home, with a guarded answer or an honest "I don't know"."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        verifier: Verifier | None,
        config: PipelineConfig | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.verifier = verifier
        self.config = config or PipelineConfig()

    @classmethod
    def from_home(
        cls,
        home: Home | str | Path | None = None,
        config: PipelineConfig | None = None,
        retriever: Retriever | str | None = None,
    ) -> Pipeline:
        """Build the retriever, generator and verifier that ``config`` names."""
        cfg = config or PipelineConfig()
        h = home if isinstance(home, Home) else Home(home)
        if isinstance(retriever, str) or retriever is None:
            name = retriever or cfg.retriever
            router = _router(cfg, required=not cfg.kbs) if not cfg.kbs or name == "stepwise" else None
            retriever = RETRIEVERS.create(name, home=h, router=router, **cfg.retriever_options)
        generator = create_generator(cfg.generator, **_generator_options(cfg))
        verifier: Verifier | None = None
        if cfg.verify:
            options = dict(cfg.verifier_options)
            if cfg.policy_path:
                options.setdefault("policy", cfg.policy_path)
            if cfg.endpoint.judge:
                from .llm.openai_compat import ChatClient
                from .verification.judge import LLMJudge

                options["judge"] = LLMJudge(
                    ChatClient(
                        cfg.endpoint.url or "",
                        cfg.endpoint.model or "",
                        api_key_env=cfg.endpoint.api_key_env,
                        timeout_s=cfg.endpoint.timeout_s,
                        max_retries=cfg.endpoint.max_retries,
                    )
                )
            verifier = VERIFIERS.create(cfg.verifier, **options)
        return cls(retriever, generator, verifier, cfg)

    def warm_up(self) -> None:
        self.retriever.warm_up()
        self.generator.warm_up()
        if self.verifier is not None:
            self.verifier.warm_up()

    def ask(
        self, question: str, image: Path | str | None = None, kbs: Sequence[str] | None = None, k: int | None = None
    ) -> Answer:
        if not question or not question.strip():
            from .errors import InputError

            raise InputError("the question is empty", hint='ask e.g. mmroute ask "Who led the Normans?"')
        check_question(question)  # over the length limit: one line with a prefix, never the whole text
        img = Path(image) if image else None
        cfg = self.config
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        res: RetrievalResult = self.retriever.retrieve(
            question, k=k or cfg.k, kbs=list(kbs or cfg.kbs) or None, image=img
        )
        t1 = time.perf_counter()
        # the question's own route: a follow-up query's route (or its rejection) is about that query alone
        route = res.steps[0].route if res.steps else None
        timings["route"] = sum(s.route.elapsed_ms for s in res.steps if s.route is not None)
        timings["retrieve"] = max((t1 - t0) * 1000 - timings["route"], 0.0)
        hits = users_photo_first(res.hits, res.image_hits) if img is not None else list(res.hits)
        # answers that are no span of text: "when in the video ...?" (the moment, checked against its own subtitle),
        # "what is in this picture?" (what the photo like it shows, checked by how alike they look) and "which photo
        # shows ...?" (the photo, checked against its own words)
        given = moment_answer(question, hits) if asks_for_moment(question) else None
        if given is None and img is not None and only_about_the_medium(question):
            given = photo_answer(res.image_hits)
        if given is None and img is None and asks_which_photo(question):  # "which photo shows ...?": the photo
            given = photo_by_words(question, hits)
        alt: Draft | None = None
        ver: Verification | None = None
        if given is not None:
            draft, checked = given
            t2 = time.perf_counter()
            ver = checked if self.verifier is not None else None
        else:
            draft = self.generator.generate(question, hits, img)
            if (
                self.verifier is not None
                and cfg.dual_path
                and hits
                and draft.text
                and getattr(self.verifier, "uses_dual_path", True)
            ):
                alt = self.generator.closed_book(question, hits, img)
            t2 = time.perf_counter()
            if self.verifier is not None:
                ver = past_first_hop(question, draft, hits, res.steps, self.verifier.verify(question, draft, hits, alt))
                if ver.abstain and ver.verdict is Verdict.UNSUPPORTED and draft.text:
                    draft, ver = self._next_candidate(question, hits, img, draft, ver, res.steps)
        timings["generate"] = (t2 - t1) * 1000
        t3 = time.perf_counter()
        timings["verify"] = (t3 - t2) * 1000
        timings["total"] = (t3 - t0) * 1000
        if route is not None and route.rejected:
            abstained, reason = True, f"the question fits none of the knowledge bases: {route.reason}"
        elif not draft.text:
            abstained = True
            reason = ver.reasons[0] if ver else ("nothing was retrieved" if not hits else "no answer in the evidence")
        elif ver is not None:
            abstained, reason = ver.abstain, ver.reasons[0]
        else:
            abstained, reason = False, "verification is off"
        # shown in the order of the score every surface shows: a step-wise retriever's own order (a linked chain
        # first) chose the set and is what the generator read; the draft's own passage is marked by its support
        evidence = tuple(sorted(hits, key=lambda h: -h.score))
        return Answer(
            question=question,
            text=draft.text,
            abstained=abstained,
            reason=reason,
            evidence=evidence,
            route=route,
            retrieval=res,
            draft=draft,
            verification=ver,
            timings_ms=timings,
        )

    def _next_candidate(
        self,
        question: str,
        hits: Sequence[Hit],
        image: Path | None,
        draft: Draft,
        ver: Verification,
        steps: Sequence[RetrievalStep] = (),
    ) -> tuple[Draft, Verification]:
        """The first of the generator's next-ranked answers the verifier supports, with a reason naming the
        withheld one; the withheld draft and its verdict when none is (or the generator ranks none)."""
        n = self.config.next_candidates
        if n <= 0 or self.verifier is None or not isinstance(self.generator, RankingGenerator):
            return draft, ver
        for cand in self.generator.next_answers(question, hits, n, image):
            v = past_first_hop(question, cand, hits, steps, self.verifier.verify(question, cand, hits, None))
            if not v.abstain:
                why = ver.reasons[0].removeprefix("withheld: ")
                note = f"the reader's first answer {draft.text!r} was withheld ({why}); this is its next"
                return cand, replace(v, reasons=(v.reasons[0], note, *v.reasons[1:]))
        return draft, ver


def past_first_hop(
    question: str, draft: Draft, hits: Sequence[Hit], steps: Sequence[RetrievalStep], ver: Verification
) -> Verification:
    """``ver``, withheld when the draft answers only the first hop of a bridge question
    (:func:`~mmroute.verification.chain.first_hop`), with that finding among its reasons either way."""
    hop = first_hop(question, draft, hits, steps)
    if hop is None:
        return ver
    if ver.abstain:
        return replace(ver, reasons=(ver.reasons[0], hop.reason(), *ver.reasons[1:]))
    head = f"withheld: {hop.reason()}"
    estimate = f"the estimated chance on the other findings alone was {ver.confidence:.0%}"
    signals = {**ver.signals, OVERRULED_SIGNAL: 1.0}
    return replace(
        ver, verdict=Verdict.UNSUPPORTED, abstain=True, reasons=(head, estimate, *ver.reasons[1:]), signals=signals
    )


def _generator_options(cfg: PipelineConfig) -> dict[str, Any]:
    opts = dict(cfg.generator_options)
    if "api_key" in opts:  # a key in a config file or on a command line is shown by ps, history and copies
        raise ConfigError(
            "do not give the API key as a generator option",
            hint="export it and name the variable: --api-key-env NAME (api_key_env in [endpoint])",
        )
    if cfg.generator == "openai":
        ep = cfg.endpoint
        opts.setdefault("base_url", ep.url)
        opts.setdefault("model", ep.model)
        opts.setdefault("api_key_env", ep.api_key_env)
        opts.setdefault("timeout_s", ep.timeout_s)
        opts.setdefault("max_retries", ep.max_retries)
        opts.setdefault("multimodal", ep.multimodal)
    return opts
