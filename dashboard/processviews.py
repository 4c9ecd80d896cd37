"""The bottlenecks page's process views of issue 14, one function per tab (pages/bottlenecks.py calls each with
one line): resources (handover network, handler × stage matrix), time views (dotted chart, performance spectrum),
conformance to the statutory process; and the ranking's measure (elapsed, waiting, processing). Every number
comes from an export (analytics.resources, analytics.timeviews, analytics.conformance, analytics.bottlenecks)."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analytics.resources import handover_dot, top_edges
from analytics.timeviews import DURATION_CLASSES, edge_counts, spectrum_sample
from dashboard import charts
from dashboard.data import DRILL_LIMIT
from dashboard.ui import chart, cols, count_slider, guidance, table, tr
from landdesk.fmt import fmt_count

#: The handover network draws about this many edges by default (the slider shows more or fewer).
DEFAULT_EDGES = 25
#: The handler × stage heatmap shows the busiest handlers only.
MATRIX_HANDLERS = 30
MEASURES = ("sojourn", "elapsed", "waiting", "processing")


def _unit(page) -> str:
    return tr("unit_" + page.unit)


# ---------- the ranking's measure ----------

def ranked(page):
    """The measure selector of the bottleneck ranking and the ranking it chooses: sojourn (the stage time of
    docs/kpis.md), elapsed, or — where start times exist — waiting or processing; a caption says which is used."""
    stage_times = page.export("stage-times")
    has_start = bool(len(stage_times)) and bool(stage_times["waiting_median"].notna().any())
    options = list(MEASURES) if has_start else ["sojourn", "elapsed"]
    if st.session_state.get("bn_measure") not in options:     # seeded, so a language switch keeps the choice
        st.session_state["bn_measure"] = options[0]
    names = {"sojourn": tr("pv_measure_sojourn"), "elapsed": tr("pv_measure_elapsed"),
             "waiting": tr("pv_measure_waiting"), "processing": tr("pv_measure_processing")}
    labels = {m: names[m] for m in options}                      # this run's language (not looked up later)
    measure = st.radio(tr("pv_measure"), options, format_func=labels.__getitem__, horizontal=True, key="bn_measure")
    st.caption(tr("pv_measure_caption", measure=labels[measure])
               + ("" if has_start else " " + tr("pv_no_start_times")))
    return page.export("bottlenecks" if measure == "sojourn" else f"bottlenecks-{measure}")


# ---------- resources ----------

def resources(page) -> None:
    """Handover of work between handlers or departments (Graphviz network + table), then handler × stage."""
    u = _unit(page)
    st.subheader(tr("pv_handover"))
    if st.session_state.get("pv_handover_by") not in ("handler", "department"):
        st.session_state["pv_handover_by"] = "handler"
    labels = {"handler": tr("pv_by_handler"), "department": tr("pv_by_department")}
    by = st.radio(tr("pv_handover_by"), list(labels), format_func=labels.__getitem__, horizontal=True,
                  key="pv_handover_by")
    network = page.export("handovers", by=by)
    if network.empty:
        guidance("no_events_period")
    else:
        include_self = st.checkbox(tr("pv_include_self"), key="pv_include_self")
        candidates = network if include_self else network[~network["self"].astype(bool)]
        if candidates.empty:
            st.caption(tr("pv_no_handovers_between", by=labels[by]))
        else:
            counts = candidates["count"].sort_values(ascending=False)
            default = int(counts.iloc[min(DEFAULT_EDGES, len(counts)) - 1])
            min_count = count_slider(tr("pv_min_handovers"), 1, int(counts.iloc[0]), default, key="pv_min_handovers")
            edges = top_edges(network, min_count, include_self)
            st.graphviz_chart(handover_dot(edges, u, tr("col_count"), tr("col_median_handoff")), width="stretch")
            st.caption(tr("pv_handover_caption", shown=len(edges), total=len(network)))
        table(network, f"handovers-{by}", cols("source", "target", "count", "share", "cases", "median_handoff",
                                                "mean_handoff", "self"), height=260)
    st.subheader(tr("pv_matrix"))
    matrix = page.export("resource-activity")
    if matrix.empty:
        guidance("no_events_period")
        return
    busiest = list(dict.fromkeys(matrix["handler"]))[:MATRIX_HANDLERS]
    part = matrix[matrix["handler"].isin(busiest)]
    fig = charts.heatmap(part, "stage", "handler", "events", tr("pv_chart_matrix", n=len(busiest)), tr("col_stage"),
                         tr("col_handler"), tr("col_events"))
    chart(fig, tr("pv_chart_matrix_help"), key="pv_matrix")
    table(matrix, "resource-activity", cols("handler", "stage", "events", "cases", "median", "handler_share"),
          height=260)


# ---------- time views ----------

def time_views(page) -> None:
    """The dotted chart (a bounded sample of cases, said on the page) and the performance spectrum of a chosen edge."""
    u = _unit(page)
    st.subheader(tr("pv_dotted"))
    points = page.export("dotted-chart")
    if points.empty:
        guidance("no_events_period")
        return
    shown, total = int(points["cases_shown"].iloc[0]), int(points["cases_total"].iloc[0])
    fig = charts.dotted(points, tr("pv_chart_dotted"), tr("col_completed_at"), tr("pv_case_rank"))
    chart(fig, tr("pv_dotted_sample", shown=fmt_count(shown), total=fmt_count(total)) if shown < total
          else tr("pv_dotted_all", total=fmt_count(total)), key="pv_dotted")

    st.subheader(tr("pv_spectrum"))
    segments = page.export("performance-spectrum")
    edges = edge_counts(segments)
    inner = edges[edges["source"] != "▶"]
    pick = inner if len(inner) else edges
    labels = [f"{a} → {b}（{fmt_count(n)}）" for a, b, n in pick[["source", "target", "count"]].itertuples(index=False)]
    if st.session_state.get("pv_spectrum_edge") not in labels:
        st.session_state.pop("pv_spectrum_edge", None)
    label = st.selectbox(tr("pv_spectrum_edge"), labels, key="pv_spectrum_edge")
    row = pick.iloc[labels.index(label)]
    part, n = spectrum_sample(segments, row["source"], row["target"])
    classes = dict(zip(DURATION_CLASSES, (tr("pv_class_q1"), tr("pv_class_q2"), tr("pv_class_q3"),
                                          tr("pv_class_q4"))))
    fig = charts.spectrum(part, str(row["source"]), str(row["target"]), classes,
                          tr("pv_chart_spectrum", source=row["source"], target=row["target"]), tr("pv_time"))
    chart(fig, tr("pv_spectrum_help", shown=fmt_count(len(part)), total=fmt_count(n), unit=u), key="pv_spectrum")


# ---------- conformance ----------

def conformance(page) -> None:
    """Conformance to the statutory process (法定流程): headline cards, the conforming share per stage, the stages'
    table and the cases that do not conform."""
    st.subheader(tr("pv_conformance"))
    whole = replace(page.scope, cases=None)       # conformance reads whole cases: the process filters do not apply
    if page.scope.cases is not None and not page.scope.cases.is_empty():
        st.caption(tr("pv_conformance_unfiltered"))
    reference = page.export("reference-process", scope=whole)
    if reference.empty:
        guidance("pv_no_reference")
        return
    per_case = page.export("conformance", scope=whole)
    stages = page.export("conformance-stages", scope=whole)
    if per_case.empty:
        guidance("no_cases_period")
        table(reference, "reference-process", cols("case_type", "stage", "stage_order", "mandatory",
                                                   "limit_workdays", "initial", "successors"), height=240)
        return
    cards = [(tr("pv_cases_checked"), fmt_count(len(per_case))),
             (tr("pv_conforming"), f"{per_case['conforming'].mean():.1%}"),
             (tr("pv_median_fitness"), f"{per_case['fitness'].median():.2f}"),
             (tr("pv_with_skipped"), fmt_count(int((per_case["n_skipped"] > 0).sum())))]
    for col, (label, value) in zip(st.columns(4), cards):
        with col, st.container(border=True):
            st.metric(label, value)
    types = [t for t in dict.fromkeys(stages["case_type"]) if (stages.loc[stages["case_type"] == t, "cases"] > 0).any()]
    if types:
        if st.session_state.get("pv_conf_type") not in types:
            st.session_state.pop("pv_conf_type", None)
        case_type = st.selectbox(tr("col_case_type"), types, key="pv_conf_type")
        part = stages[stages["case_type"] == case_type]
        fig = charts.bar(part, "stage", "conforming_share", tr("pv_chart_conformance", case_type=case_type),
                         tr("col_stage"), tr("col_conforming_share") + " (%)", percent=True, height=340)
        chart(fig, tr("pv_chart_conformance_help"), key="pv_conformance")
    table(stages, "conformance-stages", cols("case_type", "stage", "stage_order", "mandatory", "limit_workdays",
                                             "cases", "present", "skipped", "out_of_order", "over_limit",
                                             "disallowed_entry", "conforming_share"), height=280)
    bad = per_case[~per_case["conforming"].astype(bool)]
    st.caption(tr("pv_nonconforming_caption", shown=fmt_count(min(len(bad), DRILL_LIMIT)), total=fmt_count(len(bad))))
    shown = ["system", "case_id", "case_type", "moves", "allowed_moves", "fitness", "skipped", "out_of_order",
             "over_limit"]
    table(bad[shown].head(DRILL_LIMIT), "conformance", cols(*shown[1:]), height=300)
