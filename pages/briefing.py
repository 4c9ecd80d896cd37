"""周报 — the weekly briefing: preview and download for a chosen ISO week and language, and the archive of the
briefings already written to the output folder."""
import base64
import datetime as dt

import pandas as pd
import streamlit as st

from analytics.scope import Scope
from dashboard import alertsview, charts, data
from briefing.weeks import week_bounds
from dashboard.ui import LANGS, chart, guidance, lang, store_status, table, tr, tr_data
from landdesk.i18n import language_name

st.title(tr("page_briefing"))
key, status = store_status()

weeks, default = data.briefing_weeks(key)
if not weeks:
    guidance("no_data")
    st.stop()
left, right = st.columns([2, 1])
week = left.selectbox(tr("bp_week"), weeks, index=weeks.index(default), key="brief_week",
                      format_func=lambda w: f"{w}  ({week_bounds(w)[0]:%m-%d} – {week_bounds(w)[1]:%m-%d})")
if "brief_lang" not in st.session_state:
    st.session_state["brief_lang"] = lang()
blang = right.radio(tr("bp_language"), LANGS, key="brief_lang", horizontal=True,
                    format_func=language_name)
start, end = week_bounds(week)

# context: the twelve weeks up to the chosen one
ctx = Scope(max(status["first"], end - dt.timedelta(weeks=12) + dt.timedelta(days=1)), end)
flow = data.Page(key, status, ctx).export("weekly-flow")
if not flow.empty:
    fig = charts.lines(flow, "week", {"received": tr("received"), "closed": tr("closed")},
                       tr("bp_context_chart", week=week), tr("week"), f"{tr('count_cases')} ({tr('unit_cases')})",
                       height=300)
    chart(fig, tr("bp_context_help"), key="brief_context")

st.subheader(tr("bp_preview"))
archived = {(a.week, a.lang, a.format): a for a in data.briefing_archive()}
with_charts = st.toggle(tr("bp_with_charts"), value=False, key="bp_with_charts", help=tr("bp_with_charts_help"))
if (week, blang, "html") in archived and not with_charts:
    html = archived[(week, blang, "html")].path.read_text(encoding="utf-8")
    st.caption(tr_data("bp_from_archive", file=archived[(week, blang, "html")].path.name))
else:
    with st.spinner(tr("bp_building")):
        html = data.briefing_html(key, week, blang, charts=with_charts)
cols = st.columns([1, 1, 1, 5])
for col, fmt, mime in zip(cols, ("pdf", "docx", "html"),
                          ("application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                           "text/html")):
    name = f"briefing-{week}-{blang}.{fmt}"
    payload = data.briefing_download(key, week, blang, fmt)   # built (with charts) and audited when clicked
    col.download_button(fmt.upper(), payload, name, mime, key=f"brief-dl-{fmt}", icon=":material/download:",
                        on_click="ignore")
# a data: URL gives the preview an opaque origin: the briefing's HTML cannot reach the app
st.iframe("data:text/html;base64," + base64.b64encode(html.encode("utf-8")).decode("ascii"), height=900)

st.subheader(tr("bp_archive"))
archive = data.briefing_archive()
if not archive:
    guidance("bp_archive_empty")
else:
    frame = pd.DataFrame([{"week": a.week, "lang": a.lang, "format": a.format, "file": a.path.name,
                           "size_kb": round(a.size / 1024, 1), "modified": a.modified} for a in archive])
    table(frame, "briefing-archive", {c: tr("col_" + c) for c in frame.columns})
    pick = st.selectbox(tr("bp_archive_pick"), range(len(archive)), key="brief_archive_pick",
                        format_func=lambda i: archive[i].path.name)
    chosen = archive[pick]
    _archived = data.deferred_download(chosen.path.read_bytes, chosen.path.name, kind="briefing")
    st.download_button(tr_data("bp_archive_download", file=chosen.path.name), _archived,
                       chosen.path.name, key="brief-archive-dl", icon=":material/download:", on_click="ignore")

alertsview.delivery_history(week)
