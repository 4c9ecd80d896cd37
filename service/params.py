"""The parameters of an export request, checked once for every caller that takes them as text (the command
line's --from/--to/--township …, the exchange API's ?from=&to=&township= …): a date LandDesk handles, a filter
value the store holds (an unknown one is a typo, not "no cases": the message lists those that exist), a time
unit, and the period (default: the 30 days up to the data end). Each failure is a LandDeskError of one sentence;
`label(dim)` names the parameter as the caller's user typed it (--case-type, case_type)."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from landdesk.errors import LandDeskError

#: The dates a request accepts: wide enough for any record, narrow enough that a period's arithmetic (the previous
#: period, 30 days before) stays inside what Python's dates hold.
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
TIME_UNITS = ("workdays", "days", "hours")
#: The filter dimensions of a request, in the order they are checked.
FILTERS = ("township", "case_type", "department", "system")


def parse_date(text: str) -> dt.date:
    """An ISO day within FIRST_DATE..LAST_DATE (LandDeskError saying why not)."""
    try:
        day = dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise LandDeskError(f"{text!r} is not a date like 2026-10-31") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise LandDeskError(f"{text} is outside the dates LandDesk handles ({FIRST_DATE} to {LAST_DATE})")
    return day


def parse_date_or_today(text: str) -> dt.date | str:
    """A date, or the word `today` (the bureau's today, decided when the request runs)."""
    return "today" if str(text).strip().lower() == "today" else parse_date(text)


def cli_label(dim: str) -> str:
    return "--" + dim.replace("_", "-")


def known_values(conn: Connection) -> dict[str, list[str]]:
    """The values each filter may take: the dimensions of the cases (analytics.coverage.dimension_values), the
    townships of the petitions too."""
    from analytics.coverage import dimension_values
    from etl.schema import petitions
    known = dimension_values(conn)
    known["townships"] = sorted(set(known["townships"]) | {
        t for (t,) in conn.execute(select(petitions.c.township).distinct()) if t})
    return {"township": known["townships"], "case_type": known["case_types"],
            "department": known["departments"], "system": known.get("systems", [])}


def check_filters(engine: Engine, values: dict, label: Callable[[str], str] = cli_label) -> None:
    """Refuse a township, case type, department or system the store does not hold, listing those it does."""
    asked = {dim: values.get(dim) for dim in FILTERS if values.get(dim) is not None}
    if not asked:
        return
    with engine.connect() as conn:
        known = known_values(conn)
    for dim, value in asked.items():
        if value not in known[dim]:
            listed = ", ".join(known[dim][:30]) + (" …" if len(known[dim]) > 30 else "")
            raise LandDeskError(f"{label(dim)} {value!r} does not occur in the store; the values there are: "
                                f"{listed or '(none: the store has no cases)'}.")


def check_unit(unit: str, label: Callable[[str], str] = cli_label) -> str:
    if unit not in TIME_UNITS:
        raise LandDeskError(f"{label('time_unit')} {unit!r} is not a time unit; use one of {', '.join(TIME_UNITS)}.")
    return unit


def resolve_period(conn: Connection, start: dt.date | None, to: dt.date | str | None,
                   label: Callable[[str], str] = cli_label, preset: str | None = None) -> tuple[dt.date, dt.date]:
    """The period asked for: `to` (a date, `today`, or None: the data end) and `start` (None: DEFAULT_PERIOD_DAYS
    before `to`), or a named period ending on `to` (analytics.periods: this_month = month to date); a reversed one
    or a preset together with a first day is refused."""
    from analytics.coverage import DEFAULT_PERIOD_DAYS, default_period
    from analytics.periods import PRESETS, preset_range
    from landdesk.settings import local_now
    to = local_now().date() if to == "today" else to
    first, end = default_period(conn, DEFAULT_PERIOD_DAYS, to)
    if preset:
        named = [p for p in PRESETS if p != "custom"]
        if preset not in named:
            raise LandDeskError(f"{label('period')} {preset!r} is not one of {', '.join(named)}.")
        if start:
            raise LandDeskError(f"{label('period')} names its own days: give either {label('period')} or "
                                f"{label('from')}, not both.")
        first, end = preset_range(preset, end)
    first = start or first
    if end < first:
        raise LandDeskError(f"{label('to')} ({end}) is before {label('from')} ({first}).")
    return first, end


def check_compare(value: str | None, label: Callable[[str], str] = cli_label) -> str:
    """What the kpis compare with: previous (环比, the default) or year (同比)."""
    from analytics.periods import COMPARES, DEFAULT_COMPARE
    value = value or DEFAULT_COMPARE
    if value not in COMPARES:
        raise LandDeskError(f"{label('compare')} {value!r} is not one of {', '.join(COMPARES)}.")
    return value
