"""The slice of data a question is about: a date period plus optional township/case-type/department, and the
source system whose records to count (a mapping's `system:`; None: every system).

The period's days are the bureau's local days (zone `tz`, default LANDDESK_TIMEZONE); `start_ts` / `end_ts`
are the instants (naive UTC, as the store keeps them) of the local midnights that bound it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

if False:  # typing only
    from analytics.casefilter import CaseFilter  # noqa: F401


#: The scope's dimension filters, each applied to every table that has the column.
FILTER_DIMS = ("township", "case_type", "department", "system")


@dataclass(frozen=True)
class Scope:
    """Dates are inclusive local days; `end` covers the whole day."""

    start: dt.date
    end: dt.date
    township: str | None = None
    case_type: str | None = None
    department: str | None = None
    system: str | None = None
    tz: str = ""          # the zone whose days these are; "" = the bureau's (LANDDESK_TIMEZONE), filled in
    compare: str = "previous"   # what the period is compared with: "previous" (环比) or "year" (同比)
    grain: str = ""       # the calendar unit the period is (to date) a part of: week/month/quarter/year; "" free
    #: the process filters (analytics.casefilter.CaseFilter: variants, activities, endpoints, duration …); only
    #: the process exports (Export.filters_cases) take them. None: every case of the scope.
    cases: "CaseFilter | None" = None

    def __post_init__(self):
        from analytics.periods import COMPARES, GRAINS
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.compare not in COMPARES:
            raise ValueError(f"unknown comparison {self.compare!r} (one of {', '.join(COMPARES)})")
        if self.grain not in GRAINS:
            raise ValueError(f"unknown calendar unit {self.grain!r}")
        if not self.tz:
            from landdesk.settings import bureau_timezone
            object.__setattr__(self, "tz", bureau_timezone())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_ts(self) -> dt.datetime:
        """The instant (naive UTC) of the local midnight the period starts at."""
        from analytics.workcal import local_instant
        return local_instant(self.start, self.tz)

    @property
    def end_ts(self) -> dt.datetime:
        """The first instant after the period (exclusive upper bound): the local midnight after `end`, in UTC."""
        from analytics.workcal import local_instant
        return local_instant(self.end + dt.timedelta(days=1), self.tz)

    def previous(self) -> "Scope":
        """The period of the same length immediately before this one, same filters."""
        return replace(self, start=self.start - dt.timedelta(days=self.days),
                       end=self.start - dt.timedelta(days=1))

    def year_before(self) -> "Scope":
        """The same dates a year earlier (29 Feb → 28 Feb), same filters."""
        from analytics.periods import baseline_range
        start, end = baseline_range(self.start, self.end, "year")
        return replace(self, start=start, end=end)

    def baseline(self) -> "Scope":
        """The period this one is compared with (analytics.periods.baseline_range): 环比 or 同比, as chosen."""
        from analytics.periods import baseline_range
        start, end = baseline_range(self.start, self.end, self.compare, self.grain)
        return replace(self, start=start, end=end)

    def in_period(self, column) -> ColumnElement:
        return and_(column >= self.start_ts, column < self.end_ts)

    def filters(self, table) -> list[ColumnElement]:
        """WHERE clauses for the dimension filters that `table` has."""
        out = []
        for dim in FILTER_DIMS:
            value = getattr(self, dim)
            if value is not None and dim in table.c:
                out.append(table.c[dim] == value)
        return out
