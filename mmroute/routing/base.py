"""The router role.

A router reads a query (and optionally a query image) and the descriptors of the KBs that exist,
and returns a :class:`mmroute.types.RouteDecision`: ranked routes with calibrated probabilities,
the chosen route(s), and the KBs they resolve to. Implementations register in :data:`ROUTERS`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from ..registry import Registry
from ..types import KBInfo, Route, RouteDecision


@runtime_checkable
class Router(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision: ...


ROUTERS: Registry[Router] = Registry("router")


def kbs_for_route(route: str, kbs: Sequence[KBInfo]) -> tuple[str, ...]:
    """Names of the KBs a route resolves to: those whose granularity equals the route
    (``kb:NAME`` routes resolve to that KB; ``no`` to none)."""
    if route.startswith("kb:"):
        name = route[3:]
        return tuple(k.name for k in kbs if k.name == name)
    if route == Route.NO.value:
        return ()
    return tuple(k.name for k in kbs if k.granularity.value == route)
