"""mmroute's router as a LlamaIndex ``BaseSelector`` (for ``RouterRetriever`` / ``RouterQueryEngine``).

Each choice (a ``ToolMetadata``) is matched to what it serves, in this order:

1. ``metadata.name`` is a KB name (``"hop"``), a route (``"paragraph"``, ``"image"``, ``"no"``)
   or ``"kb:NAME"``;
2. otherwise the description names KBs or routes as whole words (``"paragraphs of KB hop"``).

The router's decision then picks the choices serving its chosen routes/KBs; each selection's
reason quotes the route and its probability. When no choice serves a chosen route (e.g. the
router says "no retrieval" and no choice is named ``no``), the choice serving the most probable
route among the ranked ones is taken, and the reason says so.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence

from llama_index.core.base.base_selector import BaseSelector, SelectorResult, SingleSelection
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata

from ...errors import ConfigError
from ...kb import Home
from ...routing.base import Router
from ...types import KBInfo, Route, RouteDecision
from .events import dispatcher, route_event

_ROUTES = {r.value for r in Route}


def choice_targets(choice: ToolMetadata, kbs: Sequence[KBInfo]) -> set[str]:
    """What a choice serves: ``kb:NAME`` for KBs, route names (``paragraph``…) for routes (see module doc)."""
    names = {k.name for k in kbs}

    def for_token(tok: str) -> set[str]:
        if tok.startswith("kb:") and tok[3:] in names:
            return {tok}
        if tok in names:
            return {f"kb:{tok}"}
        if tok in _ROUTES:
            return {tok}
        return set()

    name = (choice.name or "").strip()
    if name and (found := for_token(name)):
        return found
    out: set[str] = set()
    text = choice.description or ""
    for tok in sorted(names | _ROUTES, key=len, reverse=True):
        if re.search(rf"(?<![\w-]){re.escape(tok)}(?![\w-])", text, flags=re.IGNORECASE):
            out |= for_token(tok)
    return out


class MMRouteSelector(BaseSelector):
    """Select LlamaIndex choices with mmroute's router.

    Each tool is named after a KB (``hop``) or a route (``paragraph``, ``image``, ...), or its description
    names one (see the module doc). ``llm`` is only LlamaIndex's own default, which it resolves even though
    this selector never calls it; ``MockLLM`` keeps that offline:

    >>> from llama_index.core.llms import MockLLM
    >>> from llama_index.core.retrievers import RouterRetriever
    >>> from llama_index.core.tools import RetrieverTool
    >>> tools = [RetrieverTool.from_defaults(r_hop, name="hop", description="Wikipedia paragraphs"),
    ...          RetrieverTool.from_defaults(r_img, name="photos", description="photos")]
    >>> RouterRetriever(selector=MMRouteSelector.from_home(), retriever_tools=tools, llm=MockLLM()).retrieve("...")

    ``examples/llamaindex_example.py`` runs this.
    """

    def __init__(
        self, router: Router, kbs: Sequence[KBInfo] | Callable[[], Sequence[KBInfo]], *, multi: bool = True
    ) -> None:
        self.router = router
        self._kbs = kbs
        self.multi = multi
        self.last_decision: RouteDecision | None = None

    @classmethod
    def from_home(
        cls, home: Home | str | None = None, router: Router | str = "default", *, multi: bool = True
    ) -> MMRouteSelector:
        from .retriever import resolve_router

        h = home if isinstance(home, Home) else Home(home)
        resolved = resolve_router(router)
        if resolved is None:
            raise ConfigError("MMRouteSelector needs a router")
        return cls(resolved, h.list, multi=multi)

    def _get_prompts(self) -> PromptDictType:
        return {}  # the router is a trained classifier, not a prompt

    def _update_prompts(self, prompts: PromptDictType) -> None:
        pass

    def kb_infos(self) -> list[KBInfo]:
        return list(self._kbs() if callable(self._kbs) else self._kbs)

    def _select(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        kbs = self.kb_infos()
        image = None
        if query.image_path:
            from pathlib import Path

            image = Path(query.image_path)
        decision = self.router.route(query.query_str, kbs, image=image)
        self.last_decision = decision
        dispatcher.event(route_event(decision, 0))
        return self.decide(choices, decision, kbs)

    async def _aselect(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> SelectorResult:
        return await asyncio.to_thread(self._select, choices, query)

    def decide(self, choices: Sequence[ToolMetadata], decision: RouteDecision, kbs: Sequence[KBInfo]) -> SelectorResult:
        """Map a decision onto the choices (pure; see module doc)."""
        targets = [choice_targets(c, kbs) for c in choices]
        if not any(targets):
            raise ConfigError(
                "none of the choices names an mmroute KB or route",
                hint="name each tool after a KB (e.g. name='hop') or a route (paragraph, document, image, "
                f"clip, video, no); KBs here: {', '.join(k.name for k in kbs) or 'none'}",
            )
        prob = {rs.route: rs.probability for rs in decision.ranked}
        for rs in decision.ranked:  # ranked best first: a KB gets the probability of its best route
            for kb in rs.kbs:
                prob.setdefault(f"kb:{kb}", rs.probability)
        for kb in decision.kbs:
            prob.setdefault(f"kb:{kb}", decision.top.probability if decision.ranked else 0.0)
        wanted = set(decision.chosen) | {f"kb:{k}" for k in decision.kbs}
        picked: list[SingleSelection] = []
        for i, t in enumerate(targets):
            hit = sorted(t & wanted, key=lambda r: -prob.get(r, 0.0))
            if hit:
                picked.append(
                    SingleSelection(
                        index=i, reason=f"router {decision.router}: route {hit[0]} (p={prob.get(hit[0], 0.0):.2f})"
                    )
                )
        if not picked:
            best = max(range(len(choices)), key=lambda i: max((prob.get(r, 0.0) for r in targets[i]), default=-1.0))
            top = max(targets[best], key=lambda r: prob.get(r, 0.0))
            chosen = ", ".join(decision.chosen) or "none"
            picked.append(
                SingleSelection(
                    index=best,
                    reason=f"router {decision.router} chose {chosen}, which no choice "
                    f"serves; closest: {top} (p={prob.get(top, 0.0):.2f})",
                )
            )
        picked.sort(key=lambda s: -max((prob.get(r, 0.0) for r in targets[s.index]), default=0.0))
        return SelectorResult(selections=picked if self.multi else picked[:1])
