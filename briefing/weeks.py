"""ISO weeks: parsing `YYYY-Www`, their dates, and the default week (the last complete week of the data)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.engine import Engine

from landdesk.errors import LandDeskError

WEEK_RE = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


def parse_week(text: str) -> tuple[int, int]:
    """`2026-W43` (also `2026W43`, `2026-w43`) → (2026, 43); anything else raises LandDeskError."""
    m = WEEK_RE.match(text or "")
    if not m:
        raise LandDeskError(f"{text!r} is not an ISO week; write it like 2026-W43.")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise LandDeskError(f"{text!r} is not a week of {year}: ISO weeks run from W01 to "
                            f"W{weeks_in_year(year):02d}.") from None
    return year, week


def weeks_in_year(year: int) -> int:
    return dt.date(year, 12, 28).isocalendar().week


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def week_of(day: dt.date) -> str:
    iso = day.isocalendar()
    return week_label(iso.year, iso.week)


def week_bounds(week: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week."""
    year, number = parse_week(week)
    monday = dt.date.fromisocalendar(year, number, 1)
    return monday, monday + dt.timedelta(days=6)


def same_week_last_year(week: str) -> str:
    """The same ISO week number a year earlier (W53 → W52 when last year had 52 weeks)."""
    year, number = parse_week(week)
    return week_label(year - 1, min(number, weeks_in_year(year - 1)))


def data_range(engine: Engine) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with any case or petition activity in the store (analytics.coverage)."""
    from analytics.coverage import activity_range

    with engine.connect() as conn:
        return activity_range(conn)


def last_complete_week(last_day: dt.date, cal=None) -> str:
    """The last ISO week that the data covers to its end.

    A week is complete when the data reach its Sunday, or when every day after the last day with
    data up to that Sunday is a non-working day (a Friday cut-off completes the week; with `cal`,
    holidays and 调休 make-up days count as the official calendar says).
    """
    monday = last_day - dt.timedelta(days=last_day.weekday())
    sunday = monday + dt.timedelta(days=6)
    rest = [last_day + dt.timedelta(days=i) for i in range(1, (sunday - last_day).days + 1)]
    if cal is not None and rest:
        working_after = bool(cal.is_workday(rest).any())
    else:
        working_after = any(d.weekday() < 5 for d in rest)
    if not working_after:
        return week_of(last_day)
    return week_of(monday - dt.timedelta(days=1))


def default_week(engine: Engine, today: dt.date | None = None) -> str:
    """The last complete week of the data; for a store without data, the last complete week before today."""
    from analytics.workcal import load_calendar

    _first, last = data_range(engine)
    if last is None:
        today = today or dt.date.today()
        return week_of(today - dt.timedelta(days=today.weekday() + 1))
    return last_complete_week(last, load_calendar(engine))


def choosable_weeks(engine: Engine, first: dt.date | None, last: dt.date | None) -> tuple[list[str], str | None]:
    """The ISO weeks from `first` to `last`, newest first, with the default week (the last complete one of the
    data) among them; ([], None) for a store without data."""
    if first is None or last is None:
        return [], None
    weeks, day = [], last
    while day >= first - dt.timedelta(days=6):
        weeks.append(week_of(day))
        day -= dt.timedelta(days=7)
    weeks = list(dict.fromkeys(weeks))
    default = default_week(engine)
    if default not in weeks:
        weeks.insert(0, default)
    return weeks, default
