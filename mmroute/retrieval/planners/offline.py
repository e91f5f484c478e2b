"""The offline planner: follow-ups built from the evidence itself, no LLM.

Multi-hop questions name their first hop; the missing hop is an entity that the first hop's
evidence mentions but the question does not (the album a song was released on, the director of
a film). This planner therefore looks at the best few evidence items and proposes, as the next
query, the entity that

1. is mentioned in that evidence: a KB title found in its text (title index), or, for KBs without
   titles, a proper-noun span, preferring spans of the answer-bearing sentences (those sharing most
   words with the question);
2. is not named by the question, not already in the evidence, and not targeted before;
3. best covers the *missing* part of the question: the question's content words that the evidence
   item it came from does not contain (scored against the target item's text when a title index
   knows it).

The follow-up query is the entity followed by those missing words ("Mario Lemieux former
Canadian professional ice hockey player"), which a hybrid (title + BM25 + dense) search resolves to
the entity's own item. It stops when no unexplored entity remains.

>>> planner = OfflinePlanner()
>>> planner.plan(PlanState(question="Who endorses MLX Skates?", steps=[...], evidence=hits, indexes=idx))
FollowUp(query='Mario Lemieux endorses', target='Mario Lemieux', why='bridge entity in "MLX Skates" ...')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...text import sentences, strip_parenthetical
from ..lexical import STOPWORDS, content_tokens, title_key, tokens
from .base import FollowUp, PlanState

_PROPER = re.compile(
    r"\b(?:[A-Z][\w'’.-]*|[0-9]{3,4})(?:\s+(?:(?:of|the|and|de|von|van|da|del|la|le|du|for|in|on|&)\s+)?[A-Z][\w'’.-]*)*"
)


@dataclass
class _Candidate:
    target: str
    score: float
    source: str
    key: tuple[str, ...]
    missing: tuple[str, ...]
    modality: str | None


class OfflinePlanner:
    """Bridge-entity follow-ups from the evidence (see module doc).

    ``scan``: how many top evidence items are searched for bridge entities (3: the first hop is
    almost always among them, and looking deeper mostly adds distractors' entities).
    ``max_terms``: how many missing question words are appended to the entity.
    ``skip_top``: an entity whose item already ranks in the top ``skip_top`` evidence is not
    followed again (it is found; a hop on it would only repeat it).
    """

    name = "offline"

    def __init__(self, scan: int = 3, max_terms: int = 10, skip_top: int = 5) -> None:
        self.scan = int(scan)
        self.skip_top = int(skip_top)
        self.max_terms = int(max_terms)

    def warm_up(self) -> None:
        """Nothing to load."""

    def plan(self, state: PlanState) -> FollowUp:
        q_tokens = set(content_tokens(state.question))
        q_all = set(tokens(state.question))
        top = {(h.kb, h.item.id) for h in state.evidence[: self.skip_top]}
        done_targets = {title_key(t) for t in state.targets}
        asked = {" ".join(tokens(a)) for a in state.asked}
        best: dict[tuple[str, ...], _Candidate] = {}
        titled = any(index.has_titles for index in state.indexes.values())
        for index in state.indexes.values():  # the items the scanned evidence names, in one store call per KB
            index.prefetch(
                i
                for hit in state.evidence[: self.scan]
                for m in index.mentions(hit.item.text or "", exclude={hit.item.id})
                for i in m.ids[:3]
            )
        for rank, hit in enumerate(state.evidence[: self.scan]):
            text = hit.item.text or ""
            own = set(content_tokens(f"{hit.item.title or ''} {text}"))
            missing = tuple(dict.fromkeys(t for t in content_tokens(state.question) if t not in own))
            rank_w = 1.0 / (1.0 + rank)
            mentions = [
                (kb, index, m)
                for kb, index in state.indexes.items()
                for m in index.mentions(text, exclude={hit.item.id})
            ]
            kept = [
                (kb, index, m)
                for kb, index, m in mentions
                if not (
                    set(m.title.split()) <= q_all
                    or tuple(m.title.split()) in done_targets
                    or any((kb, i) in top for i in m.ids)
                )
            ]
            for _kb, index, m in kept:
                key = tuple(m.title.split())
                targets = [it for it in map(index.item, m.ids[:3]) if it is not None]
                target_text = " ".join(f"{it.title or ''} {it.text}" for it in targets)
                cover = len(set(missing) & set(content_tokens(target_text))) / len(missing) if missing else 0.0
                position = 1.0 / (1.0 + m.start / 50.0)
                score = rank_w * m.weight * position * (0.5 + cover)
                first = index.item(m.ids[0])
                title = strip_parenthetical((first.title if first is not None else None) or m.title)
                self._keep(best, _Candidate(title, score, hit.item.title or hit.item.id, key, missing, index.modality))
            if not titled:
                for sentence in sentences(text):
                    overlap = len(q_tokens & set(content_tokens(sentence))) / max(len(q_tokens), 1)
                    for span in _PROPER.findall(sentence):
                        key = tuple(tokens(span))
                        if not set(key) - STOPWORDS or set(key) <= q_all or key in done_targets:
                            continue
                        if not set(key) - set(tokens(hit.item.title or "")) or all(t in asked for t in key):
                            continue
                        self._keep(
                            best,
                            _Candidate(
                                span, 0.25 * rank_w * (1.0 + overlap), hit.item.title or hit.item.id, key, missing, None
                            ),
                        )
        for cand in sorted(best.values(), key=lambda c: -c.score):
            query = " ".join([cand.target, *[w for w in cand.missing if w not in set(cand.key)][: self.max_terms]])
            if " ".join(tokens(query)) in asked:
                continue
            return FollowUp(
                query=query,
                target=cand.target,
                planner=self.name,
                modality=cand.modality,
                why=f"bridge entity {cand.target!r} from {cand.source!r} (score {cand.score:.3f})",
            )
        return FollowUp.done("no unexplored bridge entity in the evidence", planner=self.name)

    @staticmethod
    def _keep(best: dict[tuple[str, ...], _Candidate], cand: _Candidate) -> None:
        old = best.get(cand.key)
        if old is None or cand.score > old.score:
            best[cand.key] = cand
