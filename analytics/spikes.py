"""Petition spikes (信访激增预警) — the one spike definition; the petitions page and the weekly briefing
both use this export.

Petition spikes (`petition-spikes`): weekly petitions per topic × township; each week is compared
with a one-step forecast made from the weeks before it only — the mean of the previous
SPIKE_BASE_WEEKS weeks (at least SPIKE_MIN_HISTORY), with weeks already flagged entering the
baseline capped at their upper bound, so a sustained spike does not raise its own baseline — and
its Poisson 95% interval. A week above the upper bound with at least SPIKE_MIN_COUNT petitions is a
spike.

Reasons: ``analytics.reasons`` (code ``petition_spike``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics.workcal import local_days, local_instant
from analytics.reasons import reason
from analytics.scope import Scope
from etl.schema import petitions

#: Petition spikes.
SPIKE_BASE_WEEKS = 26
SPIKE_MIN_HISTORY = 8
SPIKE_MIN_COUNT = 5
SPIKE_LEVEL = 95

SPIKE_COLUMNS = ["week", "topic", "township", "count", "expected", "upper_95", "p_value", "reason_zh", "reason_en"]


def weekly_petitions(conn: Connection, scope: Scope, history_weeks: int = SPIKE_BASE_WEEKS) -> pd.DataFrame:
    """Petitions per week (Monday) × topic × township from `history_weeks` weeks before the period to its
    end, zero-filled. Grain: one row per week × topic × township."""
    start = pd.Timestamp(scope.start) - pd.Timedelta(weeks=history_weeks)
    start = start - pd.Timedelta(days=start.weekday())
    p = petitions.c
    where = [p.received_at >= local_instant(start.date(), scope.tz), p.received_at < scope.end_ts]
    if scope.township:
        where.append(p.township == scope.township)
    if scope.department:
        where.append(p.department == scope.department)
    df = pd.DataFrame(conn.execute(select(p.received_at, p.topic, p.township).where(*where)).all(),
                      columns=["t", "topic", "township"])
    weeks = pd.date_range(start, pd.Timestamp(scope.end), freq="7D")
    if df.empty:
        return pd.DataFrame(columns=["week", "topic", "township", "count"])
    t = local_days(df["t"], scope.tz)            # the bureau's days and weeks
    df["week"] = (t - pd.to_timedelta(t.dt.day_of_week, unit="D")).to_numpy()
    df["topic"] = df["topic"].fillna("(unknown)")
    df["township"] = df["township"].fillna("(unknown)")
    counts = df.groupby(["week", "topic", "township"]).size()
    pairs = counts.reset_index()[["topic", "township"]].drop_duplicates().sort_values(["topic", "township"])
    full = pd.MultiIndex.from_tuples([(w, a, b) for w in weeks for a, b in pairs.itertuples(index=False)],
                                     names=["week", "topic", "township"])
    return counts.reindex(full, fill_value=0).rename("count").reset_index()


def spike_scan(counts: np.ndarray, base_weeks: int = SPIKE_BASE_WEEKS, min_history: int = SPIKE_MIN_HISTORY,
               level: float = SPIKE_LEVEL, min_count: int = SPIKE_MIN_COUNT) -> dict[str, np.ndarray]:
    """One-step-ahead scan of a weeks × series count matrix.

    For week t: expected = mean of the previous `base_weeks` weeks (at least `min_history`) of the
    cleaned counts, where a flagged week enters capped at its upper bound; upper = the Poisson
    quantile (1 + level/100)/2 of expected (the upper end of the central `level`% interval);
    spike = count > upper and count ≥ min_count. Returns expected, upper, p (P[X ≥ count]) and spike,
    each weeks × series (NaN / False before enough history)."""
    from scipy.stats import poisson

    T, S = counts.shape
    clean = counts.astype(float).copy()
    exp = np.full((T, S), np.nan)
    up = np.full((T, S), np.nan)
    spike = np.zeros((T, S), dtype=bool)
    q = (1 + level / 100.0) / 2
    for t in range(min_history, T):
        lam = clean[max(0, t - base_weeks):t].mean(axis=0)
        u = poisson.ppf(q, np.maximum(lam, 1e-9))
        exp[t], up[t] = lam, u
        hit = (counts[t] > u) & (counts[t] >= min_count)
        spike[t] = hit
        clean[t] = np.where(hit, np.minimum(counts[t], u), counts[t])
    with np.errstate(all="ignore"):
        p = poisson.sf(counts - 1, np.maximum(np.nan_to_num(exp, nan=1e-9), 1e-9))
    p[np.isnan(exp)] = np.nan
    return {"expected": exp, "upper": up, "p": p, "spike": spike}


def petition_spikes(conn: Connection, scope: Scope, all_weeks: bool = False) -> pd.DataFrame:
    """信访激增预警. Grain: one row per spike week × topic × township in the period (all_weeks: every
    week × topic × township of the period with its expected count and bound, spike or not)."""
    wk = weekly_petitions(conn, scope)
    if wk.empty:
        return pd.DataFrame(columns=SPIKE_COLUMNS + (["spike"] if all_weeks else []))
    mat = wk.pivot_table(index="week", columns=["topic", "township"], values="count", aggfunc="sum",
                         fill_value=0).sort_index()
    res = spike_scan(mat.to_numpy())
    long = pd.DataFrame({
        "week": np.repeat(mat.index.to_numpy(), mat.shape[1]),
        "topic": np.tile(mat.columns.get_level_values(0).to_numpy(), mat.shape[0]),
        "township": np.tile(mat.columns.get_level_values(1).to_numpy(), mat.shape[0]),
        "count": mat.to_numpy().reshape(-1),
        "expected": res["expected"].reshape(-1),
        "upper_95": res["upper"].reshape(-1),
        "p_value": res["p"].reshape(-1),
        "spike": res["spike"].reshape(-1),
    })
    first = pd.Timestamp(scope.start) - pd.Timedelta(days=scope.start.weekday())
    long = long[long["week"] >= first]
    if not all_weeks:
        long = long[long["spike"]]
    zh, en = [], []
    for r in long.itertuples():
        fields = dict(township=r.township, topic=r.topic, count=int(r.count), upper=f"{r.upper_95:.0f}",
                      expected=f"{r.expected:.1f}")
        zh.append(reason("petition_spike", "zh", **fields) if r.spike else "")
        en.append(reason("petition_spike", "en", **fields) if r.spike else "")
    long = long.assign(reason_zh=zh, reason_en=en, week=pd.to_datetime(long["week"]).dt.date)
    cols = SPIKE_COLUMNS + (["spike"] if all_weeks else [])
    return long.sort_values(["week", "topic", "township"])[cols].reset_index(drop=True)


def _exports():
    from analytics.exports import Export

    return [
        Export("petition-spikes", "weeks whose petitions per topic × township exceed the one-step forecast's "
               "95% upper bound (at least 5 petitions); one row per spike",
               lambda conn, scope, cal, unit, by: petition_spikes(conn, scope)),
    ]


EXPORTS = _exports()
