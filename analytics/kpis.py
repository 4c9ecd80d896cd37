"""Cockpit KPIs (领导驾驶舱): each metric defined once here, as in docs/kpis.md.

Fetch functions push filtering and counting into SQL and return only the columns a metric needs;
metric functions take those frames and return one number.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from sqlalchemy import case as sql_case, func, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from analytics.scope import Scope
from etl.sqlframe import fetch_frame
from analytics.workcal import WorkCalendar, durations, local_days
from landdesk.kpispec import KPI_SPEC
from etl.measures import (  # noqa: F401  (the per-record facts, shared with the marts)
    DONE_STATUSES, GOOD_RATING, ONLINE_CHANNELS, REPLY_DAYS, REPLY_EXTENSION_DAYS, replied_on_time,
)
from etl import schema as S
from etl.schema import cases, land_use, petitions, targets

CULTIVATED = "01"
ACCEPT_DAYS = 15



# ---------- fetch: SQL does the filtering ----------

def closed_cases(conn: Connection, scope: Scope, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Cases completed in the period (closed or rejected; withdrawn cases are not completions)."""
    cols = list(dict.fromkeys(["received_at", "closed_at", "promised_days", "statutory_days", "rating", *extra]))
    q = (select(*(cases.c[c] for c in cols))
         .where(scope.in_period(cases.c.closed_at), cases.c.status.in_(DONE_STATUSES), *scope.filters(cases)))
    return fetch_frame(conn, q, cols)


def open_cases_at_end(conn: Connection, scope: Scope, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Cases received by the end of the period and not yet completed or withdrawn at its end.

    PostgreSQL answers the one `closed_at IS NULL OR closed_at >= end` condition with a BitmapOr of two
    ix_cases_closed_at scans. SQLite's planner walks ix_cases_received_at over every case received before the end
    (issue 20: 0.4–1.4 s for a recent end at 230,000 cases). So on SQLite, when the end lies in the later half of
    the store's receipts, the query is two disjoint legs — never closed, closed after the end — each a search of
    ix_cases_closed_at (the received_at term carries a unary plus, which keeps its value and keeps the planner off
    its index; 0.02–0.09 s), and the rows are put back in received_at order (stable), the order the one query's walk
    returns them in; an earlier end keeps the one query, whose walk is then the shorter.
    """
    cols = list(dict.fromkeys(["received_at", "promised_days", *extra]))
    if conn.dialect.name != "sqlite" or not _late_end(conn, scope.end_ts):
        return fetch_frame(conn, select(*(cases.c[c] for c in cols))
                           .where(cases.c.received_at < scope.end_ts,
                                  or_(cases.c.closed_at.is_(None), cases.c.closed_at >= scope.end_ts),
                                  *scope.filters(cases)), cols)
    received = UnaryExpression(cases.c.received_at, operator=operators.custom_op("+"),
                               type_=cases.c.received_at.type)

    def leg(still_open):
        return (select(*(cases.c[c] for c in cols))
                .where(received < scope.end_ts, still_open, *scope.filters(cases)))

    frame = fetch_frame(conn, union_all(leg(cases.c.closed_at.is_(None)), leg(cases.c.closed_at >= scope.end_ts)),
                        cols)
    return frame.sort_values("received_at", kind="stable").reset_index(drop=True)


def _late_end(conn: Connection, end: dt.datetime) -> bool:
    """Whether `end` lies in the later half of the span of the store's receipts (two index seeks)."""
    first = conn.execute(select(func.min(cases.c.received_at))).scalar_one()
    last = conn.execute(select(func.max(cases.c.received_at))).scalar_one()
    return first is not None and last - end < end - first


# ---------- metrics: one definition each ----------

def cases_received(conn: Connection, scope: Scope) -> int:
    """收件量: cases whose received_at falls in the period."""
    q = select(func.count()).select_from(cases).where(scope.in_period(cases.c.received_at), *scope.filters(cases))
    return int(conn.execute(q).scalar_one())


def cases_closed(closed: pd.DataFrame) -> int:
    """办结量: cases completed (closed or rejected) in the period."""
    return int(len(closed))


def throughput(closed: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> np.ndarray:
    """办理时长 of each completed case: closed_at − received_at in `unit`."""
    return durations(closed["received_at"], closed["closed_at"], unit, cal)


def median_throughput(closed: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> float:
    """Median 办理时长 of cases completed in the period."""
    values = throughput(closed, cal, unit)
    return float(np.median(values)) if len(values) else math.nan


def on_time_rate(closed: pd.DataFrame, cal: WorkCalendar) -> float:
    """按期办结率: completed cases within their promised limit (working days) / completed cases with a limit."""
    has_limit = closed["promised_days"].notna().to_numpy()
    if not has_limit.any():
        return math.nan
    taken = throughput(closed, cal, "workdays")[has_limit]
    return float(np.mean(taken <= closed["promised_days"].to_numpy(dtype=float)[has_limit]))


def overdue(closed: pd.DataFrame, open_at_end: pd.DataFrame, scope: Scope, cal: WorkCalendar) -> int:
    """超期件: cases completed in the period past their promised limit + cases open at its end past it."""
    return overdue_closed(closed, cal) + overdue_open(open_at_end, scope, cal)


def overdue_closed(closed: pd.DataFrame, cal: WorkCalendar) -> int:
    """超期件's completed part: cases completed in the period past their promised limit (working days)."""
    done = closed[closed["promised_days"].notna()]
    return int((throughput(done, cal) > done["promised_days"].to_numpy(dtype=float)).sum())


def overdue_open(open_at_end: pd.DataFrame, scope: Scope, cal: WorkCalendar) -> int:
    """超期件's open part: cases open at the period's end whose age then (working days) is past their limit."""
    pending = open_at_end[open_at_end["promised_days"].notna()]
    age = cal.workdays_between(pending["received_at"], [scope.end_ts - dt.timedelta(seconds=1)] * len(pending))
    return int((age > pending["promised_days"].to_numpy(dtype=float)).sum())


def backlog(open_at_end: pd.DataFrame) -> int:
    """在办件: cases open at the end of the period."""
    return int(len(open_at_end))


def online_rate(conn: Connection, scope: Scope) -> float:
    """网办率: cases received in the period through online or mobile channels / cases received."""
    q = (select(func.count(), func.sum(sql_case((cases.c.channel.in_(ONLINE_CHANNELS), 1), else_=0)))
         .where(scope.in_period(cases.c.received_at), *scope.filters(cases)))
    total, online = conn.execute(q).one()
    return float(online or 0) / total if total else math.nan


def good_rating_rate(closed: pd.DataFrame) -> float:
    """好评率: ratings ≥ 3 of 5 / ratings, over cases completed in the period."""
    rated = closed["rating"].dropna()
    return float((rated >= GOOD_RATING).mean()) if len(rated) else math.nan


def petitions_received(conn: Connection, scope: Scope) -> int:
    """信访件量: petitions received in the period."""
    q = (select(func.count()).select_from(petitions)
         .where(scope.in_period(petitions.c.received_at), *scope.filters(petitions)))
    return int(conn.execute(q).scalar_one())


def petition_reply_on_time_rate(conn: Connection, scope: Scope) -> float:
    """按期答复率: petitions replied in the period within 60 calendar days (90 when extended) / replied."""
    q = (select(petitions.c.received_at, petitions.c.replied_at, petitions.c.extended)
         .where(scope.in_period(petitions.c.replied_at), *scope.filters(petitions)))
    df = fetch_frame(conn, q, ["received_at", "replied_at", "extended"])
    if df.empty:
        return math.nan
    return float(np.mean(replied_on_time(df)))


def cultivated_land(conn: Connection, scope: Scope) -> tuple[float, int | None]:
    """耕地面积 (category 01, hectares) in the latest surveyed year not after the period's end."""
    where = [land_use.c.category_code == CULTIVATED, land_use.c.year <= scope.end.year]
    if scope.township:
        where.append(land_use.c.region_name == scope.township)
    year = conn.execute(select(func.max(land_use.c.year)).where(*where)).scalar_one()
    if year is None:
        return math.nan, None
    area = conn.execute(select(func.sum(land_use.c.area_ha)).where(*where, land_use.c.year == year)).scalar_one()
    return float(area), int(year)


# ---------- targets and the assembled table ----------

def target_value(conn: Connection, indicator: str, scope: Scope) -> float:
    """The target for the period's year (else the nearest later, else earlier period) and its region.

    A township scope uses the township's own target where one exists; otherwise the jurisdiction's,
    whose region code has no land_use rows of its own (the county code).
    """
    rows = pd.DataFrame(conn.execute(select(targets.c.region_code, targets.c.period, targets.c.value)
                                     .where(targets.c.indicator == indicator)).all(),
                        columns=["region_code", "period", "value"])
    if rows.empty:
        return math.nan
    township_codes = {r for (r,) in conn.execute(
        select(land_use.c.region_code).distinct().where(land_use.c.region_name == scope.township))} \
        if scope.township else set()
    all_codes = {r for (r,) in conn.execute(select(land_use.c.region_code).distinct())}
    local = rows[rows["region_code"].isin(township_codes)]
    pick = local if not local.empty else rows[~rows["region_code"].isin(all_codes)]
    if pick.empty:
        return math.nan
    year = scope.end.year
    period_year = pd.to_numeric(pick["period"].str[:4], errors="coerce")
    later = pick[period_year >= year]
    chosen = later.loc[[period_year[later.index].idxmin()]] if not later.empty \
        else pick.loc[[period_year.idxmax()]]
    return float(chosen["value"].iloc[0])


# ---------- the same metrics from the marts (etl.marts) ----------

SOURCES = ("auto", "marts", "base")


def marts_serve(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays") -> bool:
    """Whether the marts answer this request exactly: durations in working days (a whole number per case, so
    counts per value give the exact median; days and hours are continuous), and the marts computed for this
    request's zone (the scope's, the calendar's and the bureau's, which dates petitions), working-day calendar and
    base tables' write mark (etl.marks: rows written outside the ETL, which keeps the marts, send requests to the
    base tables until the next load or `landdesk marts rebuild`). The KPIs do not read the scope's process filters
    (Scope.cases), so those never stop the marts."""
    from etl.marts import current, state
    from etl.workcal import _zone
    if unit != "workdays" or not (scope.tz == cal.tz == _zone(None)):
        return False
    held = state(conn)
    return held is not None and held == current(conn, cal)


def _mart_where(table, scope: Scope) -> list:
    return [table.c.day >= scope.start, table.c.day <= scope.end, *scope.filters(table)]


def _mart_sums(conn: Connection, table, scope: Scope, cols: tuple[str, ...]) -> list[int]:
    row = conn.execute(select(*(func.coalesce(func.sum(table.c[c]), 0) for c in cols))
                       .where(*_mart_where(table, scope))).one()
    return [int(v) for v in row]


def median_from_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """np.median of the multiset with `counts[i]` copies of `values[i]` (ascending): the middle value, or the mean
    of the two middle ones for an even count; NaN when empty."""
    n = int(counts.sum())
    if n == 0:
        return math.nan
    ends = np.cumsum(counts)
    lo = values[np.searchsorted(ends, (n - 1) // 2, side="right")]
    hi = values[np.searchsorted(ends, n // 2, side="right")]
    return float(np.mean(np.array([lo, hi], dtype=float))) if lo != hi else float(lo)


def mart_counts(conn: Connection, scope: Scope) -> dict[str, float]:
    """The period-volume KPIs (every one but backlog, overdue's open part and cultivated land) from the marts,
    each the same number the metric above gives over the base rows (tests/test_marts.py)."""
    received, online = _mart_sums(conn, S.mart_cases_received, scope, ("received", "online"))
    t = S.mart_cases_closed
    sums = ("closed", "with_limit", "on_time", "rated", "good")
    per_value = np.array(conn.execute(select(t.c.workdays, *(func.sum(t.c[c]) for c in sums))
                                      .where(*_mart_where(t, scope)).group_by(t.c.workdays)
                                      .order_by(t.c.workdays)).all(), dtype="int64").reshape(-1, 1 + len(sums))
    closed, with_limit, on_time, rated, good = (int(v) for v in per_value[:, 1:].sum(axis=0))
    values, counts = per_value[:, 0].astype(float), per_value[:, 1]
    (petitions_in,) = _mart_sums(conn, S.mart_petitions_received, scope, ("received",))
    replied, replied_ok = _mart_sums(conn, S.mart_petitions_replied, scope, ("replied", "on_time"))
    return {
        "cases_received": received,
        "cases_closed": closed,
        "on_time_rate": on_time / with_limit if with_limit else math.nan,
        "median_throughput": median_from_counts(values, counts),
        "overdue_closed": with_limit - on_time,
        "online_rate": float(online) / received if received else math.nan,
        "good_rating_rate": good / rated if rated else math.nan,
        "petitions_received": petitions_in,
        "petition_reply_on_time_rate": replied_ok / replied if replied else math.nan,
    }


def kpi_values(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
               source: str = "auto") -> dict[str, float]:
    """Every cockpit KPI for one scope. `source`: `auto` reads the marts when they serve the request
    (`marts_serve`), else the base tables; `base` always the base tables (the definition; tests compare)."""
    return _values(conn, scope, cal, unit, _use_marts(conn, scope, cal, unit, source))


def _use_marts(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str, source: str) -> bool:
    """The one decision: read the marts (source auto or marts, and `marts_serve`) or the base tables."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if source == "base":
        return False
    if marts_serve(conn, scope, cal, unit):
        return True
    if source == "marts":
        raise ValueError("the marts do not serve this request (unit, zone or calendar differs from theirs)")
    return False


def _values(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str, use_marts: bool) -> dict[str, float]:
    """The KPIs from the marts (period-volume metrics) plus the base tables (backlog, open overdue, land), or all
    from the base tables."""
    if use_marts:
        counts = mart_counts(conn, scope)
        still_open = open_cases_at_end(conn, scope)
        area, _year = cultivated_land(conn, scope)
        late_closed = counts.pop("overdue_closed")
        return {**{k: counts[k] for k in ("cases_received", "cases_closed", "on_time_rate", "median_throughput")},
                "backlog": backlog(still_open),
                "overdue": late_closed + overdue_open(still_open, scope, cal),
                **{k: counts[k] for k in ("online_rate", "good_rating_rate", "petitions_received",
                                          "petition_reply_on_time_rate")},
                "cultivated_land_ha": area}
    closed = closed_cases(conn, scope)
    still_open = open_cases_at_end(conn, scope)
    area, _year = cultivated_land(conn, scope)
    return {
        "cases_received": cases_received(conn, scope),
        "cases_closed": cases_closed(closed),
        "on_time_rate": on_time_rate(closed, cal),
        "median_throughput": median_throughput(closed, cal, unit),
        "backlog": backlog(still_open),
        "overdue": overdue(closed, still_open, scope, cal),
        "online_rate": online_rate(conn, scope),
        "good_rating_rate": good_rating_rate(closed),
        "petitions_received": petitions_received(conn, scope),
        "petition_reply_on_time_rate": petition_reply_on_time_rate(conn, scope),
        "cultivated_land_ha": area,
    }


def status(value: float, target: float, direction: int) -> str:
    """红黄绿: green meets the target, amber within 5% of it, red beyond; '' without a target."""
    if direction == 0 or math.isnan(target) or math.isnan(value):
        return ""
    gap = (value - target) * direction
    if gap >= 0:
        return "green"
    return "amber" if abs(gap) <= 0.05 * abs(target) else "red"


def kpi_table(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
              source: str = "auto") -> pd.DataFrame:
    """One row per KPI: value, the comparison period's value, change, target and status.

    Grain: one row per KPI code for the scope. `previous` is the value in `scope.baseline()` — the period
    before (环比) or the same period a year earlier (同比), as the scope's `compare` says; `change` is
    value − previous (rates in points) and `change_pct` = change ÷ |previous| × 100 (NaN when previous is 0);
    all are NaN when the comparison period ends before the store's first
    day with data (a 0 there would read as growth from nothing).
    """
    from analytics.coverage import activity_range
    use_marts = _use_marts(conn, scope, cal, unit, source)     # once for the period and its comparison period
    now = _values(conn, scope, cal, unit, use_marts)
    base = scope.baseline()
    first, _ = activity_range(conn)
    if first is not None and base.end < first:     # the comparison period lies before the data: nothing to compare
        before = {code: math.nan for code in KPI_SPEC}
    else:
        before = _values(conn, base, cal, unit, use_marts)
    rows = []
    for code, spec in KPI_SPEC.items():
        direction, indicator = spec.direction, spec.target
        target = target_value(conn, indicator, scope) if indicator else math.nan
        if code == "median_throughput" and unit != "workdays":
            target = math.nan
        value, prev = now[code], before[code]
        change = value - prev if not (math.isnan(value) or math.isnan(prev)) else math.nan
        rows.append({
            "kpi": code, "value": value, "previous": prev,
            "change": change,
            "change_pct": change / abs(prev) * 100 if not math.isnan(change) and prev else math.nan,
            "target": target, "status": status(value, target, direction),
            "period_start": scope.start.isoformat(), "period_end": scope.end.isoformat(),
            "compare": scope.compare, "baseline_start": base.start.isoformat(), "baseline_end": base.end.isoformat(),
        })
    return pd.DataFrame(rows)


def weekly_flow(conn: Connection, scope: Scope, source: str = "auto") -> pd.DataFrame:
    """Arrivals and completions per ISO week (Monday) starting in the period. Grain: one row per week.

    `source` as kpi_values: the marts' per-day counts when they count this scope's zone's days (the counts do
    not depend on the working-day calendar), else the base rows; the same weeks either way."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if source != "base" and _marts_count_days(conn, scope):
        rec = _mart_days(conn, S.mart_cases_received, "received", scope)
        done = _mart_days(conn, S.mart_cases_closed, "closed", scope)
    else:
        if source == "marts":
            raise ValueError("the marts do not serve this request (zone or rows differ from theirs)")
        rec = fetch_frame(conn, select(cases.c.received_at).where(
            scope.in_period(cases.c.received_at), *scope.filters(cases)), ["t"])
        done = fetch_frame(conn, select(cases.c.closed_at).where(
            scope.in_period(cases.c.closed_at), cases.c.status.in_(DONE_STATUSES), *scope.filters(cases)), ["t"])
        rec = pd.DataFrame({"day": local_days(rec["t"], scope.tz), "n": 1})
        done = pd.DataFrame({"day": local_days(done["t"], scope.tz), "n": 1})

    def per_week(df: pd.DataFrame) -> pd.Series:
        t = df["day"]
        return df["n"].groupby((t - pd.to_timedelta(t.dt.day_of_week, unit="D")).to_numpy()).sum()

    # Weeks from the first Monday in the period, so a period starting mid-week has no stub week.
    first = pd.Timestamp(scope.start) + pd.Timedelta(days=(7 - scope.start.weekday()) % 7)
    if first > pd.Timestamp(scope.end):
        first -= pd.Timedelta(days=7)
    weeks = pd.date_range(first, pd.Timestamp(scope.end), freq="7D")
    out = pd.DataFrame({"week": weeks})
    out["received"] = out["week"].map(per_week(rec)).fillna(0).astype(int)
    out["closed"] = out["week"].map(per_week(done)).fillna(0).astype(int)
    return out


def _marts_count_days(conn: Connection, scope: Scope) -> bool:
    """Whether the marts count this scope's local days (their zone, rows as the base tables')."""
    from etl.marts import state, written
    held = state(conn)
    return held is not None and held[0] == scope.tz and tuple(held[2:]) == written(conn)


def _mart_days(conn: Connection, table, col: str, scope: Scope) -> pd.DataFrame:
    """Per local day of the period: the sum of `col` (day as a naive midnight, n)."""
    rows = conn.execute(select(table.c.day, func.sum(table.c[col])).where(*_mart_where(table, scope))
                        .group_by(table.c.day)).all()
    return pd.DataFrame({"day": pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object)),
                         "n": np.array([int(r[1]) for r in rows], dtype="int64")})


def _exports():
    from analytics.exports import Export
    return [
        Export("kpis", "cockpit KPI set for the period vs the previous period and target; one row per KPI",
               lambda conn, scope, cal, unit, by: kpi_table(conn, scope, cal, unit)),
        Export("weekly-flow", "cases received and completed per ISO week; one row per week",
               lambda conn, scope, cal, unit, by: weekly_flow(conn, scope)),
    ]


EXPORTS = _exports()
