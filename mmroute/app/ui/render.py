"""How one answer is shown: headline, verdict, route, step trace, evidence cards, latency."""

from __future__ import annotations

import streamlit as st

from mmroute.app.support import (
    VERDICT_ICONS,
    EvidenceCard,
    evidence_card,
    evidence_cards,
    latency_rows,
    route_summary,
    trace_rows,
    withheld_draft,
)
from mmroute.generation.moments import moment_of
from mmroute.types import Answer

_TEXT_PREVIEW = 700
STEP_COLUMNS = {
    "query": st.column_config.TextColumn("query", width="medium"),
    "hits": st.column_config.ListColumn("hits", width="large", help="every hit of the step, best first"),
    "note": st.column_config.TextColumn("note", width="medium"),
}
"""The step table: every hit id in a wide list column (a joined string was cut off)."""


def answer(ans: Answer) -> None:
    st.markdown(f"**{ans.display_text}**")
    moment = moment_of(ans)
    if moment is not None:  # a "when in the video" answer plays from its moment
        hit, start, end = moment
        card = evidence_card(hit)
        if card.media_path:
            st.video(card.media_path, start_time=int(start), end_time=int(end) + 1)
    draft = withheld_draft(ans)
    if draft:
        st.caption(f"withheld draft (not verified, do not rely on it): *{draft}*")
        st.caption(f"why: {ans.reason}")
    v = ans.verification
    if v is not None:
        icon = VERDICT_ICONS.get(v.verdict.value, "")
        st.caption(
            f"{icon} verdict: **{v.verdict.value}** · {v.confidence_text()}" + (" · abstained" if ans.abstained else "")
        )
    elif ans.abstained:
        st.caption(f"abstained: {ans.reason}")
    st.caption(f"🔀 route: {route_summary(ans.route, ans.searched_kbs)}")

    cards = evidence_cards(ans)
    with st.expander(f"Evidence ({len(cards)})", expanded=True):
        if not cards:
            st.write("No evidence was retrieved.")
        for card in cards:
            evidence(card)
    with st.expander("Verification"):
        if v is None:
            st.write(ans.reason or "not verified")
        else:
            st.markdown(f"{VERDICT_ICONS.get(v.verdict.value, '')} **{v.verdict.value}** ({v.confidence_text()})")
            for r in v.reasons:
                st.markdown(f"- {r}")
            if v.signals:
                st.dataframe(
                    [{"signal": k, "value": round(float(x), 3)} for k, x in v.signals.items()], hide_index=True
                )
    with st.expander("Route and steps"):
        if ans.route is not None and ans.route.ranked:
            st.markdown(f"Router `{ans.route.router}`: {ans.route.reason}")
            st.dataframe(
                [
                    {"route": r.route, "probability": round(r.probability, 3), "kbs": ", ".join(r.kbs)}
                    for r in ans.route.ranked
                ],
                hide_index=True,
            )
        rows = trace_rows(ans)
        if rows:
            st.dataframe(rows, hide_index=True, column_config=STEP_COLUMNS)
            if ans.retrieval is not None and ans.retrieval.stop_reason:
                st.caption(f"stopped: {ans.retrieval.stop_reason}")
    with st.expander("Latency"):
        lat = latency_rows(ans)
        if lat:
            st.dataframe(lat, hide_index=True)
            stages = [r for r in lat if r["stage"] != "total"]
            if stages:
                st.bar_chart({r["stage"]: r["ms"] for r in stages}, horizontal=True, y_label="ms")


def evidence(card: EvidenceCard) -> None:
    with st.container(border=True):
        st.caption(card.caption)
        st.markdown(f"**{card.title}**")
        if card.kind == "image" and card.media_path:
            st.image(card.media_path, width=260)
        elif card.kind == "video" and card.media_path:
            st.video(
                card.media_path, start_time=int(card.start_s or 0), end_time=int(card.end_s) + 1 if card.end_s else None
            )
        text = card.text if len(card.text) <= _TEXT_PREVIEW else card.text[:_TEXT_PREVIEW] + " …"
        if text:
            st.write(text)
