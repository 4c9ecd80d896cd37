"""领导驾驶舱 — the leader's cockpit: KPI cards against target and previous period, weekly trend, the top three
bottlenecks, the overdue list and open petitions near their legal limit."""
import datetime as dt
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from analytics.petitions import NEAR_LIMIT_DAYS, near_limit
from landdesk.kpispec import HEADLINE_KPIS, KPI_SPEC
from landdesk.fmt import missing
from dashboard import alertsview, data, layout
from dashboard.ui import (chart, code_label, cols, data_badge, filter_bar, kpi_card, period_caption, plotly_layout,
                          store_status, table, tr, tr_data, unit_selector)

TREND_WEEKS = 12

st.title(tr("page_cockpit"))
key, status = store_status()
scope = filter_bar(status)
unit = unit_selector()
page = data.Page(key, status, scope, unit)
data_badge(status)
alertsview.alerts_panel()

period_caption(scope)
kpis = page.export("kpis").set_index("kpi")


def cards(codes: list[str]) -> None:
    for chunk in [codes[i:i + 4] for i in range(0, len(codes), 4)]:
        for col, code in zip(st.columns(4), chunk):
            with col, st.container(border=True):
                kpi_card(code, kpis.loc[code], unit)


# the four headline KPIs with their status first (a phone shows them before anything else), the rest one tap away
cards(list(HEADLINE_KPIS))
rest = [code for code in KPI_SPEC if code not in HEADLINE_KPIS]
missed = int(kpis.loc[rest, "status"].isin(["red", "amber"]).sum())
if layout.print_view():
    cards(rest)
else:
    with st.expander(tr("ck_more_kpis", n=len(rest)) + (tr("ck_more_missed", n=missed) if missed else "")):
        cards(rest)

trend_start = min(scope.start, scope.end - dt.timedelta(weeks=TREND_WEEKS) + dt.timedelta(days=1))
flow = page.export("weekly-flow", scope=replace(scope, start=trend_start), unit="workdays")
fig = go.Figure()
fig.add_scatter(x=flow["week"], y=flow["received"], name=tr("received"), mode="lines+markers")
fig.add_scatter(x=flow["week"], y=flow["closed"], name=tr("closed"), mode="lines+markers")
fig.update_xaxes(title=tr("week"))
fig.update_yaxes(title=f"{tr('count_cases')} ({tr('unit_cases')})")
chart(plotly_layout(fig, tr("weekly_trend")), tr("weekly_trend_help"))

# where work is stuck, what is late, which petitions are near their legal limit
left, right = st.columns(2)
with left:
    st.subheader(tr("ck_bottlenecks"))
    top = page.export("bottlenecks").head(3)
    if top.empty:
        st.info(tr("no_events_period"))
    else:
        for r in top.itertuples():
            st.markdown(tr_data("ck_bottleneck_line", rank=r.rank, stage=r.stage, impact=f"{r.impact_total:,.1f}",
                           median=f"{r.median:,.1f}", count=r.count, unit=tr("unit_" + unit),
                           trend=tr("ck_trend_unknown") if missing(r.trend) else code_label("trend", r.trend)))
        st.caption(tr("ck_bottlenecks_help"))
with right:
    st.subheader(tr("ck_overdue"))
    overdue = page.export("overdue-cases")
    if overdue.empty:
        st.success(tr("ck_no_overdue"))
    else:
        st.caption(tr("ck_overdue_help", late=int(overdue["overdue"].sum()), near=int((~overdue["overdue"]).sum()),
                      end=scope.end))
        table(overdue, "overdue-cases", cols("case_id", "case_type", "department", "township", "received_at",
                                             "promised_days", "age", "days_left", "overdue"), height=240)
st.subheader(tr("ck_petitions_near"))
countdown = page.export("petition-countdown", unit="workdays")
near = near_limit(countdown)
if near.empty:
    st.success(tr("ck_no_petitions_near", n=NEAR_LIMIT_DAYS))
else:
    st.caption(tr("pet_countdown_help", end=scope.end, n=NEAR_LIMIT_DAYS))
    table(near.drop(columns=["summary"]), "petitions-near-limit",
          cols("petition_id", "received_at", "channel", "topic", "township", "department", "extended",
               "days_left_accept", "days_left_reply", "days_left", "overdue"), height=240)
