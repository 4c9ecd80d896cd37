"""政务公开 — the open-government view: service performance by item (on-time rates, processing times) and petition
volumes by topic, for whole months, quarters or years; aggregates only, small cells suppressed (service.access),
no drill-down and no personal data."""
import datetime as dt

import streamlit as st

from analytics.scope import Scope
from dashboard import charts, data
from dashboard.ui import chart, cols, data_badge, store_status, table, tr
from service.access import MIN_CELL

st.title(tr("page_public"))
key, status = store_status()
data_badge(status)
st.info(tr("pub_intro", n=MIN_CELL), icon=":material/info:")


def _month_end(d: dt.date) -> dt.date:
    nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def full_periods(kind: str, first: dt.date, last: dt.date, limit: int = 36) -> list[tuple[str, dt.date, dt.date]]:
    """Whole periods of `kind` that end on or before the last day with data, newest first."""
    out = []
    if kind == "month":
        d = dt.date(last.year, last.month, 1)
        while len(out) < limit and _month_end(d) >= first:
            if _month_end(d) <= last:
                out.append((f"{d:%Y-%m}", d, _month_end(d)))
            d = dt.date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)
    elif kind == "quarter":
        q = (last.month - 1) // 3
        d = dt.date(last.year, 3 * q + 1, 1)
        while len(out) < limit and d.year >= first.year - 1:
            end = _month_end(dt.date(d.year, d.month + 2, 1))
            if end <= last and end >= first:
                out.append((f"{d.year} Q{(d.month - 1) // 3 + 1}", d, end))
            d = dt.date(d.year - (d.month == 1), (d.month - 4) % 12 + 1, 1)
    else:
        for y in range(last.year, first.year - 1, -1):
            if dt.date(y, 12, 31) <= last:
                out.append((str(y), dt.date(y, 1, 1), dt.date(y, 12, 31)))
    return out


left, right = st.columns([1, 2])
kind = left.radio(tr("pub_period_kind"), ("month", "quarter", "year"), key="pub_kind", horizontal=True,
                  format_func=lambda k: tr("pub_" + k))
periods = full_periods(kind, status["first"], status["last"]) or \
    [(f"{status['first']} – {status['last']}", status["first"], status["last"])]
pick = right.selectbox(tr("pub_pick"), range(len(periods)), key=f"pub_pick_{kind}",
                       format_func=lambda i: periods[i][0])
label, start, end = periods[pick]
scope = Scope(start, end)
page = data.Page(key, status, scope)
st.caption(f"{start} – {end}")


def suppressed_note(df) -> None:
    n = df.attrs.get("suppressed_cells", 0)
    if n:
        st.caption(tr("pub_suppressed", n=n, m=MIN_CELL))


SERVICE_COLS = ["service_item", "received", "completed", "on_time_rate", "throughput_median", "suppressed"]
st.subheader(tr("pub_overall"))
overall = page.export("case-efficiency", unit="workdays")
table(overall[[c for c in SERVICE_COLS if c in overall.columns and c != "service_item"]],
      f"public-service-overall-{label}", cols("received", "completed", "on_time_rate", "throughput_median",
                                              "suppressed"))

st.subheader(tr("pub_service"))
st.caption(tr("pub_service_help"))
items = page.export("case-efficiency", by="service_item", unit="workdays")
shown = items[[c for c in SERVICE_COLS if c in items.columns]]
plot = shown.dropna(subset=["on_time_rate"]).sort_values("on_time_rate", ascending=False)
if not plot.empty:
    fig = charts.bar(plot.assign(on_time_rate=plot["on_time_rate"].astype(float)), "service_item", "on_time_rate",
                     tr("pub_chart_on_time"), tr("col_service_item"), tr("col_on_time_rate"), horizontal=True,
                     percent=True)
    chart(fig, tr("pub_service_help"), key="pub_on_time")
table(shown, f"public-service-{label}", cols(*shown.columns))
suppressed_note(items)

st.subheader(tr("pub_petitions"))
st.caption(tr("pub_petitions_help"))
topics = page.export("petitions", by="topic")
pcols = [c for c in ("topic", "received", "accepted", "replied", "timely_acceptance_rate", "reply_on_time_rate",
                     "suppressed") if c in topics.columns]
plot = topics.dropna(subset=["received"]).sort_values("received", ascending=False)
if not plot.empty:
    fig = charts.bar(plot.assign(received=plot["received"].astype(float)), "topic", "received",
                     tr("pub_chart_petitions"), tr("col_topic"), tr("col_received"), horizontal=True)
    chart(fig, tr("pub_petitions_help"), key="pub_petitions")
table(topics[pcols], f"public-petitions-{label}", {c: tr("col_" + c) for c in pcols})
suppressed_note(topics)
