"""The whole mmroute pipeline (route, retrieve step-wise, draft, verify) as a LlamaIndex query engine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import QueryBundle

from ...types import Answer
from .events import emit_answer_events
from .nodes import hit_to_node


class MMRouteQueryEngine(BaseQueryEngine):
    """Answers with an :class:`mmroute.Pipeline`; the response text is the verified answer or
    "I don't know". ``response.source_nodes`` hold the evidence; ``response.metadata`` the verdict,
    confidence, reasons, route and per-stage timings; ``response.metadata["answer"]`` the full
    :class:`mmroute.types.Answer`. Emits route, follow-up and verification events.

    >>> engine = MMRouteQueryEngine.from_home("~/.mmroute")
    >>> r = engine.query("Who directed Inception?"); print(r.response, r.metadata["verdict"])
    """

    def __init__(
        self, pipeline: Any, *, kbs: Sequence[str] | None = None, callback_manager: CallbackManager | None = None
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.pipeline = pipeline
        self.kbs = list(kbs) if kbs else None

    @classmethod
    def from_home(cls, home: Any = None, **kwargs: Any) -> MMRouteQueryEngine:
        from ...kb import Home
        from ...pipeline import Pipeline

        h = home if isinstance(home, Home) else Home(home)
        return cls(Pipeline.from_home(h), **kwargs)

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _answer(self, query_bundle: QueryBundle) -> Answer:
        image = Path(query_bundle.image_path) if query_bundle.image_path else None
        return self.pipeline.ask(query_bundle.query_str, image=image, kbs=self.kbs)

    def _response(self, answer: Answer) -> Response:
        emit_answer_events(answer)
        v = answer.verification
        meta: dict[str, Any] = {
            "abstained": answer.abstained,
            "reason": answer.reason,
            "verdict": v.verdict.value if v else None,
            "confidence": float(v.confidence) if v else None,
            "reasons": list(v.reasons) if v else [],
            "route": list(answer.route.chosen) if answer.route else [],
            "timings_ms": dict(answer.timings_ms),
            "answer": answer,
        }
        return Response(
            response=answer.display_text, source_nodes=[hit_to_node(h) for h in answer.evidence], metadata=meta
        )

    def _query(self, query_bundle: QueryBundle) -> Response:
        return self._response(self._answer(query_bundle))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return self._response(await asyncio.to_thread(self._answer, query_bundle))
