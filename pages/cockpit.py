"""领导驾驶舱 — the leader's cockpit: KPI cards against target and previous period, weekly trend."""
import datetime as dt
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from analytics.kpis import KPI_SPEC
from dashboard import data
from dashboard.ui import data_badge, filter_bar, kpi_card, plotly_layout, store_status, tr

TREND_WEEKS = 12

st.title(tr("page_cockpit"))
key, status = store_status()
scope = filter_bar(status)
data_badge(status)

previous = scope.previous()
st.caption(tr("period_caption", start=scope.start, end=scope.end, pstart=previous.start, pend=previous.end))
kpis = data.export(key, "kpis", scope).set_index("kpi")
codes = list(KPI_SPEC)
for chunk in (codes[:4], codes[4:8], codes[8:]):
    for col, code in zip(st.columns(4), chunk):
        with col, st.container(border=True):
            kpi_card(code, kpis.loc[code], KPI_SPEC[code][0])

trend_start = min(scope.start, scope.end - dt.timedelta(weeks=TREND_WEEKS) + dt.timedelta(days=1))
flow = data.export(key, "weekly-flow", replace(scope, start=trend_start))
fig = go.Figure()
fig.add_scatter(x=flow["week"], y=flow["received"], name=tr("received"), mode="lines+markers")
fig.add_scatter(x=flow["week"], y=flow["closed"], name=tr("closed"), mode="lines+markers")
fig.update_xaxes(title=tr("week"))
fig.update_yaxes(title=f"{tr('count_cases')} ({tr('unit_cases')})")
st.plotly_chart(plotly_layout(fig, tr("weekly_trend")), width="stretch")
st.caption(tr("weekly_trend_help"))
