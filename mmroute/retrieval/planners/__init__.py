"""Planners for step-wise retrieval: ``offline`` (bridge entities, no LLM) and ``llm`` (an
OpenAI-compatible endpoint writing R1-Router-style ``<sub-question>``/``<ret>`` steps).

The implementations load on first use (see :data:`PLANNERS`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import PLANNERS, FollowUp, Planner, PlanState

if TYPE_CHECKING:
    from .llm import LLMPlanner, parse_reply
    from .offline import OfflinePlanner

_EXPORTS = {"LLMPlanner": "llm", "parse_reply": "llm", "OfflinePlanner": "offline"}

__all__ = ["PLANNERS", "FollowUp", "LLMPlanner", "OfflinePlanner", "PlanState", "Planner", "parse_reply"]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value
