"""mmroute's Streamlit app: chat with routed, step-wise, verified answers; manage knowledge bases.

Start it with ``mmroute app [--home DIR] [--port 8501]``: that starts (or reuses) the home's
``mmroute serve``, and the app is its client, so the CLI works beside it. ``streamlit run
apps/mmroute_app.py`` works too while ``mmroute serve`` runs for ``$MMROUTE_HOME`` (default
``~/.mmroute``). Logic that is not UI lives in :mod:`mmroute.app_support`, :mod:`mmroute.app_client`
and :mod:`mmroute.app_chat`; the pages are in :mod:`mmroute_ui` beside this file.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

from mmroute.errors import MMRouteError  # noqa: E402
from mmroute_ui import chat, kbs, resources, settings  # noqa: E402

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
