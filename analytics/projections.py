"""Projections (预测): the product's forecasts of weekly case arrivals and petitions, their backtest, the
backlog projection and land-use trajectories against targets — built on the engine in `analytics.forecast`.

Series come from the store as timestamps only (SQL filters; pandas buckets them into weeks
starting Monday, `W-MON`, or months, `MS`, zero-filled). Only complete periods count: a week
(month) is in the history when it ends by the period's end or only non-working days of it lie
after the end, so a Saturday cut-off keeps its working week.

Exports (`landdesk export NAME`):

- ``forecast`` — weekly case arrivals by case type (``--by case_type``) or petitions by topic
  (``--by topic``), each with its total; without ``--by`` (or ``--by total``) the two totals.
  History window: the scope's period, or the two years before its end when the period is shorter.
  Horizon: ``HORIZON_WEEKS`` (8). Grain: one row per series × week, history rows (``y``) then
  forecast rows (``yhat`` with 80/95% bounds); every row carries the series' model, backtest
  ``mase`` and the seasonal naive's ``snaive_mase`` on the same windows.
- ``forecast-backtest`` — the same series' rolling-origin backtest (same ``--by``): the model chosen,
  its ``mase``, the seasonal naive's ``snaive_mase`` on the same windows, the 80/95% intervals'
  measured coverage and ``beats_baseline`` (mase < snaive_mase). Grain: one row per series.
- ``backlog-projection`` — forecast arrivals against the recent completion capacity, projecting
  the backlog (在办件) and the cases at risk of running past their promised limit week by week.
- ``land-trajectory`` — cultivated land (01) and construction land per township by surveyed year,
  a linear trend projection with prediction intervals, and the projected year cultivated land
  crosses below its ``cultivated_land_ha`` target with an interval.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics import efficiency, kpis, landuse
from analytics.forecast import forecast
from analytics.scope import Scope
from etl.sqlframe import fetch_frame
from analytics.workcal import WorkCalendar, local_days, utc_instants
from etl.schema import cases, petitions

HORIZON_WEEKS = 8
#: A history shorter than this is extended back to this many days before the period's end.
MIN_HISTORY_DAYS = 730
#: Weeks of recent completions whose median is the completion capacity.
CAPACITY_WEEKS = 8
#: ... among the full working weeks (five working days) of this many recent weeks.
CAPACITY_LOOKBACK = 12
#: The backlog (or overdue-at-risk count) is "rising" when its projection at the horizon exceeds
#: today's value by more than RISE_SHARE of it and by at least RISE_MIN cases.
RISE_SHARE = 0.10
RISE_MIN = 5
#: GB/T 21010-2017 first-level classes summed as construction land (建设用地): 05 商服用地,
#: 06 工矿仓储用地, 07 住宅用地, 08 公共管理与公共服务用地, 09 特殊用地, 10 交通运输用地.
#: (First-level data only: 10 includes 农村道路 1006, which the third national survey counts as
#: agricultural land, and 1109 水工建筑用地 under 11 is left out.)
CONSTRUCTION_CODES = ("05", "06", "07", "08", "09", "10")
#: Land trajectories are projected this many years past the latest survey.
LAND_HORIZON_YEARS = 10
FORECAST_BY = ("total", "case_type", "topic")
#: Engine candidates left out for the product's weekly series: ARIMA(0,1,1)+drift cost 70% of the
#: fitting time on the sample county's series and was never better than the ETS/Theta forms there.
EXCLUDE_MODELS = ("ARIMA",)
TOTAL = "total"

FORECAST_COLUMNS = ["unique_id", "measure", "group", "kind", "ds", "y", "yhat", "yhat_lower_80", "yhat_upper_80",
                    "yhat_lower_95", "yhat_upper_95", "model", "mase", "snaive_mase", "coverage_80", "coverage_95"]


# ---------- series from the store ----------

def _period_starts(times: pd.Series, freq: str) -> pd.Series:
    """The bureau-local Monday or first of the month of each stored instant (index kept)."""
    t = local_days(times)
    if isinstance(times, pd.Series):
        t.index = times.index
    if freq == "W":
        return t - pd.to_timedelta(t.dt.day_of_week, unit="D")
    if freq == "MS":
        return t.dt.to_period("M").dt.start_time
    raise ValueError(f"freq must be 'W' or 'MS', not {freq!r}")


def complete_periods(scope: Scope, freq: str = "W", cal: WorkCalendar | None = None) -> pd.DatetimeIndex:
    """The weeks (Mondays) or months (first days) wholly inside the scope.

    A period counts when it starts on or after scope.start and ends by scope.end — or, with a
    calendar, when every day of it after scope.end is a non-working day (a Friday or Saturday cut-off
    keeps its week).
    """
    start, end = pd.Timestamp(scope.start), pd.Timestamp(scope.end)
    if freq == "W":
        first = start + pd.Timedelta(days=(7 - start.weekday()) % 7)
        starts = pd.date_range(first, end, freq="7D")
        ends = starts + pd.Timedelta(days=6)
    else:
        first = start if start.day == 1 else (start + pd.offsets.MonthBegin(1))
        starts = pd.date_range(first, end, freq="MS")
        ends = starts + pd.offsets.MonthEnd(0)
    keep = []
    for s, e in zip(starts, ends):
        if e <= end:
            keep.append(True)
        elif cal is not None:
            rest = pd.date_range(end + pd.Timedelta(days=1), e, freq="D")
            keep.append(not cal.is_workday(rest).any())
        else:
            keep.append(False)
    return starts[np.asarray(keep, dtype=bool)] if len(starts) else starts


def _counts(df: pd.DataFrame, group_col: str | None, periods: pd.DatetimeIndex, freq: str,
            measure: str) -> pd.DataFrame:
    """Timestamps (+ group) → long frame unique_id, measure, group, ds, y, zero-filled over `periods`,
    one series per group plus the total."""
    if len(periods) == 0:
        return pd.DataFrame(columns=["unique_id", "measure", "group", "ds", "y"])
    df = df.assign(ds=_period_starts(df["t"], freq))
    df = df[df["ds"].isin(periods)]
    parts = [(TOTAL, df)]
    if group_col:
        g = df[group_col].astype(object).where(df[group_col].notna(), "(unknown)")
        parts = [(str(k), df[g == k]) for k in sorted(g.unique())] + parts
    out = []
    for name, part in parts:
        y = part.groupby("ds").size().reindex(periods, fill_value=0)
        out.append(pd.DataFrame({"unique_id": f"{measure}:{name}", "measure": measure, "group": name,
                                 "ds": periods, "y": y.to_numpy(dtype=float)}))
    return pd.concat(out, ignore_index=True)


def case_arrivals(conn: Connection, scope: Scope, by: str | None = None, freq: str = "W",
                  cal: WorkCalendar | None = None) -> pd.DataFrame:
    """收件量 per week (month): cases received, per case type when by='case_type', and the total.
    Grain: one row per series × complete period (unique_id ``cases:<group>``, zero-filled)."""
    cols = [cases.c.received_at] + ([cases.c[by]] if by else [])
    df = fetch_frame(conn, select(*cols).where(scope.in_period(cases.c.received_at), *scope.filters(cases)),
                     ["t"] + ([by] if by else []))
    return _counts(df, by, complete_periods(scope, freq, cal), freq, "cases")


def petition_counts(conn: Connection, scope: Scope, by: str | None = None, freq: str = "W",
                    cal: WorkCalendar | None = None) -> pd.DataFrame:
    """信访件量 per week (month): petitions received, per topic (or township) when asked, and the total.
    Grain: one row per series × complete period (unique_id ``petitions:<group>``, zero-filled)."""
    cols = [petitions.c.received_at] + ([petitions.c[by]] if by else [])
    df = fetch_frame(conn, select(*cols).where(scope.in_period(petitions.c.received_at), *scope.filters(petitions)),
                     ["t"] + ([by] if by else []))
    return _counts(df, by, complete_periods(scope, freq, cal), freq, "petitions")


def history_scope(scope: Scope, min_days: int = MIN_HISTORY_DAYS) -> Scope:
    """The scope's period, or the `min_days` days up to its end when the period is shorter."""
    if scope.days >= min_days:
        return scope
    return replace(scope, start=scope.end - dt.timedelta(days=min_days - 1))


# ---------- forecast export ----------

def forecast_frames(series: pd.DataFrame, horizon: int = HORIZON_WEEKS, freq: str = "W") -> pd.DataFrame:
    """History + forecast rows for every series of a long frame (unique_id, measure, group, ds, y).

    Series whose history is all zeros or shorter than four periods get no forecast rows
    (model 'none'). Grain: one row per series × period; kind = history | forecast."""
    if series.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    meta = series.drop_duplicates("unique_id").set_index("unique_id")[["measure", "group"]]
    ok = series.groupby("unique_id")["y"].agg(lambda s: len(s) >= 4 and s.sum() > 0)
    fit = series[series["unique_id"].isin(ok[ok].index)]
    parts = []
    hist = series.assign(kind="history")
    if not fit.empty:
        fc, rep = forecast(fit[["unique_id", "ds", "y"]], freq, horizon, level=(80, 95), fill="zero",
                           exclude=EXCLUDE_MODELS)
        fc = fc.join(meta, on="unique_id").assign(kind="forecast", y=np.nan)
        parts.append(fc)
        hist = hist.merge(rep[["unique_id", "model", "mase", "snaive_mase", "coverage_80", "coverage_95"]],
                          on="unique_id", how="left")
        fc_rep = rep.set_index("unique_id")
        for col in ("mase", "snaive_mase", "coverage_80", "coverage_95"):
            parts[-1][col] = parts[-1]["unique_id"].map(fc_rep[col])
    out = pd.concat([hist] + parts, ignore_index=True)
    out["model"] = out["model"].fillna("none") if "model" in out else "none"
    out = out.reindex(columns=FORECAST_COLUMNS)
    order = {u: i for i, u in enumerate(dict.fromkeys(series["unique_id"]))}
    out["_o"] = out["unique_id"].map(order)
    out = out.sort_values(["_o", "ds"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out


def forecast_series(conn: Connection, scope: Scope, by: str | None = None, horizon: int = HORIZON_WEEKS,
                    cal: WorkCalendar | None = None) -> pd.DataFrame:
    """The `forecast` export: weekly arrivals (by case type) and/or petitions (by topic), history + forecast."""
    if by not in (None, *FORECAST_BY):
        raise ValueError(f"the forecast can be broken down by {', '.join(FORECAST_BY)}, not {by!r}")
    hs = history_scope(scope)
    parts = []
    if by in (None, TOTAL, "case_type"):
        parts.append(case_arrivals(conn, hs, "case_type" if by == "case_type" else None, "W", cal))
    if by in (None, TOTAL, "topic"):
        parts.append(petition_counts(conn, hs, "topic" if by == "topic" else None, "W", cal))
    return forecast_frames(pd.concat(parts, ignore_index=True), horizon, "W")


BACKTEST_COLUMNS = ["unique_id", "measure", "group", "model", "mase", "snaive_mase", "coverage_80", "coverage_95",
                    "beats_baseline"]


def backtest_frame(fc: pd.DataFrame) -> pd.DataFrame:
    """The backtest of a `forecast` frame (forecast_frames): one row per series, in the frame's order —
    model, mase, snaive_mase, coverage_80 / _95 (every row of a series carries the same values) and
    beats_baseline = mase < snaive_mase (False when either is missing: a series with no forecast)."""
    if fc.empty:
        return pd.DataFrame(columns=BACKTEST_COLUMNS)
    out = (fc.groupby("unique_id", sort=False)
           .agg(measure=("measure", "first"), group=("group", "first"), model=("model", "first"),
                mase=("mase", "first"), snaive_mase=("snaive_mase", "first"),
                coverage_80=("coverage_80", "first"), coverage_95=("coverage_95", "first"))
           .reset_index())
    out["beats_baseline"] = (out["mase"] < out["snaive_mase"]).fillna(False).astype(bool)
    return out[BACKTEST_COLUMNS]


def forecast_backtest(conn: Connection, scope: Scope, by: str | None = None, horizon: int = HORIZON_WEEKS,
                      cal: WorkCalendar | None = None) -> pd.DataFrame:
    """The `forecast-backtest` export: the backtest of the `forecast` export's series (same scope and `by`).
    Grain: one row per series."""
    return backtest_frame(forecast_series(conn, scope, by, horizon, cal))


# ---------- backlog projection ----------

BACKLOG_COLUMNS = ["group", "week", "week_end", "arrivals", "arrivals_lower_95", "arrivals_upper_95", "capacity",
                   "floor", "backlog", "backlog_lower_95", "backlog_upper_95", "backlog_upper_80", "overdue_at_risk",
                   "overdue_at_risk_upper_95", "backlog_now", "overdue_now", "backlog_rising", "overdue_rising",
                   "model", "mase", "snaive_mase"]


def rising(now: float, projected: float, share: float = RISE_SHARE, least: float = RISE_MIN) -> bool:
    """Projected value above today's by more than `share` of it and by at least `least`."""
    return bool(projected - now > max(share * now, least - 1e-9))


def workdays_in_weeks(week_starts, cal: WorkCalendar) -> np.ndarray:
    """Working days in each week starting on `week_starts` (official calendar and store overrides)."""
    return np.array([int(cal.is_workday(pd.date_range(w, periods=7, freq="D")).sum())
                     for w in pd.DatetimeIndex(week_starts)], dtype=float)


def cumulative_bound(yhat: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Weekly arrivals whose running sum follows the bound of the cumulative arrivals, taking the
    weekly forecast errors as independent: cum_k = Σ yhat + sign · sqrt(Σ (bound − yhat)²).
    (Putting every week at its own bound would assume perfectly correlated errors and widen the
    backlog band with the horizon much faster than the data warrant.)"""
    yhat, bound = np.asarray(yhat, float), np.asarray(bound, float)
    d = bound - yhat
    sign = np.where(d >= 0, 1.0, -1.0)
    cum = np.cumsum(yhat) + sign * np.sqrt(np.cumsum(d ** 2))
    cum = np.maximum.accumulate(np.maximum(cum, 0.0))
    return np.diff(np.r_[0.0, cum])


def project_backlog(open_cases: pd.DataFrame, arrivals: np.ndarray, week_starts: pd.DatetimeIndex,
                    capacity, floor_per_arrival: float, promised_new: float,
                    cal: WorkCalendar) -> tuple[np.ndarray, np.ndarray]:
    """Fluid FIFO queue, week by week: backlog and overdue-at-risk at each week's end.

    Start: the open cases (received_at, promised_days). Week k: the forecast arrivals join as one
    cohort received mid-week (Wednesday noon) with promised limit `promised_new`; completions are
    min(capacity (one number or one per week), backlog + arrivals − floor), where floor = arrivals × floor_per_arrival is the
    work in progress Little's law keeps open (arrival rate × mean throughput time), served oldest
    first. Overdue at risk = cases still open at the week's end past their promised limit
    (working days after receipt > promised, kpis.overdue's test)."""
    cohorts = [[1.0, pd.Timestamp(r), p] for r, p in zip(open_cases["received_at"], open_cases["promised_days"])]
    # week starts are local Mondays; received and week-end times are instants (naive UTC), as in the store
    week_at = utc_instants(pd.DatetimeIndex(week_starts), cal.tz) if len(week_starts) else pd.Series([], dtype="datetime64[ns]")
    week_end_at = utc_instants(pd.DatetimeIndex(week_starts) + pd.Timedelta(days=7), cal.tz) \
        if len(week_starts) else week_at
    cohorts.sort(key=lambda c: c[1])
    backlog_out, overdue_out = [], []
    caps = np.broadcast_to(np.asarray(capacity, float), (len(arrivals),))
    for a, w, w_end, capacity in zip(arrivals, week_at, week_end_at, caps):
        a = max(float(a), 0.0)
        cohorts.append([a, w + pd.Timedelta(days=2, hours=12), promised_new])
        total = sum(c[0] for c in cohorts)
        serve = max(0.0, min(capacity, total - a * floor_per_arrival))
        while serve > 1e-12 and cohorts:
            take = min(serve, cohorts[0][0])
            cohorts[0][0] -= take
            serve -= take
            if cohorts[0][0] <= 1e-12:
                cohorts.pop(0)
        end = w_end - pd.Timedelta(seconds=1)
        backlog_out.append(sum(c[0] for c in cohorts))
        if cohorts:
            rec = [c[1] for c in cohorts]
            age = cal.workdays_between(rec, [end] * len(rec))
            lim = np.array([np.nan if c[2] is None or pd.isna(c[2]) else float(c[2]) for c in cohorts])
            late = np.nan_to_num(age) > np.where(np.isnan(lim), np.inf, lim)
            overdue_out.append(float(sum(c[0] for c, x in zip(cohorts, late) if x)))
        else:
            overdue_out.append(0.0)
    return np.array(backlog_out), np.array(overdue_out)


def backlog_projection(conn: Connection, scope: Scope, cal: WorkCalendar, by: str | None = None,
                       horizon: int = HORIZON_WEEKS) -> pd.DataFrame:
    """在办件预测. Grain: one row per (case type ×) projected week after the period's end.

    arrivals: the `forecast` export's weekly case arrivals (yhat and 95% bounds) for the weeks after
    the period's end; capacity: the median weekly completions over the last CAPACITY_WEEKS full
    working weeks (five working days; a holiday week's low count is not a capacity) among the last
    CAPACITY_LOOKBACK weeks; floor: arrivals × the mean calendar-week throughput of those weeks'
    completions (Little's
    law — the backlog cannot drain below the work in progress); backlog and overdue_at_risk:
    project_backlog from the cases open at the period's end (kpis.open_cases_at_end's rows) — central
    with the forecast, lower/upper with the cumulative arrivals at their bounds (cumulative_bound); overdue_now: open
    cases past their limit at the end (kpis.overdue's test); backlog_rising / overdue_rising:
    `rising` at the horizon (more than +10% and +5 cases)."""
    if by not in (None, "case_type"):
        raise ValueError(f"the backlog projection can be broken down by case_type only, not {by!r}")
    hs = history_scope(scope)
    hist = case_arrivals(conn, hs, by, "W", cal)
    if hist.empty:
        return pd.DataFrame(columns=BACKLOG_COLUMNS)
    last_week = hist["ds"].max()
    first_future = pd.Timestamp(scope.end) + pd.Timedelta(days=7 - scope.end.weekday())
    gap = int((first_future - last_week).days // 7) - 1          # forecast weeks already (partly) observed
    fc = forecast_frames(hist, horizon + gap, "W")
    fc = fc[(fc["kind"] == "forecast") & (fc["ds"] >= first_future)]

    recent = replace(scope, start=(pd.Timestamp(first_future) - pd.Timedelta(weeks=CAPACITY_LOOKBACK)).date())
    extra = (by,) if by else ()
    done = efficiency.completed_cases(conn, recent, extra)
    done_weeks = complete_periods(recent, "W", cal)
    rec_q = select(cases.c.promised_days, *([cases.c[by]] if by else [])).where(
        recent.in_period(cases.c.received_at), *recent.filters(cases))
    rec = fetch_frame(conn, rec_q, ["promised_days"] + list(extra))
    still_open = efficiency.open_at_end(conn, scope, extra)
    end_instant = scope.end_ts - dt.timedelta(seconds=1)

    rows = []
    for uid, part in fc.groupby("unique_id", sort=False):
        group = part["group"].iloc[0]
        sel = (lambda df: df) if group == TOTAL else (lambda df, g=group: df[df[by].astype(object) == g])
        d = sel(done)
        per_week = _period_starts(d["closed_at"], "W").value_counts().reindex(done_weeks, fill_value=0)
        full = per_week[workdays_in_weeks(done_weeks, cal) >= 5].tail(CAPACITY_WEEKS)
        if len(full) < 3:
            full = per_week.tail(CAPACITY_WEEKS)
        capacity_week = float(np.median(full.to_numpy())) if len(full) else 0.0
        d = d[d["closed_at"] >= utc_instants([full.index.min()], cal.tz).iloc[0]] if len(full) else d
        tp_weeks = kpis.throughput(d, cal, "days") / 7.0 if len(d) else np.array([])
        floor_per_arrival = float(np.mean(tp_weeks)) if len(tp_weeks) else 0.0
        r = sel(rec)["promised_days"].dropna()
        promised_new = float(np.median(r)) if len(r) else math.nan
        op = sel(still_open)
        pend = op[op["promised_days"].notna()]
        age = cal.workdays_between(pend["received_at"], [end_instant] * len(pend))
        overdue_now = int((age > pend["promised_days"].to_numpy(dtype=float)).sum())
        weeks = pd.DatetimeIndex(part["ds"])
        capacity = np.full(len(weeks), capacity_week)
        yhat = part["yhat"].to_numpy(dtype=float)
        runs = {}
        for key, col in (("mid", None), ("lo95", "yhat_lower_95"), ("hi95", "yhat_upper_95"),
                         ("hi80", "yhat_upper_80")):
            arr = yhat if col is None else cumulative_bound(yhat, part[col].to_numpy(dtype=float))
            runs[key] = project_backlog(op, arr, weeks, capacity, floor_per_arrival, promised_new, cal)
        backlog_now = float(len(op))
        b_rise = rising(backlog_now, runs["mid"][0][-1])
        o_rise = rising(overdue_now, runs["mid"][1][-1])
        for k, w in enumerate(weeks):
            rows.append(dict(
                group=group, week=w.date(), week_end=(w + pd.Timedelta(days=6)).date(),
                arrivals=part["yhat"].iloc[k], arrivals_lower_95=part["yhat_lower_95"].iloc[k],
                arrivals_upper_95=part["yhat_upper_95"].iloc[k], capacity=capacity[k],
                floor=part["yhat"].iloc[k] * floor_per_arrival,
                backlog=runs["mid"][0][k], backlog_lower_95=runs["lo95"][0][k], backlog_upper_95=runs["hi95"][0][k],
                backlog_upper_80=runs["hi80"][0][k], overdue_at_risk=runs["mid"][1][k],
                overdue_at_risk_upper_95=runs["hi95"][1][k], backlog_now=backlog_now, overdue_now=overdue_now,
                backlog_rising=b_rise, overdue_rising=o_rise, model=part["model"].iloc[k],
                mase=part["mase"].iloc[k], snaive_mase=part["snaive_mase"].iloc[k]))
    return pd.DataFrame(rows, columns=BACKLOG_COLUMNS)


# ---------- land-use trajectories ----------

LAND_COLUMNS = ["measure", "region_code", "region_name", "year", "kind", "area_ha", "fit", "lower_80", "upper_80",
                "lower_95", "upper_95", "slope_ha_per_year", "trend_years", "target_ha", "cross_year",
                "cross_year_earliest_95", "cross_year_latest_95", "status"]


def trend_projection(years, areas, future_years, levels=(80, 95)) -> dict:
    """OLS line through (year, area) with prediction intervals for new observations in `future_years`
    (statsmodels get_prediction, obs intervals; t with n − 2 degrees of freedom). With two points the
    line is exact and the intervals are NaN; with fewer, everything is NaN."""
    x = np.asarray(years, float)
    a = np.asarray(areas, float)
    fut = np.asarray(future_years, float)
    out = {"fit": np.full(len(fut), np.nan), "slope": math.nan, "intercept": math.nan}
    for L in levels:
        out[f"lower_{L}"] = np.full(len(fut), np.nan)
        out[f"upper_{L}"] = np.full(len(fut), np.nan)
    if len(x) < 2 or np.ptp(x) == 0:
        return out
    slope, intercept = landuse.linear_trend(x, a)
    out.update(slope=slope, intercept=intercept, fit=intercept + slope * fut)
    if len(x) < 3:
        return out
    import statsmodels.api as sm
    x0 = x.mean()
    res = sm.OLS(a, sm.add_constant(x - x0)).fit()
    exog = sm.add_constant(fut - x0, has_constant="add")
    pred = res.get_prediction(exog)
    for L in levels:
        frame = pred.summary_frame(alpha=1 - L / 100.0)
        out[f"lower_{L}"] = frame["obs_ci_lower"].to_numpy()
        out[f"upper_{L}"] = frame["obs_ci_upper"].to_numpy()
    return out


def _first_below(years: np.ndarray, values: np.ndarray, target: float) -> int | None:
    below = np.nonzero(values < target)[0]
    return int(years[below[0]]) if len(below) else None


def land_trajectory(conn: Connection, scope: Scope, horizon_years: int = LAND_HORIZON_YEARS,
                    trend_years: int = landuse.TREND_YEARS) -> pd.DataFrame:
    """耕地与建设用地变化轨迹. Grain: one row per measure (cultivated | construction) × region (county,
    townships) × year: surveyed years (kind history, area_ha) up to scope.end.year, then `horizon_years`
    projected years (kind projection: fit and 80/95% prediction intervals of a least-squares line
    through the last `trend_years` surveyed years, as landuse.cultivated_target's trend).

    Cultivated land: target_ha, cross_year and status come from landuse.cultivated_target (the land
    page's own numbers: the first whole year the trend line is below the target); the interval
    cross_year_earliest_95 / _latest_95 is the first projected year the 95% lower / upper prediction
    bound is below the target (NaN for latest: not within the horizon). Construction land: codes
    CONSTRUCTION_CODES summed, no target."""
    series = landuse.cultivated_series(conn, scope)
    series = series.assign(measure="cultivated")
    years = landuse.available_years(conn, scope)
    if not years:
        return pd.DataFrame(columns=LAND_COLUMNS)
    last = landuse.clamp_year(scope.end.year, years)
    df = landuse.land_frame(conn, scope, [y for y in years if y <= last])
    con = df[df["category_code"].isin(CONSTRUCTION_CODES)]
    con = con.groupby(["region_code", "region_name", "year"], as_index=False)["area_ha"].sum().assign(level="township")
    if not scope.township and not con.empty:
        county = con.groupby("year", as_index=False)["area_ha"].sum()
        county_code = series.loc[series["level"] == "county", "region_code"]
        county = county.assign(level="county", region_code=county_code.iloc[0] if len(county_code) else None,
                               region_name=None)
        con = pd.concat([county, con], ignore_index=True)
    series = pd.concat([series, con.assign(measure="construction")], ignore_index=True)
    targets = landuse.cultivated_target(conn, scope, trend_years)
    tkey = {(r.level, r.region_code): r for r in targets.itertuples()}

    rows = []
    for (measure, level, code, name), part in series.groupby(["measure", "level", "region_code", "region_name"],
                                                             dropna=False, sort=False):
        code = None if pd.isna(code) else code
        name = None if pd.isna(name) else name
        part = part.sort_values("year")
        window = part.tail(trend_years)
        latest = int(part["year"].iloc[-1])
        fut = np.arange(latest + 1, latest + horizon_years + 1)
        proj = trend_projection(window["year"], window["area_ha"], fut)
        target, cross, status = math.nan, None, None
        early = late = None
        if measure == "cultivated":
            t = tkey.get((level, code))
            if t is not None:
                target, status = t.target_ha, t.status
                cross = None if pd.isna(t.projected_cross_year) else int(t.projected_cross_year)
            if not math.isnan(target) and status != "below":
                early = _first_below(fut, proj["lower_95"], target)
                late = _first_below(fut, proj["upper_95"], target)
        common = dict(measure=measure, region_code=code, region_name=name, slope_ha_per_year=proj["slope"],
                      trend_years=int(len(window)), target_ha=target, cross_year=cross,
                      cross_year_earliest_95=early, cross_year_latest_95=late, status=status)
        for r in part.itertuples():
            rows.append(dict(common, year=int(r.year), kind="history", area_ha=float(r.area_ha)))
        for k, yr in enumerate(fut):
            rows.append(dict(common, year=int(yr), kind="projection", fit=proj["fit"][k],
                             lower_80=proj["lower_80"][k], upper_80=proj["upper_80"][k],
                             lower_95=proj["lower_95"][k], upper_95=proj["upper_95"][k]))
    out = pd.DataFrame(rows).reindex(columns=LAND_COLUMNS)
    for col in ("cross_year", "cross_year_earliest_95", "cross_year_latest_95"):
        out[col] = out[col].astype("Int64")
    return out


def _exports():
    from analytics.exports import Export
    return [
        Export("forecast", "weekly case arrivals (by case type) and petitions (by topic) with totals: history "
               "(the period, at least 2 years) and an 8-week forecast with 80/95% bounds, the model, its backtest "
               "MASE and the seasonal naive's; one row per series × week",
               lambda conn, scope, cal, unit, by: forecast_series(conn, scope, by, cal=cal), by=FORECAST_BY),
        Export("forecast-backtest", "the forecast's rolling-origin backtest per series (same --by): the model, "
               "its MASE, the seasonal naive's MASE on the same windows, the 80/95% intervals' coverage and "
               "whether it beats the baseline; one row per series",
               lambda conn, scope, cal, unit, by: forecast_backtest(conn, scope, by, cal=cal), by=FORECAST_BY),
        Export("backlog-projection", "backlog and overdue-at-risk projected 8 weeks ahead from forecast arrivals "
               "against the recent completion capacity, with a rising flag; one row per (case type ×) week",
               lambda conn, scope, cal, unit, by: backlog_projection(conn, scope, cal, by), by=("case_type",)),
        Export("land-trajectory", "cultivated (01) and construction land (05-10) per region by year with a "
               "linear projection, 80/95% prediction intervals and the year cultivated land crosses below its "
               "target; one row per measure × region × year",
               lambda conn, scope, cal, unit, by: land_trajectory(conn, scope)),
    ]


EXPORTS = _exports()
