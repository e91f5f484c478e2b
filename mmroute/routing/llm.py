"""Routing with an LLM over any OpenAI-compatible chat endpoint (vLLM, Ollama, OpenAI...).

The prompt gives the route definitions, a few examples and the KBs reachable by description, and
asks for one JSON object: ``{"route": "<route>", "confidence": 0..1}`` (optionally ``"second"``).
Parsing is strict: the first JSON object in the reply must name an allowed route and a numeric
confidence in [0, 1]; anything else is *malformed*. A malformed reply, an endpoint error or a
timeout never raises: the router returns the ``fallback`` router's decision (the trained router by
default) with the failure in ``reason`` and ``details["fallback"]``.

>>> r = LLMRouter(base_url="http://localhost:11434/v1", model="qwen2.5:3b", timeout_s=5)
>>> r.route("What color is the bus in the photo of Main Street?", kbs).chosen
('image',)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import EndpointError
from ..llm.openai_compat import ChatClient
from ..types import KBInfo, Route, RouteDecision
from .base import Router
from .decision import MultiRoutePolicy, make_decision
from .description import parse_description

ROUTE_DEFINITIONS = {
    "no": "general knowledge, reasoning or maths the model can answer without looking anything up",
    "paragraph": "a factoid answerable from one short text passage",
    "document": "needs several facts combined across a long document or several documents (multi-hop, comparisons)",
    "image": "about what something looks like: visual attributes of a place, object, animal or artwork",
    "clip": "about a moment or event inside a specific video (a scene, a time stamp, an action)",
    "video": "a how-to or procedure best shown by a whole video (steps, techniques)",
}

EXAMPLES = (
    ("Which of the following is a correct statement about correlation?", "no"),
    ("Who did tom brady play for in college football?", "paragraph"),
    ("Which singer is younger, Terri Nunn or Sonya Scarlet?", "document"),
    ("What furniture is in the center of The Blue Hall in the Presidential Palace in Warsaw?", "image"),
    ("Who is invited on stage by Ronak Desai during his keynote speech at Cisco Live 2024?", "clip"),
    ("What are the steps for cooking fiddleheads?", "video"),
)

_JSON_OBJ = re.compile(r"\{.*?\}", re.DOTALL)


class MalformedReply(ValueError):
    """The LLM's reply did not follow the required JSON format."""


def build_messages(query: str, kbs: Sequence[KBInfo]) -> list[dict[str, Any]]:
    lines = ["You route questions to a knowledge source. Routes:"]
    lines += [f"- {r}: {d}" for r, d in ROUTE_DEFINITIONS.items()]
    described = [(k.name, parse_description(k.description)) for k in kbs if parse_description(k.description).topical]
    for name, p in described:
        lines.append(
            f"- kb:{name}: questions about {p.summary}" + (f" (e.g. {p.exemplars[0]!r})" if p.exemplars else "")
        )
    lines.append("Examples:")
    lines += [f'Q: {q}\nA: {{"route": "{r}", "confidence": 0.9}}' for q, r in EXAMPLES]
    lines.append('Reply with exactly one JSON object {"route": ROUTE, "confidence": NUMBER 0-1} and nothing else.')
    return [{"role": "system", "content": "\n".join(lines)}, {"role": "user", "content": f"Q: {query}"}]


def parse_reply(text: str, allowed: Sequence[str]) -> tuple[str, float]:
    """(route, confidence) from the reply, or :class:`MalformedReply` saying why not."""
    m = _JSON_OBJ.search(text or "")
    if not m:
        raise MalformedReply("no JSON object in the reply")
    try:
        obj = json.loads(m.group(0))
    except json.JSONDecodeError as e:
        raise MalformedReply(f"invalid JSON ({e.msg})") from e
    if not isinstance(obj, dict):
        raise MalformedReply("the JSON is not an object")
    route = obj.get("route")
    if not isinstance(route, str) or route.strip().lower() not in allowed:
        raise MalformedReply(f"route {route!r} is not one of {', '.join(allowed)}")
    conf = obj.get("confidence")
    if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0.0 <= float(conf) <= 1.0:
        raise MalformedReply(f"confidence {conf!r} is not a number in [0, 1]")
    return route.strip().lower(), float(conf)


class LLMRouter:
    """Ask an LLM which route fits (see module doc). ``client`` or ``base_url``+``model`` say where."""

    name = "llm"

    def __init__(
        self,
        client: ChatClient | None = None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 10.0,
        max_retries: int = 1,
        fallback: Router | None = None,
        use_default_fallback: bool = True,
        policy: MultiRoutePolicy | None = None,
    ) -> None:
        if client is None:
            if not base_url or not model:
                raise EndpointError(
                    "the LLM router needs an endpoint and a model",
                    hint="give base_url and model: `route eval --router llm --router-option "
                    "base_url=http://localhost:8000/v1 --router-option model=NAME`, or under [router_options] in a "
                    "pipeline TOML for `ask --config` (in Python: base_url= and model=, or client=)",
                )
            client = ChatClient(base_url, model, api_key_env=api_key_env, timeout_s=timeout_s, max_retries=max_retries)
        self.client = client
        self._fallback = fallback
        self.use_default_fallback = use_default_fallback
        self.policy = policy or MultiRoutePolicy()

    @property
    def fallback(self) -> Router | None:
        if self._fallback is None and self.use_default_fallback:
            from .trained import TrainedRouter

            self._fallback = TrainedRouter()
        return self._fallback

    def warm_up(self) -> None:
        if self.fallback is not None:
            self.fallback.warm_up()

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        t0 = time.perf_counter()
        allowed = [r.value for r in Route] + [f"kb:{k.name}" for k in kbs if parse_description(k.description).topical]
        try:
            reply = self.client.chat(build_messages(query, kbs), temperature=0, max_tokens=40)
            route, conf = parse_reply(reply.text, allowed)
        except (EndpointError, MalformedReply) as e:
            return self._fall_back(query, kbs, image, t0, e)
        rest = [r for r in allowed if r != route]
        probs = {route: conf, **{r: (1.0 - conf) / len(rest) for r in rest}}
        return make_decision(
            query,
            probs,
            kbs,
            self.name,
            t0,
            self.policy,
            reason=f"LLM {self.client.model} chose {route}",
            details={"llm_ms": round(reply.elapsed_ms, 1), "raw_reply": reply.text[:200]},
        )

    def _fall_back(
        self, query: str, kbs: Sequence[KBInfo], image: Path | None, t0: float, error: Exception
    ) -> RouteDecision:
        kind = "malformed reply" if isinstance(error, MalformedReply) else "endpoint failed"
        why = f"LLM router {kind}: {error}"
        if self.fallback is None:
            # Without a fallback router the safe choice is every KB, with equal probability.
            routes = [r.value for r in Route if r is not Route.NO]
            probs = {r: 1.0 / len(routes) for r in routes}
            d = make_decision(
                query,
                probs,
                kbs,
                self.name,
                t0,
                MultiRoutePolicy(margin=1.0, min_probability=0.0, max_routes=len(routes)),
                reason=why + "; searching every KB",
                details={"fallback": kind},
            )
            return d
        inner = self.fallback.route(query, kbs, image)
        from dataclasses import replace

        return replace(
            inner,
            router=self.name,
            reason=f"{why}; fell back to {inner.router}: {inner.reason}",
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
            details={**dict(inner.details), "fallback": kind, "fallback_router": inner.router},
        )
