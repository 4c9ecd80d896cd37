"""The event log of a scope, fetched in one SQL query, and the per-event times every stage metric uses.

Which events a scope holds: the events **completed in the period** (`completed_at` in
[start, end]) of cases that pass the scope's case filters (township, case type, department of
the *case*, through a join to `cases`). Each event carries what it needs from the rest of its
case, taken from the case's whole history ordered by `seq`: the previous event's completion and
stage, whether a later event exists, and how many times the stage has occurred in the case so far.
So an event completed on the first day of the period still measures from its predecessor of the
month before; nothing outside the cases touched in the period is read.

Per event (docs/kpis.md, "Bottlenecks"):

- anchor        = previous event's completed_at in the case, else the case's received_at
- sojourn       = completed_at − (started_at if known, else anchor)
- waiting       = max(0, started_at − anchor)    (null when started_at is unknown; overlapping work waits 0)
- processing    = completed_at − started_at      (null when started_at is unknown)
- edge_time     = completed_at − anchor          (directly-follows time, completion to completion)
- edge_wait     = (started_at, else completed_at) − anchor   (pm4py's performance-DFG time)

all in `unit` (workdays | days | hours, `analytics.workcal.durations`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.engine import Connection

from analytics.casefilter import apply as apply_filter, period_cases, sql_filters
from analytics.memo import StoreMemo, store_state
from analytics.scope import Scope
from analytics.sqlframe import fetch_frame
from analytics.workcal import WorkCalendar, durations, local_times
from etl.schema import case_events, cases

START, END = "▶", "■"
UNKNOWN = "(unknown)"

EVENT_COLUMNS = ["case_id", "seq", "stage", "department", "handler", "started_at", "completed_at", "result",
                 "received_at", "closed_at", "prev_completed_at", "prev_stage", "is_last", "occurrence", "system",
                 "case_key"]
PATH_COLUMNS = ["case_id", "seq", "stage", "received_at", "closed_at", "system", "case_key"]


def same_case_join():
    """The join of events to their case: a case is (system, case_id), so the same id in two source systems
    is two cases, each with its own events."""
    return case_events.join(cases, and_(cases.c.system == case_events.c.system,
                                        cases.c.case_id == case_events.c.case_id))


def case_runs(frame: pd.DataFrame) -> np.ndarray:
    """For a frame in (system, case_id, …) order: True where a row continues the previous row's case."""
    same = frame["case_id"].eq(frame["case_id"].shift()).to_numpy()
    if len(frame) and frame["system"].iloc[0] != frame["system"].iloc[-1]:     # one system: nothing to compare
        same = same & frame["system"].eq(frame["system"].shift()).to_numpy()
    return same


# ---------- fetch: one SQL query per question ----------

def scoped_events(conn: Connection, scope: Scope, cal: WorkCalendar | None = None) -> pd.DataFrame:
    """Events completed in the period (case filters applied), with their in-case context.

    With process filters (`scope.cases`, analytics.casefilter): the period picks cases as the filter says
    (whole cases for started / completed / active), and the case-level criteria are applied to each case's whole
    history before the cut (`cal`: the calendar of a case-duration criterion).

    One SQL query: every event of the cases that have an event completed in the period (joined
    to `cases` for the filters and received_at/closed_at), in (system, case_id, seq) order; the in-case
    context is then one vectorised pass (shift / cumcount), and the frame is cut to the period.
    Grain: one row per event. A case is (system, case_id): `case_key` numbers the cases of the frame (one integer
    per case, so colliding ids of two source systems count as two cases in every metric). `department` is the event's, else its case's; `handler` is the
    pseudonymised handler_key; `is_last` says no later event exists in the case (at query time);
    `occurrence` is 1 for the first event of that stage in the case, 2 for its first repeat, …
    """
    e, c = case_events.c, cases.c
    f = scope.cases
    by_case = period_cases(f, scope, cases)
    if by_case is None:
        touched = select(e.system, e.case_id).where(scope.in_period(e.completed_at))
    else:
        touched = select(c.system, c.case_id).where(by_case)
    q = (select(e.case_id, e.seq, e.stage, func.coalesce(e.department, c.department).label("department"),
                e.handler_key.label("handler"), e.started_at, e.completed_at, e.result, c.received_at, c.closed_at,
                e.system)
         .select_from(same_case_join())
         .where(tuple_(e.system, e.case_id).in_(touched), *scope.filters(cases), *sql_filters(f, cases))
         .order_by(e.system, e.case_id, e.seq))
    frame = fetch_frame(conn, q, EVENT_COLUMNS[:10] + ["system"])
    same_case = case_runs(frame)
    frame["prev_completed_at"] = frame["completed_at"].shift().where(same_case)
    frame["prev_stage"] = frame["stage"].shift().where(same_case)
    frame["is_last"] = np.r_[~same_case[1:], True] if len(frame) else np.zeros(0, dtype=bool)
    frame["case_key"] = np.cumsum(~same_case) - 1
    frame["occurrence"] = frame.groupby(["case_key", "stage"], sort=False).cumcount().to_numpy() + 1
    if f is not None and f.case_level():
        frame = apply_filter(frame, f, cal)          # on each case's whole history
    if by_case is not None:                          # whole cases picked by the period
        return frame[EVENT_COLUMNS].reset_index(drop=True)
    done = frame["completed_at"]
    keep = ((done >= scope.start_ts) & (done < scope.end_ts)).to_numpy()
    return frame.loc[keep, EVENT_COLUMNS].reset_index(drop=True)


def closed_case_paths(conn: Connection, scope: Scope, cal: WorkCalendar | None = None) -> pd.DataFrame:
    """Every event of the cases finished in the period (closed_at in it, any final status), in seq order.

    Grain: one row per event (system, case_id, seq, stage) with its case's received_at and closed_at; `case_key`
    numbers the cases (system, case_id) in order.
    Two lean queries (the events' stages; the cases' times) rather than repeating the case times
    on every event. Used for variants, whose unit is a whole finished case.
    """
    e, c = case_events.c, cases.c
    f = scope.cases
    picked = period_cases(f, scope, cases)
    finished = [scope.in_period(c.closed_at) if picked is None else picked, *scope.filters(cases),
                *sql_filters(f, cases)]
    detail = f is not None and f.case_level()
    extra = [e.completed_at, e.handler_key.label("handler"), e.department] if detail else []
    steps = fetch_frame(conn, select(e.system, e.case_id, e.seq, e.stage, *extra)
                        .where(tuple_(e.system, e.case_id).in_(select(c.system, c.case_id).where(*finished)))
                        .order_by(e.system, e.case_id, e.seq),
                        ["system", "case_id", "seq", "stage"] + (["completed_at", "handler", "department"]
                                                                 if detail else []))
    times = fetch_frame(conn, select(c.system, c.case_id, c.received_at, c.closed_at).where(*finished),
                        ["system", "case_id", "received_at", "closed_at"])
    out = steps.merge(times, on=["system", "case_id"], how="left", sort=False)
    out["case_key"] = np.cumsum(~case_runs(out)) - 1
    if detail:
        out = apply_filter(out, f, cal)
        out["case_key"] = np.cumsum(~case_runs(out)) - 1 if len(out) else out["case_key"]
    return out[PATH_COLUMNS].reset_index(drop=True)


# ---------- per-event times ----------

def measure(events: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> pd.DataFrame:
    """`events` (from scoped_events) plus anchor, sojourn, waiting, processing, edge_time, edge_wait in `unit`."""
    out = events.copy()
    anchor = out["prev_completed_at"].where(out["prev_completed_at"].notna(), out["received_at"])
    started = out["started_at"]
    has_start = started.notna().to_numpy()
    out["anchor"] = anchor
    out["sojourn"] = durations(started.where(started.notna(), anchor), out["completed_at"], unit, cal)
    # overlapping work (started before the previous event completed) waits zero, not a negative time (as PM4Py)
    out["waiting"] = np.where(has_start, np.clip(durations(anchor, started, unit, cal), 0, None), np.nan)
    out["processing"] = np.where(has_start, durations(started, out["completed_at"], unit, cal), np.nan)
    out["edge_time"] = durations(anchor, out["completed_at"], unit, cal)
    out["edge_wait"] = durations(anchor, started.where(started.notna(), out["completed_at"]), unit, cal)
    return out


#: Measured event frames per (store state, scope, calendar, unit): the bottlenecks page runs six exports
#: over the same one, and every session of the dashboard process shares them.
MEASURED_CACHE_SIZE = 6
_measured = StoreMemo(MEASURED_CACHE_SIZE)


def scoped_measured(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
                    cache: bool = True) -> pd.DataFrame:
    """scoped_events + measure: the frame every stage metric in analytics.bottlenecks takes. Computed once
    per store state (analytics.memo) and returned as a copy-on-write view, so callers may change theirs."""
    if not cache:
        return measure(scoped_events(conn, scope, cal), cal, unit)
    key = (store_state(conn), scope, cal.key, unit)
    return _measured.get(key, lambda: measure(scoped_events(conn, scope, cal), cal, unit)).copy(deep=False)


def clear_measured_cache() -> None:
    """Forget every cached measured frame (tests, benchmarks of the cold path)."""
    _measured.clear()


def period_start(times: pd.Series, freq: str) -> pd.Series:
    """The local Monday (freq 'week') or first day (freq 'month') of each stored instant's week or month in the
    bureau's zone (naive local midnights; the index of `times` is kept)."""
    index = times.index if isinstance(times, pd.Series) else None
    t = local_times(times)
    if index is not None:
        t.index = index
    if freq == "week":
        return t.dt.normalize() - pd.to_timedelta(t.dt.day_of_week, unit="D")
    if freq == "month":
        return t.dt.to_period("M").dt.start_time
    raise ValueError(f"freq must be 'week' or 'month', not {freq!r}")
