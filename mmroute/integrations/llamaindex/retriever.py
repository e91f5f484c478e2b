"""mmroute retrieval as a LlamaIndex ``BaseRetriever``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle

from ...config import DEFAULT_RETRIEVER
from ...errors import ConfigError
from ...kb import Home
from ...retrieval.base import RETRIEVERS, Retriever
from ...routing.base import Router
from ...types import RetrievalResult
from .events import emit_retrieval_events
from .nodes import hit_to_node


def resolve_router(router: Router | str | None) -> Router | None:
    """``"default"`` -> mmroute's committed default router; another string -> a registered router (a plugin's
    too), built by :func:`~mmroute.routing.create_router` as everywhere else."""
    if router is None or not isinstance(router, str):
        return router
    from ...routing.base import create_router

    try:
        return create_router(router)
    except ImportError as e:
        if router != "default":
            raise
        raise ConfigError(
            "mmroute's default router is not available in this install",
            hint="pass router=None to search the KBs you name (kbs=[...]), or pass a Router instance",
        ) from e


def _retriever_for(home: Home, name: str, router: Router | None, options: dict[str, Any]) -> Retriever:
    if name == "stepwise":
        from ...retrieval import stepwise  # noqa: F401  (registers "stepwise")
    return RETRIEVERS.create(name, home=home, router=router, **options)


class MMRouteRetriever(BaseRetriever):
    """mmroute's retrieval (routing, step-wise follow-ups, cross-KB fusion) as a LlamaIndex retriever.

    Returns ``NodeWithScore``: ``TextNode`` for paragraphs/documents/video items, ``ImageNode`` for
    images, with metadata ``kb``, ``modality``, ``granularity``, ``item_id``, ``title``, ``source``,
    ``doc_id``, ``start_s``/``end_s`` (clips). Emits :class:`~.events.RouteEvent` and
    :class:`~.events.FollowUpEvent` through LlamaIndex instrumentation. A query image travels as
    ``QueryBundle(query_str, image_path=...)``.

    Async retrieval runs mmroute's (CPU-bound, thread-safe) search in a worker thread, so an event
    loop serving other requests is never blocked.

    >>> r = MMRouteRetriever.from_home("~/.mmroute", router=None, kbs=["hop"], k=5)
    >>> [n.node.metadata["item_id"] for n in r.retrieve("Who directed Inception?")]
    """

    def __init__(
        self,
        retriever: Retriever,
        *,
        k: int = 5,
        kbs: Sequence[str] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if k <= 0:
            raise ConfigError(f"k must be positive, not {k}")
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.mm_retriever = retriever
        self.k = int(k)
        self.kbs = list(kbs) if kbs else None
        self.last_result: RetrievalResult | None = None

    @classmethod
    def from_home(
        cls,
        home: Home | str | os.PathLike[str] | None = None,
        *,
        retriever: str = DEFAULT_RETRIEVER,
        router: Router | str | None = "default",
        k: int = 5,
        kbs: Sequence[str] | None = None,
        **retriever_options: Any,
    ) -> MMRouteRetriever:
        """Build over the KBs of a home directory (default ``$MMROUTE_HOME`` or ``~/.mmroute``).

        ``retriever``: a registered retriever (``stepwise``, ``single``); ``router``: ``"default"``,
        a registered router name, a Router, or None (search ``kbs``, or every KB)."""
        h = home if isinstance(home, Home) else Home(home)
        return cls(_retriever_for(h, retriever, resolve_router(router), dict(retriever_options)), k=k, kbs=kbs)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        retriever: str = DEFAULT_RETRIEVER,
        router: str | None = "default",
        k: int = 5,
        kbs: Sequence[str] | None = None,
        token: str | None = None,
        timeout_s: float = 600.0,
    ) -> MMRouteRetriever:
        """Retrieve through a running ``mmroute serve`` at ``url`` (warm models, the server owns the KBs).

        ``retriever`` and ``router`` name the server's retriever and router (``router=None``: search
        ``kbs``, or every KB); the bearer token defaults to ``$MMROUTE_SERVE_TOKEN``.

        >>> r = MMRouteRetriever.from_url("http://127.0.0.1:8765", router=None, kbs=["hop"], k=5)
        """
        from ...serve.remote import RemoteRetriever

        return cls(
            RemoteRetriever(url, retriever=retriever, router=router, token=token, timeout_s=timeout_s), k=k, kbs=kbs
        )

    @classmethod
    def from_pipeline(
        cls, pipeline: Any, *, k: int | None = None, kbs: Sequence[str] | None = None
    ) -> MMRouteRetriever:
        """Use the retriever (and router) an :class:`mmroute.Pipeline` was built with."""
        mm = getattr(pipeline, "retriever", None)
        if mm is None or not hasattr(mm, "retrieve"):
            raise ConfigError("this pipeline exposes no retriever", hint="build MMRouteRetriever.from_home() instead")
        if k is None:
            cfg = getattr(pipeline, "config", None)
            k = int(getattr(cfg, "k", 5) or 5)
        return cls(mm, k=k, kbs=kbs)

    # ----- retrieval ------------------------------------------------------------------------
    def _run(self, query_bundle: QueryBundle) -> RetrievalResult:
        image = Path(query_bundle.image_path) if query_bundle.image_path else None
        return self.mm_retriever.retrieve(query_bundle.query_str, k=self.k, kbs=self.kbs, image=image)

    def _to_nodes(self, result: RetrievalResult) -> list[NodeWithScore]:
        self.last_result = result
        emit_retrieval_events(result)
        return [hit_to_node(h) for h in result.hits]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._to_nodes(self._run(query_bundle))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = await asyncio.to_thread(self._run, query_bundle)
        return self._to_nodes(result)
