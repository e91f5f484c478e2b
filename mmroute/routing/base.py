"""The router role.

A router reads a query (and optionally a query image) and the descriptors of the KBs that exist,
and returns a :class:`mmroute.types.RouteDecision`: ranked routes with calibrated probabilities,
the chosen route(s), and the KBs they resolve to. Implementations register in :data:`ROUTERS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError
from ..registry import Registry, UnknownOptionError, check_options
from ..types import KBInfo, Route, RouteDecision


@runtime_checkable
class Router(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision: ...


ROUTERS: Registry[Router] = Registry(
    "router",
    {
        "trained": "mmroute.routing.trained:TrainedRouter",
        "description": "mmroute.routing.description:DescriptionRouter",
        "llm": "mmroute.routing.llm:LLMRouter",
        "ensemble": "mmroute.routing.ensemble:create_ensemble",
        "finetuned": "mmroute.routing.finetuned:create_finetuned",
        "federated": "mmroute.routing.federated:create_federated",
        "guarded": "mmroute.routing.guard:create_guarded",
        "default": "mmroute.routing.default:default_router",
    },
)
"""Routers by name; factories take keyword options."""


def create_router(name: str, path: str | Path | None = None, threshold: float | None = None, **options: Any) -> Router:
    """The one way a router is built by name (the CLI's ``--router``, a config's ``router``, the server).

    ``path`` (``--router-path``: a router artifact folder) and ``threshold`` (``--threshold``) are passed
    on only when given, and only to a router whose factory takes them; any other ``options`` as they are.
    Built-in and plugin routers alike come from :data:`ROUTERS` (``default``, ``trained``, ``federated``, ...).
    Not warmed up: the caller does that.
    """
    factory = ROUTERS.get(name)
    given = {"path": str(path) if path else None, "threshold": threshold}
    for key, value in given.items():
        if value is None:
            continue
        if not _accepts(factory, key):
            raise _takes_no(name, key)
        options.setdefault(key, value)
    check_options(factory, options, f"router {name!r}")  # a misspelt router_options key: one line, not a TypeError
    try:
        return factory(**options)
    except UnknownOptionError as e:
        # a factory taking **options hands them on to one built by name (default -> trained): that
        # registry refuses the keyword, and for --router-path/--threshold the user's words are the flag's
        refused = [k for k, v in given.items() if v is not None and k in e.options]
        if refused:
            raise _takes_no(name, refused[0]) from None
        raise
    except TypeError as e:
        # a factory taking **options hands them on (default, guarded, ensemble): the class that finally
        # refuses the keyword names it, and that is the same user error as above, not a crash
        refused = [k for k, v in given.items() if v is not None and f"unexpected keyword argument '{k}'" in str(e)]
        if refused:
            raise _takes_no(name, refused[0]) from None
        unknown = [k for k in options if f"unexpected keyword argument '{k}'" in str(e)]
        if unknown:
            raise ConfigError(
                f"router {name!r} has no option {unknown[0]!r}",
                hint=f"check the spelling of that key in router_options, or leave it out for the {name} router",
            ) from None
        raise


def _takes_no(name: str, key: str) -> ConfigError:
    flag = "--router-path" if key == "path" else "--threshold"
    return ConfigError(f"the {name} router takes no {key} ({flag})", hint=f"leave {flag} out for {name}")


def _accepts(factory: Any, key: str) -> bool:
    """Whether ``factory`` takes the keyword ``key`` (a ``**options`` factory takes any)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return True
    return any(p.kind is p.VAR_KEYWORD or (p.name == key and p.kind is not p.POSITIONAL_ONLY) for p in params)


def kbs_for_route(route: str, kbs: Sequence[KBInfo]) -> tuple[str, ...]:
    """Names of the KBs a route resolves to: those whose granularity equals the route
    (``kb:NAME`` routes resolve to that KB; ``no`` to none)."""
    if route.startswith("kb:"):
        name = route[3:]
        return tuple(k.name for k in kbs if k.name == name)
    if route == Route.NO.value:
        return ()
    return tuple(k.name for k in kbs if k.granularity.value == route)


_ROUTE_MODALITY = {"paragraph": "text", "document": "text", "image": "image", "clip": "video", "video": "video"}


def kbs_with_fallback(decision: RouteDecision) -> tuple[tuple[str, ...], str]:
    """KBs to search for a decision, falling back when its chosen routes have no KB.

    A route may be right but unserved (the router says ``document`` and only a paragraph KB
    exists). Then the best-ranked route of the same modality that has KBs is used, else the
    best-ranked route that has any. ``no`` and rejected decisions search nothing.
    Returns (KB names, a note for the trace; empty when no fallback was needed).
    """
    if decision.kbs or decision.rejected or not decision.chosen or decision.chosen[0] == Route.NO.value:
        return tuple(decision.kbs), ""
    want = _ROUTE_MODALITY.get(decision.chosen[0])
    served = [rs for rs in decision.ranked if rs.kbs and rs.route != Route.NO.value]
    same = [rs for rs in served if _ROUTE_MODALITY.get(rs.route) == want]
    candidates = same or served
    pick = candidates[0] if candidates else None
    if pick is None:
        return (), f"no KB serves route {decision.chosen[0]!r} and no other route has KBs"
    return tuple(
        pick.kbs
    ), f"no KB serves route {decision.chosen[0]!r}: fell back to {pick.route} ({pick.probability:.2f})"
