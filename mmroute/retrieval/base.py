"""The retriever role: a query in, ranked evidence (at most k hits) and the steps taken out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..registry import Registry
from ..types import RetrievalResult


@runtime_checkable
class Retriever(Protocol):
    name: str

    def warm_up(self) -> None:
        """Load what the first query would otherwise wait for (the router's models)."""
        ...

    def retrieve(
        self, query: str, k: int = 5, kbs: Sequence[str] | None = None, image: Path | None = None
    ) -> RetrievalResult:
        """Search ``kbs`` (or the KBs a router picks when None) and return the top-k evidence."""
        ...


RETRIEVERS: Registry[Retriever] = Registry(
    "retriever",
    {
        "single": "mmroute.retrieval.single:create_single",
        "stepwise": "mmroute.retrieval.stepwise:StepwiseRetriever",
    },
)
"""Retrievers by name; factories take ``(home, router=None, **options)``."""


def routable_kbs(home: object) -> tuple[list[str], list[str]]:
    """(KBs a routed question may search now, KBs skipped because an indexing run is writing them).

    A KB being written cannot be searched until its writer ends; the other KBs can still answer, so
    routed questions leave it out and name it in the trace (:func:`skipped_note`).

    >>> routable_kbs(Home("/tmp/h"))
    (['hop', 'squad'], ['photos'])
    """
    names = home.names()  # type: ignore[attr-defined]
    writing = set(home.writing()) if hasattr(home, "writing") else set()
    return [n for n in names if n not in writing], [n for n in names if n in writing]


def skipped_note(skipped: Sequence[str]) -> str:
    """The trace's words for KBs a routed question left out (empty when none)."""
    return f"skipped {', '.join(skipped)} (being written)" if skipped else ""
