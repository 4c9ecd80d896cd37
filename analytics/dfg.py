"""The process map (流程图): the directly-follows graph of a scope with frequency and performance per edge and
per activity, and the Disco-style activity and path sliders that make a map of hundreds of activities readable.

Input: the measured event frame (`analytics.process.scoped_measured`: one row per event completed in the scope,
in case and seq order, with prev_stage, edge_time, edge_wait, is_last, closed_at …).

- Edges (`edge_list`): one row per directly-follows pair of a case, as `analytics.bottlenecks.dfg` defines them
  (▶ → first stage, a → b, last stage → ■ of a finished case); time = completion to completion, wait = pm4py's
  performance-DFG time ((b.started_at, else b.completed_at) − a.completed_at).
- Activity slider (`project`): keep the most frequent activities (by events; ties by name) — the top
  ceil(share × n), at least one — and re-draw the graph on the log *projected* onto them (as Disco does): an
  edge joins each kept event to the previous kept event of its case, ▶ when there is none, ■ after the last
  kept event of a finished case. At 100 % the projection is the graph itself.
- Path slider (`keep_paths`): first the backbone that keeps every activity connected — for each node its widest
  path from ▶ (the path whose weakest edge is strongest) and its widest path to ■ — then further edges by
  frequency until ceil(share × edges) are kept. So every kept activity that is reachable from ▶ (reaches ■) in
  the projected graph is so in the map too, at any share; at 100 % every edge is kept.

Grain of `edge_stats`: one row per edge; of `node_stats`: one row per activity (▶ and ■ included, with the
cases that start or end there). Pure pandas, no Streamlit.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.process import END, START
from analytics.workcal import WorkCalendar, durations

#: Frequency measures (edge/node): `cases` counts distinct cases, `count` every occurrence (absolute).
FREQUENCY = ("cases", "count")
#: Performance measures of an edge's / activity's time in the unit chosen.
PERFORMANCE = ("median", "mean", "p90", "total")
MEASURES = FREQUENCY + PERFORMANCE
#: The default view holds at most this many activities and aims at this many edges (readable at a glance).
DEFAULT_ACTIVITIES = 30
DEFAULT_EDGES = 60

EDGE_COLUMNS = ["source", "target", "count", "median", "mean", "median_wait", "cases", "p90", "total"]
NODE_COLUMNS = ["activity", "count", "cases", "median", "mean", "p90", "total"]


# ---------- edges of the (projected) log ----------
# Inside, activities are integer codes into one names array (the stages, then ▶ and ■): pandas 3 keeps names as
# Arrow strings, slow to hash and convert again and again; names are put back only on the aggregated rows.

def _code(ev: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(names with ▶ and ■ last, stage code per event, previous-stage code per event or -1)."""
    n = len(ev)
    codes, uniq = pd.factorize(pd.concat([ev["stage"], ev["prev_stage"]], ignore_index=True))
    names = np.asarray(list(uniq) + [START, END], dtype=object)
    return names, np.asarray(codes[:n], dtype=np.int64), np.asarray(codes[n:], dtype=np.int64)


def _coded_edges(ev: pd.DataFrame, cal: WorkCalendar, unit: str, names: np.ndarray, stage: np.ndarray,
                 prev: np.ndarray, keep: set | None) -> pd.DataFrame:
    """Occurrences (src, dst codes, case_key, time, wait) of the log projected onto `keep` (None: all)."""
    start_code, end_code = len(names) - 2, len(names) - 1
    case = ev["case_key"].to_numpy()
    stored_ends = "end_time" in ev      # measured (etl.eventtimes.measure): set exactly on a closed case's last event
    finished = (ev["end_time"].notna().to_numpy() if stored_ends
                else ev["is_last"].to_numpy(dtype=bool) & ev["closed_at"].notna().to_numpy())
    if keep is None or set(names[np.unique(stage)]) <= set(keep):
        src = np.where(prev >= 0, prev, start_code)
        inner = pd.DataFrame({"src": src, "dst": stage, "case_key": case,
                              "time": ev["edge_time"].to_numpy(dtype=float),
                              "wait": ev["edge_wait"].to_numpy(dtype=float)})
        last_rows = finished
        last = ev[last_rows]
        last_stage = stage[last_rows]
        if stored_ends:
            ends = pd.DataFrame({"src": last_stage, "dst": np.full(len(last), end_code, dtype=np.int64),
                                 "case_key": last["case_key"].to_numpy(),
                                 "time": last["end_time"].to_numpy(dtype=float),
                                 "wait": last["end_time"].to_numpy(dtype=float)})
            return pd.concat([inner, ends], ignore_index=True)
    else:
        keep_mask = np.isin(names, list(keep))
        keep_mask[-2:] = False
        first_row = np.r_[True, case[1:] != case[:-1]] if len(case) else np.zeros(0, dtype=bool)
        kept = keep_mask[stage]
        k = ev[kept]
        k_stage, k_prev, k_case, first_row = stage[kept], prev[kept], case[kept], first_row[kept]
        same = np.r_[False, k_case[1:] == k_case[:-1]] if len(k_case) else np.zeros(0, dtype=bool)
        prev_kept = np.r_[-1, k_stage[:-1]] if len(k_stage) else k_stage
        # a case's first event in the scope keeps its predecessor from before the period when that one is kept
        inherit = first_row & ~same & (k_prev >= 0) & keep_mask[np.maximum(k_prev, 0)]
        src = np.where(same, prev_kept, np.where(inherit, k_prev, start_code))
        done = k["completed_at"]
        anchor = done.shift().where(same, k["received_at"])
        started = k["started_at"].where(k["started_at"].notna(), done)
        time = np.where(inherit, k["edge_time"].to_numpy(dtype=float), durations(anchor, done, unit, cal))
        wait = np.where(inherit, k["edge_wait"].to_numpy(dtype=float), durations(anchor, started, unit, cal))
        inner = pd.DataFrame({"src": src, "dst": k_stage, "case_key": k_case,
                              "time": np.asarray(time, dtype=float), "wait": np.asarray(wait, dtype=float)})
        done_cases = np.unique(case[finished])
        last_rows = np.r_[k_case[1:] != k_case[:-1], True] if len(k_case) else np.zeros(0, dtype=bool)
        last_rows &= np.isin(k_case, done_cases)
        last = k[last_rows]
        last_stage = k_stage[last_rows]
    closed = last["closed_at"].where(last["closed_at"] > last["completed_at"], last["completed_at"])
    end_time = np.asarray(durations(last["completed_at"], closed, unit, cal), dtype=float)
    ends = pd.DataFrame({"src": last_stage, "dst": np.full(len(last), end_code, dtype=np.int64),
                         "case_key": last["case_key"].to_numpy(), "time": end_time, "wait": end_time})
    return pd.concat([inner, ends], ignore_index=True)


def edge_list(ev: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays",
              keep: set | None = None) -> pd.DataFrame:
    """One row per directly-follows occurrence (source, target, case_key, time, wait) of the log, projected onto
    the activities `keep` (None: all)."""
    if ev.empty:
        return pd.DataFrame({"source": [], "target": [], "case_key": [], "time": [], "wait": []})
    names, stage, prev = _code(ev)
    occ = _coded_edges(ev, cal, unit, names, stage, prev, keep)
    return pd.DataFrame({"source": names[occ["src"].to_numpy()], "target": names[occ["dst"].to_numpy()],
                         "case_key": occ["case_key"], "time": occ["time"], "wait": occ["wait"]})


def _coded_stats(occ: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    if occ.empty:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    width = len(names)
    ids, key = np.unique(occ["src"].to_numpy() * width + occ["dst"].to_numpy(), return_inverse=True)
    key = key.ravel()
    frame = pd.DataFrame({"key": key, "time": occ["time"].to_numpy(dtype=float),
                          "wait": occ["wait"].to_numpy(dtype=float)})
    g = frame.groupby("key", sort=True)
    distinct = pd.DataFrame({"key": key, "case": occ["case_key"].to_numpy()}).drop_duplicates()
    out = pd.DataFrame({"source": names[ids // width].tolist(), "target": names[ids % width].tolist(),
                        "count": np.bincount(key, minlength=len(ids)),
                        "median": g["time"].median().to_numpy(), "mean": g["time"].mean().to_numpy(),
                        "median_wait": g["wait"].median().to_numpy(),
                        "cases": np.bincount(distinct["key"].to_numpy(), minlength=len(ids)),
                        "p90": g["time"].quantile(0.9).to_numpy(), "total": g["time"].sum().to_numpy()})
    return out.sort_values(["count", "source", "target"], ascending=[False, True, True], kind="stable") \
        .reset_index(drop=True)[EDGE_COLUMNS]


def edge_stats(edges: pd.DataFrame) -> pd.DataFrame:
    """Per edge of `edge_list`: count (occurrences), cases (distinct), median / mean / P90 / total time, median
    wait; most frequent first (ties by source, target)."""
    if edges.empty:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    s_codes, s_names = pd.factorize(edges["source"])
    t_codes, t_names = pd.factorize(edges["target"])
    names = np.asarray(list(s_names) + list(t_names), dtype=object)
    occ = pd.DataFrame({"src": s_codes, "dst": t_codes + len(s_names), "case_key": edges["case_key"].to_numpy(),
                        "time": edges["time"].to_numpy(dtype=float), "wait": edges["wait"].to_numpy(dtype=float)})
    return _coded_stats(occ, names)


def _coded_nodes(ev: pd.DataFrame, names: np.ndarray, stage: np.ndarray, occ: pd.DataFrame | None,
                 keep: set | None) -> pd.DataFrame:
    mask = np.ones(len(stage), dtype=bool) if keep is None else np.isin(names, list(keep))[stage]
    codes, case = stage[mask], ev["case_key"].to_numpy()[mask]
    if not len(codes):
        return pd.DataFrame(columns=NODE_COLUMNS)
    uniq, key = np.unique(codes, return_inverse=True)
    key = key.ravel()
    frame = pd.DataFrame({"key": key, "sojourn": ev["sojourn"].to_numpy(dtype=float)[mask]})
    g = frame.groupby("key", sort=True)
    distinct = pd.DataFrame({"key": key, "case": case}).drop_duplicates()
    out = pd.DataFrame({"activity": names[uniq].tolist(), "count": np.bincount(key),
                        "cases": np.bincount(distinct["key"].to_numpy(), minlength=len(uniq)),
                        "median": g["sojourn"].median().to_numpy(), "mean": g["sojourn"].mean().to_numpy(),
                        "p90": g["sojourn"].quantile(0.9).to_numpy(), "total": g["sojourn"].sum().to_numpy()})
    out = out.sort_values(["count", "activity"], ascending=[False, True], kind="stable")
    if occ is not None and not occ.empty:
        ends = []
        for node, side in ((len(names) - 2, "src"), (len(names) - 1, "dst")):
            hit = occ[side].to_numpy() == node
            if hit.any():
                ends.append({"activity": names[node], "count": int(hit.sum()),
                             "cases": int(pd.unique(occ["case_key"].to_numpy()[hit]).size)})
        out = pd.concat([pd.DataFrame(ends), out], ignore_index=True) if ends else out
    return out.reset_index(drop=True)[NODE_COLUMNS]


def node_stats(ev: pd.DataFrame, edges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per activity: events, distinct cases, median / mean / P90 / total sojourn; with `edges` (edge_list), also
    ▶ and ■ (the cases starting and ending there, no time). Most frequent first (ties by name)."""
    if ev.empty:
        return pd.DataFrame(columns=NODE_COLUMNS)
    names, stage, _ = _code(ev)
    occ = None
    if edges is not None and len(edges):
        src, dst = edges["source"].to_numpy(dtype=object), edges["target"].to_numpy(dtype=object)
        occ = pd.DataFrame({"src": np.where(src == START, len(names) - 2, -1),
                            "dst": np.where(dst == END, len(names) - 1, -1), "case_key": edges["case_key"]})
    return _coded_nodes(ev, names, stage, occ, None)


# ---------- the sliders ----------

def share_count(share: float, n: int, at_least: int = 0) -> int:
    """ceil(share % of n), at least `at_least` and at most n (share in percent, 0–100)."""
    share = min(max(float(share), 0.0), 100.0)
    return min(n, max(at_least, math.ceil(share * n / 100 - 1e-9)))


def kept_activities(ev: pd.DataFrame, share: float) -> list[str]:
    """The top ceil(share % × activities) activities by events (ties by name), at least one."""
    if ev.empty:
        return []
    counts = ev["stage"].value_counts()
    order = sorted(counts.index, key=lambda a: (-counts[a], a))
    return order[:share_count(share, len(order), at_least=1)]


def _widest_tree(edges: list[tuple[str, str, int]], root: str, reverse: bool = False) -> set[tuple[str, str]]:
    """The edges of a widest-path tree from `root` (to it, when `reverse`): each node reached through the path
    whose weakest edge count is largest (ties: stronger last edge, then names)."""
    out: dict[str, list] = {}
    for s, t, c in edges:
        a, b = (t, s) if reverse else (s, t)
        out.setdefault(a, []).append((c, b, (s, t)))
    best = {root: math.inf}
    via: dict[str, tuple[str, str]] = {}
    heap = [(-math.inf, root)]
    done = set()
    while heap:
        neg, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for c, nxt, edge in out.get(node, ()):
            width = min(-neg, c)
            if nxt not in done and width > best.get(nxt, -1):
                best[nxt] = width
                via[nxt] = edge
                heapq.heappush(heap, (-width, nxt))
    return set(via.values())


def keep_paths(stats: pd.DataFrame, share: float) -> pd.DataFrame:
    """The edges of the map at path share `share` (percent): the connectivity backbone (widest paths from ▶ and
    to ■), then the most frequent other edges until ceil(share × edges) are kept (never fewer than the
    backbone). Rows keep `stats`' order."""
    want = share_count(share, len(stats))
    if stats.empty or want >= len(stats):
        return stats
    sources, targets = stats["source"].to_numpy(dtype=object).tolist(), stats["target"].to_numpy(dtype=object).tolist()
    triples = list(zip(sources, targets, stats["count"].astype(int).tolist()))
    backbone = _widest_tree(triples, START) | _widest_tree(triples, END, reverse=True)
    pairs = list(zip(sources, targets))
    chosen = [p in backbone for p in pairs]
    room = want - sum(chosen)
    for i, p in enumerate(pairs):         # stats are most frequent first
        if room <= 0:
            break
        if not chosen[i]:
            chosen[i] = True
            room -= 1
    return stats[np.asarray(chosen, dtype=bool)].reset_index(drop=True)


@dataclass(frozen=True)
class ProcessMap:
    """A view of the map: its nodes (activities kept, ▶, ■) and edges, with every measure."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    activities_total: int
    edges_total: int


def process_map(ev: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays", activities: float = 100,
                paths: float = 100, nodes: bool = True, edges: bool = True) -> ProcessMap:
    """The map at activity share `activities` and path share `paths` (percent): project, count, keep paths.
    `edges_total` is the projected graph's edge count (what the path share is a share of). `nodes` / `edges`
    False leave that part out (an empty frame): an export that shows only one of them computes only it."""
    if ev.empty:
        return ProcessMap(pd.DataFrame(columns=NODE_COLUMNS), pd.DataFrame(columns=EDGE_COLUMNS), 0, 0)
    keep = kept_activities(ev, activities)
    names, stage, prev = _code(ev)
    occ = _coded_edges(ev, cal, unit, names, stage, prev, set(keep))
    stats = _coded_stats(occ, names) if edges else pd.DataFrame(columns=EDGE_COLUMNS)
    shown = keep_paths(stats, paths)
    found = _coded_nodes(ev, names, stage, occ, set(keep)) if nodes else pd.DataFrame(columns=NODE_COLUMNS)
    return ProcessMap(found, shown, int(ev["stage"].nunique()), len(stats))


def default_activity_share(activities: int) -> int:
    """The activity % of the default view: every activity of a small log, else at most DEFAULT_ACTIVITIES."""
    return 100 if activities <= DEFAULT_ACTIVITIES else max(1, math.floor(100 * DEFAULT_ACTIVITIES / activities))


def default_path_share(edges: int) -> int:
    """The path % of the default view: every edge of a small graph, else about DEFAULT_EDGES beyond the backbone."""
    return 100 if edges <= DEFAULT_EDGES else max(0, math.floor(100 * DEFAULT_EDGES / edges))


def default_shares(ev: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> tuple[int, int]:
    """(activity %, path %) of the default view of the log `ev` (100, 100 for a small one)."""
    n = int(ev["stage"].nunique()) if len(ev) else 0
    if n == 0:
        return 100, 100
    act = default_activity_share(n)
    return act, default_path_share(process_map(ev, cal, unit, act, 100, nodes=False).edges_total)


def reachable(edges: pd.DataFrame, root: str = START, reverse: bool = False) -> set[str]:
    """Nodes reachable from `root` along `edges` (against them, when `reverse`)."""
    nxt: dict[str, list[str]] = {}
    for s, t in zip(edges["source"], edges["target"]):
        a, b = (t, s) if reverse else (s, t)
        nxt.setdefault(a, []).append(b)
    seen, todo = {root}, [root]
    while todo:
        for b in nxt.get(todo.pop(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


# ---------- drill-down ----------

def cases_through(ev: pd.DataFrame, cal: WorkCalendar, unit: str, activity: str | None = None,
                  edge: tuple[str, str] | None = None, keep: set | None = None) -> pd.DataFrame:
    """The cases (system, case_id) behind an activity or an edge of the map (projected onto `keep`), with how
    many times they pass it and the time spent there (sojourn for an activity, edge time for an edge)."""
    if ev.empty:
        return pd.DataFrame(columns=["system", "case_id", "passes", "time"])
    keys = ev.drop_duplicates("case_key")[["case_key", "system", "case_id"]]
    if edge is not None:
        occ = edge_list(ev, cal, unit, keep)
        occ = occ[(occ["source"] == edge[0]) & (occ["target"] == edge[1])]
        per = occ.groupby("case_key").agg(passes=("time", "size"), time=("time", "sum"))
    else:
        part = ev[ev["stage"] == activity]
        per = part.groupby("case_key").agg(passes=("sojourn", "size"), time=("sojourn", "sum"))
    out = per.reset_index().merge(keys, on="case_key").sort_values("time", ascending=False, kind="stable")
    return out[["system", "case_id", "passes", "time"]].reset_index(drop=True)


# ---------- exports ----------

SHARE_HELP = "percent (0–100) of the {what} kept; 100 = all"


def _share(value) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = math.nan
    if not 0 <= share <= 100:
        from landdesk.errors import LandDeskError
        raise LandDeskError(f"A share of the process map is a percentage from 0 to 100, not {value!r}.")
    return share


#: What the map reads of the measured frame when every activity is kept (a projection also reads the times).
MAP_READS = ("stage", "prev_stage", "case_key", "edge_time", "edge_wait", "end_time")     # + sojourn for nodes


def _map(conn, scope, cal, unit, activities, paths, **parts) -> ProcessMap:
    from analytics.process import scoped_measured
    share = _share(activities)
    reads = MAP_READS + (("sojourn",) if parts.get("nodes", True) else ())
    ev = scoped_measured(conn, scope, cal, unit, columns=reads if share >= 100 else None)
    return process_map(ev, cal, unit, share, _share(paths), **parts)


def _exports():
    from analytics.exports import Export
    options = (("activities", float, 100.0, SHARE_HELP.format(what="most frequent activities")),
               ("paths", float, 100.0, SHARE_HELP.format(what="edges (every kept activity stays connected)")))
    return [
        Export("dfg", "process map: directly-follows graph (▶ start, ■ end) with count, cases, median / mean / P90 / "
               "total completion-to-completion time; --activities / --paths as the map's sliders (100 and 100 = "
               "the full graph); one row per edge",
               lambda conn, scope, cal, unit, by, activities=100.0, paths=100.0:
               _map(conn, scope, cal, unit, activities, paths, nodes=False).edges,
               options=options, filters_cases=True),
        Export("dfg-nodes", "the process map's activities (▶ and ■ with the cases starting and ending there): "
               "events, cases, median / mean / P90 / total sojourn; one row per activity",
               lambda conn, scope, cal, unit, by, activities=100.0, paths=100.0:
               _map(conn, scope, cal, unit, activities, paths, edges=False).nodes,
               options=options, filters_cases=True),
    ]


EXPORTS = _exports()
