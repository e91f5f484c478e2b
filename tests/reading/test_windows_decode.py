"""Sliding windows over long passages and span decoding (n-best, length limit, null score)."""

from __future__ import annotations

import numpy as np
import pytest

from mmroute.reading.decode import decode, redecode
from mmroute.reading.windows import collate, make_windows


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    from mmroute.encoders.text import minilm_path

    return AutoTokenizer.from_pretrained(minilm_path())


LONG = (
    " ".join(f"Sentence number {i} talks about the weather in town {i}." for i in range(120))
    + " The treaty was signed by Rollo in 911."
)


def test_long_passage_is_windowed_and_the_answer_is_labelled_in_a_window_that_holds_it(tok):
    a = LONG.index("Rollo")
    ws = make_windows(tok, ["Who signed the treaty?"], [LONG], max_length=128, stride=32, answers=[(a, a + 5)])
    assert len(ws) > 5 and all(len(w) <= 128 for w in ws)
    labelled = [w for w in ws if w.start_position > 0]
    assert labelled, "the window with the answer must point at it"
    for w in labelled:
        s, e = w.offsets[w.start_position][0], w.offsets[w.end_position][1]
        assert LONG[s:e] == "Rollo"
    assert all(w.start_position == 0 for w in ws if w not in labelled)  # other windows: no answer ([CLS])
    batch = collate(ws[:3], tok.pad_token_id)
    assert batch["input_ids"].shape[0] == 3 and batch["attention_mask"].sum(1).max() <= 128


def test_decode_picks_best_span_within_limits_and_reports_null(tok):
    text = "Rollo was the leader of the Vikings who settled in Normandy."
    ws = make_windows(tok, ["Who was the leader?"], [text], max_length=64, stride=16)
    w = ws[0]
    n = len(w)
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    ctx = [i for i, o in enumerate(w.offsets) if o is not None]
    start[ctx[0]], end[ctx[1]] = 6.0, 6.0  # "roll" "##o"
    end[ctx[-2]] = 7.0  # far end: longer than max_answer_tokens below
    start[0], end[0] = 1.0, 1.0  # null
    r = decode(ws, [start], [end], [text], max_answer_tokens=4)
    assert r.best is not None and r.best.text == "Rollo"
    assert r.null_score == pytest.approx(2.0) and r.margin == pytest.approx(10.0)
    assert all(sp.text == text[sp.char_start : sp.char_end] for sp in r.spans)
    assert 0 < r.best.probability <= 1


def test_no_span_crosses_a_line_break(tok):
    """A photo's captions are joined by line breaks; "What is this cup on?" drafted 'saucer\nImage' (the end of one
    caption and the start of the next). The control: the same logits without the break give the long span."""
    for text, want in (("a cup on a saucer\nImage of a cup", "saucer"), ("a cup on a saucer Image of a cup", None)):
        ws = make_windows(tok, ["What is the cup on?"], [text], max_length=64, stride=16)
        w = ws[0]
        start, end = np.full(len(w), -5.0), np.full(len(w), -5.0)
        first = next(i for i, o in enumerate(w.offsets) if o is not None and o[0] == text.index("saucer"))
        last = next(i for i, o in enumerate(w.offsets) if o is not None and o[1] == text.index("saucer") + 6)
        image = next(i for i, o in enumerate(w.offsets) if o is not None and o[1] == text.index("Image") + 5)
        start[first], end[image], end[last] = 6.0, 6.0, 5.0
        best = decode(ws, [start], [end], [text]).best
        assert best is not None and best.text == (want or "saucer Image"), best


def test_length_penalty_prefers_the_short_span_and_keeps_raw_scores(tok):
    text = "The treaty was signed by Rollo in the year 911 at Saint-Clair-sur-Epte."
    ws = make_windows(tok, ["Who signed the treaty?"], [text], max_length=64, stride=16)
    w = ws[0]
    n = len(w)
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    ctx = [i for i, o in enumerate(w.offsets) if o is not None]
    rollo = [i for i in ctx if text[w.offsets[i][0] : w.offsets[i][1]].lower() in ("roll", "rollo")][0]
    o911 = [i for i in ctx if text[w.offsets[i][0] : w.offsets[i][1]] == "911"][0]
    start[rollo] = 6.0
    end[rollo + 1] = 5.0  # "Rollo": score 11.0, 2 tokens
    end[o911] = 5.5  # "Rollo in the year 911": score 11.5, 6 tokens
    start[0], end[0] = 1.0, 1.0
    plain = decode(ws, [start], [end], [text])
    assert plain.best.text == "Rollo in the year 911"
    short = decode(ws, [start], [end], [text], length_penalty=0.2)
    assert short.best.text == "Rollo" and short.best.score == pytest.approx(11.0)
    assert short.margin == pytest.approx(9.0), "the margin against the null score uses the raw score"
    assert redecode(plain, length_penalty=0.2).best.text == "Rollo", "re-decoding needs no model call"


def test_spans_ranked_across_passages_keep_the_length_penalty(tok):
    """The generator adds a bonus for its hit's rank to window margins; a long span the reader put below a short
    one must not win its place back there (the demo's drafts were 25-token fragments)."""
    from mmroute.generation.reader_gen import Chunk, ranked_spans

    texts = ["The treaty was signed by Rollo in the year 911 at Saint-Clair-sur-Epte.", "Nothing useful here."]
    ws = make_windows(tok, ["Who signed the treaty?"] * 2, texts, max_length=64, stride=16)
    starts, ends = [], []
    for w in ws:
        start, end = np.full(len(w), -5.0), np.full(len(w), -5.0)
        start[0], end[0] = 1.0, 1.0
        if w.passage_index == 0:
            ctx = [i for i, o in enumerate(w.offsets) if o is not None]
            words = {texts[0][w.offsets[i][0] : w.offsets[i][1]].lower(): i for i in ctx}
            start[words["roll"]] = 6.0
            end[words["roll"] + 1] = 5.0  # "Rollo": 2 tokens
            end[words["911"]] = 5.5  # "Rollo in the year 911": 6 tokens, higher raw score
        starts.append(start)
        ends.append(end)
    chunks = [Chunk(0, texts[0]), Chunk(1, texts[1])]
    plain = decode(ws, starts, ends, texts)
    assert ranked_spans(plain, chunks)[0][0].text == "Rollo in the year 911"
    penalised = decode(ws, starts, ends, texts, length_penalty=0.2)
    ranked = ranked_spans(penalised, chunks)
    assert ranked[0][0].text == "Rollo"
    assert ranked[0][1] == pytest.approx(ranked[0][0].window_margin - 0.2 * (2 - 1))  # the first hit: no rank penalty
    assert redecode(penalised).best.text == "Rollo", "re-decoding keeps the reading's penalty"
    placed = penalised.place("Rollo in the year 911")
    assert placed is not None and placed.tokens == 6


def test_decode_with_no_context_tokens_gives_empty_reading(tok):
    ws = make_windows(tok, ["Who?"], ["   "], max_length=32, stride=8)
    r = decode(ws, [np.zeros(len(w)) for w in ws], [np.zeros(len(w)) for w in ws], ["   "])
    assert r.best is None and r.margin == float("-inf")


def test_long_documents_are_cut_into_chunks_and_the_relevant_ones_are_read():
    from mmroute.generation.reader_gen import CHUNK_CHARS, MAX_CHUNKS, reading_chunks
    from mmroute.types import Granularity, Hit, Item

    filler = " ".join(f"Paragraph {i} describes the harbour trade of town {i} in detail." for i in range(400))
    doc = filler + " The treaty of Saint-Clair-sur-Epte was signed by Rollo in 911. " + filler
    hits = [
        Hit(Item(id=f"d{i}", kind=Granularity.DOCUMENT, text=doc if i == 2 else filler), 0.5, "kb", i + 1)
        for i in range(3)
    ]
    use, chunks = reading_chunks("Who signed the treaty of Saint-Clair-sur-Epte?", hits)
    assert len(use) == 3 and len(chunks) == MAX_CHUNKS
    assert all(len(c.text) <= CHUNK_CHARS for c in chunks)
    assert any("Rollo" in c.text and c.hit_index == 2 for c in chunks)


def test_any_answer_is_placed_and_scored_where_it_occurs(tok):
    """Reading.place scores an answer someone else wrote, even one outside the n-best, at its best occurrence."""
    text = "Rollo was the leader of the Vikings who settled in Normandy. The Vikings came from Denmark."
    ws = make_windows(tok, ["Who was the leader?"], [text], max_length=64, stride=16)
    w = ws[0]
    start, end = np.full(len(w), -5.0), np.full(len(w), -5.0)
    tok_at = {o[0]: i for i, o in enumerate(w.offsets) if o is not None}
    tok_end = {o[1]: i for i, o in enumerate(w.offsets) if o is not None}
    start[tok_at[0]], end[tok_end[5]] = 6.0, 6.0  # "Rollo": the best span
    v = text.index("Vikings", 30)  # the second "Vikings"
    start[tok_at[v]], end[tok_end[v + 7]] = 1.0, 1.0
    start[0], end[0] = 2.0, 2.0
    r = decode(ws, [start], [end], [text], n_best=1)
    assert [s.text for s in r.spans] == ["Rollo"]
    placed = r.place("the  vikings.")  # article, spacing and case ignored
    assert placed is not None and text[placed.char_start : placed.char_end] == "Vikings"
    assert placed.char_start == v and placed.window_margin == pytest.approx(2.0 - 4.0)
    assert r.place("rollo").window_margin == pytest.approx(12.0 - 4.0)
    assert r.place("Sweden") is None and r.place("  ") is None
    assert r.place("Norman") is None  # a word inside "Normandy" is not an occurrence


def test_penalty_is_chosen_on_other_articles_and_scored_on_the_held_out_one(tok):
    from mmroute.reading.evaluation import choose_length_penalty, held_out_length_penalty
    from mmroute.reading.squad import QAExample

    text = "The treaty was signed by Rollo in the year 911 at Saint-Clair-sur-Epte."
    ws = make_windows(tok, ["Who signed the treaty?"], [text], max_length=64, stride=16)
    w = ws[0]
    start, end = np.full(len(w), -5.0), np.full(len(w), -5.0)
    ctx = [i for i, o in enumerate(w.offsets) if o is not None]
    rollo = [i for i in ctx if text[w.offsets[i][0] : w.offsets[i][1]].lower() in ("roll", "rollo")][0]
    start[rollo], end[rollo + 1] = 6.0, 5.0
    end[[i for i in ctx if text[w.offsets[i][0] : w.offsets[i][1]] == "911"][0]] = 5.5
    reading = decode(ws, [start], [end], [text])

    def ex(title: str, gold: str) -> QAExample:
        return QAExample(f"{title}-{gold}", title, "Who signed the treaty?", text, (gold,), (text.index(gold),))

    # articles A, B and C want the short span, D the long one: D's choice (made on A-C) gets it wrong
    pairs = [(ex(t, "Rollo"), reading) for t in "ABC"] + [(ex("D", "Rollo in the year 911"), reading)]
    assert choose_length_penalty(pairs[:3])["length_penalty"] > 0
    assert choose_length_penalty(pairs[3:])["length_penalty"] == 0
    held = held_out_length_penalty(pairs)
    assert held["length_penalty_by_held_out_article"]["D"] > 0 and held["em"] == pytest.approx(3 / 4)


def test_an_answer_the_reader_ranks_first_has_no_gap_even_where_a_weaker_copy_scores_higher(tok):
    """The same paragraph in two hits (a paragraph KB and a document KB): the reader generator's best span is
    the copy in the better-retrieved hit, whose window margin is a little lower. The verifier's
    ``reader_draft_gap`` must compare that best-ranked copy (gap 0), not the copy with the higher window
    margin but the smaller retrieval bonus (the old behaviour: a gap of about -4 withheld right answers)."""
    from mmroute.generation.reader_gen import Chunk, passage_bonus
    from mmroute.verification.reading import reader_signals

    text = "Circuit complexity counts the number of gates in a circuit."
    ws = make_windows(tok, ["What is counted?", "What is counted?"], [text, text], max_length=64, stride=16)
    starts, ends = [], []
    for w, logit in zip(ws, (5.0, 5.5)):  # passage 1 (the weaker hit) gives the span a higher margin
        start, end = np.full(len(w), -5.0), np.full(len(w), -5.0)
        tok_at = {o[0]: i for i, o in enumerate(w.offsets) if o is not None}
        tok_end = {o[1]: i for i, o in enumerate(w.offsets) if o is not None}
        a = text.index("number of gates")
        start[tok_at[a]], end[tok_end[a + len("number of gates")]] = logit, logit
        start[0], end[0] = 0.0, 0.0
        starts.append(start)
        ends.append(end)
    r = decode(ws, starts, ends, [text, text], n_best=4)
    bonus = passage_bonus([Chunk(0, text), Chunk(1, text)])  # the copies of the first and second hits
    ranked = sorted(
        ((sp, r.ranking_margin(sp.window_margin, sp.tokens) + bonus[sp.passage_index]) for sp in r.spans),
        key=lambda x: -x[1],
    )
    assert ranked[0][0].text == "number of gates" and ranked[0][0].passage_index == 0
    assert r.place("number of gates").passage_index == 1  # the best window margin is the weaker copy's
    sig = reader_signals("number of gates", r, ranked, 0.0, bonus)
    assert sig["reader_draft_gap"] == pytest.approx(0.0)
    assert sig["reader_draft_margin"] == pytest.approx(11.0)
