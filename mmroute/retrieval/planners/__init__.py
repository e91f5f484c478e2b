"""Planners for step-wise retrieval: ``offline`` (bridge entities, no LLM) and ``llm`` (an
OpenAI-compatible endpoint writing R1-Router-style ``<sub-question>``/``<ret>`` steps)."""
from .base import PLANNERS, FollowUp, PlanState, Planner
from .llm import LLMPlanner, parse_reply
from .offline import OfflinePlanner

__all__ = ["PLANNERS", "FollowUp", "LLMPlanner", "OfflinePlanner", "PlanState", "Planner", "parse_reply"]
