"""The app's one page: sidebar settings, then the Chat and Knowledge bases tabs.

:func:`main` is the whole Streamlit script; ``mmroute app`` runs :mod:`mmroute.app.script.mmroute_app`
(and a checkout's ``apps/mmroute_app.py``), each of which only calls it. It needs the home's
``mmroute serve`` (``mmroute app`` starts one; ``streamlit run`` needs one running for ``$MMROUTE_HOME``).
"""

from __future__ import annotations

import streamlit as st

from mmroute.errors import MMRouteError

from . import chat, kbs, resources, settings


def main() -> None:
    st.set_page_config(page_title="mmroute", page_icon="🔀", layout="wide")
    app = resources.server()
    names: list[str] = []
    if app is not None:
        try:
            names = app.names()
        except MMRouteError as e:
            st.error(resources.error_text(e), icon="🔌")
            app = None
    gen, ask = settings.sidebar(names)
    if app is None:
        st.stop()
    tab_chat, tab_kbs = st.tabs(["Chat", "Knowledge bases"])
    with tab_chat:
        chat.page(gen, ask, names)
    with tab_kbs:
        kbs.page(app)
