"""Shared UI parts: language switch, the filter bar (kept in the URL), KPI cards."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st

from analytics.scope import Scope
from dashboard.i18n import DEFAULT_LANG, LANGS, fmt_area, fmt_count, fmt_rate, t

RATE_KPIS = {"on_time_rate", "online_rate", "good_rating_rate", "petition_reply_on_time_rate"}
STATUS_BADGE = {"green": "green", "amber": "orange", "red": "red", "": "gray"}
CJK_FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANG)


def tr(key: str, **fmt) -> str:
    return t(key, lang(), **fmt)


def language_switch() -> None:
    """A sidebar radio; the choice lives in session state and the URL (?lang=en)."""
    if "lang" not in st.session_state:
        q = st.query_params.get("lang")
        st.session_state["lang"] = q if q in LANGS else DEFAULT_LANG
    st.sidebar.radio(t("language", lang()), LANGS, key="lang", horizontal=True,
                     format_func=lambda code: {"zh": "中文", "en": "English"}[code])
    st.query_params["lang"] = st.session_state["lang"]


FILTER_DIMS = ("township", "case_type", "department")


def filter_bar(status: dict) -> Scope:
    """Period, township, case type and department: shared by all pages, kept in session and the URL."""
    last = status["last"] or dt.date.today()
    first = status["first"] or last
    qp = st.query_params
    if "period" not in st.session_state:
        try:
            start = dt.date.fromisoformat(qp["from"]) if "from" in qp else last - dt.timedelta(days=29)
            end = dt.date.fromisoformat(qp["to"]) if "to" in qp else last
        except ValueError:
            start, end = last - dt.timedelta(days=29), last
        st.session_state["period"] = (min(max(start, first - dt.timedelta(days=366)), end), end)
    options = {"township": status["townships"], "case_type": status["case_types"],
               "department": status["departments"]}
    for dim in FILTER_DIMS:
        if dim not in st.session_state:
            wanted = qp.get(dim, "")
            st.session_state[dim] = wanted if wanted in options[dim] else ""
    st.sidebar.subheader(tr("filters"))
    period = st.sidebar.date_input(tr("period"), key="period", min_value=first - dt.timedelta(days=366),
                                   max_value=max(last, dt.date.today()))
    all_labels = {"township": "all_townships", "case_type": "all_case_types", "department": "all_departments"}
    for dim in FILTER_DIMS:
        st.sidebar.selectbox(tr(dim), [""] + list(options[dim]), key=dim,
                             format_func=lambda x, d=dim: x or tr(all_labels[d]))
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:
        start = end = period[0] if isinstance(period, (tuple, list)) and period else last
    qp["from"], qp["to"] = start.isoformat(), end.isoformat()
    chosen = {}
    for dim in FILTER_DIMS:
        chosen[dim] = st.session_state[dim] or None
        if chosen[dim]:
            qp[dim] = chosen[dim]
        elif dim in qp:
            del qp[dim]
    return Scope(start, end, **chosen)


def format_kpi(code: str, value: float, unit: str = "workdays") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if code in RATE_KPIS:
        return fmt_rate(value)
    if code == "cultivated_land_ha":
        return fmt_area(value, lang(), with_mu=False)
    if code == "median_throughput":
        return f"{value:.1f} {tr('unit_' + unit)}"
    return fmt_count(value, lang())


def format_change(code: str, change: float) -> str | None:
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return None
    if code in RATE_KPIS:
        return f"{change * 100:+.1f} pp" if lang() == "en" else f"{change * 100:+.1f} 个百分点"
    if code == "cultivated_land_ha":
        return f"{change:+,.1f} {tr('unit_ha')}"
    return f"{change:+,.1f}" if not float(change).is_integer() else f"{change:+,.0f}"


def kpi_card(code: str, row: pd.Series, direction: int, unit: str = "workdays") -> None:
    """One KPI: value, change against the previous period (coloured by direction), target and status."""
    st.metric(
        tr("kpi_" + code), format_kpi(code, row["value"], unit),
        delta=format_change(code, row["change"]),
        delta_color="normal" if direction > 0 else ("inverse" if direction < 0 else "off"),
        help=tr("vs_previous"),
    )
    if isinstance(row["target"], float) and not math.isnan(row["target"]):
        colour = STATUS_BADGE[row["status"]]
        st.caption(f":{colour}-badge[{tr('status_' + row['status'])}] "
                   f"{tr('target')} {format_kpi(code, row['target'], unit)}")
    else:
        st.caption(f":gray-badge[{tr('no_target')}]")


def plotly_layout(fig, title: str):
    fig.update_layout(title=title, font_family=CJK_FONT, margin=dict(l=10, r=10, t=50, b=10),
                      legend_title_text="", hovermode="x unified")
    return fig


def store_status() -> tuple[str, dict]:
    """The store's batch key and data status; stops the page with guidance when unreachable or empty."""
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard import data
    try:
        key = data.batch_key()
        status = data.data_status(key)
    except SQLAlchemyError as exc:
        st.error(tr("store_error") + str(getattr(exc, "orig", exc)).strip().splitlines()[0])
        st.stop()
    if status["last"] is None:
        st.info(tr("no_data"))
        st.stop()
    return key, status


def data_badge(status: dict) -> None:
    """The "data as of" badge from the last loaded ETL batch."""
    if status["as_of"]:
        st.badge(f"{tr('data_as_of')} {status['as_of']:%Y-%m-%d %H:%M}", icon=":material/update:", color="blue")


def table(df: pd.DataFrame, name: str, column_labels: dict[str, str] | None = None, height: int | None = None) -> None:
    """A table with CSV and Excel downloads (formulas neutralised); labels translated for display."""
    from landdesk.spreadsheet import to_csv_bytes, to_xlsx_bytes

    shown = df.rename(columns=column_labels or {})
    kwargs = {"height": height} if height else {}
    st.dataframe(shown, hide_index=True, width="stretch", **kwargs)
    left, right, _ = st.columns([1, 1, 6])
    left.download_button("CSV", to_csv_bytes(shown), f"{name}.csv", "text/csv", key=f"csv-{name}",
                         icon=":material/download:")
    right.download_button("Excel", to_xlsx_bytes(shown, name), f"{name}.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"xlsx-{name}",
                          icon=":material/download:")


def cols(*keys: str) -> dict[str, str]:
    """Display labels for column names: `col_<name>` from the translation table."""
    return {k: tr("col_" + k) for k in keys}
