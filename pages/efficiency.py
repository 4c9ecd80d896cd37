"""办件效能 — case efficiency: throughput and on-time rate by case type / department / township / channel,
throughput distributions, online / zero-visit / rating rates, and a drill-down to the cases behind a bar."""
import streamlit as st

from dashboard import charts, data, maps
from landdesk.fmt import fmt_count, fmt_rate
from dashboard.ui import (chart, cols, duration, guidance, label_value, page_header, period_caption,
                          selected_points, table, tr, views)

DIMS = ("case_type", "department", "township", "channel")

page = page_header("page_efficiency", durations=True)
key, status, scope, unit = page.key, page.status, page.scope, page.unit
period_caption(scope)
u = tr("unit_" + unit)

overall = page.export("case-efficiency")
if overall.empty or not overall["received"].sum() and not overall["completed"].sum():
    guidance("no_cases_period")
    st.stop()
row = overall.iloc[0]
cards = [("eff_received", fmt_count(row["received"])), ("eff_completed", fmt_count(row["completed"])),
         ("kpi_on_time_rate", fmt_rate(row["on_time_rate"])),
         ("eff_throughput_median", duration(row["throughput_median"], unit)),
         ("eff_throughput_p90", duration(row["throughput_p90"], unit)),
         ("kpi_online_rate", fmt_rate(row["online_rate"])), ("eff_zero_visit_rate", fmt_rate(row["zero_visit_rate"])),
         ("kpi_good_rating_rate", fmt_rate(row["good_rating_rate"]))]
for chunk in (cards[:4], cards[4:]):
    for col, (label, value) in zip(st.columns(4), chunk):
        with col, st.container(border=True):
            st.metric(tr(label), value, help=tr(label + "_help") if label.startswith("eff_") else None)

st.subheader(tr("eff_by_group"))
by = st.segmented_control(tr("group_by"), DIMS, key="eff_by", default="case_type", required=True,
                          format_func=tr)
by = by or "case_type"
groups = page.export("case-efficiency", by=by).copy()
groups = groups[groups["received"].gt(0) | groups["completed"].gt(0)]
groups["label"] = [label_value(by, v) for v in groups[by]]
label_to_value = dict(zip(groups["label"], groups[by]))
dim_name = tr(by)


def comparison() -> None:
    """Median throughput and on-time rate per group, the table, and the cases behind a bar."""
    left, right = st.columns(2)
    with left:
        fig = charts.bar(groups.sort_values("throughput_median", ascending=False), "label", "throughput_median",
                         tr("eff_chart_median", dim=dim_name), dim_name, f"{tr('eff_throughput_median')} ({u})",
                         horizontal=True, height=380)
        event = chart(fig, tr("eff_chart_median_help"), key="eff_median_chart", select=True)
    with right:
        fig = charts.bar(groups.sort_values("on_time_rate"), "label", "on_time_rate",
                         tr("eff_chart_on_time", dim=dim_name), dim_name, tr("kpi_on_time_rate") + " (%)",
                         horizontal=True, percent=True, color=charts.PALETTE[2], height=380)
        event2 = chart(fig, tr("eff_chart_on_time_help"), key="eff_ontime_chart", select=True)
    if by == "township":
        left, right = st.columns(2)
        with left:
            maps.cases_map(page, groups)
        with right:
            maps.on_time_map(page, groups)
    table(groups.drop(columns=["label", "period_start", "period_end"]), f"case-efficiency-{by}",
          cols(by, "received", "completed", "throughput_median", "throughput_mean", "throughput_p90", "on_time_rate",
               "on_time_rate_statutory", "overdue", "limit_compression", "actual_vs_promised_median", "instant_rate",
               "online_rate", "zero_visit_rate", "one_visit_rate", "good_rating_rate", "bad_ratings",
               "rating_participation"))

    # drill-down: the bar picked in either chart, else the group chosen here
    st.subheader(tr("drill_title"))
    picked = [label_to_value[p] for p in selected_points(event, "y") + selected_points(event2, "y")
              if p in label_to_value]
    options = list(groups[by])
    choice = st.selectbox(tr("drill_pick", dim=dim_name), [None] + options, key=f"eff_drill_{by}",
                          format_func=lambda v: tr("drill_all") if v is None else label_value(by, v))
    values = tuple(dict.fromkeys(picked)) or ((choice,) if choice is not None else ())
    cases, total = page.drill_cases(by if values else None, values)
    shown = ", ".join(label_value(by, v) for v in values) or tr("drill_all")
    st.caption(tr("drill_caption", group=shown, shown=len(cases), total=total, unit=u))
    cases = cases.assign(channel=[label_value("channel", v) for v in cases["channel"]],
                         status=[label_value("status", v) for v in cases["status"]])
    table(cases, "cases", cols("case_id", "case_type", "service_item", "department", "township", "channel", "status",
                               "received_at", "closed_at", "promised_days", "statutory_days", "visits", "rating",
                               "throughput", "age", "on_time"), height=320)


def distribution() -> None:
    """Throughput time per group as box plots (quartiles and whiskers computed in SQL, not raw cases)."""
    stats = page.throughput_distribution(by)
    if stats.empty:
        guidance("no_cases_period")
        return
    stats = stats.assign(label=[label_value(by, v) for v in stats[by]])
    fig = charts.box(stats, "label", tr("eff_chart_box", dim=dim_name), dim_name,
                     f"{tr('eff_throughput')} ({u})", height=400)
    chart(fig, tr("eff_chart_box_help"), key="eff_box")


def service() -> None:
    """Online, zero-visit, rating and instant rates per group, and their monthly trend."""
    fig = charts.grouped_bars(groups, "label", {"online_rate": tr("kpi_online_rate"),
                                                "zero_visit_rate": tr("eff_zero_visit_rate"),
                                                "good_rating_rate": tr("kpi_good_rating_rate"),
                                                "instant_rate": tr("eff_instant_rate")},
                              tr("eff_chart_rates", dim=dim_name), dim_name, tr("rate_pct"), percent=True, height=380)
    chart(fig, tr("eff_chart_rates_help"), key="eff_rates")
    monthly = page.export("case-efficiency", by="period")
    if len(monthly) > 1:
        fig = charts.lines(monthly, "period", {"on_time_rate": tr("kpi_on_time_rate"),
                                               "online_rate": tr("kpi_online_rate"),
                                               "zero_visit_rate": tr("eff_zero_visit_rate")},
                           tr("eff_chart_monthly"), tr("month"), tr("rate_pct"), percent=True, height=340)
        chart(fig, tr("eff_chart_monthly_help"), key="eff_monthly")


views("efficiency", [("eff_tab_comparison", comparison), ("eff_tab_distribution", distribution),
                    ("eff_tab_service", service)])
