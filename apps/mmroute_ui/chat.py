"""The chat page: conversation history, a question box that takes an image, answers with their trace."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmroute.app_support import MAX_QUERY_IMAGE_MB, QUERY_IMAGE_TYPES, AskSettings, GeneratorSettings, save_query_image
from mmroute.errors import KBLockedError, MMRouteError

from . import render
from .resources import get_home, get_pipeline, home_root


def _history() -> list[dict]:
    return st.session_state.setdefault("messages", [])


def _show(msg: dict) -> None:
    with st.chat_message(msg["role"]):
        if msg["role"] == "user":
            st.markdown(msg["text"] or "_(image only)_")
            if msg.get("image") and Path(msg["image"]).is_file():
                st.image(msg["image"], width=200)
        elif "answer" in msg:
            render.answer(msg["answer"])
        else:
            st.error(msg["error"])


def _error_text(e: MMRouteError) -> str:
    if isinstance(e, KBLockedError):
        return (f"A knowledge base is being written by another process: {e.message}. "
                "Wait for that indexing run to finish, then ask again.")
    return e.message + (f" — {e.hint}" if e.hint else "")


def _ask(text: str, image: Path | None, gen: GeneratorSettings, ask: AskSettings) -> dict:
    with st.status("Routing, retrieving and verifying…", expanded=False) as status:
        try:
            pipeline = get_pipeline(home_root(), gen, ask)
            status.update(label="Retrieving evidence and drafting an answer…")
            answer = pipeline.ask(text, image=image, kbs=list(ask.kbs) or None, k=ask.k)
        except MMRouteError as e:
            status.update(label="Failed", state="error")
            return {"role": "assistant", "error": _error_text(e)}
        total = answer.timings_ms.get("total")
        status.update(label=f"Answered in {total:.0f} ms" if total else "Answered", state="complete")
    return {"role": "assistant", "answer": answer}


def page(gen: GeneratorSettings, ask: AskSettings) -> None:
    home = get_home(home_root())
    if not home.names():
        st.info("No knowledge bases yet: add one on the **Knowledge bases** tab, or with "
                "`mmroute index --kb NAME --input PATH`.")
    history = st.container()
    with history:
        for msg in _history():
            _show(msg)
    prompt = st.chat_input("Ask a question (you can attach an image)", accept_file=True,
                           file_type=list(QUERY_IMAGE_TYPES), max_upload_size=MAX_QUERY_IMAGE_MB, key="question")
    if not prompt:
        return
    text = (prompt.text or "").strip()
    image: Path | None = None
    with history:
        if prompt.files:
            f = prompt.files[0]
            try:
                image = save_query_image(home, f.name, f.getvalue())
            except MMRouteError as e:
                st.error(_error_text(e))
                return
        if not text and image is None:
            return
        user = {"role": "user", "text": text, "image": str(image) if image else None}
        _history().append(user)
        _show(user)
        with st.chat_message("assistant"):
            reply = _ask(text or "What is shown in this image?", image, gen, ask)
            if "answer" in reply:
                render.answer(reply["answer"])
            else:
                st.error(reply["error"])
        _history().append(reply)
