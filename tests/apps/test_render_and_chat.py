"""Answer rendering (evidence cards, verdict, trace, latency) and the chat page end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import APP, run_function_as_app, texts

HAS_PIPELINE = importlib.util.find_spec("mmroute.pipeline") is not None


def _render_script(image_path: str) -> None:
    import streamlit as st  # noqa: F401

    from mmroute.app.ui import render
    from mmroute.types import (
        Answer,
        Granularity,
        Hit,
        Item,
        RetrievalResult,
        RetrievalStep,
        RouteDecision,
        RouteScore,
        Verdict,
        Verification,
    )

    para = Hit(
        Item(
            id="f1",
            kind=Granularity.PARAGRAPH,
            title="Inception",
            text="Inception is a 2010 film directed by Christopher Nolan.",
        ),
        0.83,
        "films",
        1,
    )
    img = Hit(
        Item(id="red.png", kind=Granularity.IMAGE, title="A red square", text="a red square", source=image_path),
        0.41,
        "photos",
        2,
    )
    route = RouteDecision(
        query="Who directed Inception?",
        ranked=(RouteScore("paragraph", 0.91, ("films",)), RouteScore("image", 0.06, ("photos",))),
        chosen=("paragraph",),
        kbs=("films",),
        reason="top route",
        router="trained",
        elapsed_ms=1.2,
    )
    steps = (
        RetrievalStep(0, "Who directed Inception?", ("films",), (para,), route, ("f1",), "first hop", 4.0),
        RetrievalStep(
            1, "Christopher Nolan birthplace", ("films", "photos"), (img,), None, ("red.png",), "follow-up", 3.0
        ),
    )
    ans = Answer(
        question="Who directed Inception?",
        text="Christopher Nolan",
        abstained=False,
        reason="",
        evidence=(para, img),
        route=route,
        retrieval=RetrievalResult("Who directed Inception?", (para, img), steps, "evidence suffices", 7.0),
        draft=None,
        verification=Verification(Verdict.SUPPORTED, 0.88, ("the answer appears in f1",), {"lexical": 0.9}),
        timings_ms={"route": 1.2, "retrieve": 7.0, "generate": 3.3, "verify": 2.0, "total": 13.5},
    )
    render.answer(ans)


def test_answer_rendering_shows_evidence_verdict_trace_and_latency(tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "red.png"
    Image.new("RGB", (32, 32), (200, 0, 0)).save(img)
    at = AppTest.from_string(_source_body() + f"\n_render_script({str(img)!r})\n", default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "**Christopher Nolan**" in shown
    assert "verdict: **supported** · confidence 0.88" in shown and "the answer appears in f1" in shown  # a plugin's own
    assert "paragraph (p=0.91) → searched films" in shown
    assert "Inception is a 2010 film directed by Christopher Nolan." in shown
    assert "#1 · films · score 0.830" in shown and "#2 · photos · score 0.410" in shown
    assert len(at.get("image")) == 1  # the image evidence is shown as a thumbnail
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    steps = next(v for k, v in tables.items() if "query" in k)
    assert list(steps["query"]) == ["Who directed Inception?", "Christopher Nolan birthplace"]
    lat = next(v for k, v in tables.items() if k == ("stage", "ms"))
    assert list(lat["stage"]) == ["route", "retrieve", "generate", "verify", "total"]


def _source_body() -> str:
    import inspect
    import textwrap

    src = textwrap.dedent(inspect.getsource(_render_script))
    return src


@pytest.mark.skipif(not HAS_PIPELINE, reason="mmroute.pipeline (the answering pipeline) is not in this checkout yet")
def test_chat_answers_with_evidence_and_verdict(films_home: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    at.chat_input(key="question").set_value("Who directed Inception?")
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert "Who directed Inception?" in shown
    assert "Evidence (" in shown and "films · score" in shown
    assert "verdict: **" in shown
    at.chat_input(key="question").set_value("Who directed Titanic?")
    at.run()
    turns = at.session_state["turns"]
    assert [t.question for t in turns] == ["Who directed Inception?", "Who directed Titanic?"]
    assert all(t.answer is not None for t in turns)
    assert len(at.chat_message) == 4  # history: two questions, two answers


@pytest.mark.skipif(not HAS_PIPELINE, reason="mmroute.pipeline (the answering pipeline) is not in this checkout yet")
def test_chat_question_with_image_upload(films_home: Path) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 200)).save(buf, format="PNG")
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    at.chat_input(key="question").upload("../../my photo.png", buf.getvalue(), "image/png").set_value(
        "What film is this?"
    )
    at.run()
    assert not at.exception, at.exception
    saved = list((films_home / "uploads" / "_queries").glob("*-my_photo.png"))
    assert len(saved) == 1
    assert at.session_state["turns"][0].image == str(saved[0])


def _render_withheld() -> None:
    import streamlit as st  # noqa: F401

    from mmroute.app.ui import render
    from mmroute.types import Answer, Draft, Granularity, Hit, Item, Verdict, Verification

    hits = tuple(
        Hit(Item(id=f"p{i}", kind=Granularity.PARAGRAPH, title="Normans", text=t), 0.8 - i / 10, "squad", i + 1)
        for i, t in enumerate(["The Normans gave their name to Normandy.", "Rollo led the Norse."])
    )
    ans = Answer(
        question="Who led the Normans in 1100?",
        text="Rollo",
        abstained=True,
        reason="withheld: estimated chance the answer is right is only 12% (needs 40%)",
        evidence=hits,
        route=None,
        retrieval=None,
        draft=Draft("Rollo", ("p1",), "Rollo led the Norse.", 0.4, "reader"),
        verification=Verification(Verdict.UNSUPPORTED, 0.12, ("withheld: ...",), {"p_correct": 0.12}, True),
    )
    render.answer(ans)


def test_withheld_draft_is_labelled_and_all_evidence_is_shown() -> None:

    at = run_function_as_app(_render_withheld)
    shown = texts(at)
    assert "**I don't know**" in shown
    assert "withheld draft (not verified, do not rely on it): *Rollo*" in shown
    assert "verdict: **unsupported** · estimated chance right 12% · abstained" in shown  # the estimate, in words
    assert "The Normans gave their name to Normandy." in shown and "Rollo led the Norse." in shown
