"""The working-day calendar and the bureau's clock: which local day an instant falls on, and which days work.

The store keeps instants (naive UTC). Calendar questions — which day, which week, whether a day is a working
day — are asked in the bureau's zone (LANDDESK_TIMEZONE); `local_times` / `local_days` are the one conversion.
Durations in hours or days are differences of instants (exact across daylight saving); durations in working
days count the working days after the start's local date up to and including the end's local date
(时限从受理次日起算): received Monday, closed Tuesday = 1; closed the same day = 0.

Two calendars (LANDDESK_CALENDAR): `cn`, the official Chinese calendar (holidays and 调休 make-up days from
the `chinese-calendar` package) plus the store's `calendar` override table; `weekdays`, Monday–Friday with
the override table as holiday list. Years the installed `chinese-calendar` does not know fall back to
Monday–Friday: `uncovered_years` names them so pages, the command line and the briefing can warn.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

TIME_UNITS = ("workdays", "days", "hours")

_EPOCH = dt.date(2000, 1, 1)
_END = dt.date(2040, 12, 31)


@lru_cache(maxsize=1)
def _official_days() -> tuple[frozenset, frozenset]:
    import chinese_calendar

    holidays = frozenset(d for d in chinese_calendar.constants.holidays)
    workdays = frozenset(d for d in chinese_calendar.constants.workdays)
    return holidays, workdays


def official_last_year() -> int:
    """The last year whose holidays the installed `chinese-calendar` package knows (its release year)."""
    holidays, workdays = _official_days()
    return max(d.year for d in holidays | workdays)


def _zone(tz: str | None) -> str:
    if tz:
        return tz
    from landdesk.settings import bureau_timezone
    return bureau_timezone()


def local_times(values, tz: str | None = None) -> pd.Series:
    """Stored instants (naive UTC) as naive wall-clock times in `tz` (default: the bureau's zone), index 0..n-1."""
    t = _ts(values)
    if t.dt.tz is not None:
        return t.dt.tz_convert(_zone(tz)).dt.tz_localize(None)
    return t.dt.tz_localize("UTC").dt.tz_convert(_zone(tz)).dt.tz_localize(None)


def local_days(values, tz: str | None = None) -> pd.Series:
    """The bureau-local day (midnight, naive) each stored instant falls on."""
    return local_times(values, tz).dt.normalize()


def utc_instants(values, tz: str | None = None) -> pd.Series:
    """Naive local wall-clock times in `tz` (e.g. week starts) as the instants (naive UTC) they name; in a
    repeated hour the first occurrence, in a skipped one the first valid instant after it."""
    t = _ts(values)
    aware = t.dt.tz_localize(_zone(tz), ambiguous=np.ones(len(t), dtype=bool), nonexistent="shift_forward")
    return aware.dt.tz_convert("UTC").dt.tz_localize(None)


@lru_cache(maxsize=4096)
def local_instant(day, tz: str | None = None) -> dt.datetime:
    """The instant (naive UTC) of local midnight starting `day` in `tz`: a period boundary."""
    ts = pd.Timestamp(dt.datetime.combine(day, dt.time.min)).tz_localize(_zone(tz), nonexistent="shift_forward",
                                                                          ambiguous=True)
    return ts.tz_convert("UTC").tz_localize(None).to_pydatetime()


def _ts(values) -> pd.Series:
    """Values as a datetime64 Series with a fresh 0..n-1 index."""
    ser = pd.Series(values).reset_index(drop=True)
    if ser.dtype == object or pd.api.types.is_string_dtype(ser):
        return pd.to_datetime(ser, format="ISO8601")
    return pd.to_datetime(ser)


class WorkCalendar:
    """Working-day arithmetic over 2000–2040 on calendar `kind` (cn | weekdays) with optional per-date
    overrides; instants are read in zone `tz` (default: the bureau's)."""

    def __init__(self, overrides: dict[dt.date, bool] | None = None, kind: str = "cn", tz: str | None = None):
        from landdesk.settings import CALENDARS
        if kind not in CALENDARS:
            raise ValueError(f"calendar must be one of {', '.join(CALENDARS)}, not {kind!r}")
        self.kind = kind
        self.tz = _zone(tz)
        days = pd.date_range(_EPOCH, _END, freq="D")
        is_work = days.day_of_week < 5
        idx = {d: i for i, d in enumerate(days.date)}
        if kind == "cn":
            holidays, workdays = _official_days()
            for d in holidays:
                if d in idx:
                    is_work[idx[d]] = False
            for d in workdays:
                if d in idx:
                    is_work[idx[d]] = True
        for d, flag in (overrides or {}).items():
            if d in idx:
                is_work[idx[d]] = bool(flag)
        self._is_work = np.asarray(is_work, dtype=bool)
        self._cum = np.cumsum(self._is_work)
        self._epoch = np.datetime64(_EPOCH, "D")
        # equal calendar, zone and overrides, equal arithmetic (cache keys)
        self.key = (kind, self.tz, tuple(sorted((overrides or {}).items())))

    def _index(self, dates) -> np.ndarray:
        arr = _ts(dates).to_numpy(dtype="datetime64[D]")
        return (arr - self._epoch).astype("int64").clip(0, len(self._cum) - 1)

    def local(self, instants) -> pd.Series:
        """Stored instants as wall-clock times in this calendar's zone."""
        return local_times(instants, self.tz)

    def is_workday(self, dates) -> np.ndarray:
        """Whether each local calendar date (a date, or a local midnight) is a working day."""
        return self._is_work[self._index(dates)]

    def workdays_between(self, start, end) -> np.ndarray:
        """Working days after start's local date up to and including end's local date (NaN where either is
        missing); start and end are stored instants (naive UTC)."""
        s, e = self.local(start), self.local(end)
        out = np.full(len(s), np.nan)
        ok = (s.notna() & e.notna()).to_numpy()
        if ok.any():
            out[ok] = self._cum[self._index(e[ok])] - self._cum[self._index(s[ok])]
        return out

    def uncovered_years(self, first: dt.date | None, last: dt.date | None) -> list[int]:
        """The years from `first` to `last` whose official holidays this calendar does not know (cn only:
        those after the installed chinese-calendar's last year, counted Monday–Friday plus overrides)."""
        if self.kind != "cn" or first is None or last is None:
            return []
        known = official_last_year()
        return [y for y in range(max(first.year, known + 1), last.year + 1)]


def load_calendar(conn: Connection | Engine) -> WorkCalendar:
    """The store's calendar (LANDDESK_CALENDAR: cn or weekdays, in LANDDESK_TIMEZONE) with its `calendar`
    overrides applied.

    The override table is read on every call (a few rows); the 2000–2040 arrays are built once per
    distinct calendar, zone and override content and shared (cached), so a changed override takes effect at once."""
    from etl.schema import calendar
    from landdesk.settings import settings

    if isinstance(conn, Engine):
        with conn.connect() as c:
            return load_calendar(c)
    rows = conn.execute(select(calendar.c.date, calendar.c.is_workday)).all()
    config = settings()
    return _calendar_for(tuple(sorted((r.date, bool(r.is_workday)) for r in rows)), config.calendar, config.timezone)


@lru_cache(maxsize=8)
def _calendar_for(overrides: tuple[tuple[dt.date, bool], ...], kind: str = "cn", tz: str | None = None) -> WorkCalendar:
    """One calendar per distinct override-table content (its arrays are read-only: shared safely)."""
    cal = WorkCalendar(dict(overrides), kind, tz)
    cal._is_work.setflags(write=False)
    cal._cum.setflags(write=False)
    return cal


def durations(start, end, unit: str, cal: WorkCalendar) -> np.ndarray:
    """Elapsed time from start to end in `unit` (workdays | days | hours); NaN where end is missing."""
    if unit not in TIME_UNITS:
        raise ValueError(f"time unit must be one of {', '.join(TIME_UNITS)}, not {unit!r}")
    if unit == "workdays":
        return cal.workdays_between(start, end)
    delta = _ts(end) - _ts(start)
    seconds = delta.dt.total_seconds().to_numpy(dtype=float)
    return seconds / 86400.0 if unit == "days" else seconds / 3600.0
