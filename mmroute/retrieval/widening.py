"""Widening a route by evidence: also search a KB the router did not pick, when the KBs it picked
know nothing about the question and that KB does.

The router reads the question's form and picks the kind of knowledge it needs: a two-hop question
about two films is a ``document`` question. It does not know what each KB holds. When the only KB of
the chosen kind is about something else (three Wikipedia articles on the Normans, complexity theory and
Southern California), every hit is noise and the paragraphs that answer the question sit unsearched in
another KB. This happens to most multi-hop questions in the README's layout (``hop`` as paragraphs,
``squad`` as both): 68 of the 89 ``multihop_ircot`` questions were routed to ``squad-document`` alone.

The rule compares dense cosines only where they compare: among KBs of one score space (same encoder and
options, :func:`mmroute.retrieval.fusion.score_space`). For each space of a routed KB::

    b = best cosine of the query over the routed KBs of that space
    add KB X (same space, not routed) when  b < FLOOR  and  best cosine over X >= b + MARGIN

so a KB is added only when the routed ones hold nothing close (MiniLM cosines of a relevant paragraph
are usually 0.4-0.7) and it holds something clearly closer. Added KBs keep the weight the router gave
their route, so when both hold evidence the routed KB still wins ties. Cost: one query embedding per
score space and one top-1 dense search per candidate KB.

FLOOR 0.3 and MARGIN 0.2 were chosen on the even-numbered questions of ``multihop_ircot`` and
``squad2_dev`` (README layout, default router). On the odd-numbered ones, widening gives all 37 multi-hop
questions routed away from their corpus their corpus back, and adds a wrong-corpus KB to 4 of the 434
questions routed right. Top-5 recall there, routed only -> widened: single shot, multi-hop recall_all@5
0.068 -> 0.614, SQuAD recall@5 0.732 -> 0.753; step-wise 0.295 -> 0.705 and 0.821 -> 0.821
(``python -m evals.experiments.exp_route_widening``, ``evals/results/exp_route_widening.json``).

The ``no`` route gets the same kind of check. The router says "no retrieval" when a question reads like
general knowledge an LLM answers by itself (its ``no`` examples are exam questions); it cannot know that a
KB holds the very paragraph the question is about. With verification on, a question routed ``no`` is
always "I don't know" (there is no evidence to check a draft against), and the offline reader cannot
answer without evidence at all. So a text KB is searched anyway when its best cosine reaches
``NO_ROUTE_FLOOR``; rejected questions (the guard's "fits none of the KBs") are never searched, and image
questions keep their route. Like ``FLOOR``, the floor is a cosine of the default text encoder (MiniLM); a
KB embedded with another encoder is held to the same number, which may not suit its scale::

    search text KB X despite the no route  when  best cosine over X >= NO_ROUTE_FLOOR

0.35 was chosen on the even-numbered questions routed ``no`` (README/demo layout, default router): SQuAD
dev questions, whose paragraphs are in the home, against the routing data's ``no`` questions (MMLU),
whose topics are not (the most positives served net of negatives searched). On the odd-numbered ones it
searches the right corpus for 36 of the 37 SQuAD questions routed ``no`` (the answerable ones' top-5
recall goes from 0 to 0.96) and searches a KB for 3 of the 42 MMLU questions
(``python -m evals.experiments.exp_no_route_evidence``, ``evals/results/exp_no_route_evidence.json``).

**Across modalities.** The answer to a question about a thing often lives in another modality's words: a
photo's caption names the astronaut, a clip's subtitles say what was said. Cosines of different encoders do
not compare, so two rules work on what does:

- *The question names a medium* ("in the photo", "pictured", "in the video", "this clip":
  :func:`mmroute.routing.explicit.mentioned_media`): every KB of that modality is searched too, at full
  route weight (a person reading the question would look there first).
- *Words*: when another modality's KB holds an item whose words (caption, subtitles, title) cover at least
  :data:`CROSS_COVERAGE` of the question's content words, and clearly more (:data:`CROSS_MARGIN`) than the
  best item of the routed KBs, it is searched too, weighted by that coverage. Coverage is a share of the
  question's words, the same scale in every KB, so it compares where cosines do not. Cost: one top-1 BM25
  search per KB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..kb import Home
from ..types import Modality, Route, RouteDecision
from .fusion import score_space

FLOOR = 0.3
MARGIN = 0.2
NO_ROUTE_FLOOR = 0.35
CROSS_COVERAGE = 0.6
CROSS_MARGIN = 0.2


@dataclass(frozen=True)
class Widening:
    """KBs added to a route and why (``added`` empty: nothing added; ``note`` then empty too)."""

    added: tuple[str, ...] = ()
    note: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    """Route weights for added KBs that the router gave (next to) none (cross-modal additions)."""


def kbs_to_add(
    routed_best: float, others: Mapping[str, float], floor: float = FLOOR, margin: float = MARGIN
) -> list[str]:
    """The rule of the module doc on cosines already known: the KBs of ``others`` (name -> best cosine)
    to search beside routed KBs whose best cosine is ``routed_best``."""
    if routed_best >= floor:
        return []
    return [n for n, s in others.items() if s >= routed_best + margin]


class BestCosines:
    """The best dense cosine of one query over whole KBs, one query embedding per score space."""

    def __init__(self, home: Home, query: str) -> None:
        self.home = home
        self.query = query
        self.vectors: dict[str, np.ndarray] = {}
        self.spaces: dict[str, str] = {}

    def space(self, name: str) -> str:
        if name not in self.spaces:
            self.spaces[name] = score_space(self.home.open(name).info)
        return self.spaces[name]

    def __call__(self, name: str) -> float:
        kb = self.home.open(name)
        space = self.space(name)
        if space not in self.vectors:
            self.vectors[space] = kb.embed_queries([self.query])[0]
        pool = kb.dense_pool(self.vectors[space], 1)  # the best cosine only: no item is read
        return pool[0][1] if pool else float("-inf")


def is_no_route(decision: RouteDecision | None) -> bool:
    """The decision searches nothing because it chose no retrieval: ``no`` first and no KB to search (a
    ``("no", "paragraph")`` decision searches the paragraph KBs). A question the guard rejects is not a no
    route; the guard's out-of-domain ``no`` (not a rejection) is one."""
    return (
        decision is not None
        and not decision.rejected
        and not decision.kbs
        and bool(decision.chosen)
        and decision.chosen[0] == Route.NO.value
    )


def evidence_despite_no_route(
    home: Home, query: str, allowed: Sequence[str], floor: float = NO_ROUTE_FLOOR
) -> Widening:
    """Text KBs of ``allowed`` to search for a question routed ``no`` (see module doc)."""
    best = BestCosines(home, query)
    text = [n for n in allowed if home.open(n).info.modality is Modality.TEXT]
    scores = {n: best(n) for n in text}
    found = [n for n in text if scores[n] >= floor]
    if not found:
        return Widening()
    note = (
        f"the router chose no retrieval, but these KBs hold something close (best cosine >= {floor:.2f}): "
        + ", ".join(f"{n} ({scores[n]:.2f})" for n in found)
    )
    return Widening(tuple(found), note)


def widen_by_evidence(home: Home, query: str, routed: Sequence[str], allowed: Sequence[str]) -> Widening:
    """KBs of ``allowed`` to search beside ``routed`` for ``query`` (see module doc)."""
    if not routed:
        return Widening()
    best = BestCosines(home, query)
    added: list[str] = []
    parts: list[str] = []
    for space in dict.fromkeys(best.space(n) for n in routed):
        others = [n for n in allowed if n not in routed and best.space(n) == space]
        if not others:
            continue
        top = max(best(n) for n in routed if best.space(n) == space)
        if top >= FLOOR:  # the routed KBs hold something close: the others are not even searched
            continue
        scores = {n: best(n) for n in others}
        found = kbs_to_add(top, scores)
        if found:
            added.extend(found)
            parts.append(
                f"routed KBs' best cosine {top:.2f} < {FLOOR:.2f}: also searched "
                + ", ".join(f"{n} ({scores[n]:.2f})" for n in found)
            )
    return Widening(tuple(added), "; ".join(parts))


def widen_by_mention(home: Home, query: str, routed: Sequence[str], allowed: Sequence[str]) -> Widening:
    """KBs of a medium the question names ("in the photo") that the route left out (see module doc)."""
    from ..routing.explicit import mentioned_media

    media = mentioned_media(query)
    if not media:
        return Widening()
    modalities = {Modality.IMAGE.value if m == "image" else Modality.VIDEO.value for m in media}
    found = [n for n in allowed if n not in routed and home.open(n).info.modality.value in modalities]
    if not found:
        return Widening()
    named = ", ".join(sorted(media))
    return Widening(
        tuple(found),
        f"the question names a medium ({named}): also searched " + ", ".join(found),
        dict.fromkeys(found, 1.0),
    )


def best_coverage(home: Home, name: str, query: str, stems: set[str]) -> float:
    """Word coverage of the KB's best BM25 item for ``query`` (0 when the KB has no word index)."""
    from ..errors import StoreError
    from ..text import word_coverage

    try:
        hits = home.open(name).search_sparse(query, 1)
    except StoreError:  # a KB built without a word index: nothing to compare
        return 0.0
    if not hits:
        return 0.0
    return word_coverage(stems, hits[0].item.words)


def widen_across_modalities(home: Home, query: str, routed: Sequence[str], allowed: Sequence[str]) -> Widening:
    """KBs of other modalities whose words answer the question better than the routed KBs' (module doc)."""
    from ..text import MEDIA_WORDS, stems_of, text_stems

    routed_modalities = {home.open(n).info.modality for n in routed}
    others = [n for n in allowed if n not in routed and home.open(n).info.modality not in routed_modalities]
    stems = {s for s in text_stems(query) if s not in stems_of(MEDIA_WORDS)}
    if not others or len(stems) < 2:
        return Widening()
    cover = {n: best_coverage(home, n, query, stems) for n in others}
    if max(cover.values()) < CROSS_COVERAGE:
        return Widening()
    routed_best = max((best_coverage(home, n, query, stems) for n in routed), default=0.0)
    found = [n for n, c in cover.items() if c >= CROSS_COVERAGE and c >= routed_best + CROSS_MARGIN]
    if not found:
        return Widening()
    note = f"words of the question are in another modality (routed KBs cover {routed_best:.0%}): also searched " + (
        ", ".join(f"{n} ({cover[n]:.0%})" for n in found)
    )
    return Widening(tuple(found), note, {n: cover[n] for n in found})


def widen_route(
    home: Home,
    query: str,
    routed: Sequence[str],
    allowed: Sequence[str],
    how: str,
    decision: RouteDecision | None = None,
) -> tuple[list[str], str, dict[str, float]]:
    """``routed`` plus the KBs widening adds, ``how`` (the trace note) with its reasons, and route weights for
    added KBs: those of :func:`widen_by_evidence`, :func:`widen_by_mention` and :func:`widen_across_modalities`,
    or of :func:`evidence_despite_no_route` when ``decision`` chose no retrieval."""
    if not routed and is_no_route(decision):
        widened = evidence_despite_no_route(home, query, allowed)
        if widened.added:  # the note says what the router chose; "routed" before it would read as the opposite
            return list(widened.added), widened.note, {}
        return [], how, {}
    if decision is not None and decision.rejected:
        return list(routed), how, {}
    names, notes = list(routed), [how]
    weights: dict[str, float] = {}
    for widen in (widen_by_evidence, widen_by_mention, widen_across_modalities):
        if not names:
            break
        w = widen(home, query, names, allowed)
        names += [n for n in w.added if n not in names]
        notes.append(w.note)
        weights.update(w.weights)
    return names, "; ".join(p for p in notes if p), weights
