"""Where work waits (瓶颈分析): stage times, bottleneck impact, directly-follows graph, variants,
rework, workload and stage trends — each defined once here, as in docs/kpis.md ("Bottlenecks").

Scope: the events **completed in the period** of cases passing the case filters
(`analytics.process.scoped_events`); variants take the cases **finished** in the period
(`closed_case_paths`). Per-event times (sojourn, waiting, processing, edge times) come from
`analytics.process.measure`. Metric functions take those frames and return one frame each;
`EXPORTS` at the bottom names them for `landdesk export`.

Percentiles are linear-interpolation percentiles (numpy `percentile(..., method="linear")`,
pandas `quantile` default): P90 = quantile 0.9, P25 = quantile 0.25.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from analytics.process import (END, START, UNKNOWN, closed_case_paths, measure, period_start, scoped_events,
                               scoped_measured)
from analytics.scope import Scope
from analytics.stages import SUPPLEMENT_STAGES, supplement_stages
from analytics.workcal import WorkCalendar, durations, local_times

#: Event results that mean a return (退回补正).
RETURN_RESULTS: tuple[str, ...] = ("return",)
#: Trend: at least this many months with events, and a monthly slope beyond this share of the
#: stage's median sojourn (floored at one unit) per month, to call a stage worsening / improving.
TREND_MIN_MONTHS = 3
TREND_THRESHOLD = 0.05
VARIANT_SEP = " → "
#: Variants are found on a cases × positions grid up to this many cells, else by joining per case.
VARIANT_GRID_LIMIT = 50_000_000

STAGE_TIME_COLUMNS = ["stage", "count", "median", "mean", "p90", "cases", "waiting_median", "processing_median",
                      "share_of_case_time"]
BOTTLENECK_COLUMNS = ["stage", "count", "median", "p25", "impact_total", "impact_per_case", "rank", "trend_slope",
                      "trend", "cases", "months"]
DFG_COLUMNS = ["source", "target", "count", "median", "mean", "median_wait"]
VARIANT_COLUMNS = ["variant", "cases", "share", "median_throughput", "length", "cumulative_share"]
REWORK_COLUMNS = ["stage", "cases", "rework_cases", "repeat_events", "rework_share", "return_cases",
                  "return_events", "return_share"]
TREND_COLUMNS = ["stage", "week", "count", "median_sojourn", "median_waiting"]


# ---------- metrics on the measured event frame ----------

def stage_times(ev: pd.DataFrame) -> pd.DataFrame:
    """耗时 per stage: count, median, mean, P90 sojourn; median waiting / processing; share of case time.

    Grain: one row per stage, most frequent first. share_of_case_time = the stage's summed sojourn /
    all events' summed sojourn in the scope. waiting/processing medians are over events with a
    known started_at (null when none has one).
    """
    if ev.empty:
        return pd.DataFrame(columns=STAGE_TIME_COLUMNS)
    g = ev.groupby("stage", sort=True)
    out = pd.DataFrame({
        "count": g.size(),
        "median": g["sojourn"].median(),
        "mean": g["sojourn"].mean(),
        "p90": g["sojourn"].quantile(0.9),
        "cases": g["case_key"].nunique(),
        "waiting_median": g["waiting"].median(),
        "processing_median": g["processing"].median(),
    })
    total = ev["sojourn"].sum()
    out["share_of_case_time"] = g["sojourn"].sum() / total if total else np.nan
    out = out.rename_axis("stage").reset_index()
    return out.sort_values(["count", "stage"], ascending=[False, True], kind="stable")[STAGE_TIME_COLUMNS] \
        .reset_index(drop=True)


#: The time a bottleneck ranking measures, by name → the measured frame's column (analytics.process.measure):
#: sojourn (DESIGN.md's one definition: processing when a start is known, else elapsed), elapsed (previous
#: completion → completion = waiting + processing), waiting and processing (events with a start time only).
MEASURES = {"sojourn": "sojourn", "elapsed": "edge_time", "waiting": "waiting", "processing": "processing"}


def measured_as(ev: pd.DataFrame, measure: str = "sojourn") -> pd.DataFrame:
    """`ev` with its `sojourn` column replaced by `measure` (MEASURES), keeping only events that have it."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    if measure == "sojourn":
        return ev
    out = ev.assign(sojourn=ev[MEASURES[measure]])
    return out[out["sojourn"].notna()]


def bottlenecks(ev: pd.DataFrame, unit: str = "workdays", measure: str = "sojourn") -> pd.DataFrame:
    """瓶颈排序: stages ranked by impact = Σ max(0, sojourn − the stage's own P25 sojourn).

    `measure` (MEASURES) chooses the time ranked: sojourn (default), elapsed, waiting or processing; the columns
    keep their names (median, p25, impact_* are of that measure).

    impact_total is the case time saved if every event of the stage ran at its best quartile;
    impact_per_case divides it by the distinct cases with any event in the scope (so the per-case
    impacts of all stages add up). trend_slope = least-squares slope of the stage's monthly median
    sojourn (unit per month, months of completed_at with events, at least TREND_MIN_MONTHS);
    trend = worsening / improving when the slope exceeds ±TREND_THRESHOLD × max(median, 1 unit)
    per month, stable otherwise, '' without enough months.
    Grain: one row per stage, rank 1 = largest impact.
    """
    ev = measured_as(ev, measure)
    if ev.empty:
        return pd.DataFrame(columns=BOTTLENECK_COLUMNS)
    g = ev.groupby("stage", sort=True)
    p25 = g["sojourn"].quantile(0.25)
    codes = pd.Index(p25.index).get_indexer(ev["stage"])      # each event's stage's P25, by position
    excess = (ev["sojourn"] - p25.to_numpy()[codes]).clip(lower=0)
    out = pd.DataFrame({
        "count": g.size(),
        "median": g["sojourn"].median(),
        "p25": p25,
        "impact_total": excess.groupby(ev["stage"]).sum(),
        "cases": g["case_key"].nunique(),
    })
    out["impact_per_case"] = out["impact_total"] / ev["case_key"].nunique()
    slope, months = _monthly_slope(ev)
    out["trend_slope"] = slope.reindex(out.index)
    out["months"] = months.reindex(out.index).fillna(0).astype(int)
    ref = np.maximum(out["median"].fillna(0), 1.0) * TREND_THRESHOLD
    out["trend"] = np.select([out["trend_slope"].isna(), out["trend_slope"] > ref, out["trend_slope"] < -ref],
                             ["", "worsening", "improving"], "stable")
    out = out.rename_axis("stage").reset_index()
    out = out.sort_values(["impact_total", "stage"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out[BOTTLENECK_COLUMNS]


def _monthly_slope(ev: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per stage: OLS slope of median sojourn per month against the month number, and the month count."""
    t = local_times(ev["completed_at"])           # the bureau's months
    m = (ev.assign(x=(t.dt.year * 12 + t.dt.month - 1).to_numpy())
         .groupby(["stage", "x"], sort=True)["sojourn"].median().rename("y").reset_index())
    by = m.groupby("stage")
    dx = m["x"] - by["x"].transform("mean")
    dy = m["y"] - by["y"].transform("mean")
    sums = pd.DataFrame({"sxy": dx * dy, "sxx": dx * dx, "stage": m["stage"]}).groupby("stage").sum()
    n = by.size()
    slope = (sums["sxy"] / sums["sxx"].where(sums["sxx"] > 0)).where(n >= TREND_MIN_MONTHS)
    return slope, n


def dfg(ev: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> pd.DataFrame:
    """直接跟随图 (directly-follows graph) with performance.

    An edge a → b is counted once per pair of consecutive events (by seq) of a case whose target
    event b is completed in the scope; "▶ → b" when b is the case's first event; "a → ■" when a is
    the case's last event and the case is finished (closed_at set). Edge time (`median`, `mean`)
    = b.completed_at − a.completed_at (▶: − received_at; ■: closed_at − a.completed_at, 0 when
    closed_at is earlier): completion to completion, so a case's edge times add up to its
    throughput time. `median_wait` is pm4py's performance-DFG time: (b.started_at, else
    b.completed_at) − a.completed_at. Grain: one row per edge, most frequent first.
    The process map (analytics.dfg) adds case frequency, P90 and total time, and the sliders.
    """
    from analytics.dfg import edge_list, edge_stats
    return edge_stats(edge_list(ev, cal, unit))[DFG_COLUMNS]


def variants(paths: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> pd.DataFrame:
    """流程变体: one row per distinct path (stages in seq order joined by " → ") of the finished cases.

    cases, share of finished cases, median throughput (closed_at − received_at) in `unit`, path
    length; most frequent first (ties: shorter, then alphabetical). Cases without events have no path.
    """
    if paths.empty:
        return pd.DataFrame(columns=VARIANT_COLUMNS)
    codes, names = pd.factorize(paths["stage"], sort=True)
    case_codes = paths["case_key"].to_numpy()      # cases (system, case_id) numbered in path order
    pos = paths.groupby(case_codes, sort=False).cumcount().to_numpy()
    n_cases, width = case_codes.max() + 1, pos.max() + 1
    if n_cases * width <= VARIANT_GRID_LIMIT:
        grid = np.full((n_cases, width), -1, dtype=np.int32)
        grid[case_codes, pos] = codes
        uniq, inverse = np.unique(grid, axis=0, return_inverse=True)
        plain = names.astype(object).tolist()        # an Arrow-backed Index costs ~0.1 ms an element lookup
        labels = [VARIANT_SEP.join(plain[c] for c in row if c >= 0) for row in uniq.tolist()]
        path = np.asarray(labels, dtype=object)[inverse.ravel()]
    else:  # a very long case: fall back to joining per case
        path = paths.groupby(case_codes, sort=True)["stage"].agg(VARIANT_SEP.join).to_numpy(dtype=object)
    first = paths.drop_duplicates("case_key")
    per_case = pd.DataFrame({
        "variant": path,
        "length": np.bincount(case_codes),
        "throughput": durations(first["received_at"], first["closed_at"], unit, cal)})
    g = per_case.groupby("variant", sort=True)
    out = pd.DataFrame({"cases": g.size(), "median_throughput": g["throughput"].median(),
                        "length": g["length"].first()}).reset_index()
    out["share"] = out["cases"] / len(per_case)
    out = out.sort_values(["cases", "length", "variant"], ascending=[False, True, True], kind="stable") \
        .reset_index(drop=True)
    out["cumulative_share"] = out["share"].cumsum()
    return out[VARIANT_COLUMNS]


def rework(ev: pd.DataFrame, supplement_stages=SUPPLEMENT_STAGES, return_results=RETURN_RESULTS) -> pd.DataFrame:
    """返工与补正 per stage, over the events in the scope.

    cases = distinct cases with the stage in the scope; a repeat event is an occurrence ≥ 2 of the
    stage in its case (counted over the case's whole history, so a loop that began before the period
    still counts); rework_cases = cases with a repeat event of the stage; a return event has a result
    in `return_results` or is itself a supplement stage (补正); shares are over `cases`.
    Grain: one row per stage, most reworked first.
    """
    if ev.empty:
        return pd.DataFrame(columns=REWORK_COLUMNS)
    repeat = ev["occurrence"] >= 2
    returned = ev["result"].isin(list(return_results)) | ev["stage"].isin(list(supplement_stages))
    g = ev.groupby("stage", sort=True)
    out = pd.DataFrame({
        "cases": g["case_key"].nunique(),
        "rework_cases": ev.loc[repeat].groupby("stage")["case_key"].nunique(),
        "repeat_events": repeat.groupby(ev["stage"]).sum(),
        "return_cases": ev.loc[returned].groupby("stage")["case_key"].nunique(),
        "return_events": returned.groupby(ev["stage"]).sum(),
    }).fillna(0).astype("int64")
    out["rework_share"] = out["rework_cases"] / out["cases"]
    out["return_share"] = out["return_cases"] / out["cases"]
    out = out.rename_axis("stage").reset_index()
    return out.sort_values(["rework_cases", "return_cases", "stage"], ascending=[False, False, True],
                           kind="stable").reset_index(drop=True)[REWORK_COLUMNS]


WORKLOAD_BY = ("department", "handler", "system", "period")


def workload(ev: pd.DataFrame, by: str | None = "department", freq: str = "week") -> pd.DataFrame:
    """工作量: events completed and median sojourn per department or handler per week (or month).

    by = department (the event's department, else its case's) | handler (pseudonymised key) | system (the source
    system) | period (totals per week/month); None means department. Missing keys show as "(unknown)".
    Grain: one row per key × period (period = Monday of the ISO week, or the month's first day).
    """
    by = by or "department"
    if by not in WORKLOAD_BY:
        raise ValueError(f"workload is broken down by {', '.join(WORKLOAD_BY)}, not {by!r}")
    keys = [] if by == "period" else [by]
    columns = keys + ["period", "events", "cases", "median_sojourn"]
    if ev.empty:
        return pd.DataFrame(columns=columns)
    frame = ev.assign(period=period_start(ev["completed_at"], freq))
    for key in keys:
        frame[key] = frame[key].astype(object).where(frame[key].notna(), UNKNOWN)
    g = frame.groupby(keys + ["period"], sort=True)
    out = pd.DataFrame({"events": g.size(), "cases": g["case_key"].nunique(),
                        "median_sojourn": g["sojourn"].median()}).reset_index()
    return out[columns]


def stage_trend(ev: pd.DataFrame) -> pd.DataFrame:
    """Stage × ISO week (Monday) of completion: events, median sojourn, median waiting (heatmap input).

    median_waiting is over events with a known started_at (null when none has one).
    Grain: one row per stage × week with events.
    """
    if ev.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    g = ev.assign(week=period_start(ev["completed_at"], "week")).groupby(["stage", "week"], sort=True)
    out = pd.DataFrame({"count": g.size(), "median_sojourn": g["sojourn"].median(),
                        "median_waiting": g["waiting"].median()}).reset_index()
    return out[TREND_COLUMNS]


def workload_freq(scope: Scope) -> str:
    """Weeks for periods up to 26 weeks, months beyond."""
    return "week" if scope.days <= 26 * 7 else "month"


# ---------- exports ----------

#: The measured frame's columns each export reads (so the event-times mart serves just those, analytics.eventmart).
STAGE_TIME_READS = ("stage", "sojourn", "waiting", "processing", "case_key")
BOTTLENECK_READS = ("stage", "sojourn", "case_key", "completed_at")          # + the measure's own column
DFG_READS = ("stage", "prev_stage", "case_key", "edge_time", "edge_wait", "end_time")
REWORK_READS = ("stage", "case_key", "occurrence", "result")
TREND_READS = ("stage", "completed_at", "sojourn", "waiting")
STAGE_CASES_READS = ("stage", "system", "case_id", "sojourn", "completed_at")


def workload_reads(by: str | None) -> tuple[str, ...]:
    """The columns `workload` reads, broken down `by`."""
    by = by or "department"
    return (() if by == "period" else (by,)) + ("completed_at", "case_key", "sojourn")


def _on_events(metric, reads):
    def compute(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str, by):
        columns = reads(by) if callable(reads) else reads
        return metric(scoped_measured(conn, scope, cal, unit, columns=columns), cal, unit, scope, by)
    return compute


def _exports():
    from analytics.exports import Export
    return [
        Export("stage-times", "sojourn per stage (count, median, mean, P90, waiting/processing, share of case "
               "time) over events completed in the period; one row per stage",
               _on_events(lambda ev, cal, unit, scope, by: stage_times(ev), STAGE_TIME_READS), filters_cases=True),
        Export("bottlenecks", "stages ranked by impact = time saved if each ran at its own P25, with monthly "
               "trend; one row per stage",
               _on_events(lambda ev, cal, unit, scope, by: bottlenecks(ev, unit), BOTTLENECK_READS),
               filters_cases=True),
        *(Export(f"bottlenecks-{m}", f"stages ranked by impact as `bottlenecks`, measuring {m} time"
                 + (" (events with a start time only)" if m in ("waiting", "processing") else
                    " (previous completion to completion)") + "; one row per stage",
                 _on_events(lambda ev, cal, unit, scope, by, m=m: bottlenecks(ev, unit, m),
                            BOTTLENECK_READS + (MEASURES[m],)),
                 filters_cases=True)
          for m in MEASURES if m != "sojourn"),
        Export("variants", "paths of the cases finished in the period with frequency and median throughput; "
               "one row per variant",
               lambda conn, scope, cal, unit, by: variants(closed_case_paths(conn, scope, cal), cal, unit),
               filters_cases=True),
        Export("rework", "repeated stages (rework loops) and returns for supplement (补正); one row per stage",
               lambda conn, scope, cal, unit, by: rework(scoped_measured(conn, scope, cal, unit, columns=REWORK_READS),
                                                          supplement_stages(conn)), filters_cases=True),
        Export("workload", "events completed and median sojourn per department/handler per week (month for "
               "periods over 26 weeks); one row per key × period",
               _on_events(lambda ev, cal, unit, scope, by: workload(ev, by, workload_freq(scope)), workload_reads),
               by=WORKLOAD_BY, filters_cases=True),
        Export("stage-trend", "median sojourn and waiting per stage per ISO week; one row per stage × week",
               _on_events(lambda ev, cal, unit, scope, by: stage_trend(ev), TREND_READS), filters_cases=True),
    ]


EXPORTS = _exports()

def stage_cases(events: pd.DataFrame, cases_frame: pd.DataFrame, stage: str, limit: int) -> tuple[pd.DataFrame, int]:
    """Cases with an event of `stage` (measured events, as `scoped_measured` returns them): per case the number of
    such events and their total sojourn (the measure the bottleneck ranking uses), longest first, capped at
    `limit`, with the case's attributes from the `cases` export; returns (frame, how many cases)."""
    ev = events[events["stage"] == stage]
    per_case = (ev.groupby(["system", "case_id"], sort=False)
                .agg(stage_events=("stage", "size"), stage_sojourn=("sojourn", "sum"),
                     last_completed=("completed_at", "max"))
                .reset_index().sort_values(["stage_sojourn", "system", "case_id"], ascending=[False, True, True],
                                           kind="stable"))      # ties in case order, whatever the rows' order
    info = cases_frame[["system", "case_id", "case_type", "department", "township", "status", "received_at",
                        "closed_at", "throughput", "age"]]
    out = per_case.merge(info, on=["system", "case_id"], how="left")
    return out.head(limit).reset_index(drop=True), len(out)


__all__ = ["SUPPLEMENT_STAGES", "RETURN_RESULTS", "stage_times", "bottlenecks", "dfg", "variants", "rework",
           "workload", "stage_trend", "scoped_events", "closed_case_paths", "measure", "scoped_measured"]
