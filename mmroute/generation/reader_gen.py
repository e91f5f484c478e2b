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

import re
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
CHAIN_CHARS = 2 * CHUNK_CHARS
"""Two hits longer than this together are not read as a chain (:func:`chain_chunk`)."""
CHAIN_JOIN = " "
"""What joins the two hits of a chain read as one passage (:func:`chain_chunk`)."""
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
    """What the reader reads as one passage: part of a hit (a long one is cut), or a chain of two hits."""

    hit_index: int
    """The hit (among those read) the chunk starts in."""
    text: str
    continued: tuple[int, int] | None = None
    """For a chain: (hit index, character offset in ``text``) where the second hit's text begins."""

    @property
    def rank(self) -> int:
        """The best-ranked hit in the chunk: the place whose :data:`RANK_PENALTY` its spans pay."""
        return min(self.hit_index, self.continued[0]) if self.continued is not None else self.hit_index

    def source(self, char: int) -> tuple[int, str, int]:
        """(hit index, the text of that hit in this chunk, position of ``char`` in it) for a character of ``text``."""
        if self.continued is not None and char >= self.continued[1]:
            return self.continued[0], self.text[self.continued[1] :], char - self.continued[1]
        end = self.continued[1] - len(CHAIN_JOIN) if self.continued is not None else len(self.text)
        return self.hit_index, self.text[:end], char


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


def names_title(hit: Hit, other: Hit) -> bool:
    """Whether ``hit``'s text names ``other``'s title (a word-bounded, case-sensitive match) and the titles
    differ: the link of a two-hop chain ("... directed by Danae Elon." names the paragraph "Danae Elon")."""
    title = (other.item.title or "").strip()
    if len(title) < 2 or title == (hit.item.title or "").strip():
        return False
    return re.search(rf"(?<!\w){re.escape(title)}(?!\w)", hit.item.text) is not None


def chain_order(use: Sequence[Hit]) -> tuple[int, int] | None:
    """(naming, named): the places of the first two hits read when one names the other's title and they hold
    at most :data:`CHAIN_CHARS` together, the naming one first (see :func:`reading_chunks`); None otherwise."""
    if len(use) < 2 or sum(len(passage_text(h)) for h in use[:2]) > CHAIN_CHARS:
        return None
    return (0, 1) if names_title(use[0], use[1]) else (1, 0) if names_title(use[1], use[0]) else None


def chain_chunk(use: Sequence[Hit]) -> Chunk | None:
    """The chain of :func:`chain_order` as one passage to read; None when the hits form none."""
    order = chain_order(use)
    if order is None:
        return None
    first, second = (passage_text(use[i]) for i in order)
    return Chunk(order[0], first + CHAIN_JOIN + second, (order[1], len(first) + len(CHAIN_JOIN)))


def reading_chunks(
    question: str, hits: Sequence[Hit], max_passages: int = MAX_PASSAGES, max_chunks: int = MAX_CHUNKS
) -> tuple[list[Hit], list[Chunk]]:
    """The hits read and the chunks of them given to the reader (see :data:`CHUNK_CHARS`).

    The reader generator and the verifier's reader signals both read this, so the memoised read is shared.

    When everything fits in ``max_chunks`` all of it is read; otherwise the chunks with the most
    question words (IDF-weighted over the chunks, ties to the better-ranked hit) are kept, in reading order.

    **Chains.** When one of the first two hits names the other's title (the step-wise retriever puts such a
    linked pair first), the pair is also read as one passage (:func:`chain_chunk`), beside each hit alone:
    the reader was trained on single paragraphs and cannot carry "the director of P.S. Jerusalem" from one to
    "Danae Elon (born December 23, 1970)" in another, so read apart it drafts the film's year. The chain pays
    the better-ranked hit's :data:`RANK_PENALTY` (none when it starts at the first hit). Measured with
    ``evals/experiments/exp_chain_reading.py`` (nothing tuned): on the 89 shared multi-hop questions 51 form a chain
    and draft exact match rises from 10 to 13 (4 right, 1 wrong more); the 473 answerable SQuAD 2.0 dev questions keep
    their exact match (0.520; 14 form a chain). The reader's time on the chained questions: p50 73 -> 128 ms (2 cores).
    """
    use = [h for h in hits if passage_text(h).strip()][:max_passages]
    chunks = [Chunk(i, c) for i, h in enumerate(use) for c in _chunks_of(passage_text(h))]
    chain = chain_chunk(use)
    if chain is not None:
        chunks.insert(0, chain)
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
    return [-rank_penalty * c.rank for c in chunks]


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
            hit_index, text, at = chunks[span.passage_index].source(span.char_start)
            out.append(
                Draft(
                    span.text,
                    (use[hit_index].item.id,),
                    sentence_at(text, at),
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
