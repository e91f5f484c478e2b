"""The knowledge-base page: list KBs, index a folder or uploaded files with progress, delete a KB.

Indexing and deleting are done by the home's server (an index job per call); the table is drawn
after the forms ran, so it shows a KB indexed or deleted in this very run.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmroute.app.client import AppClient
from mmroute.app.support import (
    INDEX_UPLOAD_TYPES,
    MAX_INDEX_UPLOAD_MB,
    kb_rows,
    new_kb_name,
    parse_encoder,
    problem_rows,
    save_uploads,
    uploads_dir,
)
from mmroute.errors import KBLockedError, MMRouteError
from mmroute.kb import Home, validate_kb_name

from .resources import error_text, home_root

NEW = "➕ new KB"


def _encoder_names() -> list[str]:
    from mmroute.encoders import ENCODERS

    return ["default"] + sorted(ENCODERS.names())


def page(app: AppClient) -> None:
    st.subheader("Knowledge bases")
    table = st.container()
    names = app.names()
    _index_form(app, names)
    _delete_form(app)
    infos, writing = app.kbs_and_writing()
    rows = kb_rows(infos, writing)
    with table:
        if rows:
            st.caption(
                " · ".join(f"**{r['name']}** ({r['modality']}/{r['granularity']}, {r['items']} items)" for r in rows)
            )
            st.dataframe(rows, hide_index=True, key="kb_table")
        else:
            st.write("No knowledge bases yet.")


def _locked(e: KBLockedError) -> None:
    st.error(
        f"{e.message}. Another process (an `mmroute index` run?) is writing to this KB; "
        "try again when it has finished.",
        icon="🔒",
    )


def _index_form(app: AppClient, names: list[str]) -> None:
    st.subheader("Index files")
    with st.form("index_form"):
        target = st.selectbox("Into", [NEW] + names, key="idx_target")
        new_name = st.text_input("New KB name", key="idx_name", help="letters, digits, '-', '_', '.'")
        folder = st.text_input(
            "Folder or file on this machine", key="idx_path", help="a corpus .jsonl, a folder of images or videos, …"
        )
        files = st.file_uploader(
            "…or upload files",
            type=list(INDEX_UPLOAD_TYPES),
            accept_multiple_files=True,
            max_upload_size=MAX_INDEX_UPLOAD_MB,
            key="idx_files",
        )
        c1, c2, c3 = st.columns(3)
        modality = c1.selectbox("Modality", ["auto", "text", "image", "video"], key="idx_modality")
        granularity = c2.selectbox(
            "Granularity", ["auto", "paragraph", "document", "both", "image", "clip", "video"], key="idx_granularity"
        )
        encoder = c3.selectbox("Encoder", _encoder_names(), key="idx_encoder")
        enc_opts = st.text_input("Encoder options (JSON)", key="idx_encoder_opts", placeholder='{"dim": 64}')
        description = st.text_input("Description (used to route questions to this KB)", key="idx_description")
        submitted = st.form_submit_button("Index")
    if not submitted:
        return
    try:
        name = new_kb_name(new_name) if target == NEW else validate_kb_name(target)
        if files:
            folder_up = uploads_dir(Home(home_root()), name)
            up = save_uploads(((f.name, f.getvalue()) for f in files), folder_up)
            for _name, why in up.rejected:
                st.warning(f"not uploaded: {why}")
            if not up.saved:
                st.error("none of the uploaded files can be indexed")
                return
            source = folder_up
        elif folder.strip():
            source = Path(folder.strip()).expanduser()
            if not source.exists():
                st.error(f"{source} does not exist — give a folder or file path on the machine running the app")
                return
        else:
            st.error("give a folder or file path, or upload files")
            return
        spec = parse_encoder(encoder, enc_opts)
        bar = st.progress(0.0, text=f"Indexing {source} into {name}…")

        def progress(kb: str, done: int, total: int) -> None:
            bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{kb}: {done}/{total} items encoded")

        reports = app.index(
            name,
            source,
            modality=None if modality == "auto" else modality,
            granularity=None if granularity == "auto" else granularity,
            encoder=spec,
            description=description.strip(),
            progress=progress,
        )
        bar.progress(1.0, text="done")
    except KBLockedError as e:
        _locked(e)
        return
    except MMRouteError as e:
        st.error(error_text(e))
        return
    for note in dict.fromkeys(n for r in reports for n in r.notes):
        st.info(note, icon="ℹ️")
    for r in reports:
        st.success(
            f"{r.kb}: {r.indexed} indexed, {r.unchanged} already present, {r.skipped} skipped → "
            f"{r.count} items ({r.granularity}) in {r.elapsed_s:.1f} s"
        )
        if r.problems:
            with st.expander(f"Skipped in {r.kb} ({len(r.problems)})", expanded=True):
                st.dataframe(problem_rows(r.problems), hide_index=True)


def _delete_form(app: AppClient) -> None:
    names = app.names()
    if not names:
        return
    st.subheader("Delete a knowledge base")
    with st.form("delete_form"):
        name = st.selectbox("KB", names, key="del_name")
        sure = st.checkbox("Yes, delete its vectors (source files are kept)", key="del_confirm")
        go = st.form_submit_button("Delete")
    if not go:
        return
    if not sure:
        st.warning("tick the confirmation box to delete")
        return
    try:
        app.delete(name)
    except KBLockedError as e:
        st.error(f"{e.message}: it is being written by another process; try again later.", icon="🔒")
        return
    except MMRouteError as e:
        st.error(error_text(e))
        return
    st.success(f"deleted {name}")
