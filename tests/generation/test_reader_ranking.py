"""How the reader generator weighs the retriever when spans of several hits compete: by the hit's rank, so that
the draft does not depend on the scale of the retriever's scores (cosine, hybrid relevance, RRF, BM25).
Real packaged reader."""

from __future__ import annotations

import pytest

from mmroute.generation.reader_gen import (
    RANK_PENALTY,
    Chunk,
    ReaderGenerator,
    passage_bonus,
    ranked_spans,
    reading_chunks,
)
from mmroute.types import Granularity, Hit, Item

Q = "When was Theodore Roosevelt born?"
BRIDGE = (
    "Bully! is a 1978 American film directed by Peter Hunt. It stars James Whitmore as Theodore Roosevelt, "
    "and was released in 1978."
)
ANSWER = "Theodore Roosevelt (October 27, 1858 - January 6, 1919) was the 26th president of the United States."


def hits(scores: tuple[float, float]) -> list[Hit]:
    texts = (BRIDGE, ANSWER)
    return [
        Hit(Item(id=f"p{i}", kind=Granularity.PARAGRAPH, text=t), s, "kb", i + 1)
        for i, (t, s) in enumerate(zip(texts, scores))
    ]


@pytest.fixture(scope="module")
def gen() -> ReaderGenerator:
    return ReaderGenerator(device="cpu")


@pytest.mark.parametrize(
    "scores",
    [(0.62, 0.61), (1.21, 0.99), (0.0164, 0.0161), (24.0, 3.0)],
    ids=["cosine", "hybrid with a title bonus", "rrf", "bm25"],
)
def test_the_draft_does_not_depend_on_the_scale_of_the_scores(gen: ReaderGenerator, scores) -> None:
    """The answer sits in the second hit, the first is a bridge paragraph with a year of its own: the reader's
    clear preference for the birth date wins on every scale (the old 30 x score rule gave '1978' at 1.21/0.99)."""
    draft = gen.generate(Q, hits(scores))
    assert draft.text is not None and "1858" in draft.text, draft.text
    assert draft.evidence_ids == ("p1",)


def test_a_lower_hit_pays_the_rank_penalty_per_place() -> None:
    chunks = [Chunk(0, "a"), Chunk(0, "b"), Chunk(1, "c"), Chunk(3, "d")]
    assert passage_bonus(chunks) == [0.0, 0.0, -RANK_PENALTY, -3 * RANK_PENALTY]


def test_the_ranking_adds_the_bonus_to_the_reader_margin(gen: ReaderGenerator) -> None:
    reading = gen.reader.read(Q, [BRIDGE, ANSWER])
    chunks = [Chunk(0, BRIDGE), Chunk(1, ANSWER)]
    ranked = ranked_spans(reading, chunks)
    for span, score in ranked:
        margin = reading.ranking_margin(span.window_margin, span.tokens)
        assert score == pytest.approx(margin - RANK_PENALTY * span.passage_index)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    flat = ranked_spans(reading, chunks, rank_penalty=0.0)
    assert flat[0][1] >= ranked[0][1]


FILM = (
    "Quiet Harbour is a 2004 Norwegian drama film directed by Maren Holt. It was shot in the fishing village of "
    "Reine and released in 2004."
)
DIRECTOR = "Maren Holt (born 14 March 1961) is a Norwegian film director and screenwriter."
TWO_HOP = "When was the director of film Quiet Harbour born?"


def chain_hits(titles: tuple[str | None, str | None], order: tuple[int, int] = (0, 1)) -> list[Hit]:
    texts = (FILM, DIRECTOR)
    return [
        Hit(Item(id=f"p{i}", kind=Granularity.PARAGRAPH, text=texts[i], title=titles[i]), 0.9 - 0.1 * r, "kb", r + 1)
        for r, i in enumerate(order)
    ]


def test_a_linked_pair_is_also_read_as_one_passage_and_spans_map_back_to_their_hit() -> None:
    use, chunks = reading_chunks(TWO_HOP, chain_hits(("Quiet Harbour", "Maren Holt")))
    chain = chunks[0]
    assert chain.continued is not None and [c.text for c in chunks[1:]] == [FILM, DIRECTOR]
    at = chain.text.index("14 March")
    assert chain.source(at) == (1, DIRECTOR, DIRECTOR.index("14 March"))
    assert chain.source(chain.text.index("2004")) == (0, FILM, FILM.index("2004"))
    assert passage_bonus(chunks)[0] == 0.0


def test_the_naming_hit_leads_the_chain_whatever_their_order() -> None:
    """The director's paragraph ranked first: the chain still reads the film (which names her) first, and pays
    no rank penalty, since its best-ranked hit is the first."""
    _, chunks = reading_chunks(TWO_HOP, chain_hits(("Quiet Harbour", "Maren Holt"), order=(1, 0)))
    chain = chunks[0]
    assert chain.text.startswith(FILM) and chain.hit_index == 1 and chain.rank == 0
    assert passage_bonus(chunks)[0] == 0.0


@pytest.mark.parametrize(
    "titles",
    [(None, None), ("Quiet Harbour", "Quiet Harbour"), ("Quiet Harbour", "Maren Holt-Berg")],
    ids=["no titles", "one title (paragraphs of one article)", "a title the other does not name"],
)
def test_hits_that_do_not_name_each_other_are_read_apart(titles) -> None:
    _, chunks = reading_chunks(TWO_HOP, chain_hits(titles))
    assert [c.text for c in chunks] == [FILM, DIRECTOR] and all(c.continued is None for c in chunks)


def test_reading_the_chain_answers_the_second_hop(gen: ReaderGenerator) -> None:
    """Read apart, the reader drafts the film's year (the director's paragraph never names the film); read as a
    chain it finds her birth date, cites her paragraph and quotes its sentence alone."""
    linked = gen.generate(TWO_HOP, chain_hits(("Quiet Harbour", "Maren Holt")))
    assert linked.text == "14 March 1961", linked.text
    assert linked.evidence_ids == ("p1",) and linked.support == DIRECTOR
    apart = gen.generate(TWO_HOP, chain_hits((None, None)))
    assert apart.text == "2004" and apart.evidence_ids == ("p0",)
