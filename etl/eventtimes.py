"""Per-event times (docs/kpis.md, "Bottlenecks"): each stage event's in-case context and its sojourn, waiting,
processing and directly-follows times, defined once here, and kept for every event in mart_event_times.

analytics.process measures a scope's events with `add_context` and `measure`. mart_event_times (issue 20) holds
the same values for every event, in working days on the calendar mart_state records, so a process export reads
a period's times as one range of rows instead of re-reading and re-measuring every event of its cases.

Maintenance (etl.marts calls it in every load's and undo's own transaction): the writer notes the cases it
touches (etl.marts.note_ids / note_where / note_events_where), and `refresh` recomputes the events of just those
cases from case_events and cases. A write touching more than REBUILD_SHARE of the cases, a new zone or calendar,
or rows written outside the ETL rebuild the whole table (`rebuild`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, insert, select, tuple_
from sqlalchemy.engine import Connection

from etl import schema as S
from etl.sqlframe import fetch_frame
from etl.store import id_chunk, id_in
from etl.workcal import WorkCalendar, durations

#: The unit the mart stores (the process exports' default); other units are measured per request.
MART_UNIT = "workdays"
#: A write touching more than this share of the stored cases rebuilds the mart instead of refreshing them.
REBUILD_SHARE = 0.2
#: Cases read per query while rebuilding (bounds memory: about 4–5 events a case).
CASES_PER_READ = 50_000

_EVENT_FIELDS = ["case_id", "seq", "stage", "department", "handler", "started_at", "completed_at", "result",
                 "received_at", "closed_at", "system", "township", "case_type", "case_department"]


# ---------- the definitions ----------

def case_runs(frame: pd.DataFrame) -> np.ndarray:
    """For a frame in (system, case_id, …) order: True where a row continues the previous row's case."""
    same = frame["case_id"].eq(frame["case_id"].shift()).to_numpy()
    if len(frame) and frame["system"].iloc[0] != frame["system"].iloc[-1]:     # one system: nothing to compare
        same = same & frame["system"].eq(frame["system"].shift()).to_numpy()
    return same


def add_context(frame: pd.DataFrame) -> pd.DataFrame:
    """Add each event's in-case context to a frame of whole cases in (system, case_id, seq) order: the previous
    event's completion and stage (prev_completed_at, prev_stage), is_last (no later event), case_key (the cases
    numbered in order) and occurrence (1 for the stage's first event in the case, 2 for its first repeat, …)."""
    same_case = case_runs(frame)
    frame["prev_completed_at"] = frame["completed_at"].shift().where(same_case)
    frame["prev_stage"] = frame["stage"].shift().where(same_case)
    frame["is_last"] = np.r_[~same_case[1:], True] if len(frame) else np.zeros(0, dtype=bool)
    frame["case_key"] = np.cumsum(~same_case) - 1
    frame["occurrence"] = frame.groupby(["case_key", "stage"], sort=False).cumcount().to_numpy() + 1
    return frame


def measure(events: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> pd.DataFrame:
    """`events` (with their context, `add_context`) plus anchor, sojourn, waiting, processing, edge_time, edge_wait
    and end_time in `unit`.

    anchor = the previous event's completion, else the case's received_at; sojourn = completed − (started, else
    anchor); waiting = max(0, started − anchor) and processing = completed − started (null without a start);
    edge_time = completed − anchor; edge_wait = (started, else completed) − anchor (pm4py's performance-DFG time);
    end_time = the last event of a closed case to closed_at (0 when closed_at is earlier), else null.
    """
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
    ends = (out["is_last"].to_numpy(dtype=bool) & out["closed_at"].notna().to_numpy())
    end_time = np.full(len(out), np.nan)
    if ends.any():
        last = out.loc[ends]
        closed = last["closed_at"].where(last["closed_at"] > last["completed_at"], last["completed_at"])
        end_time[ends] = np.asarray(durations(last["completed_at"], closed, unit, cal), dtype=float)
    out["end_time"] = end_time
    return out


# ---------- the mart ----------

def _events_of(conn: Connection, *where) -> pd.DataFrame:
    """Every event of the cases that `where` picks (on case_events), with what the mart needs of its case, in
    (system, case_id, seq) order."""
    e, c = S.case_events.c, S.cases.c
    q = (select(e.case_id, e.seq, e.stage, func.coalesce(e.department, c.department), e.handler_key, e.started_at,
                e.completed_at, e.result, c.received_at, c.closed_at, e.system, c.township, c.case_type,
                c.department)
         .select_from(S.case_events.join(S.cases, and_(c.system == e.system, c.case_id == e.case_id)))
         .where(*where).order_by(e.system, e.case_id, e.seq))
    return fetch_frame(conn, q, _EVENT_FIELDS)


def stage_codes(conn: Connection, names) -> dict[str, int]:
    """The mart_stages code of each name, new names added with the next codes (inside the caller's transaction;
    concurrent writers are serialised by etl.marts' lock)."""
    t = S.mart_stages.c
    held = dict(conn.execute(select(t.stage, t.code)).all())
    new = sorted(set(names) - held.keys())
    if new:
        start = max(held.values(), default=-1) + 1
        rows = [{"code": start + i, "stage": name} for i, name in enumerate(new)]
        conn.execute(insert(S.mart_stages), rows)
        held.update({r["stage"]: r["code"] for r in rows})
    return held


def mart_rows(conn: Connection, events: pd.DataFrame, cal: WorkCalendar, numbers: np.ndarray) -> pd.DataFrame:
    """The mart's rows for a frame of whole cases (`_events_of`); `numbers[k]` is the case_no of its k-th case."""
    m = measure(add_context(events), cal, MART_UNIT)
    codes = stage_codes(conn, m["stage"].unique().tolist())
    return pd.DataFrame({
        "completed_at": m["completed_at"], "case_no": np.asarray(numbers, dtype="int64")[m["case_key"].to_numpy()],
        "seq": m["seq"], "system": m["system"], "case_id": m["case_id"], "township": m["township"],
        "case_type": m["case_type"], "department": m["case_department"], "stage": m["stage"],
        "prev_stage": m["prev_stage"], "stage_code": m["stage"].map(codes).astype("int64"),
        "prev_stage_code": m["prev_stage"].map(codes).astype("Int64"), "stage_department": m["department"], "handler": m["handler"],
        "result": m["result"], "is_last": m["is_last"], "occurrence": m["occurrence"], "sojourn": m["sojourn"],
        "waiting": m["waiting"], "processing": m["processing"], "edge_time": m["edge_time"],
        "edge_wait": m["edge_wait"], "end_time": m["end_time"]})


def _write(conn: Connection, rows: pd.DataFrame) -> None:
    from etl.load import upsert                      # (etl.load imports etl.marts, which imports this module)
    if len(rows):
        upsert(conn, S.mart_event_times, rows, ("completed_at", "case_no", "seq"), fresh=True)


def _case_starts(events: pd.DataFrame) -> int:
    return int((~case_runs(events)).sum()) if len(events) else 0


def rebuild(conn: Connection, cal: WorkCalendar) -> None:
    """Recompute the whole mart from the base tables (inside the caller's transaction), the cases numbered in
    (system, case_id) order, CASES_PER_READ cases per read."""
    conn.execute(delete(S.mart_event_times))
    c = S.cases.c
    after, next_no = None, 0
    while True:
        page = select(c.system, c.case_id).order_by(c.system, c.case_id).limit(CASES_PER_READ)
        if after is not None:
            page = page.where(tuple_(c.system, c.case_id) > tuple_(*after))
        keys = conn.execute(page).all()
        if not keys:
            break
        first, last = tuple(keys[0]), tuple(keys[-1])
        e = S.case_events.c
        events = _events_of(conn, tuple_(e.system, e.case_id) >= tuple_(*first),
                            tuple_(e.system, e.case_id) <= tuple_(*last))
        n = _case_starts(events)
        _write(conn, mart_rows(conn, events, cal, np.arange(next_no, next_no + n)))
        next_no += n
        after = last
        if len(keys) < CASES_PER_READ:
            break
    _cluster(conn)


def _cluster(conn: Connection) -> None:
    """PostgreSQL: rewrite the rebuilt mart in primary-key (completion) order and refresh its statistics. The
    rebuild writes it case by case, which scatters a period's rows over the whole heap: at ten million events the
    planner then read all 3.1 GB for a 3-month export (2.3 s), against 0.6 s clustered (docs/performance.md).
    SQLite's mart is a WITHOUT ROWID table, stored in key order already. Incremental refreshes append recent
    completions, which keeps the order close enough."""
    if conn.dialect.name == "postgresql":
        name = S.mart_event_times.name
        conn.exec_driver_sql(f"CLUSTER {name} USING {S.mart_event_times.primary_key.name}")
        conn.exec_driver_sql(f"ANALYZE {name}")


def refresh(conn: Connection, cal: WorkCalendar, keys) -> None:
    """Recompute the mart's rows of these cases ((system, case_id) pairs) from the base tables, inside the
    caller's transaction; a case keeps its number, a new case takes the next one. Many cases: `rebuild`."""
    keys = set(keys or ())
    if not keys:
        return
    m = S.mart_event_times.c
    stored = int(conn.execute(select(func.count()).select_from(S.cases)).scalar_one())
    if len(keys) > REBUILD_SHARE * max(stored, 1):
        rebuild(conn, cal)
        return
    next_no = int(conn.execute(select(func.coalesce(func.max(m.case_no) + 1, 0))).scalar_one())
    by_system: dict[str, list] = {}
    for system, case_id in keys:
        by_system.setdefault(system, []).append(case_id)
    step = id_chunk(conn)
    e = S.case_events.c
    for system, ids in sorted(by_system.items()):
        ids = sorted(map(str, ids))
        for lo in range(0, len(ids), step):
            chunk = ids[lo:lo + step]
            held = dict(conn.execute(select(m.case_id, m.case_no).distinct()
                                     .where(m.system == system, id_in(conn, m.case_id, chunk))).all())
            conn.execute(delete(S.mart_event_times).where(m.system == system, id_in(conn, m.case_id, chunk)))
            events = _events_of(conn, e.system == system, id_in(conn, e.case_id, chunk))
            if events.empty:
                continue
            starts = events.loc[~case_runs(events), "case_id"].tolist()
            numbers = []
            for case_id in starts:
                number = held.get(case_id)
                if number is None:
                    number, next_no = next_no, next_no + 1
                numbers.append(number)
            _write(conn, mart_rows(conn, events, cal, np.asarray(numbers, dtype="int64")))


def snapshot(conn: Connection) -> pd.DataFrame:
    """The mart's rows in (system, case_id, seq) order, case_no left out (numbers depend on the order cases came
    in; equality with a rebuild is about everything else)."""
    cols = [c for c in S.mart_event_times.c if c.name != "case_no"]
    frame = fetch_frame(conn, select(*cols).order_by(S.mart_event_times.c.system, S.mart_event_times.c.case_id,
                                                      S.mart_event_times.c.seq))
    return frame.reset_index(drop=True)
