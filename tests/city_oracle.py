"""Queries as they were before issue 20, kept only as oracles: tests/test_city_queries.py checks that every export
built on today's versions equals the one built on these, frame for frame."""
from __future__ import annotations

from sqlalchemy import or_, select

from etl.sqlframe import fetch_frame
from etl.schema import cases


def open_cases_at_end(conn, scope, extra=()):
    """The pre-issue-20 `analytics.kpis.open_cases_at_end` (one OR condition), unchanged."""
    cols = list(dict.fromkeys(["received_at", "promised_days", *extra]))
    q = (select(*(cases.c[c] for c in cols))
         .where(cases.c.received_at < scope.end_ts,
                or_(cases.c.closed_at.is_(None), cases.c.closed_at >= scope.end_ts),
                *scope.filters(cases)))
    return fetch_frame(conn, q, cols)
