"""Query routing: pick the knowledge (none, paragraph, document, image, clip, video, or a KB by description).

Routers (registered in :data:`ROUTERS`): ``trained`` (the shipped classifier), ``description``
(zero-shot by KB description/exemplars), ``llm`` (any OpenAI-compatible endpoint, with fallback),
``ensemble``, ``finetuned`` (an encoder fine-tuned as a classifier, averaged with
the trained one; opt-in, slower), ``federated`` (RAGRoute-style per-KB thresholds), ``guarded`` and ``default``
(:func:`default_router`: trained + description routing for topical KBs, behind the guard).
"""
from .base import ROUTERS, Router, kbs_for_route
from .decision import MultiRoutePolicy, make_decision
from .default import TrainedWithDescriptions, default_router
from .description import DescriptionRouter, parse_description, topical_kbs
from .ensemble import EnsembleRouter
from .federated import FederatedRouter, selection_tradeoff
from .finetuned import FinetunedRouter
from .guard import GuardedRouter, QueryGuard
from .llm import LLMRouter
from .trained import TrainedRouter

__all__ = ["ROUTERS", "Router", "kbs_for_route", "MultiRoutePolicy", "make_decision", "TrainedWithDescriptions",
           "default_router", "DescriptionRouter", "parse_description", "topical_kbs", "EnsembleRouter",
           "FederatedRouter", "FinetunedRouter", "selection_tradeoff", "GuardedRouter", "QueryGuard", "LLMRouter", "TrainedRouter"]
