"""流程瓶颈 — where work waits: stages ranked by impact with their trend, the process map, the stage × week
heatmap, variants, rework, workload per department, and the cases behind a stage.

Structure: the page head, then the process filter bar (dashboard.procfilter: its choices narrow `page.scope`, so
every tab below answers for the same cases), the cards, and one function per tab; `views` at the bottom lists
the tabs. A tab from another module is one more ("key", function) pair there, drawing with `page`."""
import streamlit as st

from dashboard import charts, data, processviews
from dashboard.procfilter import process_filters
from dashboard.processmap import process_map_tab
from landdesk.fmt import fmt_count
from dashboard.ui import (chart, cols, guidance, label_value, page_header, period_caption,
                          selected_points, table, text, tr, tr_data, views)

TOP_TREND = 5
TOP_VARIANTS = 10

page = page_header("page_bottlenecks", durations=True)
key, status, scope, unit = page.key, page.status, page.scope, page.unit
period_caption(scope)
u = tr("unit_" + unit)

if not data.dataset_rows(key)["case_events"]:
    guidance("no_events_loaded")
    st.stop()
page = process_filters(page)           # the process filters: page.scope now carries them (Scope.cases)
ranked = processviews.ranked(page)     # the measure selector (sojourn, elapsed, waiting, processing)
if ranked.empty:
    guidance("pf_none" if page.scope.cases is not None else "no_events_period")
    st.stop()

top = ranked.iloc[0]
cards = [(tr("bn_top_stage"), text(top["stage"])), (f"{tr('bn_top_impact')}（{u}）", fmt_count(top["impact_total"])),
         (f"{tr('bn_top_median')}（{u}）", fmt_count(top["median"])), (tr("bn_stages"), fmt_count(len(ranked)))]
for i, (col, (label, value)) in enumerate(zip(st.columns(4), cards)):
    with col, st.container(border=True):   # a long stage name is cut in the card: its tooltip gives it whole
        st.metric(label, value, help=value if i == 0 else None)


def ranking() -> None:
    """Stages ranked by impact with their trend, the table, and the cases behind a stage (picked in the chart)."""
    left, right = st.columns(2)
    with left:
        fig = charts.bar(ranked, "stage", "impact_total", tr("bn_chart_impact"), tr("col_stage"),
                         f"{tr('col_impact_total')} ({u})", horizontal=True, color=charts.PALETTE[3], height=420)
        event = chart(fig, tr("bn_chart_impact_help"), key="bn_impact_chart", select=True)
    trend = page.export("stage-trend")
    with right:
        top_stages = list(ranked["stage"].head(TOP_TREND))
        part = trend[trend["stage"].isin(top_stages)]
        if part.empty:
            guidance("no_events_period")
        else:
            fig = charts.long_lines(part, "week", "median_sojourn", "stage", tr("bn_chart_trend", n=len(top_stages)),
                                    tr("week"), f"{tr('col_median_sojourn')} ({u})", height=420)
            chart(fig, tr("bn_chart_trend_help"), key="bn_trend")
    shown = ranked.assign(trend=[tr("trend_" + str(t)) for t in ranked["trend"]])
    table(shown, "bottlenecks", cols("stage", "count", "median", "p25", "impact_total", "impact_per_case", "rank",
                                     "trend_slope", "trend", "cases", "months"))

    st.subheader(tr("drill_title"))
    picked = [p for p in selected_points(event, "y") if p in set(ranked["stage"])]
    stage = st.selectbox(tr("drill_stage"), list(ranked["stage"]), key="bn_drill_stage")
    stage = picked[0] if picked else stage
    drill, total = page.stage_cases(stage)
    drill = drill.assign(status=[label_value("status", v) for v in drill["status"]])
    st.caption(tr_data("drill_stage_caption", stage=stage, shown=len(drill), total=total, unit=u))
    table(drill, "stage-cases", cols("case_id", "stage_events", "stage_sojourn", "last_completed", "case_type",
                                     "department", "township", "status", "received_at", "closed_at", "throughput",
                                     "age"), height=300)


def process_map() -> None:
    process_map_tab(page)


def heatmap() -> None:
    st.subheader(tr("bn_heatmap"))
    trend = page.export("stage-trend")
    if trend.empty:
        guidance("no_events_period")
        return
    measure = "median_waiting" if trend["median_waiting"].fillna(0).gt(0).any() else "median_sojourn"
    if measure == "median_sojourn":
        st.caption(tr("bn_no_waiting"))
    fig = charts.heatmap(trend, "week", "stage", measure, tr("bn_chart_heatmap_" + measure), tr("week"),
                         tr("col_stage"), f"{tr('col_' + measure)} ({u})")
    chart(fig, tr("bn_chart_heatmap_help"), key="bn_heat")
    table(trend, "stage-trend", cols("stage", "week", "count", "median_sojourn", "median_waiting"), height=240)


def variants() -> None:
    st.subheader(tr("bn_variants"))
    found = page.export("variants")
    if found.empty:
        guidance("no_cases_period")
        return
    head = found.head(TOP_VARIANTS).assign(label=[f"#{i + 1}" for i in range(min(TOP_VARIANTS, len(found)))])
    fig = charts.bar(head, "label", "share", tr("bn_chart_variants", n=len(head)), tr("bn_variant"),
                     tr("col_share") + " (%)", percent=True, height=320)
    chart(fig, tr("bn_chart_variants_help"), key="bn_variants")
    table(found.assign(share=found["share"].round(4)), "variants",
          cols("variant", "cases", "share", "median_throughput", "length", "cumulative_share"), height=260)


def rework() -> None:
    st.subheader(tr("bn_rework"))
    found = page.export("rework")
    if found.empty:
        guidance("no_events_period")
        return
    fig = charts.grouped_bars(found, "stage", {"rework_share": tr("col_rework_share"),
                                               "return_share": tr("col_return_share")},
                              tr("bn_chart_rework"), tr("col_stage"), tr("rate_pct"), percent=True, height=340)
    chart(fig, tr("bn_chart_rework_help"), key="bn_rework")
    table(found, "rework", cols("stage", "cases", "rework_cases", "repeat_events", "rework_share", "return_cases",
                                "return_events", "return_share"))


def workload() -> None:
    st.subheader(tr("bn_workload"))
    found = page.export("workload", by="department")
    if found.empty:
        guidance("no_events_period")
        return
    fig = charts.long_lines(found, "period", "events", "department", tr("bn_chart_workload"), tr("period_bucket"),
                            f"{tr('col_events')} ({tr('unit_events')})", height=360)
    chart(fig, tr("bn_chart_workload_help"), key="bn_workload")
    table(found, "workload", cols("department", "period", "events", "cases", "median_sojourn"), height=240)


views("bottlenecks", [("bn_tab_ranking", ranking), ("bn_tab_map", process_map), ("bn_tab_heatmap", heatmap),
                     ("bn_tab_variants", variants), ("bn_tab_rework", rework), ("bn_tab_workload", workload),
                     ("bn_tab_resources", lambda: processviews.resources(page)),
                     ("bn_tab_time", lambda: processviews.time_views(page)),
                     ("bn_tab_conformance", lambda: processviews.conformance(page))])
