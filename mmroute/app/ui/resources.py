"""The app's home and its server: every page talks to ``mmroute serve`` (the app opens no KB itself)."""

from __future__ import annotations

import os

import streamlit as st

from mmroute.app.client import AppClient, connect_app
from mmroute.errors import MMRouteError
from mmroute.kb import default_home


def home_root() -> str:
    return str(default_home() if not os.environ.get("MMROUTE_HOME") else os.path.expanduser(os.environ["MMROUTE_HOME"]))


def server() -> AppClient | None:
    """A client of the home's server for this script run, or None after showing what to do."""
    try:
        return connect_app(home_root())
    except MMRouteError as e:
        st.error(e.message + (f" — {e.hint}" if e.hint else ""), icon="🔌")
        return None


def error_text(e: MMRouteError) -> str:
    return e.message + (f" — {e.hint}" if e.hint else "")
