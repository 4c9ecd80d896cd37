"""The working-day calendar: Chinese official holidays and 调休 make-up days, plus store overrides.

Durations in working days count the working days after the start date up to and including the end
date (时限从受理次日起算): received Monday, closed Tuesday = 1; closed the same day = 0.
Years the `chinese-calendar` package does not know fall back to Monday–Friday, corrected by the
store's `calendar` override table.
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


def _ts(values) -> pd.Series:
    """Values as a datetime64 Series with a fresh 0..n-1 index."""
    ser = pd.Series(values).reset_index(drop=True)
    if ser.dtype == object or pd.api.types.is_string_dtype(ser):
        return pd.to_datetime(ser, format="ISO8601")
    return pd.to_datetime(ser)


class WorkCalendar:
    """Working-day arithmetic over 2000–2040 with optional per-date overrides."""

    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        holidays, workdays = _official_days()
        days = pd.date_range(_EPOCH, _END, freq="D")
        is_work = days.day_of_week < 5
        idx = {d: i for i, d in enumerate(days.date)}
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
        self.key = tuple(sorted((overrides or {}).items()))   # equal overrides, equal arithmetic (cache keys)

    def _index(self, dates) -> np.ndarray:
        arr = _ts(dates).to_numpy(dtype="datetime64[D]")
        return (arr - self._epoch).astype("int64").clip(0, len(self._cum) - 1)

    def is_workday(self, dates) -> np.ndarray:
        return self._is_work[self._index(dates)]

    def workdays_between(self, start, end) -> np.ndarray:
        """Working days after start's date up to and including end's date (NaN where either is missing)."""
        s, e = _ts(start), _ts(end)
        out = np.full(len(s), np.nan)
        ok = (s.notna() & e.notna()).to_numpy()
        if ok.any():
            out[ok] = self._cum[self._index(e[ok])] - self._cum[self._index(s[ok])]
        return out


def load_calendar(conn: Connection | Engine) -> WorkCalendar:
    """The official calendar with the store's `calendar` overrides applied.

    The override table is read on every call (a few rows); the 2000–2040 arrays are built once per
    distinct override content and shared (cached), so a changed override takes effect at once."""
    from etl.schema import calendar

    if isinstance(conn, Engine):
        with conn.connect() as c:
            return load_calendar(c)
    rows = conn.execute(select(calendar.c.date, calendar.c.is_workday)).all()
    return _calendar_for(tuple(sorted((r.date, bool(r.is_workday)) for r in rows)))


@lru_cache(maxsize=8)
def _calendar_for(overrides: tuple[tuple[dt.date, bool], ...]) -> WorkCalendar:
    """One calendar per distinct override-table content (its arrays are read-only: shared safely)."""
    cal = WorkCalendar(dict(overrides))
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
