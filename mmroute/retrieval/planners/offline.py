"""The offline planner: follow-ups built from the evidence itself, no LLM.

Multi-hop questions name their first hop; the missing hop is an entity that the first hop's
evidence mentions but the question does not (the album a song was released on, the director of
a film). This planner proposes, as the next query, the first candidate of three tiers:

0. **bridge entity**: a KB title that one of the best few evidence items names (title index) and
   the question does not, scored by the evidence item's rank, the title's specificity, how early
   the text names it, and how much of the question's *missing* part (the content words that the
   evidence item lacks) the titled item's text holds;
1. **named entity**: a question that names two or more KB entities ("Who is older, A or B?", "Are
   both A and B in ...?") is decomposed, one follow-up per named entity with the question's other
   words, so that each gets its own evidence even when one query favours one of them;
2. **bridge span**: a proper-noun span of the best evidence, preferring the sentences that share
   most words with the question (the bridge when it is not a KB title: "King Centwine" where the
   KB's title is "Centwine of Wessex", or when the KB has no titles at all).

Candidates already targeted, or (tiers 0 and 2) named by the question, are skipped; so is a bridge
whose item is already the best evidence (``skip_top``), while one found lower down is still followed:
the follow-up confirms the hop and lets the retriever rank the bridge by its match to the follow-up.

The follow-up query is the entity followed by the missing words ("Mario Lemieux former Canadian
professional ice hockey player"), which a hybrid (title + BM25 + dense) search resolves to the
entity's own item. A guessed span carries ``trust=0`` (its hits are ranked by the question alone).
It stops when no candidate remains.

>>> planner = OfflinePlanner()
>>> planner.plan(PlanState(question="Who endorses MLX Skates?", steps=[...], evidence=hits, indexes=idx))
FollowUp(query='Mario Lemieux endorses', target='Mario Lemieux', why='bridge entity in "MLX Skates" ...')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...text import MEDIA_WORDS, only_about_the_medium, sentences, strip_parenthetical
from ...text import STOPWORDS as TEXT_STOPWORDS
from ...types import Hit
from ..lexical import STOPWORDS, content_tokens, title_key, tokens
from .base import FollowUp, PlanState

_CONNECTORS = ("of", "the", "and", "de", "von", "van", "da", "del", "la", "le", "du", "for", "in", "on", "&")
"""The lower-case words a proper-noun span may hold between its capitalised ones."""
_PROPER = re.compile(  # a run of capitalised words (with "of", "de", ... inside), or a 3-4 digit number
    r"\b(?:[A-Z][\w'’.-]*|[0-9]{3,4})(?:\s+(?:(?:" + "|".join(_CONNECTORS) + r")\s+)?[A-Z][\w'’.-]*)*"
)
_RUN_ON = re.compile(r"(?<=[a-z]{2})\.(?=[A-Z])")
"""A full stop with no space after it between two words ("History.The"): a sentence break a text lost."""


_LEADS = frozenset(TEXT_STOPWORDS) | frozenset(MEDIA_WORDS) | {"photograph", "image", "picture"}
"""Capitalised words that open a span only because they open its sentence or caption ("Since Turing ...",
"Photograph of Eileen Collins"): no part of a name."""


_ARTICLES = frozenset({"the", "a", "an"})


def tidy_span(span: str, opens: bool = True) -> str:
    """A proper-noun span without what its pattern takes along from around it: the words after a full stop with
    no space ("History.The x" is "History"), a sentence's full stop ("Pikolo Espresso Bar." is "Pikolo Espresso
    Bar"; an initial or an abbreviation keeps its own: "P.S.", "John F."), and a function or medium word that opens
    it with the connectors after it ("Since Turing" is "Turing", "Photograph of Eileen Collins" is "Eileen
    Collins"). A span that does not ``opens`` its sentence or line has its capitals of its own ("the Near East"):
    only an article is dropped there ("The Hague" is "Hague" to a search either way)."""
    span = _RUN_ON.split(span, maxsplit=1)[0]
    words = span.split()
    leads = _LEADS if opens else _ARTICLES
    while len(words) > 1 and words[0].lower() in leads:
        words = words[1:]
        while len(words) > 1 and words[0].lower() in _CONNECTORS:
            words = words[1:]
    span = " ".join(words) if words else span
    last = span.rsplit(None, 1)[-1] if span.strip() else ""
    if last.endswith(".") and len(last) > 2 and "." not in last[:-1]:
        span = span[:-1]
    return span


@dataclass
class _Candidate:
    target: str
    score: float
    source: str
    key: tuple[str, ...]
    missing: tuple[str, ...]
    modality: str | None
    tier: int
    """0: a KB title the evidence names; 1: an entity the question names; 2: a proper-noun span."""


_TIER_NAMES = ("bridge entity", "named entity", "bridge span")


def _missing(question: str, hit: Hit) -> tuple[str, ...]:
    """The question's content words that an evidence item does not contain (what the next hop must find)."""
    own = set(content_tokens(f"{hit.item.title or ''} {hit.item.text or ''}"))
    return tuple(dict.fromkeys(t for t in content_tokens(question) if t not in own))


class OfflinePlanner:
    """Bridge-entity follow-ups from the evidence (see module doc).

    ``scan``: how many top evidence items are searched for bridge entities (3: the first hop is
    almost always among them, and looking deeper mostly adds distractors' entities).
    ``max_terms``: how many missing question words are appended to the entity.
    ``skip_top``: a bridge whose item already ranks in the top ``skip_top`` evidence is not
    followed (it is the first hop itself). ``compare`` and ``spans`` switch tiers 1 and 2 on (a KB
    without titles always uses spans); ``min_named_weight``: the least title specificity for a
    question's mention to count as a named entity (0.3 leaves out titles made of common words).
    """

    name = "offline"

    def __init__(
        self,
        scan: int = 3,
        max_terms: int = 10,
        skip_top: int = 1,
        compare: bool = True,
        spans: bool = True,
        min_named_weight: float = 0.3,
    ) -> None:
        self.scan = int(scan)
        self.skip_top = int(skip_top)
        self.max_terms = int(max_terms)
        self.compare = bool(compare)
        self.spans = bool(spans)
        self.min_named_weight = float(min_named_weight)

    def warm_up(self) -> None:
        """Nothing to load."""

    def plan(self, state: PlanState) -> FollowUp:
        if only_about_the_medium(state.question):  # nothing in it to follow up beyond what the items say
            return FollowUp.done("the question has no words beyond its medium to follow up", planner=self.name)
        q_all = set(tokens(state.question))
        done_targets = {title_key(t) for t in state.targets}
        asked = {" ".join(tokens(a)) for a in state.asked}
        best: dict[tuple[str, ...], _Candidate] = {}
        titled = any(index.has_titles for index in state.indexes.values())
        self._bridges(state, best, q_all, done_targets)
        if self.compare:
            self._named(state, best, done_targets)
        if self.spans or not titled:
            self._spans(state, best, q_all, done_targets, asked)
        for cand in sorted(best.values(), key=lambda c: (c.tier, -c.score)):
            # the entity and what the question still needs; when the evidence held every question word, the
            # question's words give the entity its context (a lone "Nevada" finds any Nevada)
            context = [w for w in cand.missing or content_tokens(state.question) if w not in set(cand.key)]
            query = " ".join([cand.target, *context[: self.max_terms]])
            if " ".join(tokens(query)) in asked:
                continue
            return FollowUp(
                query=query,
                target=cand.target,
                planner=self.name,
                modality=cand.modality,
                why=f"{_TIER_NAMES[cand.tier]} {cand.target!r} from {cand.source!r} (score {cand.score:.3f})",
                trust=0.0 if cand.tier == 2 else 1.0,
                bridge=cand.tier == 0,
            )
        return FollowUp.done("no unexplored bridge entity in the evidence", planner=self.name)

    def _bridges(
        self, state: PlanState, best: dict[tuple[str, ...], _Candidate], q_all: set[str], done: set[tuple[str, ...]]
    ) -> None:
        """Tier 0: KB titles that the top evidence names and the question does not."""
        top = {(h.kb, h.item.id) for h in state.evidence[: self.skip_top]}
        for index in state.indexes.values():  # the items the scanned evidence names, in one store call per KB
            index.prefetch(
                i
                for hit in state.evidence[: self.scan]
                for m in index.mentions(hit.item.text or "", exclude={hit.item.id})
                for i in m.ids[:3]
            )
        for rank, hit in enumerate(state.evidence[: self.scan]):
            text = hit.item.text or ""
            missing = _missing(state.question, hit)
            rank_w = 1.0 / (1.0 + rank)
            own_title = title_key(hit.item.title or "")
            for _kb, index in state.indexes.items():
                for m in index.mentions(text, exclude={hit.item.id}):
                    key = tuple(m.title.split())
                    if set(key) <= q_all or key in done or key == own_title or any((_kb, i) in top for i in m.ids):
                        continue  # named by the question, followed before, the item's own title (its
                        # article's other paragraphs), or already the best evidence
                    targets = [it for it in map(index.item, m.ids[:3]) if it is not None]
                    target_text = " ".join(f"{it.title or ''} {it.text}" for it in targets)
                    cover = len(set(missing) & set(content_tokens(target_text))) / len(missing) if missing else 0.0
                    position = 1.0 / (1.0 + m.start / 50.0)
                    score = rank_w * m.weight * position * (0.5 + cover)
                    first = index.item(m.ids[0])
                    title = strip_parenthetical((first.title if first is not None else None) or m.title)
                    self._keep(
                        best, _Candidate(title, score, hit.item.title or hit.item.id, key, missing, index.modality, 0)
                    )

    def _named(self, state: PlanState, best: dict[tuple[str, ...], _Candidate], done: set[tuple[str, ...]]) -> None:
        """Tier 1: a question that names two or more KB entities ("who is older, A or B?", "are both A
        and B in ...?") is decomposed: each named entity is searched on its own with the question's
        other words, so that each gets its own evidence even when one query favours one of them."""
        for index in state.indexes.values():
            named: dict[tuple[str, ...], tuple[str, float, int]] = {}
            for m in index.mentions(state.question):
                if m.weight < self.min_named_weight:
                    continue
                key = tuple(m.title.split())
                first = index.item(m.ids[0])
                title = strip_parenthetical((first.title if first is not None else None) or m.title)
                named.setdefault(key, (title, m.weight, m.start))
            if len(named) < 2:
                continue
            others = tuple(dict.fromkeys(t for t in content_tokens(state.question) if all(t not in k for k in named)))
            for key, (title, weight, start) in named.items():
                if key in done:
                    continue
                score = weight / (1.0 + start / 50.0)
                self._keep(best, _Candidate(title, score, "the question", key, others, index.modality, 1))

    def _spans(
        self,
        state: PlanState,
        best: dict[tuple[str, ...], _Candidate],
        q_all: set[str],
        done: set[tuple[str, ...]],
        asked: set[str],
    ) -> None:
        """Tier 2: proper-noun spans of the top evidence (the bridge when it is not a KB title, or the
        KB has none), preferring the sentences that share most words with the question."""
        q_tokens = set(content_tokens(state.question))
        for rank, hit in enumerate(state.evidence[: self.scan]):
            rank_w = 1.0 / (1.0 + rank)
            missing = _missing(state.question, hit)
            own_title = set(tokens(hit.item.title or ""))
            for sentence in sentences(hit.item.text or ""):
                overlap = len(q_tokens & set(content_tokens(sentence))) / max(len(q_tokens), 1)
                for found in _PROPER.finditer(sentence):
                    before = sentence[: found.start()].rstrip(" \t")
                    at_start = not before or before.endswith("\n")
                    span = tidy_span(found.group(0), opens=at_start)
                    key = tuple(tokens(span))
                    if len(key) == 1 and at_start and span.split()[0] == found.group(0).split()[0]:
                        continue  # one word capitalised only because it opens a sentence or line ("Image of ...")
                    if span.isdigit():
                        continue  # a bare year or number is not something to look up
                    if not set(key) - STOPWORDS or set(key) <= q_all or key in done:
                        continue
                    if not set(key) - own_title or all(t in asked for t in key):
                        continue
                    self._keep(
                        best,
                        _Candidate(
                            span, 0.25 * rank_w * (1.0 + overlap), hit.item.title or hit.item.id, key, missing, None, 2
                        ),
                    )

    @staticmethod
    def _keep(best: dict[tuple[str, ...], _Candidate], cand: _Candidate) -> None:
        old = best.get(cand.key)
        if old is None or (cand.tier, -cand.score) < (old.tier, -old.score):
            best[cand.key] = cand
