"""Answer generation: an offline extractive default, local causal LMs, and OpenAI-compatible endpoints."""

from .base import GENERATORS, Generator, create_generator

__all__ = ["GENERATORS", "Generator", "create_generator"]
