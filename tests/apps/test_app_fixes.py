"""The app fixes a new user asked for: answers that survive a second question, skipped rows without a
line, the encoder column, empty KB names, clip cards with their own subtitles, the full step hits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mmroute.app.support import encoder_label, evidence_card, new_kb_name, problem_rows, trace_rows
from mmroute.app.turns import Turn
from mmroute.errors import InputError
from mmroute.loaders.base import LoadProblem
from mmroute.types import Answer, EncoderSpec, Granularity, Hit, Item, RetrievalResult, RetrievalStep

from .conftest import run_function_as_app

SYNOPSIS = "A giant rabbit takes revenge on three bullies in a forest."


def _answer(question: str, text: str) -> Answer:
    hit = Hit(
        Item(id="f1", kind=Granularity.PARAGRAPH, text="Inception is a film by Christopher Nolan."), 0.9, "films", 1
    )
    return Answer(
        question=question,
        text=text,
        abstained=False,
        reason="",
        evidence=(hit,),
        route=None,
        retrieval=None,
        draft=None,
        verification=None,
        timings_ms={"total": 1.0},
    )


def test_a_second_question_does_not_lose_the_first_answer() -> None:
    release = threading.Event()

    def slow() -> Answer:
        release.wait(30)
        return _answer("first?", "first answer")

    first = Turn.submit("first?", None, slow)
    assert first.pending and not first.wait(0.05)
    # the user sends a second question: Streamlit stops the script that was waiting for the first answer
    second = Turn.submit("second?", None, lambda: _answer("second?", "second answer"))
    assert second.wait(10) and second.answer.text == "second answer"
    release.set()
    assert first.wait(10)  # the first answer arrives although its script run is gone
    assert first.answer is not None and first.answer.text == "first answer"


def test_a_failed_question_keeps_its_error() -> None:
    def boom() -> Answer:
        raise InputError("the question is empty")

    turn = Turn.submit("", None, boom)
    assert turn.wait(10) and turn.answer is None and turn.error == "the question is empty"


def _pending_turn_script() -> None:
    import time

    import streamlit as st

    from mmroute.app.turns import Turn
    from mmroute.app.ui import chat
    from mmroute.types import Answer

    if "turns" not in st.session_state:  # a turn whose script run was interrupted by the next question

        def slow() -> Answer:
            time.sleep(0.5)
            return Answer(
                question="first?",
                text="the first answer",
                abstained=False,
                reason="",
                evidence=(),
                route=None,
                retrieval=None,
                draft=None,
                verification=None,
            )

        st.session_state["turns"] = [Turn.submit("first?", None, slow)]
    for turn in st.session_state["turns"]:
        chat.show_question(turn)
        chat.show_reply(turn)


def test_the_chat_shows_an_answer_that_finished_after_its_run_was_interrupted() -> None:
    at = run_function_as_app(_pending_turn_script)
    assert any(m.value == "**the first answer**" for m in at.markdown)


def test_skipped_rows_without_a_line_show_an_empty_cell() -> None:
    rows = problem_rows(
        [LoadProblem("photos/broken.png", "cannot decode image"), LoadProblem("corpus.jsonl", "not JSON", 7)]
    )
    assert [r["line"] for r in rows] == ["", "7"]
    assert "None" not in str(rows)


def test_encoder_column_is_readable() -> None:
    assert encoder_label(EncoderSpec("hashing", {"dim": 64})) == "hashing (dim=64)"
    assert encoder_label(EncoderSpec("minilm", {})) == "minilm"
    assert "{" not in encoder_label(EncoderSpec("conse", {"top_k": 20, "visual_weight": 0.8}))


def test_an_empty_kb_name_asks_for_a_name() -> None:
    for typed in ("", "   "):
        with pytest.raises(InputError, match="enter a name for the new KB"):
            new_kb_name(typed)
    assert new_kb_name(" birds ") == "birds"
    with pytest.raises(InputError, match="invalid KB name"):
        new_kb_name("../evil")


def _clip(start: float, end: float, subs: str) -> Hit:
    item = Item(
        id=f"bbb.mp4#{start:g}-{end:g}",
        kind=Granularity.CLIP,
        text="\n".join(t for t in (subs, SYNOPSIS) if t),
        title="Big Buck Bunny",
        source="/nonexistent/bbb.mp4",
        doc_id="bbb.mp4",
        start_s=start,
        end_s=end,
        captions=(SYNOPSIS,),
        metadata={"subtitles": subs, "description": SYNOPSIS},
    )
    return Hit(item, 0.5, "bbb-clip", 1)


def test_clip_cards_show_their_own_subtitles_and_time_range() -> None:
    card = evidence_card(_clip(80.0, 90.0, "The bunny wakes up and stretches."))
    assert card.text == "The bunny wakes up and stretches."
    assert SYNOPSIS not in card.text
    assert card.title == "Big Buck Bunny · 1:20–1:30"
    assert "1:20–1:30" in card.caption
    silent = evidence_card(_clip(0.0, 10.0, ""))
    assert SYNOPSIS not in silent.text and "no subtitles" in silent.text
    whole = Hit(
        Item(
            id="bbb.mp4",
            kind=Granularity.VIDEO,
            text=SYNOPSIS,
            title="Big Buck Bunny",
            start_s=0.0,
            end_s=596.0,
            metadata={"description": SYNOPSIS},
        ),
        0.4,
        "bbb-video",
        2,
    )
    assert evidence_card(whole).text == SYNOPSIS  # a whole video keeps its synopsis


def test_step_table_keeps_every_hit() -> None:
    hits = tuple(
        Hit(Item(id=f"wiki/a-long-article-title-{i}", kind=Granularity.PARAGRAPH), 1 - i / 10, "wiki", i + 1)
        for i in range(8)
    )
    step = RetrievalStep(0, "q", ("wiki",), hits)
    ans = Answer(
        question="q",
        text=None,
        abstained=True,
        reason="",
        evidence=(),
        route=None,
        retrieval=RetrievalResult("q", hits[:2], (step,)),
        draft=None,
        verification=None,
    )
    row = trace_rows(ans)[0]
    assert row["hits"] == [h.item.id for h in hits]  # all of them, not a cut string


def _render_steps() -> None:
    from mmroute.app.ui import render
    from mmroute.types import Answer, Granularity, Hit, Item, RetrievalResult, RetrievalStep

    hits = tuple(
        Hit(Item(id=f"wiki/a-long-article-title-{i}", kind=Granularity.PARAGRAPH), 1 - i / 10, "wiki", i + 1)
        for i in range(8)
    )
    render.answer(
        Answer(
            question="q",
            text=None,
            abstained=True,
            reason="",
            evidence=(),
            route=None,
            retrieval=RetrievalResult("q", hits[:2], (RetrievalStep(0, "q", ("wiki",), hits),)),
            draft=None,
            verification=None,
        )
    )


def test_step_table_hits_column_is_a_wide_list() -> None:
    import json

    at = run_function_as_app(_render_steps)
    steps = next(d for d in at.dataframe if "hits" in d.value.columns)
    assert list(steps.value["hits"][0]) == [f"wiki/a-long-article-title-{i}" for i in range(8)]
    config = json.loads(steps.proto.columns)
    assert config["hits"]["width"] == "large" and config["hits"]["type_config"]["type"] == "list"


@pytest.fixture(autouse=True)
def _no_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MMROUTE_HOME", str(tmp_path / "home"))
