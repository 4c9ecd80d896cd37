"""A scope's measured events read from the event-times mart (mart_event_times, etl.eventtimes): one range of rows
on completion, only the columns an export reads, instead of every event of the touched cases re-measured.

The mart answers a request exactly when its times are in the unit asked (working days), it was computed for this
zone and working-day calendar and the base tables' write mark is still what it was then (mart_state, etl.marks:
rows written outside the ETL, which keeps the mart, send requests to the base tables until the next load), and the
scope has no
process filters (analytics.casefilter reads each case's whole history). Otherwise the caller measures from
the base tables (analytics.process.scoped_events), with the same values.

The rows come through the store's own connection (etl.sqlframe). An Arrow reader was measured and refused: the
ADBC SQLite driver is six times faster for a million rows, but it links a second copy of SQLite into the process,
and two copies on one file break SQLite's POSIX locks (docs/performance.md: a test run died of a bus error).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, DateTime, Float, Integer, select
from sqlalchemy.engine import Connection

from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl import schema as S
from etl.eventtimes import MART_UNIT
from etl.sqlframe import fetch_frame

_M = S.mart_event_times.c
#: The measured frame's columns the mart holds (frame name → mart column; stages as their mart_stages codes).
COLUMNS = {"case_id": _M.case_id, "seq": _M.seq, "system": _M.system, "stage": _M.stage_code,
           "prev_stage": _M.prev_stage_code, "department": _M.stage_department, "handler": _M.handler,
           "result": _M.result, "is_last": _M.is_last, "occurrence": _M.occurrence, "completed_at": _M.completed_at,
           "sojourn": _M.sojourn, "waiting": _M.waiting, "processing": _M.processing, "edge_time": _M.edge_time,
           "edge_wait": _M.edge_wait, "end_time": _M.end_time, "case_key": _M.case_no}


def serves(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str, columns, written: tuple) -> bool:
    """Whether the mart answers this request exactly (see the module's docstring); `written`: the base tables'
    writes now (etl.marts.written, the tail of analytics.memo.store_state)."""
    from etl.marts import calendar_hash, holds_events, state
    if unit != MART_UNIT or scope.cases is not None or not set(columns) <= COLUMNS.keys():
        return False
    held = state(conn)
    return (holds_events(held) and held[:2] == (cal.tz, calendar_hash(cal)) and tuple(held[2:]) == tuple(written))


def query(scope: Scope, columns):
    """The mart's rows of the scope's events (completed in the period, the case filters applied), in primary-key
    order: the table's own order on SQLite, an index range on PostgreSQL, and the same rows in the same order for
    every choice of columns (analytics.memo.ColumnMemo reads a period's columns separately)."""
    return (select(*(COLUMNS[c].label(c) for c in columns))
            .where(scope.in_period(_M.completed_at), *scope.filters(S.mart_event_times))
            .order_by(_M.completed_at, _M.case_no, _M.seq))


def fetch(conn: Connection, scope: Scope, columns) -> pd.DataFrame:
    """The scope's events with just `columns` (a subset of COLUMNS), in the measured frame's types."""
    columns = list(columns)
    frame = fetch_frame(conn, query(scope, columns), columns)
    coded = [c for c in columns if c in _CODED]
    if coded:
        names = dict(conn.execute(select(S.mart_stages.c.code, S.mart_stages.c.stage)).all())
        for c in coded:
            frame[c] = _names(frame[c], names)
    return _typed(frame, columns)


_CODED = ("stage", "prev_stage")


def _names(codes: pd.Series, names: dict[int, str]) -> pd.Series:
    """Stage codes (null: none) as the stage names, a string column as the measured frame has (one Arrow take:
    a hundredth of the time a string per row costs)."""
    import pyarrow as pa
    known = np.array(sorted(names), dtype="int64")
    values = pd.to_numeric(codes, errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(values)
    index = np.searchsorted(known, np.where(missing, 0, values).astype("int64"))
    dictionary = pa.array([names[k] for k in known.tolist()], type=pa.large_string())
    taken = dictionary.take(pa.array(index, mask=missing)) if len(known) else pa.nulls(len(values), pa.large_string())
    return pd.Series(pd.array(taken, dtype="str"), index=codes.index)


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each column in the type the measured frame has: datetimes, float times, int64 counters, bool is_last,
    strings (a column of nulls stays a column of nulls)."""
    out = {}
    for name in columns:
        s = frame[name] if name in frame else pd.Series(dtype=object)
        kind = COLUMNS[name].type
        if name in _CODED:
            pass                                           # names already (_names)
        elif isinstance(kind, DateTime):
            s = pd.to_datetime(s, format="ISO8601") if not pd.api.types.is_datetime64_any_dtype(s) else s
        elif isinstance(kind, Float):
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif isinstance(kind, Boolean):
            s = s.astype(bool)
        elif isinstance(kind, Integer):
            s = s.astype("int64")
        elif len(s) and not s.notna().any():
            s = pd.Series([None] * len(s), dtype=object)
        elif len(s) and s.dtype != "str":
            s = s.astype("str")
        out[name] = s.reset_index(drop=True)
    frame = pd.DataFrame(out, columns=columns)
    return frame
