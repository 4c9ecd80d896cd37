"""Shared UI parts: language switch, the filter bar (kept in the URL), KPI cards."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st

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


def filter_bar(status: dict) -> tuple[dt.date, dt.date, str | None]:
    """Period and township filters, shared by all pages and carried in the URL."""
    last = status["last"] or dt.date.today()
    first = status["first"] or last
    qp = st.query_params
    if "period" not in st.session_state:
        try:
            start = dt.date.fromisoformat(qp["from"]) if "from" in qp else last - dt.timedelta(days=29)
            end = dt.date.fromisoformat(qp["to"]) if "to" in qp else last
        except ValueError:
            start, end = last - dt.timedelta(days=29), last
        st.session_state["period"] = (max(start, first), end)
    if "township" not in st.session_state:
        st.session_state["township"] = qp.get("township", "") if qp.get("township", "") in status["townships"] else ""
    st.sidebar.subheader(tr("filters"))
    period = st.sidebar.date_input(tr("period"), key="period", min_value=first - dt.timedelta(days=366),
                                   max_value=max(last, dt.date.today()))
    options = [""] + list(status["townships"])
    st.sidebar.selectbox(tr("township"), options, key="township",
                         format_func=lambda x: x or tr("all_townships"))
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:
        start = end = period[0] if isinstance(period, (tuple, list)) and period else last
    township = st.session_state["township"] or None
    qp["from"], qp["to"] = start.isoformat(), end.isoformat()
    if township:
        qp["township"] = township
    elif "township" in qp:
        del qp["township"]
    return start, end, township


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
