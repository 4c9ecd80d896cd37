"""Case-handling efficiency (办件效能): per-group rates, backlog age, weekly flow, overdue list, drill-down.

Every formula that the cockpit already defines is taken from `analytics.kpis` (throughput, on-time
rate, overdue, good-rating rate, online channels, completed statuses); this module only groups them
and adds the efficiency metrics of docs/kpis.md that the cockpit does not show. The rows it reads
are the cockpit's rows: `completed` = kpis.closed_cases' rows, `open at the end` =
kpis.open_cases_at_end's rows (tests/test_efficiency.py checks the totals agree).

SQL does the filtering and, where no working-day arithmetic is needed, the counting; months and
weeks are bucketed in pandas so SQLite and PostgreSQL give the same results.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import Float, and_, case as sql_case, cast, func, or_, select
from sqlalchemy.engine import Connection

from analytics import kpis
from analytics.kpis import DONE_STATUSES, ONLINE_CHANNELS
from analytics.scope import Scope
from etl.sqlframe import fetch_frame
from analytics.workcal import WorkCalendar, local_days, utc_instants
from etl.schema import cases

#: Case attributes a result can be grouped by; `period` (calendar month) is handled separately.
GROUP_DIMS = ("case_type", "service_item", "department", "township", "channel", "system")
BY = GROUP_DIMS + ("period",)
#: Age bands of open cases in working days: (label, lowest, highest) inclusive.
AGE_BANDS = (("0-5", 0, 5), ("6-10", 6, 10), ("11-20", 11, 20), ("21-40", 21, 40), (">40", 41, math.inf))
#: An open case with at most this many working days left before its promised limit is "near" it.
NEAR_LIMIT_DAYS = 2
#: Headline rates whose period-over-period and year-over-year changes are reported.
HEADLINE = ("on_time_rate", "on_time_rate_statutory", "online_rate", "instant_rate", "zero_visit_rate",
            "one_visit_rate", "good_rating_rate", "rating_participation", "throughput_median")

METRIC_COLUMNS = (
    "received", "completed", "throughput_median", "throughput_mean", "throughput_p90",
    "on_time_rate", "on_time_rate_statutory", "overdue", "limit_compression", "actual_vs_promised_median",
    "instant_rate", "online_rate", "zero_visit_rate", "one_visit_rate", "good_rating_rate", "bad_ratings",
    "rating_participation",
)


def _check_by(by: str | None, allowed=BY) -> None:
    if by is not None and by not in allowed:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(allowed)}")


def _key(value):
    """One spelling for a missing group value (SQL NULL, None, NaN)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else value


def _period_end_instant(scope: Scope) -> dt.datetime:
    """The period's last instant: ages are counted to the period's last day (as kpis.overdue does)."""
    return scope.end_ts - dt.timedelta(seconds=1)


def month_scopes(scope: Scope) -> list[tuple[str, Scope]]:
    """The scope cut into calendar months (first and last clipped to the scope), labelled YYYY-MM."""
    out, first = [], scope.start.replace(day=1)
    while first <= scope.end:
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        out.append((first.strftime("%Y-%m"),
                    replace(scope, start=max(first, scope.start), end=min(nxt - dt.timedelta(days=1), scope.end))))
        first = nxt
    return out


# ---------- fetch: the cockpit's rows, with the extra columns a breakdown needs ----------

def completed_cases(conn: Connection, scope: Scope, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of kpis.closed_cases (completed in the period) with case_id, visits and `extra` columns."""
    return kpis.closed_cases(conn, scope, ("case_id", "visits", *extra))


def open_at_end(conn: Connection, scope: Scope, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of kpis.open_cases_at_end with case_id and `extra` columns."""
    return kpis.open_cases_at_end(conn, scope, ("case_id", *extra))


def _received_counts(conn: Connection, scope: Scope, dim: str | None) -> pd.DataFrame:
    """Per group, in SQL: cases received, of them online (kpis.ONLINE_CHANNELS), and limit compression sums."""
    valid = and_(cases.c.statutory_days > 0, cases.c.promised_days.is_not(None))
    ratio = cast(cases.c.statutory_days - cases.c.promised_days, Float) / cast(cases.c.statutory_days, Float)
    measures = [
        func.count().label("received"),
        func.sum(sql_case((cases.c.channel.in_(ONLINE_CHANNELS), 1), else_=0)).label("online"),
        func.sum(sql_case((valid, ratio), else_=None)).label("compression_sum"),
        func.sum(sql_case((valid, 1), else_=0)).label("compression_n"),
    ]
    keys = [cases.c[dim]] if dim else []
    q = select(*keys, *measures).where(scope.in_period(cases.c.received_at), *scope.filters(cases))
    if dim:
        q = q.group_by(cases.c[dim])
    names = ([dim] if dim else []) + ["received", "online", "compression_sum", "compression_n"]
    df = pd.DataFrame(conn.execute(q).all(), columns=names)
    for c in ("received", "online", "compression_sum", "compression_n"):
        df[c] = pd.to_numeric(df[c].astype(object), errors="coerce").astype(float)
    return df


# ---------- metrics of one group ----------

def completed_metrics(done: pd.DataFrame, cal: WorkCalendar, unit: str = "workdays") -> dict[str, float]:
    """The metrics of a group's completed cases (a frame of completed_cases' columns)."""
    n = len(done)
    nan = math.nan
    if n == 0:
        return dict(completed=0, throughput_median=nan, throughput_mean=nan, throughput_p90=nan, on_time_rate=nan,
                    on_time_rate_statutory=nan, actual_vs_promised_median=nan, instant_rate=nan,
                    zero_visit_rate=nan, one_visit_rate=nan, good_rating_rate=nan, bad_ratings=0,
                    rating_participation=nan)
    taken = kpis.throughput(done, cal, unit)
    promised = pd.to_numeric(done["promised_days"], errors="coerce").to_numpy(dtype=float)
    positive = promised > 0
    worked = kpis.throughput(done, cal, "workdays")   # limits are in working days whatever the unit
    visits = pd.to_numeric(done["visits"], errors="coerce").dropna()
    ratings = pd.to_numeric(done["rating"], errors="coerce")
    same_day = (local_days(done["received_at"], cal.tz) == local_days(done["closed_at"], cal.tz)).to_numpy()
    return dict(
        completed=n,
        throughput_median=kpis.median_throughput(done, cal, unit),
        throughput_mean=float(np.mean(taken)),
        throughput_p90=float(np.percentile(taken, 90)),
        on_time_rate=kpis.on_time_rate(done, cal),
        on_time_rate_statutory=kpis.on_time_rate(done.assign(promised_days=done["statutory_days"]), cal),
        actual_vs_promised_median=float(np.median(worked[positive] / promised[positive])) if positive.any() else nan,
        instant_rate=float(same_day.mean()),
        zero_visit_rate=float((visits == 0).mean()) if len(visits) else nan,
        one_visit_rate=float((visits <= 1).mean()) if len(visits) else nan,
        good_rating_rate=kpis.good_rating_rate(done.assign(rating=ratings)),
        bad_ratings=int((ratings <= 2).sum()),
        rating_participation=float(ratings.notna().sum() / n),
    )


def _received_metrics(row) -> dict[str, float]:
    received = 0 if row is None else int(row["received"])
    if not received:
        return dict(received=0, online_rate=math.nan, limit_compression=math.nan)
    n = row["compression_n"]
    return dict(received=received, online_rate=float(row["online"]) / received,
                limit_compression=float(row["compression_sum"]) / n if n else math.nan)


_MISSING = "\x00missing"


def _split(df: pd.DataFrame, dim: str) -> dict:
    """Rows of df per group value (missing values together, keyed None)."""
    keys = df[dim].astype(object).map(_key).fillna(_MISSING)
    return {(None if k == _MISSING else k): part for k, part in df.groupby(keys, sort=False)}


def _grouped(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str, dim: str | None) -> list[dict]:
    extra = (dim,) if dim else ()
    rec = _received_counts(conn, scope, dim)
    done = completed_cases(conn, scope, extra)
    still = open_at_end(conn, scope, extra)
    if dim:
        rec_by = {k: part.iloc[0].to_dict() for k, part in _split(rec, dim).items()}
        done_by, still_by = _split(done, dim), _split(still, dim)
        keys = set(rec_by) | set(done_by) | set(still_by)
    else:
        keys = {None}
        rec_by = {None: rec.iloc[0].to_dict()} if len(rec) else {}
        done_by, still_by = {None: done}, {None: still}
    rows = []
    for k in sorted(keys, key=lambda v: (v is None, str(v))):
        d, o = done_by.get(k, done.iloc[:0]), still_by.get(k, still.iloc[:0])
        row = {dim: k} if dim else {}
        row.update(_received_metrics(rec_by.get(k)))
        row.update(completed_metrics(d, cal, unit))
        row["overdue"] = kpis.overdue(d, o, scope, cal)
        rows.append(row)
    return rows


def case_efficiency(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
                    by: str | None = None) -> pd.DataFrame:
    """办件效能. Grain: one row per group value of `by` (one row in all when None; one per calendar month
    when `period`, each month computed as its own scope clipped to the period).

    received, online_rate, limit_compression: over cases received in the (sub)period; completed,
    throughput_*, on-time rates, actual_vs_promised, instant, visit and rating metrics: over cases
    completed in it; overdue: as kpis.overdue (late completions + open cases past their limit at the end).
    """
    _check_by(by)
    if by == "period":
        rows = []
        for label, sub in month_scopes(scope):
            (row,) = _grouped(conn, sub, cal, unit, None)
            rows.append({"period": label, **row, "period_start": sub.start.isoformat(),
                         "period_end": sub.end.isoformat()})
        cols = ["period", *METRIC_COLUMNS, "period_start", "period_end"]
        return pd.DataFrame(rows, columns=cols)
    rows = _grouped(conn, scope, cal, unit, by)
    for row in rows:
        row.update(period_start=scope.start.isoformat(), period_end=scope.end.isoformat())
    cols = ([by] if by else []) + list(METRIC_COLUMNS) + ["period_start", "period_end"]
    return pd.DataFrame(rows, columns=cols)


def _change(a: float, b: float) -> float:
    return a - b if not (pd.isna(a) or pd.isna(b)) else math.nan


def case_efficiency_changes(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
                            by: str | None = None) -> pd.DataFrame:
    """Headline rates now, in the previous period (same length, just before) and a year before.

    Grain: one row per group × headline metric. change = value − previous, change_yoy = value −
    year_before (rates in points, throughput in `unit`). With by=period each month is compared with
    its own previous() and year_before() scopes.
    """
    _check_by(by)
    if by == "period":
        pieces = [(label, sub) for label, sub in month_scopes(scope)]
        frames = []
        for label, sub in pieces:
            now, prev, yoy = (case_efficiency(conn, s, cal, unit, None) for s in (sub, sub.previous(), sub.year_before()))
            for f in (now, prev, yoy):
                f.insert(0, "period", label)
            frames.append((now, prev, yoy))
        now = pd.concat([f[0] for f in frames], ignore_index=True)
        prev = pd.concat([f[1] for f in frames], ignore_index=True)
        yoy = pd.concat([f[2] for f in frames], ignore_index=True)
        key = "period"
    else:
        now, prev, yoy = (case_efficiency(conn, s, cal, unit, by) for s in (scope, scope.previous(), scope.year_before()))
        key = by
    rows = []
    index = (lambda f: {_key(k): r for k, r in zip(f[key], f.to_dict("records"))}) if key \
        else (lambda f: {None: f.iloc[0].to_dict()} if len(f) else {})
    now_i, prev_i, yoy_i = index(now), index(prev), index(yoy)
    for k, r in now_i.items():
        p, y = prev_i.get(k, {}), yoy_i.get(k, {})
        for metric in HEADLINE:
            v, pv, yv = r[metric], p.get(metric, math.nan), y.get(metric, math.nan)
            rows.append({**({key: k} if key else {}), "metric": metric, "value": v, "previous": pv,
                         "change": _change(v, pv), "year_before": yv, "change_yoy": _change(v, yv)})
    cols = ([key] if key else []) + ["metric", "value", "previous", "change", "year_before", "change_yoy"]
    return pd.DataFrame(rows, columns=cols)


# ---------- backlog, flow, overdue list, drill-down ----------

def age_band(age: float) -> str:
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return AGE_BANDS[-1][0] if age > 0 else AGE_BANDS[0][0]


def _open_with_age(conn: Connection, scope: Scope, cal: WorkCalendar, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    df = open_at_end(conn, scope, extra)
    end = _period_end_instant(scope)
    df["age"] = cal.workdays_between(df["received_at"], [end] * len(df)) if len(df) else np.array([], dtype=float)
    promised = pd.to_numeric(df["promised_days"], errors="coerce").astype(float)
    df["days_left"] = promised - df["age"]
    df["past_limit"] = (df["days_left"] < 0).fillna(False).astype(bool)   # age > promised, as kpis.overdue
    return df


def backlog_age(conn: Connection, scope: Scope, cal: WorkCalendar, by: str | None = None) -> pd.DataFrame:
    """在办件账龄. Grain: one row per (group ×) age band in working days, all bands present.

    open: cases open at the period's end (kpis.backlog's rows) whose age — working days from receipt to
    the period's last day — falls in the band; past_limit: of them, older than their promised limit.
    """
    _check_by(by, GROUP_DIMS)
    df = _open_with_age(conn, scope, cal, (by,) if by else ())
    df["age_band"] = [age_band(a) for a in df["age"]]
    parts = _split(df, by) if by else {None: df}
    rows = []
    for g in sorted(parts, key=lambda v: (v is None, str(v))):
        part = parts[g]
        for label, _low, _high in AGE_BANDS:
            band = part[part["age_band"] == label]
            rows.append({**({by: g} if by else {}), "age_band": label, "open": int(len(band)),
                         "past_limit": int(band["past_limit"].sum())})
    return pd.DataFrame(rows, columns=([by] if by else []) + ["age_band", "open", "past_limit"])


def overdue_cases(conn: Connection, scope: Scope, cal: WorkCalendar) -> pd.DataFrame:
    """超期及临期件. Grain: one row per case open at the period's end with a promised limit and at most
    NEAR_LIMIT_DAYS working days left (negative = overdue), most urgent first. No personal data."""
    cols = ["system", "case_id", "case_type", "department", "township", "received_at", "promised_days", "age",
            "days_left"]
    df = _open_with_age(conn, scope, cal, ("system", "case_type", "department", "township"))
    df = df[df["days_left"].notna() & (df["days_left"] <= NEAR_LIMIT_DAYS)]
    df = df.sort_values(["days_left", "received_at", "system", "case_id"])
    out = df[cols].reset_index(drop=True)
    out["overdue"] = out["days_left"] < 0
    return out


def littles_law(conn: Connection, scope: Scope, cal: WorkCalendar, flow: pd.DataFrame | None = None) -> dict:
    """Little's law check: mean backlog ≈ arrival rate × mean throughput time (calendar days).

    arrival_rate_per_day = cases received in the period / days in it; mean_throughput_days = mean
    calendar-day throughput of cases completed in it; mean_backlog = mean of the week-end backlogs.
    """
    flow = weekly_flow_backlog(conn, scope, cal) if flow is None else flow
    rate = float(flow["received"].sum()) / scope.days
    done = kpis.closed_cases(conn, scope)
    mean_tp = float(np.mean(kpis.throughput(done, cal, "days"))) if len(done) else math.nan
    expected = rate * mean_tp
    mean_backlog = float(flow["backlog"].mean()) if len(flow) else math.nan
    return dict(arrival_rate_per_day=rate, mean_throughput_days=mean_tp, expected_backlog=expected,
                mean_backlog=mean_backlog,
                ratio=mean_backlog / expected if expected and not math.isnan(expected) else math.nan)


def weekly_flow_backlog(conn: Connection, scope: Scope, cal: WorkCalendar) -> pd.DataFrame:
    """kpis.weekly_flow plus the backlog (cases open, as kpis.backlog) at each week's end.

    A week ends at the next Monday 00:00, the last week at the period's end."""
    flow = kpis.weekly_flow(conn, scope)
    if flow.empty:
        return flow.assign(backlog=pd.Series(dtype=int), week_end=pd.Series(dtype="datetime64[ns]"))
    first = utc_instants([flow["week"].min()], scope.tz).iloc[0].to_pydatetime()   # weeks are local Mondays
    q = (select(cases.c.received_at, cases.c.closed_at)
         .where(cases.c.received_at < scope.end_ts,
                or_(cases.c.closed_at.is_(None), cases.c.closed_at >= first), *scope.filters(cases)))
    df = fetch_frame(conn, q, ["received_at", "closed_at"])
    rec = pd.to_datetime(df["received_at"]).to_numpy(dtype="datetime64[us]")
    clo = pd.to_datetime(df["closed_at"]).to_numpy(dtype="datetime64[us]")
    ends = np.minimum((flow["week"] + pd.Timedelta(days=7)).to_numpy(dtype="datetime64[us]"),
                      np.datetime64(dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time.min), "us"))
    at = utc_instants(ends, scope.tz).to_numpy(dtype="datetime64[us]")     # local week ends as instants
    backlog = [int(((rec < t) & (np.isnat(clo) | (clo >= t))).sum()) for t in at]
    flow = flow.assign(week_end=pd.to_datetime(ends), backlog=backlog)
    flow["net"] = flow["received"] - flow["closed"]
    return flow


def flow(conn: Connection, scope: Scope, cal: WorkCalendar) -> pd.DataFrame:
    """到件与办结. Grain: one row per ISO week: received, closed, net, backlog at the week's end, and the
    period's Little's-law figures (the same on every row): expected_backlog = arrival rate × mean
    throughput, mean_backlog, ratio = mean_backlog / expected_backlog."""
    weekly = weekly_flow_backlog(conn, scope, cal)
    check = littles_law(conn, scope, cal, weekly)
    for k in ("arrival_rate_per_day", "mean_throughput_days", "expected_backlog", "mean_backlog", "ratio"):
        weekly[f"littles_{k}"] = check[k]
    return weekly


DRILL_COLUMNS = ["system", "case_id", "case_type", "service_item", "department", "township", "channel", "status",
                 "received_at", "closed_at", "promised_days", "statutory_days", "visits", "rating"]


def case_list(conn: Connection, scope: Scope, cal: WorkCalendar, unit: str = "workdays",
              limit: int | None = None) -> pd.DataFrame:
    """办件明细 (drill-down). Grain: one row per case active in the period — received before its end and
    not closed before its start. throughput (in `unit`) for cases completed by the period's end; age
    (working days to the period's last day) for cases still open then; on_time against the promised
    limit for completed ones. No applicant key."""
    q = (select(*(cases.c[c] for c in DRILL_COLUMNS))
         .where(cases.c.received_at < scope.end_ts,
                or_(cases.c.closed_at.is_(None), cases.c.closed_at >= scope.start_ts), *scope.filters(cases))
         .order_by(cases.c.received_at, cases.c.system, cases.c.case_id))
    if limit:
        q = q.limit(limit)
    df = fetch_frame(conn, q, DRILL_COLUMNS)
    closed = pd.to_datetime(df["closed_at"])
    done = df["status"].isin(DONE_STATUSES).to_numpy() & (closed < scope.end_ts).fillna(False).to_numpy()
    still = (closed.isna() | (closed >= scope.end_ts)).to_numpy()
    tp = kpis.throughput(df, cal, unit) if len(df) else np.array([], dtype=float)
    wd = kpis.throughput(df, cal, "workdays") if len(df) else np.array([], dtype=float)
    df["throughput"] = np.where(done, tp, np.nan)
    end = _period_end_instant(scope)
    df["age"] = np.where(still, cal.workdays_between(df["received_at"], [end] * len(df)), np.nan) \
        if len(df) else np.array([], dtype=float)
    promised = pd.to_numeric(df["promised_days"], errors="coerce").to_numpy(dtype=float)
    df["on_time"] = pd.array([bool(w <= p) if d and not np.isnan(p) else None for w, p, d in zip(wd, promised, done)],
                             dtype="boolean")
    return df


def _exports():
    from analytics.exports import Export
    return [
        Export("case-efficiency", "办件效能 per group: received, completed, throughput median/mean/P90, on-time vs "
               "promised and statutory, overdue, limit compression, instant, online, visits, ratings; one row per group",
               lambda conn, scope, cal, unit, by: case_efficiency(conn, scope, cal, unit, by), by=BY),
        Export("case-efficiency-changes", "headline efficiency rates vs the previous period and a year before; "
               "one row per group × metric",
               lambda conn, scope, cal, unit, by: case_efficiency_changes(conn, scope, cal, unit, by), by=BY),
        Export("backlog-age", "open cases at the period end by age band (working days) and past-limit count; "
               "one row per (group ×) band",
               lambda conn, scope, cal, unit, by: backlog_age(conn, scope, cal, by), by=GROUP_DIMS),
        Export("flow", "arrivals, completions and week-end backlog per ISO week with a Little's-law check; "
               "one row per week",
               lambda conn, scope, cal, unit, by: flow(conn, scope, cal)),
        Export("overdue-cases", "cases open at the period end past or within 2 working days of their promised "
               "limit; one row per case, most urgent first",
               lambda conn, scope, cal, unit, by: overdue_cases(conn, scope, cal)),
        Export("cases", "drill-down: cases active in the period with throughput or age; one row per case",
               lambda conn, scope, cal, unit, by: case_list(conn, scope, cal, unit)),
    ]


EXPORTS = _exports()


# ---------- distributions and drill-down (the pages' selections) ----------

def box_stats(df: pd.DataFrame, group: str, value: str) -> pd.DataFrame:
    """Per-group quartiles and Tukey whiskers of `value`: the aggregate a box plot needs (no raw points)."""
    rows = []
    for name, s in df.groupby(group, sort=True)[value]:
        s = s.dropna()
        if s.empty:
            continue
        q1, med, q3 = np.percentile(s, [25, 50, 75])
        iqr = q3 - q1
        lo = float(s[s >= q1 - 1.5 * iqr].min())
        hi = float(s[s <= q3 + 1.5 * iqr].max())
        rows.append({group: name, "n": int(s.size), "min": float(s.min()), "q1": float(q1), "median": float(med),
                     "q3": float(q3), "p90": float(np.percentile(s, 90)), "max": float(s.max()),
                     "mean": float(s.mean()), "lower_fence": lo, "upper_fence": hi})
    return pd.DataFrame(rows, columns=[group, "n", "min", "q1", "median", "q3", "p90", "max", "mean",
                                       "lower_fence", "upper_fence"])


def throughput_distribution(cases_frame: pd.DataFrame, scope: Scope, by: str) -> pd.DataFrame:
    """Quartiles and whiskers of throughput time per `by` group over the cases completed in the period (rows of
    the `cases` export, whose times are bureau wall-clock), so a box plot needs no per-case rows. Grain: one row
    per group."""
    done = cases_frame[cases_frame["throughput"].notna() & cases_frame["closed_at"].notna()]
    start, end = pd.Timestamp(scope.start), pd.Timestamp(scope.end + dt.timedelta(days=1))   # local, as exported
    done = done[(done["closed_at"] >= start) & (done["closed_at"] < end)]
    return box_stats(done, by, "throughput")


def drill_cases(cases_frame: pd.DataFrame, by: str | None, values, limit: int) -> tuple[pd.DataFrame, int]:
    """The cases behind the chosen `by` groups (rows of the `cases` export), longest first (open ones by age),
    capped at `limit`; returns (frame, how many matched)."""
    df = cases_frame
    if by and values:
        df = df[df[by].astype(str).isin([str(v) for v in values])]
    order = df["throughput"].fillna(df["age"])
    df = df.assign(_o=order).sort_values("_o", ascending=False).drop(columns="_o")
    return df.head(limit).reset_index(drop=True), len(df)
