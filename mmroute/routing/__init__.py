"""Query routing: pick the knowledge (none, paragraph, document, image, clip, video, or a KB by description).

Routers (registered in :data:`ROUTERS`): ``trained`` (the shipped classifier), ``description``
(zero-shot by KB description/exemplars), ``llm`` (any OpenAI-compatible endpoint, with fallback),
``ensemble``, ``finetuned`` (an encoder fine-tuned as a classifier, averaged with
the trained one; opt-in, slower), ``federated`` (RAGRoute-style per-KB thresholds), ``guarded`` and ``default``
(:func:`default_router`: trained + description routing for topical KBs, behind the guard).

The names below load on first use, so importing :mod:`mmroute.routing.base` (the role and its
table) loads no router.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import ROUTERS, Router, create_router, kbs_for_route

if TYPE_CHECKING:  # the same names, for type checkers
    from .decision import MultiRoutePolicy, make_decision  # noqa: F401
    from .default import TrainedWithDescriptions, default_router  # noqa: F401
    from .description import DescriptionRouter, parse_description, topical_kbs  # noqa: F401
    from .ensemble import EnsembleRouter  # noqa: F401
    from .federated import FederatedRouter, create_federated, selection_tradeoff  # noqa: F401
    from .finetuned import FinetunedRouter  # noqa: F401
    from .guard import GuardedRouter, QueryGuard  # noqa: F401
    from .llm import LLMRouter  # noqa: F401
    from .trained import TrainedRouter  # noqa: F401

_EXPORTS = {
    "MultiRoutePolicy": "decision",
    "make_decision": "decision",
    "TrainedWithDescriptions": "default",
    "default_router": "default",
    "DescriptionRouter": "description",
    "parse_description": "description",
    "topical_kbs": "description",
    "EnsembleRouter": "ensemble",
    "FederatedRouter": "federated",
    "create_federated": "federated",
    "selection_tradeoff": "federated",
    "FinetunedRouter": "finetuned",
    "GuardedRouter": "guard",
    "QueryGuard": "guard",
    "LLMRouter": "llm",
    "TrainedRouter": "trained",
}

__all__ = ["ROUTERS", "Router", "create_router", "kbs_for_route", *_EXPORTS]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value
