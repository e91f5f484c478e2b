"""Route, follow-up and verification events on LlamaIndex's instrumentation bus.

Any ``BaseEventHandler`` added to the root dispatcher (or to ``get_dispatcher("mmroute")``) sees
them, inside the span of the retrieval or query that produced them::

    from llama_index.core.instrumentation import get_dispatcher
    get_dispatcher().add_event_handler(MyHandler())      # MyHandler.handle(event) receives RouteEvent, ...
"""

from __future__ import annotations

from typing import Any

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.base import BaseEvent

from ...types import Answer, RetrievalResult, RouteDecision

dispatcher = get_dispatcher("mmroute")


class RouteEvent(BaseEvent):
    """The router's decision for one query (the question, or a follow-up at ``step`` > 0)."""

    query: str
    step: int = 0
    chosen: list[str]
    kbs: list[str]
    confidence: float
    router: str
    rejected: bool = False
    reason: str = ""
    ranked: list[dict[str, Any]] = []

    @classmethod
    def class_name(cls) -> str:
        return "MMRouteRouteEvent"


class FollowUpEvent(BaseEvent):
    """One follow-up hop of the step-wise retriever: the query written, the KBs searched, the new hits."""

    step: int
    query: str
    kbs: list[str]
    hit_ids: list[str]
    new_ids: list[str]
    note: str = ""
    bridge: str | None = None
    """The KB item the hop went on to, named by earlier evidence (:attr:`mmroute.types.RetrievalStep.bridge`)."""

    @classmethod
    def class_name(cls) -> str:
        return "MMRouteFollowUpEvent"


class VerificationEvent(BaseEvent):
    """The verifier's verdict on a drafted answer."""

    question: str
    answer: str | None
    verdict: str
    confidence: float
    abstained: bool
    reasons: list[str]

    @classmethod
    def class_name(cls) -> str:
        return "MMRouteVerificationEvent"


def route_event(decision: RouteDecision, step: int) -> RouteEvent:
    return RouteEvent(
        query=decision.query,
        step=step,
        chosen=list(decision.chosen),
        kbs=list(decision.kbs),
        confidence=float(decision.top.probability) if decision.ranked else 0.0,
        router=decision.router,
        rejected=decision.rejected,
        reason=decision.reason,
        ranked=[r.to_dict() for r in decision.ranked],
    )


def emit_retrieval_events(result: RetrievalResult, decision: RouteDecision | None = None) -> int:
    """Emit a :class:`RouteEvent` per routed step (or ``decision`` for step 0 when the step has none)
    and a :class:`FollowUpEvent` per hop after the first. Returns the number of events emitted."""
    n = 0
    for step in result.steps:
        route = step.route or (decision if step.index == 0 else None)
        if route is not None:
            dispatcher.event(route_event(route, step.index))
            n += 1
        if step.index > 0:
            dispatcher.event(
                FollowUpEvent(
                    step=step.index,
                    query=step.query,
                    kbs=list(step.kbs),
                    hit_ids=[h.item.id for h in step.hits],
                    new_ids=list(step.new_ids),
                    note=step.note,
                    bridge=step.bridge,
                )
            )
            n += 1
    return n


def emit_answer_events(answer: Answer) -> int:
    """Events for a whole pipeline answer: routing and hops (as above), then the verdict."""
    n = 0
    if answer.retrieval is not None:
        n += emit_retrieval_events(answer.retrieval, answer.route)
    elif answer.route is not None:
        dispatcher.event(route_event(answer.route, 0))
        n += 1
    if answer.verification is not None:
        v = answer.verification
        dispatcher.event(
            VerificationEvent(
                question=answer.question,
                answer=answer.text,
                verdict=v.verdict.value,
                confidence=float(v.confidence),
                abstained=answer.abstained,
                reasons=list(v.reasons),
            )
        )
        n += 1
    return n
