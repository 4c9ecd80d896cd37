"""What the store covers: the days with data, the latest load, and the values of the filter dimensions.

Pages, the briefing and the command line ask here instead of running their own SQL. Two ends are kept apart on
purpose: the last day anything was *received* (the dashboard's default period ends there) and the last day with
any activity at all (received, closed or a stage event; the briefing's default week is the last one it completes).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from etl.schema import case_events, cases, etl_batches, petitions


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def activity_range(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with any case or petition activity (received, closed, events) in the store."""
    firsts, lasts = [], []
    for col in (cases.c.received_at, petitions.c.received_at):
        lo, hi = conn.execute(select(func.min(col), func.max(col))).one()
        firsts.append(lo)
        lasts.append(hi)
    for col in (cases.c.closed_at, case_events.c.completed_at):
        lasts.append(conn.execute(select(func.max(col))).scalar_one())
    firsts = [_as_date(v) for v in firsts if v is not None]
    lasts = [_as_date(v) for v in lasts if v is not None]
    return (min(firsts) if firsts else None), (max(lasts) if lasts else None)


def received_range(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """First day a case was received, and the last day a case or a petition was."""
    first, last = conn.execute(select(func.min(cases.c.received_at), func.max(cases.c.received_at))).one()
    p_last = conn.execute(select(func.max(petitions.c.received_at))).scalar_one()
    last_any = max([d for d in (_as_date(last), _as_date(p_last)) if d is not None], default=None)
    return _as_date(first), last_any


def data_as_of(conn: Connection) -> dt.datetime | None:
    """When the last successful load finished."""
    return conn.execute(select(func.max(etl_batches.c.finished_at)).where(etl_batches.c.status == "loaded")).scalar_one()


def dimension_values(conn: Connection) -> dict[str, list[str]]:
    """The townships, case types and departments that occur in the cases, sorted (the filter bar's choices)."""
    def distinct(col):
        return [r for (r,) in conn.execute(select(col).distinct().order_by(col)) if r]
    return {"townships": distinct(cases.c.township), "case_types": distinct(cases.c.case_type),
            "departments": distinct(cases.c.department)}


def status(conn: Connection) -> dict:
    """Data range and freshness for a page head: first/last received day, the dimension values, the last load."""
    first, last = received_range(conn)
    return {"first": first, "last": last, **dimension_values(conn), "as_of": data_as_of(conn)}


def dataset_rows(conn: Connection) -> dict[str, int]:
    """Row counts of the case, event, petition and land datasets, so a page can say which one is missing."""
    from etl.schema import land_supply, land_use
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (cases, case_events, petitions, land_use, land_supply)}
