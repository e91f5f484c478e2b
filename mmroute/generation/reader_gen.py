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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..reading.decode import Reading, Span
from ..text import LocalIdf, normalize_answer, split_sentences, text_stems
from ..types import Draft, Hit

MAX_PASSAGES = 3
"""Evidence hits read per question (the retriever's top hits). With the :data:`RANK_PENALTY` the draft came from
the 4th or 5th hit for 2 of 562 questions (``exp_retrieval_weight``: 473 answerable SQuAD 2.0 dev questions and
89 multi-hop ones, k=5), so reading 3 keeps draft exact match (SQuAD 0.552 either way, multi-hop 0.112 against
0.124) and halves the reader's time (p50 60-69 ms against 112-125 ms on 119 dev questions, 2 cores)."""
CHUNK_CHARS = 1200
"""A long hit (a whole document, a long transcript) is cut into sentence-aligned chunks of about this
many characters (~250-300 tokens: one reader window with the question)."""
MAX_CHUNKS = 8
"""At most this many chunks are read per question: the ones sharing the rarest words with the question."""
RANK_PENALTY = 2.0
"""What a span loses for each place its hit sits below the first hit read, when spans of several hits
compete (the reader was trained on single paragraphs, so its logits alone over-trust distractor passages).

A rank, not the hit's score: scores differ in scale between retrievers (cosine, hybrid relevance with BM25 and
title terms, RRF fusion), and the old rule, 30 x the score, chosen on the cosines of an exact MiniLM search,
let the step-wise retriever's title bonus decide: a bridge paragraph whose title a two-hop question names
(relevance 1.21) outbid the paragraph holding the answer (0.99), so a film's year was drafted as its
director's birth date. Chosen with ``evals/experiments/exp_retrieval_weight.py``: each of 7 groups (3 SQuAD
2.0 dev articles, 473 answerable questions; 4 source datasets of the 89 shared multi-hop questions) held
out in turn, with the pipeline's retrieval; 2 was chosen for 6 of the 7. Held-out exact match of the draft:
multi-hop 0.124 (0.067 with the old rule), SQuAD 0.541 (0.550), pooled 0.475 (0.473). Spans compete on the
reader's length-penalised margin (:meth:`~mmroute.reading.decode.Reading.ranking_margin`)."""


def passage_text(hit: Hit) -> str:
    """What a reader reads of a hit: its text, else its captions/subtitles."""
    return hit.item.readable


@dataclass(frozen=True)
class Chunk:
    hit_index: int
    text: str


def _chunks_of(text: str) -> list[str]:
    if len(text) <= CHUNK_CHARS:
        return [text]
    out: list[str] = []
    start = end = None
    for a, b in split_sentences(text):
        if start is None:
            start, end = a, b
        elif b - start > CHUNK_CHARS:
            out.append(text[start:end])
            start, end = a, b
        else:
            end = b
    if start is not None:
        out.append(text[start:end])
    return out


def reading_chunks(
    question: str, hits: Sequence[Hit], max_passages: int = MAX_PASSAGES, max_chunks: int = MAX_CHUNKS
) -> tuple[list[Hit], list[Chunk]]:
    """The hits read and the chunks of them given to the reader (see :data:`CHUNK_CHARS`).

    The reader generator and the verifier's reader signals both read this, so the memoised read is shared.

    When everything fits in ``max_chunks`` all of it is read; otherwise the chunks with the most
    question words (IDF-weighted over the chunks, ties to the better-ranked hit) are kept, in reading order.
    """
    use = [h for h in hits if passage_text(h).strip()][:max_passages]
    chunks = [Chunk(i, c) for i, h in enumerate(use) for c in _chunks_of(passage_text(h))]
    if len(chunks) <= max_chunks:
        return use, chunks
    q = set(text_stems(question))
    stems = [set(text_stems(c.text)) for c in chunks]
    idf = LocalIdf(stems)
    score = [sum(idf(t) for t in q & s) - 1e-3 * c.hit_index for c, s in zip(chunks, stems)]
    keep = sorted(sorted(range(len(chunks)), key=lambda i: -score[i])[:max_chunks])
    return use, [chunks[i] for i in keep]


def passage_bonus(chunks: Sequence[Chunk], rank_penalty: float = RANK_PENALTY) -> list[float]:
    """What the ranking adds to a span's margin for the hit its chunk comes from: 0 for the first hit read,
    ``-rank_penalty`` for the second, and so on (see :data:`RANK_PENALTY`)."""
    return [-rank_penalty * c.hit_index for c in chunks]


def ranked_spans(
    reading: Reading, chunks: Sequence[Chunk], rank_penalty: float = RANK_PENALTY
) -> list[tuple[Span, float]]:
    """(span, combined score) best first: the span's margin over its window's no-answer score, less the
    reader's span-length penalty (:meth:`~mmroute.reading.decode.Reading.ranking_margin`), plus its chunk's
    :func:`passage_bonus` (the no-answer alternative sits at 0 on this scale)."""
    bonus = passage_bonus(chunks, rank_penalty)
    scored = [
        (sp, reading.ranking_margin(sp.window_margin, sp.tokens) + bonus[sp.passage_index]) for sp in reading.spans
    ]
    return sorted(scored, key=lambda x: -x[1])


def sentence_at(text: str, char_start: int) -> str:
    for a, b in split_sentences(text):
        if a <= char_start < b:
            return text[a:b]
    return text


class ReaderGenerator:
    """Answers with the best span an extractive reader finds in the evidence (see module doc)."""

    name = "reader"

    def __init__(
        self,
        model: str = "packaged",
        device: str = "auto",
        max_passages: int = MAX_PASSAGES,
        rank_penalty: float = RANK_PENALTY,
    ) -> None:
        self.model = model
        self.device = device
        self.max_passages = int(max_passages)
        self.rank_penalty = float(rank_penalty)
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
        drafts = self._ranked_drafts(question, hits, 1)
        if isinstance(drafts, tuple):
            return Draft(None, drafts, generator=self.name, elapsed_ms=(time.perf_counter() - t0) * 1000)
        return replace(drafts[0], elapsed_ms=(time.perf_counter() - t0) * 1000)

    def next_answers(self, question: str, hits: Sequence[Hit], n: int, image: Path | None = None) -> list[Draft]:
        """The next ``n`` distinct answers after the draft, in the reader's ranking (the reading is memoised)."""
        drafts = self._ranked_drafts(question, hits, n + 1)
        return [] if isinstance(drafts, tuple) else drafts[1:]

    def _ranked_drafts(self, question: str, hits: Sequence[Hit], n: int) -> list[Draft] | tuple[str, ...]:
        """Up to ``n`` drafts of distinct answers, best first; the ids of the hits read when there is none."""
        use, chunks = reading_chunks(question, hits, self.max_passages)
        if not chunks:
            return ()
        reading = self.reader.read(question, [c.text for c in chunks])
        ranked = ranked_spans(reading, chunks, self.rank_penalty)
        out: list[Draft] = []
        seen: set[str] = set()
        for span, _ in ranked:
            key = normalize_answer(span.text)
            if not key or key in seen:
                continue
            seen.add(key)
            chunk = chunks[span.passage_index]
            out.append(
                Draft(
                    span.text,
                    (use[chunk.hit_index].item.id,),
                    sentence_at(chunk.text, span.char_start),
                    span.probability,
                    self.name,
                )
            )
            if len(out) >= n:
                break
        return out or tuple(h.item.id for h in use)

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft | None:
        """No second path: the verifier reads the evidence with the reader itself."""
        return None
