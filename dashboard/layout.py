"""Phone, paper and screen readers: the app's one style sheet, the print view and charts' text alternatives.

At phone width the sidebar's toggle is a labelled "筛选" button (the filters are one tap away); printed pages
(Ctrl+P) leave out the sidebar, the header, buttons and widgets and fit A4. The print view (?print=1, a sidebar
switch) lays a page out for paper on screen as well: no sidebar, tables as static tables with their rows, every
section open, each chart followed by its text alternative."""
from __future__ import annotations

import datetime as dt
import html
import math
import re

import numpy as np
import pandas as pd
import streamlit as st

from landdesk.fmt import fmt_count
from landdesk.i18n import t

PRINT = "print"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
#: Rows a table shows in the print view (the download carries them all).
PRINT_ROWS = 60
#: Below this width (CSS px) the layout is a phone's.
PHONE_WIDTH = 640

_STYLE = """
<style>
.ld-alt {position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap;}
@media (max-width: %(phone)dpx) {
  [data-testid="stExpandSidebarButton"] {width:auto; padding:0 .6rem; border:1px solid rgba(49,51,63,.3);
    border-radius:.5rem;}
  [data-testid="stExpandSidebarButton"]::after {content:"%(filters)s"; margin-left:.3rem; font-size:.9rem;}
  [data-testid="stMainBlockContainer"] {padding-left:.8rem; padding-right:.8rem; padding-top:3rem;}
  [data-testid="stMetricValue"] {font-size:1.5rem;}
  /* KPI cards two to a row, so the four headline KPIs fill the first screen */
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) {flex-wrap:wrap; gap:.5rem;}
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) > [data-testid="stColumn"]
    {min-width:calc(50%% - .25rem) !important; flex:1 1 calc(50%% - .25rem) !important;}
}
@media print {
  @page {size:A4; margin:12mm;}
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stExpandSidebarButton"], [data-testid="stDecoration"], [data-testid="stDownloadButton"],
  [data-testid="stBaseButton-secondary"], [data-testid="stElementToolbar"], .stButton, iframe {display:none !important;}
  [data-testid="stMainBlockContainer"] {max-width:100%% !important; padding:0 !important;}
  [data-testid="stAppViewContainer"], [data-testid="stMain"] {overflow:visible !important;}
  [data-testid="stPlotlyChart"], [data-testid="stTable"], [data-testid="stMetric"] {break-inside:avoid;}
  .ld-alt {position:static; width:auto; height:auto; clip:auto; white-space:normal; font-size:.8rem; color:#444;}
  .ld-screen {display:none !important;}
}
%(print_view)s
</style>
"""
_PRINT_VIEW = """
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"] {display:none !important;}
[data-testid="stMainBlockContainer"] {max-width:186mm; margin:0 auto;}
.ld-alt {position:static; width:auto; height:auto; clip:auto; white-space:normal; font-size:.85rem; color:#444;}
"""


def print_view() -> bool:
    """Whether the page is laid out for paper (?print=1)."""
    return st.session_state.get(PRINT, False)


def page_style(lang: str) -> None:
    """The style sheet of every page, and the print view's switch (in the sidebar; on the page while it is on)."""
    if PRINT not in st.session_state:
        st.session_state[PRINT] = st.query_params.get("print") == "1"
    on = st.session_state[PRINT]
    st.html(_STYLE % {"phone": PHONE_WIDTH, "filters": t("filters", lang).replace('"', ""),
                      "print_view": _PRINT_VIEW if on else ""})
    if on:
        st.query_params["print"] = "1"
        if st.button(t("print_view_leave", lang), key="print_leave", icon=":material/close:"):
            st.session_state[PRINT] = False
            st.query_params.pop("print", None)
            st.rerun()
        st.html(f'<p class="ld-screen" style="font-size:.85rem;color:#666">{html.escape(t("print_view_note", lang))}</p>')
    else:
        st.query_params.pop("print", None)
        if st.sidebar.button(t("print_view", lang), key="print_enter", icon=":material/print:",
                             help=t("print_view_help", lang)):
            st.session_state[PRINT] = True
            st.rerun()


def print_table(shown: pd.DataFrame, lang: str) -> None:
    """A table for paper: its first PRINT_ROWS rows as a static table, and how many more the download holds."""
    st.table(shown.head(PRINT_ROWS))
    if len(shown) > PRINT_ROWS:
        st.caption(t("print_rows_more", lang, shown=fmt_count(PRINT_ROWS, lang), n=fmt_count(len(shown), lang)))


def alt_text(fig, lang: str) -> str:
    """A chart's text alternative: its title and the key number of each series — the latest point of a series
    over time or an ordered axis, the largest bar of a category chart (at most three series)."""
    title = fig.layout.title.text or ""
    parts = []
    for trace in list(fig.data)[:3]:
        x, y = getattr(trace, "x", None), getattr(trace, "y", None)
        if getattr(trace, "orientation", None) == "h":
            x, y = y, x
        if x is None or y is None or len(y) == 0:
            continue
        values = pd.to_numeric(pd.Series(list(y)), errors="coerce")
        if values.notna().sum() == 0:
            continue
        name = trace.name or ""
        if trace.type == "bar" and not _is_time(x):
            i = int(values.idxmax())
            parts.append(t("alt_largest", lang, series=name, at=_label(list(x)[i]), value=_num(values[i], lang)))
        else:
            i = int(values.last_valid_index())
            parts.append(t("alt_latest", lang, series=name, at=_label(list(x)[i]), value=_num(values[i], lang)))
    body = t("alt_sep", lang).join(p.strip() for p in parts) or t("alt_no_data", lang)
    return t("alt_chart", lang, title=title, summary=body)


def alt(fig, lang: str) -> None:
    """The text alternative under a chart: read by screen readers, printed, shown in the print view."""
    st.html(f'<p class="ld-alt" role="note">{html.escape(alt_text(fig, lang))}</p>')


def _is_time(x) -> bool:
    """Whether an axis holds days or instants (Plotly keeps them as datetime64 or ISO strings)."""
    first = list(x)[:1]
    return bool(first) and (isinstance(first[0], (pd.Timestamp, np.datetime64, dt.datetime, dt.date))
                            or (isinstance(first[0], str) and bool(_ISO.match(first[0]))))


def _label(value) -> str:
    """An axis value as a person reads it: a day as 2026-10-26, a time to the minute, anything else as text."""
    if isinstance(value, (pd.Timestamp, np.datetime64, dt.datetime, dt.date)) or \
            (isinstance(value, str) and _ISO.match(value)):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _num(value: float, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return fmt_count(round(float(value), 1) if float(value) != int(value) else int(value), lang)
