"""What the store covers: the days with data, the data end, the latest load, and the filter dimensions' values.

Pages, the briefing and the command line ask here instead of running their own SQL. This is the one home of
"data end": the store's last event (a case received or closed, a stage event, a petition received, accepted,
replied or closed). Every default period ends on its day (`data_end`, a day in the bureau's zone); "数据截至 /
Data as of" shows its time (`last_event`) with the last load's beside it (`data_as_of`). Stored times are
instants (naive UTC); days are the bureau's (analytics.workcal.local_days).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from etl.schema import case_events, cases, etl_batches, petitions


def _instant(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time.min)


def _as_date(value) -> dt.date | None:
    """The bureau-local day a stored instant falls on."""
    from landdesk.settings import to_local
    value = _instant(value)
    return None if value is None else to_local(value).date()


#: The columns whose latest value is an event of the data (the data end).
def _event_columns():
    return (cases.c.received_at, cases.c.closed_at, case_events.c.completed_at, petitions.c.received_at,
            petitions.c.accepted_at, petitions.c.replied_at, petitions.c.closed_at)


def last_event(conn: Connection) -> dt.datetime | None:
    """The instant (naive UTC) of the store's last event: a case received or closed, a stage event, or a petition
    received, accepted, replied or closed. None in an empty store."""
    lasts = [_instant(conn.execute(select(func.max(col))).scalar_one()) for col in _event_columns()]
    lasts = [v for v in lasts if v is not None]
    return max(lasts) if lasts else None


def data_end(conn: Connection) -> dt.date | None:
    """The store's last event day in the bureau's zone: where every default period ends."""
    return _as_date(last_event(conn))


def activity_range(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """First day with any case or petition activity and the data end (`data_end`), as bureau-local days."""
    firsts = []
    for col in (cases.c.received_at, petitions.c.received_at):
        firsts.append(conn.execute(select(func.min(col))).scalar_one())
    firsts = [_as_date(v) for v in firsts if v is not None]
    return (min(firsts) if firsts else None), data_end(conn)


#: The default period every page and export starts on: this many days up to the data end.
DEFAULT_PERIOD_DAYS = 30


def default_period(conn: Connection, days: int = DEFAULT_PERIOD_DAYS, end: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The default period: `days` days ending at `end`, else at the data end (today in an empty store)."""
    from landdesk.settings import local_now
    last = end or data_end(conn) or local_now().date()
    return last - dt.timedelta(days=days - 1), last


def received_range(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """First day a case was received, and the last day a case or a petition was."""
    first, last = conn.execute(select(func.min(cases.c.received_at), func.max(cases.c.received_at))).one()
    p_last = conn.execute(select(func.max(petitions.c.received_at))).scalar_one()
    last_any = max([d for d in (_as_date(last), _as_date(p_last)) if d is not None], default=None)
    return _as_date(first), last_any


def data_as_of(conn: Connection) -> dt.datetime | None:
    """When the last successful load finished (an instant, naive UTC)."""
    return conn.execute(select(func.max(etl_batches.c.finished_at)).where(etl_batches.c.status == "loaded")).scalar_one()


def dimension_values(conn: Connection) -> dict[str, list[str]]:
    """The townships, case types and departments that occur in the cases, and the source systems of the cases,
    petitions and land supply, sorted (the filter bar's choices)."""
    from etl.schema import land_supply

    def distinct(col):
        return [r for (r,) in conn.execute(select(col).distinct().order_by(col)) if r]
    systems = sorted(set(distinct(cases.c.system)) | set(distinct(petitions.c.system))
                     | set(distinct(land_supply.c.system)))
    return {"townships": distinct(cases.c.township), "case_types": distinct(cases.c.case_type),
            "departments": distinct(cases.c.department), "systems": systems}


def status(conn: Connection) -> dict:
    """Data range and freshness for a page head: the first day with data and the data end (`first`, `last`:
    bureau-local days), the last event and the last load (`last_event`, `as_of`: instants), the dimension
    values, and the years the business calendar does not know (`uncovered_years`)."""
    from analytics.workcal import load_calendar
    first, last = activity_range(conn)
    return {"first": first, "last": last, **dimension_values(conn), "last_event": last_event(conn),
            "as_of": data_as_of(conn), "uncovered_years": load_calendar(conn).uncovered_years(first, last),
            "ranges": dataset_ranges(conn)}


#: The column whose days bound each time-stamped dataset (what a page's period selects on).
RANGE_COLUMNS = {"cases": cases.c.received_at, "case_events": case_events.c.completed_at,
                 "petitions": petitions.c.received_at}


def dataset_ranges(conn: Connection) -> dict[str, tuple[dt.date | None, dt.date | None]]:
    """Per dataset, its first and last day (bureau-local) — so a page whose period holds none of its rows can
    say where they are: stores that join exports of different years are normal."""
    out = {}
    for name, col in RANGE_COLUMNS.items():
        lo, hi = conn.execute(select(func.min(col), func.max(col))).one()
        out[name] = (_as_date(_instant(lo)), _as_date(_instant(hi)))
    return out


def dataset_rows(conn: Connection) -> dict[str, int]:
    """Row counts of the case, event, petition and land datasets, so a page can say which one is missing."""
    from etl.schema import land_supply, land_use
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (cases, case_events, petitions, land_use, land_supply)}
