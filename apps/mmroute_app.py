"""mmroute's Streamlit app: chat with routed, step-wise, verified answers; manage knowledge bases.

Start it with ``mmroute app [--home DIR] [--port 8501]`` or ``streamlit run apps/mmroute_app.py``
(the KBs come from ``$MMROUTE_HOME``, default ``~/.mmroute``). Logic that is not UI lives in
:mod:`mmroute.app_support`; the pages are in :mod:`mmroute_ui` beside this file.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

from mmroute_ui import chat, kbs, settings  # noqa: E402

st.set_page_config(page_title="mmroute", page_icon="🔀", layout="wide")
gen, ask = settings.sidebar()
tab_chat, tab_kbs = st.tabs(["Chat", "Knowledge bases"])
with tab_chat:
    chat.page(gen, ask)
with tab_kbs:
    kbs.page()
