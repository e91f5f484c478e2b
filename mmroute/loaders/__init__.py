"""Loaders: source files -> items (text JSONL/plain text, images, videos)."""

from .base import LOADERS, Loader, LoadProblem, LoadResult
from .detect import SourcePlan, plan_sources

__all__ = ["LOADERS", "Loader", "LoadProblem", "LoadResult", "SourcePlan", "plan_sources"]
