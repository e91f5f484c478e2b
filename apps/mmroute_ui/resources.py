"""Process-wide resources, loaded once per process with ``st.cache_resource``."""
from __future__ import annotations

import os

import streamlit as st

from mmroute.app_support import AskSettings, GeneratorSettings, build_pipeline
from mmroute.kb import Home, default_home


def home_root() -> str:
    return str(default_home() if not os.environ.get("MMROUTE_HOME") else os.path.expanduser(os.environ["MMROUTE_HOME"]))


@st.cache_resource(show_spinner=False)
def get_home(root: str) -> Home:
    return Home(root)


@st.cache_resource(show_spinner="Loading models…", max_entries=4)
def get_pipeline(root: str, gen: GeneratorSettings, ask: AskSettings):  # noqa: ANN201
    return build_pipeline(get_home(root), gen, ask)


def kbs_changed() -> None:
    """After indexing or deleting: answer with fresh KB lists and stores."""
    get_pipeline.clear()
