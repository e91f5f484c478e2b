"""A retriever that runs in ``mmroute serve``: the :class:`~mmroute.retrieval.base.Retriever` role over HTTP.

Used by ``MMRouteRetriever.from_url`` (LlamaIndex) and by any Python code that wants the server's warm
models and KBs instead of opening the home in its own process (an embedded KB has one owner).

>>> r = RemoteRetriever("http://127.0.0.1:8765", retriever="stepwise")
>>> r.retrieve("Who directed Inception?", k=5).ids
['f1', 'f2', ...]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from ..config import DEFAULT_RETRIEVER
from ..types import RetrievalResult
from .client import ServeClient


class RemoteRetriever:
    """Retrieval by a server's retriever (``stepwise`` or ``single``) and router (a name, or None to
    search the KBs named per call, or every KB). Thread-safe: one HTTP connection per thread."""

    name = "remote"

    def __init__(
        self,
        url: str,
        retriever: str = DEFAULT_RETRIEVER,
        router: str | None = "default",
        token: str | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        ServeClient(url)  # validates the URL now, not at the first query
        self.url = url
        self.retriever = retriever
        self.router = router
        self._token = token
        self.timeout_s = timeout_s
        self._local = threading.local()

    def warm_up(self) -> None:
        """Nothing to load here: the server keeps its models warm."""

    def _client(self) -> ServeClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = ServeClient(self.url, token=self._token, timeout_s=self.timeout_s)
        return client

    def retrieve(
        self, query: str, k: int = 5, kbs: Sequence[str] | None = None, image: Path | None = None
    ) -> RetrievalResult:
        d = self._client().retrieve(
            query, k=k, kbs=list(kbs) if kbs else None, retriever=self.retriever, router=self.router, image=image
        )
        return RetrievalResult.from_dict(d["result"], d["step_hits"])

    def __repr__(self) -> str:
        return f"RemoteRetriever({self.url!r}, retriever={self.retriever!r}, router={self.router!r})"
