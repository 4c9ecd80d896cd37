"""Time views of the event log (时间视图): the dotted chart (cases × time, one dot per event) and the performance
spectrum of a directly-follows edge (one segment per occurrence, from the source's completion to the target's
completion over calendar time, classed by duration) — to see when waiting piled up. Defined in docs/kpis.md
("Time views").

Both take an events frame (the measured frame of `analytics.process.scoped_measured`, or one cut by the case
filters) and bound what they return for a chart: the dotted chart keeps an evenly spaced sample of at most
DOTTED_MAX_CASES cases and DOTTED_MAX_POINTS events; `spectrum_sample` keeps at most SPECTRUM_MAX_SEGMENTS.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.process import START

DOTTED_MAX_CASES = 400
DOTTED_MAX_POINTS = 20_000
SPECTRUM_MAX_SEGMENTS = 3_000
#: Duration classes of the performance spectrum: quartiles of the edge's own durations.
DURATION_CLASSES = ("q1", "q2", "q3", "q4")

DOTTED_COLUMNS = ["system", "case_id", "case_rank", "completed_at", "stage", "handler", "cases_total", "cases_shown"]
SPECTRUM_COLUMNS = ["source", "target", "system", "case_id", "source_time", "target_time", "duration",
                    "duration_class"]


def dotted_chart(ev: pd.DataFrame, max_cases: int = DOTTED_MAX_CASES,
                 max_points: int = DOTTED_MAX_POINTS) -> pd.DataFrame:
    """Dotted-chart points: one row per event of the shown cases, case_rank = the case's position by its first
    event's completion (0 = earliest). When the frame holds more than `max_cases` cases, or their events exceed
    `max_points`, an evenly spaced sample of the cases (by first event) is shown; cases_total / cases_shown say
    how many. Grain: one row per event shown."""
    if ev.empty:
        return pd.DataFrame(columns=DOTTED_COLUMNS)
    first = ev.groupby("case_key", sort=False)["completed_at"].min().sort_values(kind="stable")
    sizes = ev.groupby("case_key", sort=False).size().reindex(first.index)
    total = len(first)
    n = min(total, max_cases)
    while True:
        pick = np.unique(np.linspace(0, total - 1, n).round().astype(int)) if n < total else np.arange(total)
        if n <= 1 or sizes.iloc[pick].sum() <= max_points:
            break
        n = max(1, n // 2)
    chosen = first.index[pick]
    rank = pd.Series(np.arange(len(chosen)), index=chosen)
    out = ev[ev["case_key"].isin(chosen)]
    out = out.assign(case_rank=out["case_key"].map(rank).to_numpy(), cases_total=total, cases_shown=len(chosen))
    out = out.sort_values(["case_rank", "completed_at"], kind="stable").reset_index(drop=True)
    return out.reindex(columns=DOTTED_COLUMNS)


def spectrum(ev: pd.DataFrame) -> pd.DataFrame:
    """Performance-spectrum segments of every directly-follows edge (as `analytics.bottlenecks.dfg` counts them,
    ▶ = from receipt): source_time = the source's completion (▶: received_at), target_time = the target's
    completion, duration = the edge time (measured frame's `edge_time`), duration_class = its quartile among the
    same edge's durations (q1 fastest … q4 slowest). Grain: one row per edge occurrence."""
    if ev.empty:
        return pd.DataFrame(columns=SPECTRUM_COLUMNS)
    ev = ev.reset_index(drop=True)
    source = ev["prev_stage"].where(ev["prev_stage"].notna(), START)          # the frame's own string dtype
    src_time = ev["prev_completed_at"].where(ev["prev_completed_at"].notna(), ev["received_at"])
    # integer codes in name order: sorting and grouping by them is sorting and grouping by the names
    s_code, _ = pd.factorize(source, sort=True)
    t_code, t_names = pd.factorize(ev["stage"], sort=True)
    edge = s_code.astype(np.int64) * (len(t_names) + 1) + t_code
    duration = ev["edge_time"].to_numpy(dtype=float)
    pct = pd.Series(duration).groupby(edge, sort=False).rank(method="average", pct=True)
    cls = np.clip(np.ceil(pct.fillna(0).to_numpy() * 4).astype(int), 1, 4) - 1
    when = pd.to_datetime(src_time, utc=True).dt.tz_localize(None)
    when_key = np.where(when.isna().to_numpy(), np.iinfo(np.int64).max,          # missing times last
                        when.to_numpy(dtype="datetime64[ns]").view(np.int64))
    order = np.lexsort((when_key, t_code, s_code))
    out = pd.DataFrame({"source": source, "target": ev["stage"], "system": ev["system"], "case_id": ev["case_id"],
                        "source_time": src_time, "target_time": ev["completed_at"], "duration": duration,
                        "duration_class": np.asarray(DURATION_CLASSES, dtype=object)[cls]})
    return out.take(order).reset_index(drop=True)


def edge_counts(segments: pd.DataFrame) -> pd.DataFrame:
    """(source, target, count) of a spectrum frame, most frequent first: the edges to choose from."""
    if segments.empty:
        return pd.DataFrame(columns=["source", "target", "count"])
    g = segments.groupby(["source", "target"], sort=True).size().rename("count").reset_index()
    return g.sort_values(["count", "source", "target"], ascending=[False, True, True], kind="stable") \
        .reset_index(drop=True)


def spectrum_sample(segments: pd.DataFrame, source: str, target: str,
                    limit: int = SPECTRUM_MAX_SEGMENTS) -> tuple[pd.DataFrame, int]:
    """The segments of edge source → target, an evenly spaced sample (by source time) of at most `limit`;
    returns (segments, how many the edge has)."""
    part = segments[(segments["source"] == source) & (segments["target"] == target)]
    total = len(part)
    if total > limit:
        part = part.iloc[np.unique(np.linspace(0, total - 1, limit).round().astype(int))]
    return part.reset_index(drop=True), total


# ---------- exports ----------

def _exports():
    from analytics.exports import Export
    from analytics.process import scoped_measured

    return [
        Export("dotted-chart", "dotted chart: events of an evenly spaced sample of at most 400 cases (20,000 "
               "events) of the period, case_rank by first event; one row per event shown",
               lambda conn, scope, cal, unit, by: dotted_chart(scoped_measured(conn, scope, cal, unit)), filters_cases=True),
        Export("performance-spectrum", "performance spectrum: every directly-follows edge occurrence with source "
               "and target completion times, edge time and its quartile class; one row per edge occurrence",
               lambda conn, scope, cal, unit, by: spectrum(scoped_measured(conn, scope, cal, unit)), filters_cases=True),
    ]


EXPORTS = _exports()
