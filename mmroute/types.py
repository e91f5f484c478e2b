"""Typed values that cross module boundaries: items, KB descriptors, search hits.

Every stage of mmroute takes and returns these dataclasses; nothing crosses a module
boundary as a loose dict. ``to_dict``/``from_dict`` give the JSON form used by the CLI's
``--json`` output, store payloads and the manifest.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SCHEMA_VERSION = 1
"""Version of the on-disk layout (manifest, payloads). Bump it when either changes."""

_NAMESPACE = uuid.UUID("6f1d3c1e-6d0b-4a7e-9a51-0c3f6a7e2b10")


class Modality(str, Enum):
    """What a KB's items are made of."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"


class Granularity(str, Enum):
    """The unit a KB stores; also the kind of an :class:`Item`."""

    PARAGRAPH = "paragraph"
    DOCUMENT = "document"
    IMAGE = "image"
    CLIP = "clip"
    VIDEO = "video"

    @property
    def modality(self) -> Modality:
        return _GRANULARITY_MODALITY[self]


_GRANULARITY_MODALITY = {
    Granularity.PARAGRAPH: Modality.TEXT,
    Granularity.DOCUMENT: Modality.TEXT,
    Granularity.IMAGE: Modality.IMAGE,
    Granularity.CLIP: Modality.VIDEO,
    Granularity.VIDEO: Modality.VIDEO,
}


class Route(str, Enum):
    """The six routes of UniversalRAG: no retrieval, or one modality/granularity."""

    NO = "no"
    PARAGRAPH = "paragraph"
    DOCUMENT = "document"
    IMAGE = "image"
    CLIP = "clip"
    VIDEO = "video"

    @property
    def granularity(self) -> Granularity | None:
        return None if self is Route.NO else Granularity(self.value)


def point_id(kb_name: str, item_id: str) -> str:
    """Deterministic store id of an item in a KB (uuid5 of KB name and item id).

    Re-indexing the same item therefore overwrites instead of duplicating.
    """
    return str(uuid.uuid5(_NAMESPACE, f"{kb_name}\x1f{item_id}"))


@dataclass(frozen=True)
class Item:
    """One retrievable unit: a paragraph, a document, an image, a video clip or a whole video.

    ``id`` is stable across runs (the corpus record id for paragraphs, ``doc_id`` for documents,
    a path-derived id for media; clips add their time range). ``text`` holds what can be read:
    paragraph or document text, or the captions/subtitles fused into a media item.

    >>> Item(id="squad2/Normans/0", kind=Granularity.PARAGRAPH, text="The Normans were ...")
    Item(id='squad2/Normans/0', kind=<Granularity.PARAGRAPH: 'paragraph'>, ...)
    """

    id: str
    kind: Granularity
    text: str = ""
    title: str | None = None
    source: str | None = None
    doc_id: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    captions: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    """For documents: the texts of its paragraphs, in order (used to embed long documents)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Item(id={self.id!r}, kind={self.kind!r}, ...)"

    @property
    def modality(self) -> Modality:
        return self.kind.modality

    @property
    def readable(self) -> str:
        """What a reader reads of the item: its text, or for a media item its captions joined."""
        return self.text or " ".join(self.captions)

    @property
    def words(self) -> str:
        """Everything written about the item, joined: title, text and captions (a media item's only words)."""
        return " ".join(p for p in (self.title or "", self.text, *self.captions) if p.strip())

    def to_payload(self) -> dict[str, Any]:
        """JSON-safe dict stored beside the vector (without ``parts``, which can be large)."""
        d: dict[str, Any] = {
            "item_id": self.id,
            "kind": self.kind.value,
            "text": self.text,
            "title": self.title,
            "source": self.source,
            "doc_id": self.doc_id,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "captions": list(self.captions),
            "metadata": dict(self.metadata),
        }
        return d

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Item:
        return cls(
            id=str(payload["item_id"]),
            kind=Granularity(payload["kind"]),
            text=payload.get("text") or "",
            title=payload.get("title"),
            source=payload.get("source"),
            doc_id=payload.get("doc_id"),
            start_s=payload.get("start_s"),
            end_s=payload.get("end_s"),
            captions=tuple(payload.get("captions") or ()),
            metadata=dict(payload.get("metadata") or {}),
        )


@dataclass(frozen=True)
class EncoderSpec:
    """How to rebuild an encoder: its registered name and constructor options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(self.options)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EncoderSpec:
        return cls(name=str(d["name"]), options=dict(d.get("options") or {}))


@dataclass(frozen=True)
class StoreSpec:
    """How to open a KB's vector store: a registered backend name and its options."""

    backend: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "options": dict(self.options)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoreSpec:
        return cls(backend=str(d["backend"]), options=dict(d.get("options") or {}))


@dataclass(frozen=True)
class KBInfo:
    """Descriptor of a knowledge base: what it holds, how it is encoded, where it is stored."""

    name: str
    modality: Modality
    granularity: Granularity
    encoder: EncoderSpec
    dim: int
    store: StoreSpec
    description: str = ""
    count: int = 0
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def route(self) -> Route:
        return Route(self.granularity.value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "modality": self.modality.value,
            "granularity": self.granularity.value,
            "description": self.description,
            "encoder": self.encoder.to_dict(),
            "dim": self.dim,
            "store": self.store.to_dict(),
            "count": self.count,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KBInfo:
        return cls(
            name=str(d["name"]),
            modality=Modality(d["modality"]),
            granularity=Granularity(d["granularity"]),
            description=str(d.get("description") or ""),
            encoder=EncoderSpec.from_dict(d["encoder"]),
            dim=int(d["dim"]),
            store=StoreSpec.from_dict(d["store"]),
            count=int(d.get("count") or 0),
            created_at=d.get("created_at"),
            updated_at=d.get("updated_at"),
        )

    def replace(self, **changes: Any) -> KBInfo:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Hit:
    """One search result: the item, its score, and the KB it came from.

    ``score`` is the store's similarity (cosine for unit vectors); ``rank`` starts at 1.
    """

    item: Item
    score: float
    kb: str
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "score": round(float(self.score), 6),
            "kb": self.kb,
            "rank": self.rank,
            "item": self.item.to_payload(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Hit:
        return cls(
            item=Item.from_payload(d["item"]), score=float(d["score"]), kb=str(d["kb"]), rank=int(d.get("rank") or 0)
        )


# --------------------------------------------------------------------------------------------
# Ask-time trace: route decisions, retrieval steps, verification, the final answer.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteScore:
    """Calibrated probability that a route (or a named KB) is the right one for a query."""

    route: str
    """A :class:`Route` value, or ``kb:NAME`` for a KB reached by its description."""
    probability: float
    kbs: tuple[str, ...] = ()
    """Registered KBs this route resolves to."""

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "probability": round(float(self.probability), 6), "kbs": list(self.kbs)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RouteScore:
        return cls(route=str(d["route"]), probability=float(d["probability"]), kbs=tuple(d.get("kbs") or ()))


@dataclass(frozen=True)
class RouteDecision:
    """What a router decided for one query.

    ``ranked`` holds every candidate, best first; ``chosen`` the routes retrieval will use
    (more than one when the top routes are close); ``kbs`` the KBs to search (empty for ``no``).
    ``rejected`` is set by the guard when the query belongs to no KB (reason in ``reason``).
    """

    query: str
    ranked: tuple[RouteScore, ...]
    chosen: tuple[str, ...]
    kbs: tuple[str, ...]
    reason: str
    router: str
    elapsed_ms: float
    rejected: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def top(self) -> RouteScore:
        return self.ranked[0]

    def beyond(self, searched: Sequence[str]) -> str:
        """For a route line: the searched KBs the route did not pick, and where the trace says why
        (" (photos beyond the route: the steps say why)"), or "" when the search kept to the route. A question about a
        photo routes to ``paragraph`` and the photos are searched all the same; the bare line read as a wrong route."""
        extra = [kb for kb in searched if kb not in self.kbs]
        return f" ({', '.join(extra)} beyond the route: the steps say why)" if extra else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "ranked": [r.to_dict() for r in self.ranked],
            "chosen": list(self.chosen),
            "kbs": list(self.kbs),
            "reason": self.reason,
            "router": self.router,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "rejected": self.rejected,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RouteDecision:
        return cls(
            query=str(d["query"]),
            ranked=tuple(RouteScore.from_dict(r) for r in d.get("ranked") or ()),
            chosen=tuple(d.get("chosen") or ()),
            kbs=tuple(d.get("kbs") or ()),
            reason=str(d.get("reason") or ""),
            router=str(d.get("router") or ""),
            elapsed_ms=float(d.get("elapsed_ms") or 0.0),
            rejected=bool(d.get("rejected")),
            details=dict(d.get("details") or {}),
        )


@dataclass(frozen=True)
class RetrievalStep:
    """One hop: the query issued, where it went, what came back, and why the loop went on or stopped."""

    index: int
    query: str
    kbs: tuple[str, ...]
    hits: tuple[Hit, ...]
    route: RouteDecision | None = None
    new_ids: tuple[str, ...] = ()
    note: str = ""
    elapsed_ms: float = 0.0
    bridge: str | None = None
    """A follow-up aimed at a KB item that earlier evidence named and the question did not: that item's title
    (the second hop of a bridge question: "Edward L. Cahn" from the film "Laughter in Hell")."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "query": self.query,
            "kbs": list(self.kbs),
            "hit_ids": [h.item.id for h in self.hits],
            "scores": [round(float(h.score), 6) for h in self.hits],
            "new_ids": list(self.new_ids),
            "route": self.route.to_dict() if self.route else None,
            "note": self.note,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "bridge": self.bridge,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], hits: Sequence[Hit] = ()) -> RetrievalStep:
        """The JSON form keeps only the hits' ids and scores; pass the hits themselves when known."""
        return cls(
            index=int(d["index"]),
            query=str(d["query"]),
            kbs=tuple(d.get("kbs") or ()),
            hits=tuple(hits),
            route=RouteDecision.from_dict(d["route"]) if d.get("route") else None,
            new_ids=tuple(d.get("new_ids") or ()),
            note=str(d.get("note") or ""),
            elapsed_ms=float(d.get("elapsed_ms") or 0.0),
            bridge=str(d["bridge"]) if d.get("bridge") else None,
        )


@dataclass(frozen=True)
class RetrievalResult:
    """Final ranked evidence (at most k hits) and the steps that produced it."""

    query: str
    hits: tuple[Hit, ...]
    steps: tuple[RetrievalStep, ...]
    stop_reason: str = ""
    elapsed_ms: float = 0.0
    image_hits: tuple[Hit, ...] = ()
    """The image and video items a query image found by itself, nearest first, each scored by the image's own
    cosine (the hits above mix in the question's words); empty without a query image."""

    @property
    def ids(self) -> list[str]:
        return [h.item.id for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "hits": [h.to_dict() for h in self.hits],
            "steps": [s.to_dict() for s in self.steps],
            "stop_reason": self.stop_reason,
            "elapsed_ms": round(self.elapsed_ms, 3),
            **({"image_hits": [h.to_dict() for h in self.image_hits]} if self.image_hits else {}),
        }

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], step_hits: Sequence[Sequence[Mapping[str, Any]]] | None = None
    ) -> RetrievalResult:
        """Rebuild from :meth:`to_dict`; ``step_hits`` (one list of hit dicts per step) restores each step's hits."""
        steps = d.get("steps") or ()
        per_step = list(step_hits) if step_hits is not None else [()] * len(steps)
        return cls(
            query=str(d["query"]),
            hits=tuple(Hit.from_dict(h) for h in d.get("hits") or ()),
            steps=tuple(RetrievalStep.from_dict(s, [Hit.from_dict(h) for h in hs]) for s, hs in zip(steps, per_step)),
            stop_reason=str(d.get("stop_reason") or ""),
            elapsed_ms=float(d.get("elapsed_ms") or 0.0),
            image_hits=tuple(Hit.from_dict(h) for h in d.get("image_hits") or ()),
        )


class Verdict(str, Enum):
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    CONTRADICTED = "contradicted"
    NO_EVIDENCE = "no_evidence"


ESTIMATE_SIGNAL = "p_correct"
"""The signal that marks a verification's ``confidence`` as a calibrated estimate of the chance the answer is right."""
OVERRULED_SIGNAL = "withheld_on_a_finding"
"""Set (1.0) when a rule withheld an answer whose estimate alone would have shown it (a two-hop question's first hop)."""
COVERAGE_SIGNAL = "moment_coverage"
"""The signal that marks a verification's ``confidence`` as a video moment's subtitle word coverage (no probability)."""
CAPTION_COVERAGE_SIGNAL = "caption_coverage"
"""The signal that marks a verification's ``confidence`` as the share of a "which photo" question's words that the
photo's words hold (no probability)."""
THRESHOLD_SIGNAL = "threshold"
"""Beside :data:`ESTIMATE_SIGNAL`: the estimate the answer needed to be shown (each surface says the estimate with as
many decimals as it takes to tell the two apart: :func:`percentages`)."""
IMAGE_MATCH_SIGNAL = "image_similarity"
"""The signal that marks a verification's ``confidence`` as the cosine between the query image and the KB photo an
answer about it comes from (no probability)."""


def percentages(p: float, threshold: float) -> tuple[str, str]:
    """An estimate and its threshold as percentages, with as many decimals as it takes to tell them apart
    ("45.9%, needs 46.0%", never "46%, needs 46%")."""
    for digits in (0, 1, 2):
        said, needs = f"{p:.{digits}%}", f"{threshold:.{digits}%}"
        if (said == needs) == (p == threshold):
            break
    return said, needs


@dataclass(frozen=True)
class Verification:
    """The verifier's judgement of a draft answer against the evidence."""

    verdict: Verdict
    confidence: float
    reasons: tuple[str, ...]
    signals: Mapping[str, float] = field(default_factory=dict)
    abstain: bool = False

    def confidence_text(self) -> str:
        """What ``confidence`` measures, in words, for every surface that shows it: the calibrated estimate of
        the evidence verifier ("estimated chance right 63%", and when a finding withheld the answer all the same,
        "... before the finding that withheld it"), a video moment's word coverage, which is no
        probability ("subtitle word coverage 50%, not a probability"), a "which photo" answer's caption word coverage,
        the similarity of a query image to the photo an answer about it comes from ("image similarity 0.99, not a
        probability"), no estimate when there was no evidence or no draft to check, else a plugin verifier's own
        score."""
        if self.verdict is Verdict.NO_EVIDENCE and not self.signals:
            return "no estimate: nothing to check an answer against"
        if ESTIMATE_SIGNAL in self.signals:
            needs = self.signals.get(THRESHOLD_SIGNAL)
            said = percentages(self.confidence, float(needs))[0] if needs is not None else f"{self.confidence:.0%}"
            if self.signals.get(OVERRULED_SIGNAL):
                return f"estimated chance right {said} before the finding that withheld it"
            return f"estimated chance right {said}"
        if COVERAGE_SIGNAL in self.signals:
            return f"subtitle word coverage {self.confidence:.0%}, not a probability"
        if CAPTION_COVERAGE_SIGNAL in self.signals:
            return f"caption word coverage {self.confidence:.0%}, not a probability"
        if IMAGE_MATCH_SIGNAL in self.signals:
            return f"image similarity {self.confidence:.2f}, not a probability"
        return f"confidence {self.confidence:.2f}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "confidence": round(float(self.confidence), 6),
            "reasons": list(self.reasons),
            "signals": {k: round(float(v), 6) for k, v in self.signals.items()},
            "abstain": self.abstain,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verification:
        return cls(
            verdict=Verdict(d["verdict"]),
            confidence=float(d.get("confidence") or 0.0),
            reasons=tuple(d.get("reasons") or ()),
            signals={str(k): float(v) for k, v in (d.get("signals") or {}).items()},
            abstain=bool(d.get("abstain")),
        )


@dataclass(frozen=True)
class Draft:
    """A generator's answer before verification, with the evidence ids it rests on."""

    text: str | None
    evidence_ids: tuple[str, ...] = ()
    support: str = ""
    """The evidence sentence/span the answer was taken from, when the generator knows it."""
    score: float = 0.0
    generator: str = ""
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "evidence_ids": list(self.evidence_ids),
            "support": self.support,
            "score": round(float(self.score), 6),
            "generator": self.generator,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Draft:
        return cls(
            text=d.get("text"),
            evidence_ids=tuple(d.get("evidence_ids") or ()),
            support=str(d.get("support") or ""),
            score=float(d.get("score") or 0.0),
            generator=str(d.get("generator") or ""),
            elapsed_ms=float(d.get("elapsed_ms") or 0.0),
        )


@dataclass(frozen=True)
class Answer:
    """What :class:`mmroute.Pipeline` returns: the answer or an abstention, and the full trace."""

    question: str
    text: str | None
    """The answer, or ``None`` when mmroute abstains ("I don't know")."""
    abstained: bool
    reason: str
    evidence: tuple[Hit, ...]
    route: RouteDecision | None
    retrieval: RetrievalResult | None
    draft: Draft | None
    verification: Verification | None
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    @property
    def display_text(self) -> str:
        return self.text if (self.text and not self.abstained) else "I don't know"

    @property
    def searched_kbs(self) -> tuple[str, ...]:
        """Every KB a retrieval step searched, in first-searched order (the route's KBs plus any widening)."""
        if self.retrieval is None:
            return tuple(self.route.kbs) if self.route else ()
        return tuple(dict.fromkeys(kb for s in self.retrieval.steps for kb in s.kbs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "searched_kbs": list(self.searched_kbs),
            "answer": None if self.abstained else self.text,
            "abstained": self.abstained,
            "reason": self.reason,
            "evidence": [h.to_dict() for h in self.evidence],
            "route": self.route.to_dict() if self.route else None,
            "retrieval": self.retrieval.to_dict() if self.retrieval else None,
            "draft": self.draft.to_dict() if self.draft else None,
            "verification": self.verification.to_dict() if self.verification else None,
            "timings_ms": {k: round(float(v), 3) for k, v in self.timings_ms.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], step_hits: Sequence[Sequence[Mapping[str, Any]]] | None = None) -> Answer:
        """Rebuild from :meth:`to_dict` (what ``mmroute ask --json`` and ``mmroute serve`` return);
        ``step_hits`` (one list of hit dicts per retrieval step) restores each step's hits."""
        abstained = bool(d.get("abstained"))
        draft = Draft.from_dict(d["draft"]) if d.get("draft") else None
        return cls(
            question=str(d.get("question") or ""),
            text=d.get("answer"),
            abstained=abstained,
            reason=str(d.get("reason") or ""),
            evidence=tuple(Hit.from_dict(h) for h in d.get("evidence") or ()),
            route=RouteDecision.from_dict(d["route"]) if d.get("route") else None,
            retrieval=RetrievalResult.from_dict(d["retrieval"], step_hits) if d.get("retrieval") else None,
            draft=draft,
            verification=Verification.from_dict(d["verification"]) if d.get("verification") else None,
            timings_ms={str(k): float(v) for k, v in (d.get("timings_ms") or {}).items()},
        )
