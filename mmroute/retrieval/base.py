"""The retriever role: a query in, ranked evidence (at most k hits) and the steps taken out."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from ..registry import Registry
from ..types import RetrievalResult


@runtime_checkable
class Retriever(Protocol):
    name: str

    def retrieve(self, query: str, k: int = 5, kbs: Sequence[str] | None = None,
                 image: Path | None = None) -> RetrievalResult:
        """Search ``kbs`` (or the KBs a router picks when None) and return the top-k evidence."""
        ...


RETRIEVERS: Registry[Retriever] = Registry("retriever")
