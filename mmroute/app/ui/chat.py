"""The chat page: conversation history, a question box that takes an image, answers with their trace.

Each question is answered by the home's server on a worker thread (:class:`mmroute.app.turns.Turn`):
a second question sent while the first is answered reruns this script, and the first answer still
lands in the history.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmroute.app.client import connect_app
from mmroute.app.support import MAX_QUERY_IMAGE_MB, QUERY_IMAGE_TYPES, AskSettings, GeneratorSettings, save_query_image
from mmroute.app.turns import Turn
from mmroute.errors import KBLockedError, MMRouteError
from mmroute.kb import Home

from . import render
from .resources import home_root

POLL_S = 0.25
IMAGE_ONLY_QUESTION = "What is shown in this image?"


def _history() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def _error_text(e: MMRouteError) -> str:
    if isinstance(e, KBLockedError) or "is being written" in e.message:
        return (
            f"A knowledge base is being written by another process: {e.message}. "
            "Wait for that indexing run to finish, then ask again."
        )
    return e.message + (f" — {e.hint}" if e.hint else "")


def _ask_later(root: str, text: str, image: Path | None, gen: GeneratorSettings, ask: AskSettings) -> Turn:
    def work():  # noqa: ANN202 - runs on a worker thread: its own connection to the server
        client = connect_app(root)
        try:
            return client.ask(text or IMAGE_ONLY_QUESTION, image, gen, ask)
        finally:
            client.close()

    return Turn.submit(text, str(image) if image else None, work, _error_text)


def show_question(turn: Turn) -> None:
    with st.chat_message("user"):
        st.markdown(turn.question or "_(image only)_")
        if turn.image and Path(turn.image).is_file():
            st.image(turn.image, width=200)


def show_reply(turn: Turn) -> None:
    with st.chat_message("assistant"):
        if turn.pending:
            with st.status("Routing, retrieving and verifying…", expanded=False) as status:
                while not turn.wait(POLL_S):
                    status.update(label="Routing, retrieving and verifying…")  # lets a new message interrupt
                status.update(label="Answered", state="complete")
        if turn.answer is not None:
            render.answer(turn.answer)
        else:
            st.error(turn.error or "no answer")


def page(gen: GeneratorSettings, ask: AskSettings, names: list[str]) -> None:
    if not names:
        st.info(
            "No knowledge bases yet: add one on the **Knowledge bases** tab, or with "
            "`mmroute index --kb NAME --input PATH`."
        )
    history = st.container()
    prompt = st.chat_input(
        "Ask a question (you can attach an image)",
        accept_file=True,
        file_type=list(QUERY_IMAGE_TYPES),
        max_upload_size=MAX_QUERY_IMAGE_MB,
        key="question",
    )
    if prompt:
        text = (prompt.text or "").strip()
        image: Path | None = None
        if prompt.files:
            f = prompt.files[0]
            try:
                image = save_query_image(Home(home_root()), f.name, f.getvalue())
            except MMRouteError as e:
                with history:
                    st.error(_error_text(e))
                prompt = None
        if prompt and (text or image is not None):
            _history().append(_ask_later(home_root(), text, image, gen, ask))
    with history:
        for turn in _history():
            show_question(turn)
            show_reply(turn)
