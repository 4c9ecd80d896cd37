"""Petitions (信访, 《信访工作条例》): volume, timely acceptance, on-time reply, satisfaction, repeats,
countdowns to the legal limits and the weekly trend by topic.

Limits come from analytics.kpis (ACCEPT_DAYS 15, REPLY_DAYS 60, +30 when extended, all calendar
days from receipt); the on-time reply test is kpis.replied_on_time, the cockpit's own. Each rate is
counted over the petitions whose deciding event falls in the period, as the cockpit's reply rate is:
acceptance over petitions accepted in it, reply over petitions replied in it, satisfaction over
petitions concluded (replied, else closed) in it. Petitioner keys are used to count repeats and
never leave this module.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from analytics import kpis
from analytics.efficiency import month_scopes
from analytics.kpis import ACCEPT_DAYS, REPLY_DAYS, REPLY_EXTENSION_DAYS
from analytics.scope import Scope
from etl.sqlframe import fetch_frame
from analytics.workcal import WorkCalendar, local_days
from etl.schema import petitions

GROUP_DIMS = ("topic", "channel", "township", "department", "system")
BY = GROUP_DIMS + ("period",)
#: A petition is a repeat when the same petitioner raised the same topic at most this many days before.
REPEAT_DAYS = 90
#: Countdown summaries are cut to this many characters.
SUMMARY_CHARS = 40
GOOD_SATISFACTION = ("satisfied", "basic")

METRIC_COLUMNS = ("received", "accepted", "timely_acceptance_rate", "replied", "reply_on_time_rate",
                  "concluded", "answered", "participation_rate", "satisfaction_rate", "repeat_petitions",
                  "repeat_petitioners")
_MISSING = "\x00missing"


def _check_by(by, allowed=BY):
    if by is not None and by not in allowed:
        raise ValueError(f"cannot group petitions by {by!r}; choose one of {', '.join(allowed)}")


def _day(values) -> pd.Series:
    """The bureau-local day of each stored instant (limits are counted in the bureau's dates)."""
    return local_days(pd.Series(values).reset_index(drop=True))


def _in(ts: pd.Series, scope: Scope) -> np.ndarray:
    t = pd.to_datetime(ts)
    return ((t >= scope.start_ts) & (t < scope.end_ts)).fillna(False).to_numpy(dtype=bool)


def accepted_on_time(df: pd.DataFrame) -> np.ndarray:
    """Per accepted petition: accepted within ACCEPT_DAYS (15) calendar days of receipt."""
    days = (_day(df["accepted_at"]) - _day(df["received_at"])).dt.days
    return days.to_numpy() <= ACCEPT_DAYS


def repeat_flags(history: pd.DataFrame, days: int = REPEAT_DAYS) -> pd.Series:
    """Per petition (petition_id, petitioner_key, topic, received_at): True when the same petitioner_key
    filed the same topic at most `days` calendar days (by date) before it. Missing keys or topics never repeat.

    Index: petition_id."""
    df = history.dropna(subset=["petitioner_key", "topic"]).copy()
    if df.empty:
        return pd.Series(False, index=pd.Index(history["petition_id"], name="petition_id"), dtype=bool)
    df["day"] = _day(df["received_at"]).to_numpy()
    df = df.sort_values(["petitioner_key", "topic", "received_at", "petition_id"])
    gap = (df["day"] - df.groupby(["petitioner_key", "topic"])["day"].shift()).dt.days
    flags = pd.Series((gap <= days).fillna(False).to_numpy(dtype=bool), index=df["petition_id"].to_numpy())
    return flags.reindex(history["petition_id"].to_numpy(), fill_value=False).rename_axis("petition_id")


# ---------- fetch ----------

def _touching(conn: Connection, scope: Scope, extra: tuple[str, ...]) -> pd.DataFrame:
    """Petitions received, accepted, replied or concluded in the period (filtered in SQL)."""
    cols = list(dict.fromkeys(["system", "petition_id", "received_at", "accepted_at", "replied_at", "closed_at",
                               "extended", "satisfaction", *extra]))
    concluded = func.coalesce(petitions.c.replied_at, petitions.c.closed_at)
    q = (select(*(petitions.c[c] for c in cols))
         .where(or_(scope.in_period(petitions.c.received_at), scope.in_period(petitions.c.accepted_at),
                    scope.in_period(petitions.c.replied_at), scope.in_period(concluded)),
                *scope.filters(petitions)))
    return fetch_frame(conn, q, cols)


def _repeats(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Per petition_id: repeat flag and key, for petitions with a key and topic received in the period or 90 days before.

    Not filtered by township or department: the earlier petition may have gone elsewhere."""
    since = scope.start_ts - dt.timedelta(days=REPEAT_DAYS)
    q = (select(petitions.c.system, petitions.c.petition_id, petitions.c.petitioner_key, petitions.c.topic,
                petitions.c.received_at)
         .where(petitions.c.received_at >= since, petitions.c.received_at < scope.end_ts,
                petitions.c.petitioner_key.is_not(None), petitions.c.topic.is_not(None)))
    hist = fetch_frame(conn, q, ["system", "petition_id", "petitioner_key", "topic", "received_at"])
    hist["petition_id"] = petition_keys(hist)        # ids are unique within a source system only
    flags = repeat_flags(hist)
    keys = pd.Series(hist["petitioner_key"].to_numpy(), index=hist["petition_id"].to_numpy())
    return pd.DataFrame({"repeat": flags, "key": keys.reindex(flags.index)})


def petition_keys(df: pd.DataFrame) -> pd.Series:
    """One key per petition: (system, petition_id) as one string (ids are unique within a source system only)."""
    return df["system"].astype(str) + "\x1f" + df["petition_id"].astype(str)


def group_metrics(df: pd.DataFrame, repeats: pd.DataFrame, scope: Scope) -> dict:
    """The metrics of one group's petitions (rows of _touching)."""
    nan = math.nan
    rec = df[_in(df["received_at"], scope)]
    acc = df[_in(df["accepted_at"], scope)]
    rep = df[_in(df["replied_at"], scope)]
    con = df[_in(df["replied_at"].where(df["replied_at"].notna(), df["closed_at"]), scope)]
    answered = con["satisfaction"].notna()
    rep_rows = repeats.reindex(petition_keys(rec).to_numpy())
    is_rep = rep_rows["repeat"].astype(object).fillna(False).astype(bool) if len(rep_rows) else pd.Series(dtype=bool)
    return dict(
        received=int(len(rec)),
        accepted=int(len(acc)),
        timely_acceptance_rate=float(np.mean(accepted_on_time(acc))) if len(acc) else nan,
        replied=int(len(rep)),
        reply_on_time_rate=float(np.mean(kpis.replied_on_time(rep))) if len(rep) else nan,
        concluded=int(len(con)),
        answered=int(answered.sum()),
        participation_rate=float(answered.mean()) if len(con) else nan,
        satisfaction_rate=float(con.loc[answered, "satisfaction"].isin(GOOD_SATISFACTION).mean())
        if answered.any() else nan,
        repeat_petitions=int(is_rep.sum()),
        repeat_petitioners=int(rep_rows.loc[is_rep.to_numpy(), "key"].nunique()),
    )


def petition_metrics(conn: Connection, scope: Scope, cal: WorkCalendar | None = None, unit: str = "workdays",
                     by: str | None = None) -> pd.DataFrame:
    """信访指标. Grain: one row per group value of `by` (one row in all when None; one per calendar month
    when `period`, each month its own scope clipped to the period). Counts only; no petitioner data."""
    _check_by(by)
    df = _touching(conn, scope, (by,) if by and by != "period" else ())
    repeats = _repeats(conn, scope)
    if by == "period":
        # One fetch for every month: a month's petitions are among the period's, group_metrics cuts them by the
        # month's instants, and a repeat flag looks only back (90 days before the period covers every month's).
        rows = [{"period": label, **group_metrics(df, repeats, sub), "period_start": sub.start.isoformat(),
                 "period_end": sub.end.isoformat()} for label, sub in month_scopes(scope)]
        return pd.DataFrame(rows, columns=["period", *METRIC_COLUMNS, "period_start", "period_end"])
    if by:
        keys = df[by].astype(object).where(df[by].notna(), _MISSING)
        parts = {(None if k == _MISSING else k): part for k, part in df.groupby(keys, sort=False)}
    else:
        parts = {None: df}
    rows = []
    for k in sorted(parts, key=lambda v: (v is None, str(v))):
        rows.append({**({by: k} if by else {}), **group_metrics(parts[k], repeats, scope),
                     "period_start": scope.start.isoformat(), "period_end": scope.end.isoformat()})
    return pd.DataFrame(rows, columns=([by] if by else []) + list(METRIC_COLUMNS) + ["period_start", "period_end"])


def _truncate(text, n: int = SUMMARY_CHARS):
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


#: A petition is near its limit when its acceptance or reply is due within this many calendar days (or overdue).
NEAR_LIMIT_DAYS = 7


def near_limit(countdown_frame: pd.DataFrame, days: int = NEAR_LIMIT_DAYS) -> pd.DataFrame:
    """The rows of the `petition-countdown` export due within `days` calendar days or past due, most urgent first."""
    df = countdown_frame
    return df[df["days_left"].notna() & (df["days_left"] <= days)]


def countdown(conn: Connection, scope: Scope) -> pd.DataFrame:
    """信访时限倒计时. Grain: one row per petition open at the period's end (received by then, not closed
    or rejected) that still awaits acceptance or a reply then. days_left_accept / days_left_reply:
    calendar days from the period's last day to the acceptance limit (receipt + 15) / the reply limit
    (receipt + 60, or + 90 when extended); empty when that step is done. Most urgent first; negative =
    past the limit. No petitioner key; the summary is cut to SUMMARY_CHARS characters."""
    cols = ["system", "petition_id", "received_at", "channel", "topic", "township", "department", "status",
            "extended", "accepted_at", "replied_at", "summary"]
    end = scope.end_ts
    q = (select(*(petitions.c[c] for c in cols))
         .where(petitions.c.received_at < end,
                or_(petitions.c.closed_at.is_(None), petitions.c.closed_at >= end),
                or_(petitions.c.status.is_(None), petitions.c.status != "rejected"),
                or_(petitions.c.accepted_at.is_(None), petitions.c.accepted_at >= end,
                    petitions.c.replied_at.is_(None), petitions.c.replied_at >= end),
                *scope.filters(petitions)))
    df = fetch_frame(conn, q, cols)
    out_cols = ["system", "petition_id", "received_at", "channel", "topic", "township", "department", "extended",
                "days_left_accept", "days_left_reply", "days_left", "overdue", "summary"]
    if df.empty:
        return pd.DataFrame(columns=out_cols)
    day = _day(df["received_at"])
    last = pd.Timestamp(scope.end)
    pending_accept = (pd.to_datetime(df["accepted_at"]).isna() | (pd.to_datetime(df["accepted_at"]) >= end)).to_numpy()
    pending_reply = (pd.to_datetime(df["replied_at"]).isna() | (pd.to_datetime(df["replied_at"]) >= end)).to_numpy()
    extended = df["extended"].astype(object).fillna(False).astype(bool).to_numpy()
    reply_limit = np.where(extended, REPLY_DAYS + REPLY_EXTENSION_DAYS, REPLY_DAYS)
    to_accept = (day + pd.Timedelta(days=ACCEPT_DAYS) - last).dt.days.to_numpy(dtype=float)
    to_reply = (day + pd.to_timedelta(reply_limit, unit="D") - last).dt.days.to_numpy(dtype=float)
    df["days_left_accept"] = np.where(pending_accept, to_accept, np.nan)
    df["days_left_reply"] = np.where(pending_reply, to_reply, np.nan)
    df["days_left"] = df[["days_left_accept", "days_left_reply"]].min(axis=1)
    df["overdue"] = df["days_left"] < 0
    df["summary"] = [_truncate(s) for s in df["summary"]]
    df["extended"] = extended
    return df.sort_values(["days_left", "received_at", "system", "petition_id"])[out_cols].reset_index(drop=True)


def weekly_trend(conn: Connection, scope: Scope) -> pd.DataFrame:
    """信访趋势. Grain: one row per ISO week (Monday) × topic seen in the period, zero-filled."""
    q = (select(petitions.c.received_at, petitions.c.topic)
         .where(scope.in_period(petitions.c.received_at), *scope.filters(petitions)))
    df = fetch_frame(conn, q, ["received_at", "topic"])
    weeks = pd.date_range(pd.Timestamp(scope.start) - pd.Timedelta(days=scope.start.weekday()),
                          pd.Timestamp(scope.end), freq="7D")
    if df.empty:
        return pd.DataFrame({"week": pd.Series(dtype="datetime64[ns]"), "topic": pd.Series(dtype=object),
                             "petitions": pd.Series(dtype=int)})
    t = _day(df["received_at"])
    df["week"] = (t - pd.to_timedelta(t.dt.day_of_week, unit="D")).to_numpy()
    df["topic"] = df["topic"].astype(object).where(df["topic"].notna(), _MISSING)
    counts = df.groupby(["week", "topic"]).size()
    topics = sorted(df["topic"].unique(), key=lambda v: (v == _MISSING, str(v)))
    full = pd.MultiIndex.from_product([weeks, topics], names=["week", "topic"])
    out = counts.reindex(full, fill_value=0).rename("petitions").reset_index()
    out["topic"] = out["topic"].astype(object).where(out["topic"] != _MISSING, None)
    out["petitions"] = out["petitions"].astype(int)
    return out


def _exports():
    from analytics.exports import Export
    return [
        Export("petitions", "信访: volume, timely acceptance (15 d), on-time reply (60/90 d), participation, "
               "satisfaction, repeat petitions (same petitioner and topic within 90 d); one row per group",
               lambda conn, scope, cal, unit, by: petition_metrics(conn, scope, cal, unit, by), by=BY),
        Export("petition-countdown", "open petitions with days left to the acceptance and reply limits at the "
               "period end, most urgent first; one row per petition, no personal data",
               lambda conn, scope, cal, unit, by: countdown(conn, scope)),
        Export("petition-trend", "petitions received per ISO week and topic; one row per week × topic",
               lambda conn, scope, cal, unit, by: weekly_trend(conn, scope)),
    ]


EXPORTS = _exports()
