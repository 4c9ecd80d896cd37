"""Who hands work to whom (资源视角): the handover-of-work network between handlers and between departments, and
the resource × activity matrix — each defined once here, as in docs/kpis.md ("Resources").

The functions take an events frame (the measured frame of `analytics.process.scoped_measured`, or any frame already
cut by the case filters) and return one frame each. A handover is PM4Py's `discover_handover_of_work_network`
with beta = 0 (direct successors): for every two consecutive events of a case in the frame (by seq), one
handover from the first event's resource to the second's — the same resource twice is a self-handover, counted as
PM4Py counts it and flagged `self`. PM4Py reports each count divided by all consecutive pairs of the log; here the
count itself is reported (`share` is PM4Py's value).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.process import UNKNOWN
from analytics.workcal import WorkCalendar, durations
from landdesk.fmt import dot_text

HANDOVER_BY = ("handler", "department")
HANDOVER_COLUMNS = ["source", "target", "count", "share", "cases", "median_handoff", "mean_handoff", "self"]
MATRIX_COLUMNS = ["handler", "stage", "events", "cases", "median", "handler_share"]
#: What resource-activity reads of the measured frame (the event-times mart serves just these).
MATRIX_READS = ("handler", "stage", "case_key", "sojourn")


def ordered(ev: pd.DataFrame) -> pd.DataFrame:
    """The events in (case, seq) order (a frame already in that order is returned as it is)."""
    if ev.empty or "case_key" not in ev.columns:
        return ev
    key = ev["case_key"].to_numpy()
    seq = ev["seq"].to_numpy()
    sorted_ = bool(np.all((key[1:] > key[:-1]) | ((key[1:] == key[:-1]) & (seq[1:] >= seq[:-1]))))
    return ev if sorted_ else ev.sort_values(["case_key", "seq"], kind="stable").reset_index(drop=True)


def _resource(ev: pd.DataFrame, by: str) -> pd.Series:
    return ev[by].astype(object).where(ev[by].notna(), UNKNOWN)


def handover_pairs(ev: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays", by: str = "handler") -> pd.DataFrame:
    """One row per consecutive pair of events of a case in `ev`: source and target resource (`by`: handler or
    department; missing → "(unknown)"), case_key and the hand-off time = the target's start (else its completion)
    − the source's completion in `unit`, clipped at zero when the two overlap."""
    if by not in HANDOVER_BY:
        raise ValueError(f"handovers are between {' or '.join(HANDOVER_BY)}s, not {by!r}")
    ev = ordered(ev)
    if len(ev) < 2:
        return pd.DataFrame({"source": pd.Series(dtype=object), "target": pd.Series(dtype=object),
                             "case_key": pd.Series(dtype="int64"), "handoff": pd.Series(dtype=float)})
    key = ev["case_key"].to_numpy()
    same = np.r_[False, key[1:] == key[:-1]]
    res = _resource(ev, by).to_numpy(dtype=object)
    src_idx = np.flatnonzero(same) - 1
    tgt_idx = np.flatnonzero(same)
    done = ev["completed_at"]
    begin = ev["started_at"].where(ev["started_at"].notna(), done)
    handoff = durations(done.iloc[src_idx], begin.iloc[tgt_idx], unit, cal)
    return pd.DataFrame({"source": res[src_idx], "target": res[tgt_idx], "case_key": key[tgt_idx],
                         "handoff": np.clip(handoff, 0, None)})


def handovers(ev: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays", by: str = "handler") -> pd.DataFrame:
    """交接网络 (handover of work) between handlers or departments: per (source, target) the handovers `count`,
    `share` = count / all consecutive pairs (PM4Py's value), distinct `cases`, median and mean hand-off time, and
    whether it is a self-handover. Grain: one row per source × target, most frequent first."""
    pairs = handover_pairs(ev, cal, unit, by)
    if pairs.empty:
        return pd.DataFrame(columns=HANDOVER_COLUMNS)
    g = pairs.groupby(["source", "target"], sort=True)
    out = pd.DataFrame({"count": g.size(), "cases": g["case_key"].nunique(),
                        "median_handoff": g["handoff"].median(), "mean_handoff": g["handoff"].mean()}).reset_index()
    out["share"] = out["count"] / len(pairs)
    out["self"] = out["source"] == out["target"]
    return out.sort_values(["count", "source", "target"], ascending=[False, True, True], kind="stable") \
        .reset_index(drop=True)[HANDOVER_COLUMNS]


def resource_activity(ev: pd.DataFrame, measure: str = "sojourn") -> pd.DataFrame:
    """经办人 × 环节: per handler (pseudonymised handler_key as stored) and stage the events, distinct cases, median
    `measure` (sojourn by default) and the stage's share of the handler's events. Grain: one row per handler ×
    stage with events, busiest handler first."""
    if ev.empty:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    frame = ev.assign(handler=_resource(ev, "handler"))
    g = frame.groupby(["handler", "stage"], sort=True)
    out = pd.DataFrame({"events": g.size(), "cases": g["case_key"].nunique(),
                        "median": g[measure].median()}).reset_index()
    per_handler = out.groupby("handler")["events"].transform("sum")
    out["handler_share"] = out["events"] / per_handler
    out = out.assign(_total=per_handler)
    return out.sort_values(["_total", "handler", "events", "stage"], ascending=[False, True, False, True],
                           kind="stable").reset_index(drop=True)[MATRIX_COLUMNS]


def top_edges(network: pd.DataFrame, min_count: int, include_self: bool = False) -> pd.DataFrame:
    """The edges of a handover network drawn by default: count ≥ min_count, self-handovers only when asked."""
    if network.empty:
        return network
    keep = network["count"] >= min_count
    if not include_self:
        keep &= ~network["self"].astype(bool)
    return network[keep]


def handover_dot(edges: pd.DataFrame, unit_label: str, count_label: str, median_label: str) -> str:
    """Graphviz DOT of handover edges: pen width by count, label 'count · median hand-off'."""
    lines = ["digraph handover {", '  rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="sans-serif", fontsize=10]; edge [fontname="sans-serif", fontsize=9, color="#4c78a8"];']
    if edges.empty:
        return "\n".join(lines + ["}"])
    top = max(float(edges["count"].max()), 1.0)
    for node in sorted(set(edges["source"]) | set(edges["target"]), key=str):
        lines.append(f"  {dot_text(node)};")
    for row in edges.itertuples(index=False):
        width = 1 + 4 * float(row.count) / top
        median = "—" if pd.isna(row.median_handoff) else f"{row.median_handoff:.1f} {unit_label}"
        label = f"{count_label} {int(row.count)} · {median_label} {median}"
        lines.append(f"  {dot_text(row.source)} -> {dot_text(row.target)} [penwidth={width:.2f}, "
                     f"label={dot_text(label)}];")
    return "\n".join(lines + ["}"])


# ---------- exports ----------

def _exports():
    from analytics.exports import Export
    from analytics.process import scoped_measured

    def network(conn, scope, cal, unit, by):
        return handovers(scoped_measured(conn, scope, cal, unit), cal, unit, by or "handler")

    def matrix(conn, scope, cal, unit, by):
        return resource_activity(scoped_measured(conn, scope, cal, unit, columns=MATRIX_READS))

    return [
        Export("handovers", "handover of work (PM4Py semantics, direct successors) between handlers (--by handler, "
               "default) or departments (--by department): count, PM4Py share, cases, median hand-off time; one row "
               "per source × target", network, by=HANDOVER_BY, filters_cases=True),
        Export("resource-activity", "handler (pseudonymised) × stage: events, cases, median sojourn, share of the "
               "handler's events; one row per handler × stage", matrix, filters_cases=True),
    ]


EXPORTS = _exports()
