"""The planner role of step-wise retrieval: read the state, propose the next sub-query or stop.

A planner sees the original question, the steps taken so far and the evidence ranked so far, and
returns a :class:`FollowUp` (the next query, optionally the kind of knowledge it needs) or one with
``stop=True``. It never searches by itself: the retriever routes the follow-up to a KB, searches it
and merges the evidence, so planners stay interchangeable (offline heuristics, an LLM) and testable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ...registry import Registry
from ...types import Hit, RetrievalStep
from ..lexical import TitleIndex


@dataclass(frozen=True)
class PlanState:
    """What a planner may look at: the question, the trace, the ranked evidence, the KBs' title indexes."""

    question: str
    steps: Sequence[RetrievalStep]
    evidence: Sequence[Hit]
    """All evidence so far, best first (ranked against the question, see ``stepwise.rank_evidence``)."""
    indexes: Mapping[str, TitleIndex] = field(default_factory=dict)
    """Title index per KB name, for every KB the retriever may search."""
    asked: tuple[str, ...] = ()
    """Queries already issued (the planner should not repeat one)."""
    targets: tuple[str, ...] = ()
    """Entities already targeted by earlier follow-ups."""


@dataclass(frozen=True)
class FollowUp:
    """A planner's decision for the next step.

    ``query`` is what the KB is searched with; ``target`` the entity/title it aims at (if any);
    ``modality`` a hint for routing ("text", "image", "video") that the retriever honours when a KB
    of that modality exists; ``why`` a one-line reason recorded in the trace; ``raw`` the LLM's
    reply when there was one.
    """

    query: str = ""
    stop: bool = False
    why: str = ""
    target: str | None = None
    modality: str | None = None
    planner: str = ""
    raw: str | None = None
    trust: float = 1.0
    """How far the retriever may rank this follow-up's best hits by their match to it rather than to the
    question (0: not at all, for a guessed span; 1: a named KB entity, see ``StepwiseConfig.followup_weight``)."""
    bridge: bool = False
    """``target`` is a KB item's title that the evidence named and the question did not (a bridge entity): what
    the evidence holds about it is the second hop, so an answer from the passage naming it is only the first."""

    @classmethod
    def done(cls, why: str, planner: str = "", raw: str | None = None) -> FollowUp:
        return cls(stop=True, why=why, planner=planner, raw=raw)


@runtime_checkable
class Planner(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def plan(self, state: PlanState) -> FollowUp:
        """The next follow-up for ``state``, or ``FollowUp.done(why)`` to stop."""
        ...


PLANNERS: Registry[Planner] = Registry(
    "planner",
    {
        "offline": "mmroute.retrieval.planners.offline:OfflinePlanner",
        "llm": "mmroute.retrieval.planners.llm:LLMPlanner",
    },
)
