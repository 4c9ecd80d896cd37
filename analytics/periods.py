"""Named periods (本周 / 上周 / 本月 / 上月 / 本季度 / 本年累计 / 近 30 天) and the two comparisons (环比: the
period before, 同比: the same period a year earlier).

A preset is anchored on the data's last day (analytics.coverage.data_end), never on today, like every default
period in LandDesk: "本月" of a store whose data end on 15 Nov is 1–15 Nov. A preset that runs to the anchor is
"to date" (本月 = month to date); its 环比 is the same part of the unit before (1–15 Oct), so a half month is never
compared with a whole one. Pure functions (no Streamlit): the filter bar, the CLI and the briefing share them."""
from __future__ import annotations

import datetime as dt

#: Every preset, in the order the filter bar lists them; "custom" is a range the user picked.
PRESETS = ("recent", "this_week", "last_week", "this_month", "last_month", "this_quarter", "ytd", "custom")
#: The preset a view opens with: the DEFAULT_PERIOD_DAYS up to the data's last day.
DEFAULT_PRESET = "recent"
#: The calendar unit each preset is a part of ('' = a free range, compared with the days just before it).
PRESET_GRAIN = {"recent": "", "this_week": "week", "last_week": "week", "this_month": "month",
                "last_month": "month", "this_quarter": "quarter", "ytd": "year", "custom": ""}
#: 环比 (the period before) and 同比 (the same period a year earlier).
COMPARES = ("previous", "year")
DEFAULT_COMPARE = "previous"
GRAINS = ("", "week", "month", "quarter", "year")


def unit_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the week (Monday) / month / quarter / year that holds `day`."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown calendar unit {grain!r}")


def unit_end(day: dt.date, grain: str) -> dt.date:
    """The last day of the unit that holds `day`."""
    return shift_unit(unit_start(day, grain), grain, 1) - dt.timedelta(days=1)


def shift_unit(start: dt.date, grain: str, n: int) -> dt.date:
    """The first day of the unit `n` units after (negative: before) the unit starting on `start`."""
    if grain == "week":
        return start + dt.timedelta(weeks=n)
    months = {"month": 1, "quarter": 3, "year": 12}[grain] * n
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def preset_range(preset: str, anchor: dt.date, recent_days: int | None = None) -> tuple[dt.date, dt.date]:
    """The (first, last) day of `preset` for data ending on `anchor`. "custom" has no range of its own."""
    if preset == "recent":
        from analytics.coverage import DEFAULT_PERIOD_DAYS
        return anchor - dt.timedelta(days=(recent_days or DEFAULT_PERIOD_DAYS) - 1), anchor
    if preset == "last_week":
        start = shift_unit(unit_start(anchor, "week"), "week", -1)
        return start, start + dt.timedelta(days=6)
    if preset == "last_month":
        start = shift_unit(unit_start(anchor, "month"), "month", -1)
        return start, unit_end(start, "month")
    grain = {"this_week": "week", "this_month": "month", "this_quarter": "quarter", "ytd": "year"}.get(preset)
    if grain is None:
        raise ValueError(f"unknown period preset {preset!r}")
    return unit_start(anchor, grain), anchor


def baseline_range(start: dt.date, end: dt.date, compare: str, grain: str = "") -> tuple[dt.date, dt.date]:
    """The days a period is compared with. 同比 ("year"): the same dates a year earlier (29 Feb → 28 Feb).
    环比 ("previous") of a period inside one calendar unit (`grain`): the same part of the unit before — a whole
    unit against the whole unit before, month to date against the same days of last month (clipped to that
    month's length); of a free range: the same number of days just before it."""
    if compare == "year":
        return _year_back(start), _year_back(end)
    if compare != "previous":
        raise ValueError(f"unknown comparison {compare!r}")
    if grain and unit_start(start, grain) == start and end <= unit_end(start, grain):
        before = shift_unit(start, grain, -1)
        last = unit_end(before, grain)
        if end == unit_end(start, grain):
            return before, last
        return before, min(before + (end - start), last)
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def _year_back(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def matching_preset(start: dt.date, end: dt.date, anchor: dt.date) -> str:
    """The preset whose range is exactly [start, end] for data ending on `anchor`, else "custom"."""
    for preset in PRESETS[:-1]:
        if preset_range(preset, anchor) == (start, end):
            return preset
    return "custom"
