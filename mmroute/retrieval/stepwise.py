"""Step-wise retrieval: follow-up queries, each routed to the KB it needs (R1-Router/IRCoT style).

The loop (one :class:`mmroute.types.RetrievalStep` per hop)::

    step 0: the question        -> KBs named by the caller, else the router's choice
    step i: planner.plan(state) -> follow-up query (or stop)
            router.route(query) -> KB(s) for this hop (may differ from step 0: image, then text)
            hybrid search       -> new evidence (deduplicated by KB + item id)
    stop:   planner stops | evidence suffices | budget spent (steps, evidence items, time)

Each KB search is *hybrid*: dense cosine and BM25 (the store's sparse index, ``KnowledgeBase.search_sparse``),
plus a title match from the KB's title index (:mod:`mmroute.retrieval.lexical`). Names carry
multi-hop questions and dense MiniLM vectors blur them; the lexical terms put an item whose title
the query names at the top. A KB without a lexical index (indexed before mmroute indexed words) is
searched by dense cosine and titles only (``mmroute kb reindex-lexical NAME`` adds BM25).

Final ranking (:func:`rank_evidence`) fills the budget k with the most useful items *as a set*:
each item gets its relevance to the original question (the same hybrid score), and every pair of
items gets the sum of both relevances plus a link bonus when one item's text names the other's
title (the bridge of a two-hop chain). Pairs are taken best first, so the top of the list holds a
connected chain rather than two near-duplicates of the first hop.

An image query carries its image through every step: each image or video KB is searched with the
image (routing sees it too), and the query's words only reorder the items the image found, so a
generic "what is in this picture?" cannot pull in another image whose caption says "picture".

An item a follow-up was aimed at is often unlike the question ("Maurice Campbell was a Canadian
curler ..." for "Which film has the director born first, Two Weeks with Pay or ...?"), so the best
two hits of each follow-up are ranked by at least 0.7 of their score for that follow-up
(``followup_weight``, ``followup_top``), but never above the question's best match of the first search.
On the shared multi-hop set this took recall_all@5 from 0.876 to 0.921; chosen with each source dataset
held out in turn, 0.910 (``evals/eval/eval_stepwise.py --lodo``).

**Media beside text.** An image or clip KB's cosines live in its own encoder's space (ConSE image vectors
fused 0.8/0.2 with their captions sit near 0.3 for a question a caption answers, MiniLM paragraphs near 0.6), so
a caption naming the answer never outranked the paragraphs it was searched beside. When a step searches text KBs
and media KBs together (no query image), the :data:`WORDS_TOP` best hits of each media KB that share a word with
the question also get the text encoder's cosine between the question and the item's words (title, captions,
subtitles), in the first text KB's space, and the item's dense term is the larger of the two. Items without
words, searches of media KBs alone and image queries keep their own cosines.

Evidence suffices when the two best items are linked and together contain every content word of
the question; the loop then stops early (``stop_reason="evidence suffices"``).

Weights (few, and fixed across datasets): BM25 0.3 and title 0.3 next to the dense cosine (BM25 is
max-normalised per query, titles are weighted by specificity, both in [0, 1], while MiniLM cosines
of relevant items spread over about 0.3), link 0.3 (a linked pair outranks an unlinked pair unless
the latter is clearly more relevant).

>>> r = StepwiseRetriever(Home())                       # offline planner, no router: stay on the KB
>>> res = r.retrieve("Who is the mother of the director of film Polish Wedding?", k=5, kbs=["hop"])
>>> res.ids, [s.query for s in res.steps], res.stop_reason
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.base import normalize
from ..errors import ConfigError
from ..kb import Home, KnowledgeBase
from ..registry import check_options
from ..routing.base import Router, kbs_with_fallback
from ..text import only_about_the_medium
from ..types import Granularity, Hit, Item, Modality, RetrievalResult, RetrievalStep, RouteDecision
from .base import routable_kbs, skipped_note
from .fusion import content_key, score_space
from .lexical import TitleIndex, content_tokens, title_index_for
from .planners.base import PLANNERS, FollowUp, Planner, PlanState
from .widening import widen_route

LEXICAL_POOL = 500
"""BM25 candidates taken for the original question of each KB (the relevance every item is ranked by).
Read as ids and scores only, 500 cost about what 200 do (at 1M paragraphs, 2.6 ms for the engine's query;
with a payload read per candidate, 200 took 10 ms and 500 23 ms). Multi-hop recall_all@5 with 500: 0.876
on ``hop``, 0.625 with 100k filler paragraphs, 0.489 with 1M; 200 loses two questions at 100k (0.602)."""

WORDS_TOP = 3
"""Hits of a media KB searched beside text KBs whose words are embedded with the text encoder (per search): the
best ones that share a word with the question. A photo's description runs to ~150 tokens; ten of them cost 250 ms
on 2 cores, three about 80 ms, and each is embedded once per process (:data:`WORD_VECTORS_CACHED`)."""
WORD_VECTORS_CACHED = 4096
"""Word vectors kept per process, by encoder and text (a server asks about the same photos again and again)."""

_WORD_VECTORS: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_WORD_VECTORS_LOCK = threading.Lock()


def word_vectors(reference: KnowledgeBase, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of ``texts`` as ``reference``'s encoder embeds passages, from the process cache when known."""
    space = score_space(reference.info)
    with _WORD_VECTORS_LOCK:
        known = {t: _WORD_VECTORS[(space, t)] for t in texts if (space, t) in _WORD_VECTORS}
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    if todo:
        passages = [Item(id=str(i), kind=Granularity.PARAGRAPH, text=t) for i, t in enumerate(todo)]
        vectors = normalize(reference.encoder.encode_items(passages))
        with _WORD_VECTORS_LOCK:
            for t, v in zip(todo, vectors, strict=True):
                known[t] = _WORD_VECTORS[(space, t)] = v
            while len(_WORD_VECTORS) > WORD_VECTORS_CACHED:
                _WORD_VECTORS.popitem(last=False)
    return np.stack([known[t] for t in texts]) if texts else np.zeros((0, reference.info.dim), dtype=np.float32)


def words_cosines(reference: KnowledgeBase, question: str, items: Mapping[str, Item]) -> dict[str, float]:
    """The cosine, in ``reference``'s encoder (a text KB's), between ``question`` and each item's words
    (:attr:`~mmroute.types.Item.words`), by the keys of ``items``; items without words are left out."""
    worded = {key: item.words for key, item in items.items() if item.words}
    if not worded:
        return {}
    question_vector = reference.embed_queries([question])[0]
    vectors = word_vectors(reference, list(worded.values()))
    return {key: float(v @ question_vector) for key, v in zip(worded, vectors, strict=True)}


@dataclass(frozen=True)
class StepwiseConfig:
    """Budgets and weights of the step-wise retriever (see module doc for the weights' rationale).

    ``max_steps`` counts KB-searching steps, the first included (R1-Router uses at most 3);
    ``max_items`` caps the evidence kept across steps (150: every step of a question routed to two or
    three KBs fits; at 40, a route to two KBs spent the budget on the first search and never stepped);
    ``time_budget_s`` stops starting new steps once spent (a step in flight finishes); ``search_k`` is
    the candidates taken per KB per step.
    ``followup_weight`` and ``followup_top``: the ``followup_top`` best hits of a follow-up are ranked
    by at least ``followup_weight`` times their score for that follow-up (scaled by the planner's
    ``FollowUp.trust``), not only by their relevance to the question (see module doc).
    """

    max_steps: int = 3
    max_items: int = 150
    time_budget_s: float | None = None
    search_k: int = 20
    lexical_weight: float = 0.3
    title_weight: float = 0.3
    link_weight: float = 0.3
    stop_when_sufficient: bool = True
    followup_weight: float = 0.7
    followup_top: int = 2
    widen: bool = True
    """Also search a KB the router did not pick when the picked ones hold nothing close (:mod:`.widening`)."""

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ConfigError("max_steps must be at least 1", hint="use 1 for single-shot behaviour")
        if self.max_items < 1:
            raise ConfigError("max_items must be at least 1", hint="the evidence budget must hold an item")
        if self.search_k < 1:
            raise ConfigError("search_k must be at least 1", hint="take at least one candidate per search")


@dataclass
class _Evidence:
    hit: Hit
    relevance: float
    """Hybrid relevance to the original question."""
    step: int


@dataclass
class _KBView:
    """A KB with its title index and the original question's score terms over it, by point id.

    The dense term is known for the question's top candidates; an item outside them ranked below
    all of them, so it gets the list's lowest cosine (``dense_floor``). The BM25 term is known for
    the question's :data:`LEXICAL_POOL` best BM25 items (0 for the rest: their max-normalised BM25
    is small), the title term for every item. Pools are scored by the store's point ids, so only the
    items that rank are read (:meth:`~mmroute.kb.KnowledgeBase.items_at`).
    """

    kb: KnowledgeBase
    index: TitleIndex
    dense: dict[str, float] = field(default_factory=dict)
    lexical: dict[str, float] = field(default_factory=dict)
    titles: dict[str, float] = field(default_factory=dict)
    dense_floor: float = 0.0
    vectors: dict[str, Any] = field(default_factory=dict)
    """Query vectors already embedded in this call (the question is searched twice at step 0)."""
    items: dict[str, Item] = field(default_factory=dict)
    """Items read by this call's searches, by point id (hits are built from them)."""
    words: dict[str, float] = field(default_factory=dict)
    """For a media KB searched beside text KBs: the text encoder's cosine between the question and an item's
    words (captions, subtitles), by point id (see :func:`words_cosines`)."""
    image_hits: tuple[Hit, ...] = ()
    """For a query image: the KB's items nearest to it by the image alone (its longest search in this call)."""

    def relevance(self, item_id: str, config: StepwiseConfig) -> float:
        key = self.kb.point_of(item_id)
        return (
            max(self.dense.get(key, self.dense_floor), self.words.get(key, float("-inf")))
            + config.lexical_weight * self.lexical.get(key, 0.0)
            + config.title_weight * self.titles.get(key, 0.0)
        )


class StepwiseRetriever:
    """Retriever that issues follow-up queries and routes each one (see module doc).

    ``planner`` is a :class:`Planner` or a registered name (``"offline"``, ``"llm"`` with
    ``planner_options={"base_url": ..., "model": ...}``); keyword ``options`` override
    :class:`StepwiseConfig` fields (``max_steps=2``, ``time_budget_s=1.0``, ...).

    >>> r = StepwiseRetriever(Home(), router=default_router(), max_steps=3)
    >>> r.retrieve("Which album of the singer of X ...", k=5).steps
    """

    name = "stepwise"

    def __init__(
        self,
        home: Home,
        router: Router | None = None,
        planner: Planner | str | None = None,
        config: StepwiseConfig | None = None,
        planner_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.home = home
        self.router = router
        if planner is None or isinstance(planner, str):
            from . import planners as _planners  # noqa: F401  (registers the planners)

            planner = PLANNERS.create(planner or "offline", **dict(planner_options or {}))
        self.planner: Planner = planner
        unknown = sorted(set(options) - {f.name for f in fields(StepwiseConfig)})
        if unknown:
            raise ConfigError(
                f"unknown step-wise retriever option(s) {', '.join(unknown)}",
                hint=f"use {', '.join(f.name for f in fields(StepwiseConfig))}",
            )
        check_options(StepwiseConfig, options, "the step-wise retriever")
        self.config = replace(config or StepwiseConfig(), **options) if options else (config or StepwiseConfig())

    def warm_up(self) -> None:
        self.planner.warm_up()
        if self.router is not None:
            self.router.warm_up()

    # ----- routing ---------------------------------------------------------------------------
    def _route(
        self, query: str, allowed: Sequence[str], previous: Sequence[str], image: Path | None, hint: str | None
    ) -> tuple[list[str], RouteDecision | None, str]:
        """KBs for one follow-up: the router's choice among ``allowed`` (the planner's modality hint
        breaks ties), else the previous step's KBs."""
        if self.router is None:
            kbs = list(previous)
            if hint:
                matching = [n for n in allowed if self._modality(n) == hint]
                if matching and not any(self._modality(n) == hint for n in kbs):
                    return matching[:1], None, f"planner asked for {hint}"
            return kbs, None, "no router: same KBs"
        infos = [self.home.open(n).info for n in allowed]
        decision = self.router.route(query, infos, image=image)
        chosen = [n for n in kbs_with_fallback(decision)[0] if n in allowed]
        if hint and not any(self._modality(n) == hint for n in chosen):
            ranked = [kb for rs in decision.ranked for kb in rs.kbs if kb in allowed and self._modality(kb) == hint]
            if ranked:
                return ranked[:1], decision, f"planner asked for {hint}"
        if not chosen:
            return list(previous), decision, "router chose no KB: same KBs as before"
        # a follow-up's own route, named: "photos beyond the route" on the answer's route line points here
        chosen, how = self._widen(query, chosen, allowed, image, f"routed ({', '.join(decision.chosen)})")
        return chosen, decision, how

    def _widen(
        self,
        query: str,
        names: list[str],
        allowed: Sequence[str],
        image: Path | None,
        how: str,
        decision: RouteDecision | None = None,
    ) -> tuple[list[str], str]:
        """The routed KBs plus those widening adds for a text query (:mod:`.widening`), and the trace note."""
        if not self.config.widen or image is not None:
            return names, how
        widened, note, _ = widen_route(self.home, query, names, allowed, how, decision)
        return widened, note

    def _modality(self, name: str) -> str:
        return self.home.open(name).info.modality.value

    # ----- search ----------------------------------------------------------------------------
    def _view(self, views: dict[str, _KBView], name: str, question: str, image: Path | None) -> _KBView:
        view = views.get(name)
        if view is None:
            kb = self.home.open(name)
            view = _KBView(kb=kb, index=title_index_for(kb))
            view.dense, view.lexical, view.titles, view.dense_floor = self._terms(
                view, question, max(self.config.search_k, 100), image, exhaustive=True
            )
            views[name] = view
        return view

    def _terms(
        self, view: _KBView, query: str, n: int, image: Path | None, exhaustive: bool = False
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float], float]:
        """Dense cosines of the top n, max-normalised BM25 (of the :data:`LEXICAL_POOL` best when
        ``exhaustive``), title-match weights, all by point id, and the lowest dense cosine listed."""
        kb, index = view.kb, view.index
        dense: dict[str, float] = {}
        by_image = False
        if image is not None and kb.info.modality is not Modality.TEXT:
            try:
                image_hits = kb.search_image(image, n)
            except NotImplementedError:
                image_hits = []
            for h in image_hits:
                key = kb.point_of(h.item.id)
                dense[key] = h.score
                view.items.setdefault(key, h.item)
            by_image = bool(dense)
            if len(image_hits) > len(view.image_hits):
                view.image_hits = tuple(image_hits)
        if not dense:
            vector = view.vectors.get(query)
            if vector is None:
                vector = view.vectors[query] = kb.embed_queries([query])[0]
            dense = dict(kb.dense_pool(vector, n))
        floor = min(dense.values()) if dense else 0.0
        scored = kb.sparse_pool(query, max(n, LEXICAL_POOL) if exhaustive else n) if kb.has_lexical else []
        top = scored[0][1] if scored else 1.0
        lex = {i: s / top for i, s in scored}
        titles: dict[str, float] = {}
        for m in index.mentions(query):
            for i in m.ids:
                key = kb.point_of(i)
                titles[key] = max(titles.get(key, 0.0), m.weight)
        if by_image and only_about_the_medium(query):  # "what is in this picture?": its words say nothing of what
            lex, titles = {}, {}  # it shows ("picture" in a caption put another photo above the image's own)
        elif by_image:  # the image picks the candidates; the words only reorder them ("picture" matching a caption
            lex = {i: v for i, v in lex.items() if i in dense}  # must not bring in an item unlike the image)
            titles = {i: v for i, v in titles.items() if i in dense}
        return dense, lex, titles, floor

    def _search(self, view: _KBView, query: str, image: Path | None) -> list[Hit]:
        """Top ``search_k`` items of one KB for a query by hybrid score (see module doc)."""
        dense, lex, titles, floor = self._terms(view, query, self.config.search_k, image)
        cfg = self.config
        scores = {
            i: dense.get(i, floor) + cfg.lexical_weight * lex.get(i, 0.0) + cfg.title_weight * titles.get(i, 0.0)
            for i in set(dense) | set(lex) | set(titles)
        }
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[: self.config.search_k]
        missing = [i for i, _ in ranked if i not in view.items]
        if missing:
            view.items.update(view.kb.items_at(missing))
        found = [(s, view.items[i]) for i, s in ranked if i in view.items]
        return [Hit(item=item, score=s, kb=view.kb.name, rank=r + 1) for r, (s, item) in enumerate(found)]

    def _read_words(self, view: _KBView, reference: KnowledgeBase, question: str, hits: Sequence[Hit]) -> None:
        """Score the words of a media KB's best :data:`WORDS_TOP` hits that share a word with the question (when
        the KB has a word index) against the question, in the text KBs' space (module doc)."""
        keyed = ((view.kb.point_of(h.item.id), h.item) for h in hits)
        shared = [(key, item) for key, item in keyed if not view.kb.has_lexical or view.lexical.get(key, 0.0) > 0.0]
        fresh = {key: item for key, item in shared[:WORDS_TOP] if key not in view.words}
        view.words.update(words_cosines(reference, question, fresh))

    # ----- the loop --------------------------------------------------------------------------
    def retrieve(
        self, query: str, k: int = 5, kbs: Sequence[str] | None = None, image: Path | None = None
    ) -> RetrievalResult:
        t0 = time.perf_counter()
        cfg = self.config
        allowed, skipped = (list(kbs), []) if kbs else routable_kbs(self.home)
        views: dict[str, _KBView] = {}
        indexes = {n: title_index_for(self.home.open(n)) for n in allowed}
        pool: dict[tuple[str, str], _Evidence] = {}
        reference = next((self.home.open(n) for n in allowed if self._modality(n) == Modality.TEXT.value), None)
        steps: list[RetrievalStep] = []
        asked: list[str] = []
        targets: list[str] = []
        follow = FollowUp(query=query, why="the question itself")
        previous: list[str] = []
        stop_reason = ""
        while True:
            ts = time.perf_counter()
            index = len(steps)
            if index == 0:
                if kbs:
                    names, decision, how = list(kbs), None, "KBs named by the caller"
                elif self.router is not None:
                    infos = [self.home.open(n).info for n in allowed]
                    decision = self.router.route(query, infos, image=image)
                    routed, fallback = kbs_with_fallback(decision)
                    names, how = [n for n in routed if n in allowed], fallback or "routed"
                    names, how = self._widen(query, names, allowed, image, how, decision)
                else:
                    names, decision, how = list(allowed), None, "no router: all KBs"
            elif kbs and len(kbs) == 1:  # nothing to route among: the caller's one KB
                names, decision, how = list(kbs), None, "KBs named by the caller"
            else:
                names, decision, how = self._route(follow.query, allowed, previous, image, follow.modality)
                if kbs and how.startswith("routed"):
                    how = "routed among the KBs named by the caller" + how[len("routed") :]
            hits: list[Hit] = []
            mixed = image is None and any(self._modality(n) == Modality.TEXT.value for n in names)
            for name in names:
                view = self._view(views, name, query, image)
                found_hits = self._search(view, follow.query, image)
                if mixed and reference is not None and view.kb.info.modality is not Modality.TEXT:
                    self._read_words(view, reference, query, found_hits)
                hits.extend(found_hits)
            hits.sort(key=lambda h: -h.score)
            new_ids: list[str] = []
            ceiling = max((e.relevance for e in pool.values() if e.step == 0), default=0.0) - 1e-6
            for rank, h in enumerate(hits):
                key = (h.kb, h.item.id)
                found = cfg.followup_weight * follow.trust * h.score if index and rank < cfg.followup_top else 0.0
                found = min(found, ceiling)  # a hop's item ranks beside the question's best match, not above it
                if key in pool:
                    pool[key].relevance = max(pool[key].relevance, found)
                    continue
                if len(pool) >= cfg.max_items:
                    break
                relevance = max(views[h.kb].relevance(h.item.id, cfg), found)
                pool[key] = _Evidence(hit=h, relevance=relevance, step=index)
                new_ids.append(h.item.id)
            asked.append(follow.query)
            if follow.target:
                targets.append(follow.target)
            previous = names or previous
            ranked = rank_evidence(query, list(pool.values()), indexes, len(pool), cfg.link_weight)
            note_parts = [follow.why, how, skipped_note(skipped) if index == 0 else ""]
            if decision is not None and decision.rejected:
                note_parts.append("router rejected the query")
            stop_reason = self._budget_stop(index + 1, len(pool), t0)
            if not stop_reason and not names and index == 0:
                stop_reason = "router chose no retrieval"
            if not stop_reason and cfg.stop_when_sufficient and sufficient(query, ranked, indexes):
                stop_reason = "evidence suffices"
            step = RetrievalStep(
                index=index,
                query=follow.query,
                kbs=tuple(names),
                hits=tuple(hits),
                route=decision,
                new_ids=tuple(new_ids),
                note="; ".join(p for p in note_parts if p),
                bridge=follow.target if follow.bridge else None,
            )
            nxt: FollowUp | None = None
            if not stop_reason:
                state = PlanState(
                    question=query,
                    steps=(*steps, step),
                    evidence=tuple(ranked),
                    indexes=indexes,
                    asked=tuple(asked),
                    targets=tuple(targets),
                )
                nxt = self.planner.plan(state)
                if nxt.stop:
                    stop_reason = f"planner stopped: {nxt.why}"
            note = f"{step.note}; stop: {stop_reason}" if stop_reason else step.note
            steps.append(replace(step, note=note, elapsed_ms=(time.perf_counter() - ts) * 1000))
            if stop_reason or nxt is None:
                break
            follow = nxt
        ranked = rank_evidence(query, list(pool.values()), indexes, k, cfg.link_weight)
        return RetrievalResult(
            query=query,
            hits=tuple(ranked),
            steps=tuple(steps),
            stop_reason=stop_reason,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
            image_hits=tuple(sorted((h for v in views.values() for h in v.image_hits), key=lambda h: -h.score)),
        )

    def _budget_stop(self, steps_done: int, items: int, t0: float) -> str:
        cfg = self.config
        if steps_done >= cfg.max_steps:
            return f"step budget spent ({cfg.max_steps})"
        if items >= cfg.max_items:
            return f"evidence budget spent ({cfg.max_items} items)"
        if cfg.time_budget_s is not None and time.perf_counter() - t0 >= cfg.time_budget_s:
            return f"time budget spent ({cfg.time_budget_s:g} s)"
        return ""


def _mentioned(x: Hit, indexes: Mapping[str, TitleIndex]) -> dict[str, float]:
    """Item ids whose titles ``x``'s text names (in x's KB), with the titles' specificity."""
    index = indexes.get(x.kb)
    out: dict[str, float] = {}
    if index is None:
        return out
    for m in index.mentions(x.item.text or "", exclude={x.item.id}):
        for i in m.ids:
            out[i] = max(out.get(i, 0.0), m.weight)
    return out


def rank_evidence(
    question: str,
    evidence: Sequence[_Evidence],
    indexes: Mapping[str, TitleIndex],
    k: int,
    link_weight: float = 0.3,
    pool_size: int = 15,
    anchors: int = 3,
) -> list[Hit]:
    """Order evidence so that the top k holds the best connected set (see module doc).

    Pairs are formed among the ``pool_size`` most relevant items plus every item linked to one of
    the ``anchors`` most relevant ones (a bridge item is often unlike the question: "Miguel
    Morayta" for "When did the director of Hypocrite die?"); the rest follow by relevance.
    """
    if not evidence:
        return []
    by_rel = sorted(evidence, key=lambda e: (-e.relevance, e.step))
    best: dict[tuple[str, str, str, str], _Evidence] = {}
    for e in by_rel:  # one item held by two KBs (a KB and its copy) is one piece of evidence, at its best
        best.setdefault(content_key(e.hit), e)
    by_rel = list(best.values())
    links = {id(e): _mentioned(e.hit, indexes) for e in by_rel}
    head = list(by_rel[:pool_size])
    top_ids = {(e.hit.kb, e.hit.item.id) for e in by_rel[:anchors]}
    for e in by_rel[pool_size:]:
        named_by_anchor = any(e.hit.item.id in links[id(a)] and a.hit.kb == e.hit.kb for a in by_rel[:anchors])
        names_anchor = any((e.hit.kb, i) in top_ids for i in links[id(e)])
        if named_by_anchor or names_anchor:
            head.append(e)

    def link(a: _Evidence, b: _Evidence) -> float:
        if a.hit.kb != b.hit.kb:
            return 0.0
        return max(links[id(a)].get(b.hit.item.id, 0.0), links[id(b)].get(a.hit.item.id, 0.0))

    pairs: list[tuple[float, int, int]] = []
    for i in range(len(head)):
        for j in range(i + 1, len(head)):
            pairs.append((head[i].relevance + head[j].relevance + link_weight * link(head[i], head[j]), i, j))
    pairs.sort(key=lambda p: -p[0])
    order: list[_Evidence] = []
    seen: set[int] = set()
    for _, i, j in pairs:
        for x in sorted((i, j), key=lambda x: -head[x].relevance):
            if x not in seen:
                seen.add(x)
                order.append(head[x])
    order.extend(e for x, e in enumerate(head) if x not in seen)
    in_head = {id(e) for e in head}
    order.extend(e for e in by_rel if id(e) not in in_head)
    return [replace(e.hit, score=e.relevance, rank=r + 1) for r, e in enumerate(order[:k])]


def sufficient(question: str, ranked: Sequence[Hit], indexes: Mapping[str, TitleIndex]) -> bool:
    """True when the two best items form a chain (one names the other's title) and together
    contain every content word of the question: then another hop is unlikely to add anything."""
    if len(ranked) < 2:
        return False
    a, b = ranked[0], ranked[1]
    if a.kb != b.kb or not (b.item.id in _mentioned(a, indexes) or a.item.id in _mentioned(b, indexes)):
        return False
    need = set(content_tokens(question))
    have: set[str] = set()
    for h in (a, b):
        have |= set(content_tokens(f"{h.item.title or ''} {h.item.text}"))
    return bool(need) and need <= have
