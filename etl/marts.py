"""The cockpit's summary tables ("marts", issue 20), kept equal to the base tables inside every load's and undo's
own transaction.

Grains (etl.schema): cases received per local day × township × case_type × department × system; cases completed
per local closed day × those dimensions × working days taken; petitions received per local day × township ×
department × system; petitions replied per local replied day × those. Local days are in the zone, and working
days on the calendar, that `mart_state` records; readers (analytics.kpis.marts_serve) use the marts only when
theirs match the request's.

Maintenance is a partition overwrite (as dbt's incremental models with `insert_overwrite`): a writer notes the
local days of the OLD and NEW received / closed / replied instants of every record it touches (`note_ids`,
`note_where`), and `refresh` recomputes just those days — every dimension of them — from the base tables in the
same transaction, so a failed load rolls the marts back with it. When the zone or the calendar (its `calendar`
override table, LANDDESK_CALENDAR, the installed chinese-calendar) differs from mart_state's, `refresh` rebuilds
every day (`rebuild`; also `landdesk marts rebuild`).
"""
from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.engine import Connection

from etl import eventtimes, marks, schema as S
from etl.measures import DONE_STATUSES, GOOD_RATING, ONLINE_CHANNELS, replied_on_time
from etl.store import id_chunk, id_in
from etl.workcal import WorkCalendar, load_calendar, local_days, local_instant

STATE_NAME = "marts"
_PENDING = "landdesk_mart_days"          # conn.info: {"cases": set of days, "petitions": set of days}
_ID_CHUNK = 900                          # ids per lookup (under SQLite's bound-parameter limit)
_RUN_DAYS = 120                          # days recomputed per base-table read (bounds memory on a rebuild)
CASE_DIMS = ("township", "case_type", "department", "system")
PETITION_DIMS = ("township", "department", "system")
#: per base table: its id column and the instants whose local days its marts are keyed by
_INSTANTS = {"cases": ("case_id", ("received_at", "closed_at")),
             "petitions": ("petition_id", ("received_at", "replied_at"))}


# ---------- what the marts were computed for ----------

def calendar_hash(cal: WorkCalendar) -> str:
    """A digest of every working-day flag 2000–2040 of `cal` (official days, overrides, kind): equal digests,
    equal working-day durations."""
    cached = getattr(cal, "_mart_hash", None)
    if cached is None:
        cached = hashlib.sha256(np.ascontiguousarray(cal._is_work).tobytes()).hexdigest()
        cal._mart_hash = cached
    return cached


def base_counts(conn: Connection) -> tuple[int, int, int]:
    """Rows of cases, petitions and case_events now: what marts were checked against before migration 0015."""
    return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                 for t in (S.cases, S.petitions, S.case_events))


def _has_event_mart(conn: Connection) -> bool:
    """Whether the store has the event-times mart (migration 0014); 0012's own backfill runs before it."""
    from sqlalchemy import inspect
    return inspect(conn).has_table(S.mart_event_times.name)


def written(conn: Connection) -> tuple:
    """What tells whether the base tables changed: (the write mark,) since migration 0015 (etl.marks); before, the
    row counts of cases and petitions (and case_events, from 0014)."""
    mark = marks.read(conn)
    if mark is not None:
        return (mark,)
    counts = base_counts(conn)
    return counts if _has_event_mart(conn) else counts[:2]


def state(conn: Connection) -> tuple | None:
    """(zone, calendar digest, *what `written` gave) the marts were computed for, or None when they never were (or
    the store predates them)."""
    from sqlalchemy import inspect
    if not inspect(conn).has_table(S.mart_state.name):
        return None
    m = S.mart_state.c
    if marks.has_marks(conn):
        cols = [m.timezone, m.calendar, m.marks]
    else:
        cols = [m.timezone, m.calendar, m.cases, m.petitions] + ([m.events] if _has_event_mart(conn) else [])
    row = conn.execute(select(*cols).where(m.name == STATE_NAME)).first()
    return tuple(row) if row is not None else None


def current(conn: Connection, cal: WorkCalendar) -> tuple:
    """What the marts must have been computed for to answer now: this zone and calendar, this write mark."""
    return (cal.tz, calendar_hash(cal), *written(conn))


def holds_events(held: tuple | None) -> bool:
    """Whether marts computed for `held` (a `state`) include the event-times mart (every store from 0014)."""
    return held is not None and len(held) in (3, 5)


def _set_state(conn: Connection, cal: WorkCalendar) -> None:
    now = written(conn)
    conn.execute(delete(S.mart_state).where(S.mart_state.c.name == STATE_NAME))
    values = dict(name=STATE_NAME, timezone=cal.tz, calendar=calendar_hash(cal), cases=0, petitions=0,
                  computed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    if len(now) == 1:
        values["marks"] = now[0]
    else:
        values.update(cases=now[0], petitions=now[1], **({"events": now[2]} if len(now) == 3 else {}))
    conn.execute(insert(S.mart_state).values(**values))


def record_counts(conn: Connection) -> None:
    """Before migration 0015 is undone: write the row counts that 0014's readers compare, when the marts are current
    for today's mark, and counts that match nothing when they are not."""
    held = state(conn)
    if held is None:
        return
    counts = base_counts(conn) if tuple(held[2:]) == written(conn) else (-1, -1, -1)
    conn.execute(S.mart_state.update().where(S.mart_state.c.name == STATE_NAME).values(
        cases=counts[0], petitions=counts[1], events=counts[2]))


# ---------- noting what a write touches ----------

def discard(conn: Connection) -> None:
    """A writing transaction starts: forget days noted earlier on this connection, and note whether the marts
    already lag the base tables (rows written outside the ETL), so `refresh` rebuilds them instead."""
    conn.info.pop(_PENDING, None)
    held = state(conn)
    if held is not None and tuple(held[2:]) != written(conn):
        conn.info[_PENDING] = {"cases": set(), "petitions": set(), "event_cases": set(), "stale": True}


def _pending(conn: Connection) -> dict:
    return conn.info.setdefault(_PENDING, {"cases": set(), "petitions": set(), "event_cases": set()})


def _add_days(conn: Connection, table: str, frame: pd.DataFrame, cols) -> None:
    pending = _pending(conn)
    for col in cols:
        values = frame[col].dropna()
        if len(values):
            pending[table].update(local_days(pd.to_datetime(values, format="ISO8601")).dt.date.unique().tolist())


def note_ids(conn: Connection, table: str, system: str, ids) -> None:
    """Note the local days of the stored instants of these records of `system` (call before and after writing
    them: the old days and the new), and for cases the cases whose events the event-times mart recomputes."""
    t = S.DATASETS[table]
    id_col, cols = _INSTANTS[table]
    ids = list(dict.fromkeys(ids))
    if table == "cases":
        _pending(conn)["event_cases"].update((system, str(i)) for i in ids)
    step = id_chunk(conn)
    for lo in range(0, len(ids), step):
        rows = conn.execute(select(*(t.c[c] for c in cols)).where(
            t.c.system == system, id_in(conn, t.c[id_col], ids[lo:lo + step]))).all()
        if rows:
            _add_days(conn, table, pd.DataFrame(rows, columns=list(cols)), cols)


def note_where(conn: Connection, table: str, *where) -> None:
    """Note the local days of the records of `table` that match `where` (e.g. a batch about to be undone), and for
    cases those cases (the event-times mart)."""
    t = S.DATASETS[table]
    _, cols = _INSTANTS[table]
    if table == "cases":
        note_events_where(conn, select(t.c.system, t.c.case_id).where(*where))
    rows = conn.execute(select(*(t.c[c] for c in cols)).where(*where)).all()
    if rows:
        _add_days(conn, table, pd.DataFrame(rows, columns=list(cols)), cols)


def note_event_cases(conn: Connection, system: str, ids) -> None:
    """Note these cases of `system` (a batch writes their events): the event-times mart recomputes them."""
    _pending(conn)["event_cases"].update((system, str(i)) for i in ids)


def note_events_where(conn: Connection, keys) -> None:
    """Note the cases of a select of (system, case_id) (e.g. the cases of a batch's events about to be undone):
    the event-times mart recomputes their events."""
    _pending(conn)["event_cases"].update((s, str(c)) for s, c in conn.execute(keys).all())


# ---------- recomputing ----------

#: The PostgreSQL advisory lock (transaction-scoped) that one mart refresh holds until its load commits.
_LOCK_KEY = 0x4C444D415254      # "LDMART"


def _serialise(conn: Connection) -> None:
    """Make concurrent writers refresh the marts one after another. Under READ COMMITTED two loads refreshing the
    same day would each recompute it without the other's uncommitted cases and both keep their rows, counting the
    day's other cases twice. With the lock the second waits for the first to commit, and its recompute (a new
    statement) reads what the first wrote. SQLite lets one writer at a time anyway."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


def refresh(conn: Connection, cal: WorkCalendar | None = None) -> None:
    """Bring the marts up to date inside the caller's transaction: the noted days, or every day when the zone or
    the calendar changed since they were computed."""
    pending = conn.info.pop(_PENDING, None) or {"cases": set(), "petitions": set(), "event_cases": set()}
    from sqlalchemy import inspect
    if not inspect(conn).has_table(S.mart_state.name):     # a store before migration 0012: nothing to keep
        return
    _serialise(conn)
    cal = cal or load_calendar(conn)
    held = state(conn)
    if pending.get("stale") or held is None or tuple(held[:2]) != (cal.tz, calendar_hash(cal)):
        rebuild(conn, cal)
        return
    if pending["cases"]:
        _recompute_cases(conn, cal, sorted(pending["cases"]))
    if pending["petitions"]:
        _recompute_petitions(conn, cal, sorted(pending["petitions"]))
    if pending.get("event_cases") and _has_event_mart(conn):
        eventtimes.refresh(conn, cal, pending["event_cases"])
    _set_state(conn, cal)


def rebuild(conn: Connection, cal: WorkCalendar | None = None) -> None:
    """Recompute every mart from the base tables (inside the caller's transaction) and record what for."""
    _serialise(conn)
    cal = cal or load_calendar(conn)
    conn.info.pop(_PENDING, None)
    for t in S.MART_TABLES:
        conn.execute(delete(t))
    for table, recompute in (("cases", _recompute_cases), ("petitions", _recompute_petitions)):
        t = S.DATASETS[table]
        _, cols = _INSTANTS[table]
        bounds = conn.execute(select(*(f(t.c[c]) for c in cols for f in (func.min, func.max)))).one()
        instants = [b for b in bounds if b is not None]
        if instants:
            days = local_days(pd.to_datetime(pd.Series(instants), format="ISO8601"), cal.tz).dt.date
            first, last = days.min(), days.max()
            recompute(conn, cal, [first + dt.timedelta(days=i) for i in range((last - first).days + 1)],
                      cleared=True)
    if _has_event_mart(conn):
        eventtimes.rebuild(conn, cal)
    _set_state(conn, cal)


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days (first, last), each at most _RUN_DAYS long."""
    out: list[list[dt.date]] = []
    for d in days:
        if out and (d - out[-1][1]).days == 1 and (d - out[-1][0]).days < _RUN_DAYS:
            out[-1][1] = d
        else:
            out.append([d, d])
    return [(a, b) for a, b in out]


def _in_runs(column, runs, tz: str):
    return or_(*(and_(column >= local_instant(a, tz), column < local_instant(b + dt.timedelta(days=1), tz))
                 for a, b in runs))


def _groups(runs, size: int = 50):
    for i in range(0, len(runs), size):
        yield runs[i:i + size]


def _read(conn: Connection, table, cols: list[str], where) -> pd.DataFrame:
    from_rows = conn.execute(select(*(table.c[c] for c in cols)).where(*where)).all()
    return pd.DataFrame(from_rows, columns=cols)


def _clear(conn: Connection, table, days: list[dt.date]) -> None:
    for lo in range(0, len(days), _ID_CHUNK):
        conn.execute(delete(table).where(table.c.day.in_(days[lo:lo + _ID_CHUNK])))


def _write(conn: Connection, table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    frame = frame.astype(object).where(frame.notna(), None)
    rows = frame.to_dict("records")
    for lo in range(0, len(rows), 5000):
        conn.execute(insert(table), rows[lo:lo + 5000])


def _day_of(values, tz: str) -> pd.Series:
    return local_days(pd.to_datetime(values, format="ISO8601"), tz).dt.date


def _summarise(frame: pd.DataFrame, keys: list[str], sums: dict[str, pd.Series]) -> pd.DataFrame:
    """Counts per key combination (a missing dimension is its own group)."""
    parts = frame[keys].copy()
    for name, values in sums.items():
        parts[name] = np.asarray(values, dtype="int64")
    out = parts.groupby(keys, dropna=False, sort=True).sum().reset_index()
    return out


def _recompute_cases(conn: Connection, cal: WorkCalendar, days: list[dt.date], cleared: bool = False) -> None:
    """Overwrite these local days of mart_cases_received and mart_cases_closed from `cases`."""
    c = S.cases
    if not cleared:
        _clear(conn, S.mart_cases_received, days)
        _clear(conn, S.mart_cases_closed, days)
    dims = list(CASE_DIMS)
    for runs in _groups(_runs(days)):
        rec = _read(conn, c, ["received_at", "channel", *dims], [_in_runs(c.c.received_at, runs, cal.tz)])
        if len(rec):
            rec["day"] = _day_of(rec["received_at"], cal.tz)
            _write(conn, S.mart_cases_received, _summarise(rec, ["day", *dims], {
                "received": np.ones(len(rec)), "online": rec["channel"].isin(ONLINE_CHANNELS)}))
        done = _read(conn, c, ["received_at", "closed_at", "promised_days", "rating", *dims],
                     [_in_runs(c.c.closed_at, runs, cal.tz), c.c.status.in_(DONE_STATUSES)])
        if len(done):
            done["day"] = _day_of(done["closed_at"], cal.tz)
            taken = cal.workdays_between(done["received_at"], done["closed_at"])
            done["workdays"] = taken.astype("int64")
            limit = pd.to_numeric(done["promised_days"], errors="coerce")
            rating = pd.to_numeric(done["rating"], errors="coerce")
            _write(conn, S.mart_cases_closed, _summarise(done, ["day", *dims, "workdays"], {
                "closed": np.ones(len(done)), "with_limit": limit.notna(),
                "on_time": limit.notna() & (taken <= limit.to_numpy(dtype=float)),
                "rated": rating.notna(), "good": rating >= GOOD_RATING}))


def _recompute_petitions(conn: Connection, cal: WorkCalendar, days: list[dt.date], cleared: bool = False) -> None:
    """Overwrite these local days of mart_petitions_received and mart_petitions_replied from `petitions`."""
    p = S.petitions
    if not cleared:
        _clear(conn, S.mart_petitions_received, days)
        _clear(conn, S.mart_petitions_replied, days)
    dims = list(PETITION_DIMS)
    for runs in _groups(_runs(days)):
        rec = _read(conn, p, ["received_at", *dims], [_in_runs(p.c.received_at, runs, cal.tz)])
        if len(rec):
            rec["day"] = _day_of(rec["received_at"], cal.tz)
            _write(conn, S.mart_petitions_received, _summarise(rec, ["day", *dims], {"received": np.ones(len(rec))}))
        rep = _read(conn, p, ["received_at", "replied_at", "extended", *dims], [_in_runs(p.c.replied_at, runs, cal.tz)])
        if len(rep):
            rep["received_at"] = pd.to_datetime(rep["received_at"], format="ISO8601")
            rep["replied_at"] = pd.to_datetime(rep["replied_at"], format="ISO8601")
            rep["day"] = _day_of(rep["replied_at"], cal.tz)
            _write(conn, S.mart_petitions_replied, _summarise(rep, ["day", *dims], {
                "replied": np.ones(len(rep)), "on_time": replied_on_time(rep)}))


# ---------- for tests and `landdesk marts rebuild` ----------

def row_counts(conn: Connection) -> dict[str, int]:
    """Rows of each mart (the event-times mart's too, where the store has it)."""
    tables = [*S.MART_TABLES, *([S.mart_event_times] if _has_event_mart(conn) else [])]
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}


def snapshot(conn: Connection) -> dict[str, pd.DataFrame]:
    """Every mart's rows, sorted by its grain (rows with all-zero counts never exist)."""
    out = {}
    for t in S.MART_TABLES:
        cols = [c.name for c in t.columns]
        keys = [c for c in cols if c in ("day", *CASE_DIMS, "workdays")]
        frame = pd.DataFrame(conn.execute(select(t)).all(), columns=cols)
        frame["day"] = pd.to_datetime(frame["day"]).dt.date if len(frame) else frame["day"]
        out[t.name] = frame.sort_values(keys, na_position="first", kind="stable").reset_index(drop=True)
    return out
