"""Sidebar: generator settings (the API key is read from the environment and never shown) and retrieval."""

from __future__ import annotations

import streamlit as st

from mmroute.app.support import AskSettings, GeneratorSettings, generator_kinds, generator_label, role_names
from mmroute.errors import ConfigError

from .resources import home_root


def sidebar(names: list[str]) -> tuple[GeneratorSettings, AskSettings]:
    """The settings; ``names``: the home's KBs (for the fixed-KB choice)."""
    with st.sidebar:
        st.header("Settings")
        st.caption(f"Home: `{home_root()}`")
        st.subheader("Generator")
        kind = st.radio("Answers are drafted by", generator_kinds(), format_func=generator_label, key="gen_kind")
        gen = GeneratorSettings(kind=kind)
        if kind == "local":
            model = st.text_input(
                "Model folder or Hugging Face name (empty: packaged SmolLM2-135M)", key="gen_local_model"
            )
            gen = GeneratorSettings(kind=kind, local_model=model)
        elif kind == "openai":
            url = st.text_input("Endpoint URL", placeholder="http://localhost:8000/v1", key="gen_url")
            model = st.text_input("Model", placeholder="Qwen/Qwen2.5-VL-7B-Instruct", key="gen_model")
            env = st.text_input("API key environment variable", value="OPENAI_API_KEY", key="gen_key_env")
            gen = GeneratorSettings(kind=kind, endpoint_url=url, model=model, api_key_env=env)
            try:
                st.caption(f"API key: ${env} is **{gen.key_status()}** in the app's environment (never shown).")
            except Exception:  # noqa: BLE001 - an invalid variable name is reported below
                pass
        try:
            gen.validate()
        except ConfigError as e:
            st.warning(f"{e.message}" + (f" — {e.hint}" if e.hint else "") + "; using the offline generator.")
            gen = GeneratorSettings()
        st.subheader("Retrieval")
        retriever = st.selectbox(
            "Retriever",
            ["stepwise", "single"],
            key="retriever",
            help="stepwise: follow-up queries across KBs; single: one routed search",
        )
        k = st.slider("Evidence items (k)", 1, 10, 5, key="k")
        chosen = st.multiselect("Search only these KBs (empty: the router decides)", names, key="kbs_fixed")
        routers = role_names("router")
        router = st.selectbox(
            "Router",
            ["default", *(r for r in routers if r != "default")],
            key="router",
            help="picks the KBs when none are chosen above; a plugin's router is listed by its name",
        )
        verifiers = role_names("verifier")
        verifier = st.selectbox(
            "Verifier",
            ["evidence", *(v for v in verifiers if v != "evidence")],
            key="verifier",
            help="checks each answer against its evidence; a plugin's verifier is listed by its name",
        )
        threshold = None
        if verifier == "evidence" and st.checkbox(
            "Set how strict",
            key="strict_own",
            help="by default an answer is shown when its estimated chance of being right reaches the threshold "
            "calibrated for its generator (45% for the packaged reader)",
        ):
            threshold = st.slider(
                "Show an answer when its estimated chance of being right reaches",
                0.05,
                0.95,
                0.45,
                0.05,
                key="threshold",
                help="lower answers more and is wrong more often: on held-out SQuAD 2.0 articles (half of them "
                "unanswerable), 0.45 answers 22% of questions, 60% of them right; 0.30 answers 39%, 46% right",
            )
    return gen, AskSettings(
        retriever=retriever,
        k=int(k),
        kbs=tuple(chosen),
        router=None if router == "default" else router,
        verifier=verifier,
        threshold=None if threshold is None else float(threshold),
    )
