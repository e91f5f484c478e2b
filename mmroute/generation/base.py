"""The generator role: a question and retrieved evidence in, a short :class:`~mmroute.types.Draft` out.

Every generator returns the answer text (or ``None`` when it has nothing to say), the ids of the
evidence it rests on, and the supporting span when it knows it, so the verifier can check the answer
against exactly that evidence.

Generators may also offer :meth:`Generator.closed_book` — an answer produced *without* the retrieved
evidence (an LLM's parametric answer, or for the offline extractor an independent second reading of
the evidence). The verifier compares both (the "dual path" signal).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..registry import Registry
from ..types import Draft, Hit


@runtime_checkable
class Generator(Protocol):
    name: str

    def warm_up(self) -> None:
        """Load weights/clients now instead of on the first call."""
        ...

    def generate(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        """Answer ``question`` from ``hits``; ``Draft.text`` is None when no answer can be given."""
        ...

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft | None:
        """A second, independent answer for the dual-path check (see module doc); None if unsupported."""
        ...


@runtime_checkable
class RankingGenerator(Protocol):
    """A generator that ranks several answers (the reader): the pipeline verifies the next ones when the
    first is withheld."""

    def next_answers(self, question: str, hits: Sequence[Hit], n: int, image: Path | None = None) -> list[Draft]:
        """Up to ``n`` answers after :meth:`Generator.generate`'s, best first, each a different answer."""
        ...


GENERATORS: Registry[Generator] = Registry(
    "generator",
    {
        "offline": "mmroute.generation.extractive:ExtractiveGenerator",
        "reader": "mmroute.generation.reader_gen:ReaderGenerator",
        "hf-causal": "mmroute.generation.local_lm:LocalLMGenerator",
        "smollm2": "mmroute.generation.local_lm:create_smollm2",
        "openai": "mmroute.generation.endpoint:EndpointGenerator",
    },
)
"""Generators by name: ``offline``, ``reader``, ``smollm2``, ``hf-causal``, ``openai``."""


def create_generator(name: str, **options: object) -> Generator:
    return GENERATORS.create(name, **options)
