"""The knowledge-base page: list KBs, index a folder or uploaded files with progress, delete a KB."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmroute.app_support import (INDEX_UPLOAD_TYPES, MAX_INDEX_UPLOAD_MB, kb_rows, parse_encoder, run_index,
                                 save_uploads, uploads_dir)
from mmroute.errors import KBLockedError, MMRouteError
from mmroute.kb import validate_kb_name

from .resources import get_home, home_root, kbs_changed

NEW = "➕ new KB"


def _encoder_names() -> list[str]:
    from mmroute.encoders import _register_all  # noqa: F401
    from mmroute.encoders.base import ENCODERS

    return ["default"] + sorted(ENCODERS.names())


def page() -> None:
    home = get_home(home_root())
    st.subheader("Knowledge bases")
    rows = kb_rows(home)
    if rows:
        st.caption(" · ".join(f"**{r['name']}** ({r['modality']}/{r['granularity']}, {r['items']} items)" for r in rows))
        st.dataframe(rows, hide_index=True, key="kb_table")
    else:
        st.write("No knowledge bases yet.")
    _index_form(home)
    _delete_form(home)


def _index_form(home) -> None:  # noqa: ANN001
    st.subheader("Index files")
    with st.form("index_form"):
        target = st.selectbox("Into", [NEW] + home.names(), key="idx_target")
        new_name = st.text_input("New KB name", key="idx_name", help="letters, digits, '-', '_', '.'")
        folder = st.text_input("Folder or file on this machine", key="idx_path",
                               help="a corpus .jsonl, a folder of images or videos, …")
        files = st.file_uploader("…or upload files", type=list(INDEX_UPLOAD_TYPES), accept_multiple_files=True,
                                 max_upload_size=MAX_INDEX_UPLOAD_MB, key="idx_files")
        c1, c2, c3 = st.columns(3)
        modality = c1.selectbox("Modality", ["auto", "text", "image", "video"], key="idx_modality")
        granularity = c2.selectbox("Granularity", ["auto", "paragraph", "document", "both", "image", "clip", "video"],
                                   key="idx_granularity")
        encoder = c3.selectbox("Encoder", _encoder_names(), key="idx_encoder")
        enc_opts = st.text_input("Encoder options (JSON)", key="idx_encoder_opts", placeholder='{"dim": 64}')
        description = st.text_input("Description (used to route questions to this KB)", key="idx_description")
        submitted = st.form_submit_button("Index")
    if not submitted:
        return
    try:
        name = validate_kb_name(new_name.strip() if target == NEW else target)
        if files:
            up = save_uploads(((f.name, f.getvalue()) for f in files), uploads_dir(home, name))
            for fname, why in up.rejected:
                st.warning(f"not uploaded: {why}")
            if not up.saved:
                st.error("none of the uploaded files can be indexed")
                return
            source = uploads_dir(home, name)
        elif folder.strip():
            source = Path(folder.strip()).expanduser()
        else:
            st.error("give a folder or file path, or upload files")
            return
        spec = parse_encoder(encoder, enc_opts)
        bar = st.progress(0.0, text=f"Indexing {source} into {name}…")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0, text=f"{stage}: {done}/{total} items encoded")

        reports = run_index(home, name, source, modality=None if modality == "auto" else modality,
                            granularity=None if granularity == "auto" else granularity, encoder=spec,
                            description=description.strip(), progress=progress)
        bar.progress(1.0, text="done")
    except KBLockedError as e:
        st.error(f"{e.message}. Another process (an `mmroute index` run?) is writing to this KB; "
                 "try again when it has finished.", icon="🔒")
        return
    except MMRouteError as e:
        st.error(e.message + (f" — {e.hint}" if e.hint else ""))
        return
    kbs_changed()
    for r in reports:
        st.success(f"{r.kb}: {r.indexed} indexed, {r.unchanged} already present, {r.skipped} skipped → "
                   f"{r.count} items ({r.granularity}) in {r.elapsed_s:.1f} s")
        if r.problems:
            with st.expander(f"Skipped in {r.kb} ({len(r.problems)})", expanded=True):
                st.dataframe([{"source": p.source, "line": p.line, "problem": p.message} for p in r.problems],
                             hide_index=True)
    st.button("Refresh the KB list", key="idx_refresh")


def _delete_form(home) -> None:  # noqa: ANN001
    names = home.names()
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
        home.delete(name)
    except KBLockedError as e:
        st.error(f"{e.message}: it is being written by another process; try again later.", icon="🔒")
        return
    except MMRouteError as e:
        st.error(e.message)
        return
    kbs_changed()
    st.success(f"deleted {name}")
    st.button("Refresh the KB list", key="del_refresh")
