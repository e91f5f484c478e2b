"""The default offline generator: a trained extractive reader picks the answer span from the evidence.

The evidence passages (text, or the captions/subtitles of images and clips) are read by a
:class:`~mmroute.reading.Reader` (the packaged SQuAD-trained reader unless ``model=`` names another
Hugging Face QA checkpoint or hub id). The best span over all passages is the draft; its sentence is
the ``support``; ``score`` is the span's probability within its window. Whether to *show* it is the
verifier's call (it also sees the reader's no-answer score).

>>> gen = ReaderGenerator()                      # or ReaderGenerator(model="deepset/roberta-base-squad2")
>>> gen.generate("In what country is Normandy located?", hits).text
'France'
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from ..types import Draft, Hit
from .base import GENERATORS
from .textutil import split_sentences

MAX_PASSAGES = 5
"""Evidence passages read per question (the retriever's top hits)."""


def passage_text(hit: Hit) -> str:
    """What a reader reads of a hit: its text, else its captions/subtitles."""
    return hit.item.text or " ".join(hit.item.captions)


def evidence_passages(hits: Sequence[Hit], max_passages: int = MAX_PASSAGES) -> tuple[list[Hit], list[str]]:
    use = [h for h in hits if passage_text(h).strip()][:max_passages]
    return use, [passage_text(h) for h in use]


def sentence_at(text: str, char_start: int) -> str:
    for a, b in split_sentences(text):
        if a <= char_start < b:
            return text[a:b]
    return text


class ReaderGenerator:
    """Answers with the best span an extractive reader finds in the evidence (see module doc)."""

    name = "reader"

    def __init__(self, model: str = "packaged", device: str = "auto", max_passages: int = MAX_PASSAGES) -> None:
        self.model = model
        self.device = device
        self.max_passages = int(max_passages)
        self._reader: Any = None

    @property
    def reader(self) -> Any:
        if self._reader is None:
            from ..reading.reader import shared_reader

            self._reader = shared_reader(self.model, self.device)
        return self._reader

    def warm_up(self) -> None:
        self.reader.warm_up()

    def generate(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        t0 = time.perf_counter()
        use, passages = evidence_passages(hits, self.max_passages)
        if not use:
            return Draft(None, generator=self.name, elapsed_ms=(time.perf_counter() - t0) * 1000)
        reading = self.reader.read(question, passages)
        best = reading.best
        if best is None:
            return Draft(None, tuple(h.item.id for h in use), generator=self.name,
                         elapsed_ms=(time.perf_counter() - t0) * 1000)
        text = passages[best.passage_index]
        return Draft(best.text, (use[best.passage_index].item.id,), sentence_at(text, best.char_start),
                     best.probability, self.name, (time.perf_counter() - t0) * 1000)

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft | None:
        """No second path: the verifier reads the evidence with the reader itself."""
        return None


@GENERATORS.register("reader")
def _reader(**options: Any) -> ReaderGenerator:
    return ReaderGenerator(**options)
