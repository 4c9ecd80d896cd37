"""The event log of a scope, fetched in one SQL query, and the per-event times every stage metric uses.

Which events a scope holds: the events **completed in the period** (`completed_at` in
[start, end]) of cases that pass the scope's case filters (township, case type, department of
the *case*, through a join to `cases`). Each event carries what it needs from the rest of its
case, taken from the case's whole history ordered by `seq`: the previous event's completion and
stage, whether a later event exists, and how many times the stage has occurred in the case so far.
So an event completed on the first day of the period still measures from its predecessor of the
month before; nothing outside the cases touched in the period is read.

Per event (docs/kpis.md, "Bottlenecks"): anchor, sojourn, waiting, processing, edge_time, edge_wait and end_time,
defined once in `etl.eventtimes.measure`, in `unit` (workdays | days | hours, `analytics.workcal.durations`).
In working days on the store's calendar they are also stored for every event (mart_event_times, issue 20):
`scoped_measured(..., columns=…)` reads a plain scope's events from there (analytics.eventmart) when it answers the
request exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.engine import Connection

from analytics.casefilter import apply as apply_filter, period_cases, sql_filters
from analytics.memo import ColumnMemo, StoreMemo, store_state
from analytics.scope import Scope
from etl.sqlframe import fetch_frame
from etl.store import data_version
from analytics.workcal import WorkCalendar, local_times
from etl.eventtimes import add_context, case_runs, measure  # noqa: F401 (case_runs, measure: the process API)
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
    frame = add_context(fetch_frame(conn, q, EVENT_COLUMNS[:10] + ["system"]))
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

#: Measured event frames per (store state, scope, calendar, unit): the bottlenecks page runs six exports
#: over the same one, and every session of the dashboard process shares them.
MEASURED_CACHE_SIZE = 6
_measured = StoreMemo(MEASURED_CACHE_SIZE)
#: The event-times mart's rows of a period per (store state, scope): each column read once, whichever export
#: asks for it first (a page's exports read different columns of the same rows).
_mart_read = ColumnMemo(MEASURED_CACHE_SIZE)


def scoped_measured(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
                    cache: bool = True, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """scoped_events + measure: the frame every stage metric in analytics.bottlenecks takes. Computed once
    per store state (analytics.memo) and returned as a copy-on-write view, so callers may change theirs.

    `columns`: the columns the caller reads. When the event-times mart answers the request
    (analytics.eventmart.serves) just those are read from it, one range of rows; otherwise the frame is measured
    from the base tables (and cut to those columns), with the same values.
    """
    from analytics import eventmart
    state = store_state(conn)
    if columns is not None and eventmart.serves(conn, scope, cal, unit, columns, state[2:]):
        if not cache:
            return eventmart.fetch(conn, scope, columns)
        frame = _mart_read.get((state, scope, cal.key, unit), columns,
                               lambda names: eventmart.fetch(conn, scope, names),
                               lambda: data_version(conn) == state[1])
        return frame[list(columns)]
    if not cache:
        out = measure(scoped_events(conn, scope, cal), cal, unit)
    else:
        key = (state, scope, cal.key, unit)      # one measured frame for every caller's columns
        out = _measured.get(key, lambda: measure(scoped_events(conn, scope, cal), cal, unit)).copy(deep=False)
    return out if columns is None else out[list(columns)]


def clear_measured_cache() -> None:
    """Forget every cached measured frame (tests, benchmarks of the cold path)."""
    _measured.clear()
    _mart_read.clear()


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
