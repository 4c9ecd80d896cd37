"""Forecasting engine: statsmodels candidates, rolling-origin selection, calibrated intervals.

Frames in, frames out, in the statsforecast style: a long frame ``unique_id, ds, y`` goes in,
a forecast frame and a report frame come out, and every forecast carries the seasonal naive's
score on the same backtest windows, so a reader sees whether it beats the baseline.

Per series the engine

1. reindexes to the frequency (weekly ``W-MON``, monthly ``MS``, quarterly ``QS``) and fills
   gaps (linear interpolation, or zeros for count series);
2. for weekly series, removes the Spring Festival effect with a holiday regressor (days of the
   official holiday in each week, plus the weeks before and after), forecasts the adjusted
   series and puts the effect back for the coming Spring Festival weeks;
3. picks candidates by length and sign: seasonal models need two full seasons, multiplicative /
   log models need strictly positive data, very short series get naive and mean only;
4. scores every candidate on a rolling-origin backtest (3 origins by default, horizon h), with
   MASE scaled by the in-sample seasonal naive MAE; drops candidates whose forecasts leave a
   sane range (non-finite, more than ``guard_k`` historical ranges outside the history, or below
   zero for a non-negative series);
5. combines the best ``top_k`` candidates with inverse-MASE weights (``combine="best"`` picks
   the single best, ``"median"`` takes their median);
6. sets 80% / 95% intervals by split conformal calibration of the combination's backtest errors
   (scaled by a fitted error-growth curve ``a * k**b``), and reports their coverage measured
   honestly by leave-one-window-out.

See docs/forecasting.md for the method, the guards and the benchmark.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from landdesk.errors import LandDeskError

__all__ = [
    "FREQS",
    "Forecaster",
    "forecast",
    "forecast_file",
    "format_forecast",
    "mase",
    "season_length",
    "spring_festival_days",
]

#: Accepted frequency names -> (pandas frequency, season length m).
FREQS: dict[str, tuple[str, int]] = {
    "W": ("W-MON", 52),
    "W-MON": ("W-MON", 52),
    "MS": ("MS", 12),
    "M": ("MS", 12),
    "QS": ("QS-JAN", 4),
    "Q": ("QS-JAN", 4),
    "QS-JAN": ("QS-JAN", 4),
}

FORECAST_COLUMNS = ["unique_id", "ds", "yhat"]
REPORT_COLUMNS = ["unique_id", "model", "mase", "snaive_mase", "coverage_80", "coverage_95", "n_obs"]

MIN_POINTS = 4          # fewer observations than this is an error
MIN_TRAIN = 6           # shortest training part for a backtest window
SARIMA_SEASONS = 6      # the SARIMA candidate is fitted to at most this many recent seasons
SHORT = 10              # below this many points: naive / mean only

# Chinese New Year's day (正月初一), for years the chinese_calendar package does not cover.
_CNY = {
    2000: (2, 5), 2001: (1, 24), 2002: (2, 12), 2003: (2, 1), 2004: (1, 22), 2005: (2, 9),
    2006: (1, 29), 2007: (2, 18), 2008: (2, 7), 2009: (1, 26), 2010: (2, 14), 2011: (2, 3),
    2012: (1, 23), 2013: (2, 10), 2014: (1, 31), 2015: (2, 19), 2016: (2, 8), 2017: (1, 28),
    2018: (2, 16), 2019: (2, 5), 2020: (1, 25), 2021: (2, 12), 2022: (2, 1), 2023: (1, 22),
    2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13),
    2030: (2, 3), 2031: (1, 23), 2032: (2, 11), 2033: (1, 31), 2034: (2, 19), 2035: (2, 8),
    2036: (1, 28), 2037: (2, 15), 2038: (2, 4), 2039: (1, 24), 2040: (2, 12),
}


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def season_length(freq: str) -> int:
    """Season length m for a frequency name (W -> 52, MS -> 12, QS -> 4)."""
    return _freq(freq)[1]


def _freq(freq: str) -> tuple[str, int]:
    key = str(freq).strip().upper()
    if key not in FREQS:
        raise LandDeskError(
            f"Unknown frequency {freq!r}: use W (weekly), MS (monthly) or QS (quarterly)."
        )
    return FREQS[key]


def _period_start(ds: pd.Series | pd.DatetimeIndex, pfreq: str) -> pd.DatetimeIndex:
    """Snap timestamps to the start of their period (Monday, first of month, first of quarter)."""
    idx = pd.DatetimeIndex(ds)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    idx = idx.normalize()
    if pfreq == "W-MON":
        return idx - pd.to_timedelta(idx.day_of_week, unit="D")
    if pfreq == "MS":
        return idx.to_period("M").to_timestamp()
    return idx.to_period("Q").to_timestamp()


def _insample_scale(y: np.ndarray, m: int) -> float:
    """MASE scale: in-sample seasonal naive MAE (lag m), else naive MAE, else mean |y|, else 1."""
    y = np.asarray(y, float)
    for lag in (m, 1):
        if lag >= 1 and len(y) > lag:
            s = float(np.mean(np.abs(y[lag:] - y[:-lag])))
            if s > 1e-12 * max(1.0, float(np.mean(np.abs(y)))):
                return s
    s = float(np.mean(np.abs(y))) if len(y) else 0.0
    return s if s > 0 else 1.0


def mase(y_true, y_pred, y_train, m: int) -> float:
    """Mean absolute scaled error, scaled by the in-sample seasonal naive MAE of ``y_train``."""
    err = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
    return float(np.mean(err) / _insample_scale(y_train, m))


# --------------------------------------------------------------------------------------------
# Spring Festival regressor
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _sf_days_of_year(year: int) -> frozenset:
    """Days of the official Spring Festival holiday of a year.

    From ``chinese_calendar`` for the years it knows; otherwise New Year's eve to the sixth
    day of the first lunar month (the 8-day holiday of the 2025 rules).
    """
    try:
        import chinese_calendar

        days = []
        start = dt.date(year, 1, 10)
        for i in range(60):
            d = start + dt.timedelta(days=i)
            on, name = chinese_calendar.get_holiday_detail(d)
            if on and name == "Spring Festival":
                days.append(d)
        if days:
            return frozenset(days)
    except (ImportError, NotImplementedError, ValueError):
        pass
    if year not in _CNY:
        return frozenset()
    cny = dt.date(year, *_CNY[year])
    return frozenset(cny + dt.timedelta(days=k) for k in range(-1, 7))


def spring_festival_days(week_starts) -> np.ndarray:
    """Number of official Spring Festival holiday days in each week starting on ``week_starts``."""
    out = np.zeros(len(week_starts))
    for i, ts in enumerate(pd.DatetimeIndex(week_starts)):
        d0 = ts.date()
        if not (d0.month in (1, 2) or (d0.month == 12 and d0.day >= 25)):
            continue
        for k in range(7):
            d = d0 + dt.timedelta(days=k)
            if d in _sf_days_of_year(d.year):
                out[i] += 1
    return out


def _sf_features(week_starts: pd.DatetimeIndex) -> np.ndarray:
    """Holiday regressors per week: holiday share this week, next week (pre), last week (post)."""
    ext = pd.date_range(week_starts[0] - pd.Timedelta(weeks=1), periods=len(week_starts) + 2,
                        freq="W-MON")
    f = spring_festival_days(ext) / 7.0
    return np.column_stack([f[1:-1], f[2:], f[:-2]])


@dataclass
class _HolidayAdjust:
    """A fitted Spring Festival effect: multiplicative (positive data) or additive."""

    beta: np.ndarray
    multiplicative: bool

    def effect(self, X: np.ndarray) -> np.ndarray:
        return X @ self.beta

    def remove(self, y: np.ndarray, X: np.ndarray) -> np.ndarray:
        e = self.effect(X)
        return y / (1.0 + e) if self.multiplicative else y - e

    def apply(self, yhat: np.ndarray, X: np.ndarray) -> np.ndarray:
        e = self.effect(X)
        return yhat * (1.0 + e) if self.multiplicative else yhat + e


def _fit_holiday(y: np.ndarray, X: np.ndarray) -> _HolidayAdjust | None:
    """Estimate the holiday effect against a 9-week centred rolling median level."""
    if len(y) < 20 or not (X[:, 0] > 0).any():
        return None
    level = pd.Series(y).rolling(9, center=True, min_periods=3).median().to_numpy()
    mult = bool(np.all(y > 0))
    if mult:
        d = y / np.where(level > 0, level, np.nan) - 1.0
    else:
        d = y - level
    rows = (X > 0).any(axis=1) & np.isfinite(d)
    if rows.sum() < 2:
        return None
    beta, *_ = np.linalg.lstsq(X[rows], d[rows], rcond=None)
    if mult:
        beta = np.clip(beta, -0.95, 3.0)   # (1 + effect) stays positive for shares in [0, 1]
    if not np.all(np.isfinite(beta)):
        return None
    return _HolidayAdjust(beta=beta, multiplicative=mult)


# --------------------------------------------------------------------------------------------
# candidate models: each maps (y_train, h, ctx) -> point forecasts of length h
# --------------------------------------------------------------------------------------------

@dataclass
class _Ctx:
    m: int                      # season length used by the seasonal models
    seasonal: bool              # seasonal models allowed and seasonality detected
    positive: bool              # strictly positive data (multiplicative / log forms allowed)
    cache: dict = field(default_factory=dict)


def _quiet(fn: Callable) -> Callable:
    def wrapped(*args, **kwargs):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    wrapped.__name__ = fn.__name__
    return wrapped


def _naive(y, h, ctx):
    return np.repeat(y[-1], h)


def _mean(y, h, ctx):
    return np.repeat(np.mean(y), h)


def _snaive(y, h, ctx):
    m = ctx.m
    if len(y) < m:
        return np.repeat(y[-1], h)
    last = y[-m:]
    return np.array([last[k % m] for k in range(h)])


def _drift(y, h, ctx):
    slope = (y[-1] - y[0]) / max(len(y) - 1, 1)
    return y[-1] + slope * np.arange(1, h + 1)


def _seasonal_split(y, ctx):
    """Classical decomposition indices (multiplicative for positive data), cached per train set."""
    key = ("sa", len(y), hash(np.ascontiguousarray(y).tobytes()))
    if key in ctx.cache:
        return ctx.cache[key]
    m = ctx.m
    n = len(y)
    if not ctx.seasonal or n < 2 * m:
        res = (y, None, False)
    else:
        mult = ctx.positive
        if m % 2 == 0:
            kern = np.r_[0.5, np.ones(m - 1), 0.5] / m
        else:
            kern = np.ones(m) / m
        trend = np.convolve(y, kern, mode="valid")
        off = m // 2
        detr = y[off:off + len(trend)] / trend if mult else y[off:off + len(trend)] - trend
        pos = (np.arange(len(trend)) + off) % m
        idx = np.array([np.nanmean(detr[pos == j]) if (pos == j).any() else (1.0 if mult else 0.0)
                        for j in range(m)])
        idx = idx / idx.mean() if mult else idx - idx.mean()
        if mult and (not np.all(np.isfinite(idx)) or np.any(idx <= 0)):
            mult = False
            detr = y[off:off + len(trend)] - trend
            idx = np.array([np.mean(detr[pos == j]) for j in range(m)])
            idx = idx - idx.mean()
        seas = idx[np.arange(n) % m]
        ysa = y / seas if mult else y - seas
        res = (ysa, idx, mult)
    ctx.cache[key] = res
    return res


def _reseason(fc, n, idx, mult, m):
    if idx is None:
        return fc
    s = idx[(n + np.arange(len(fc))) % m]
    return fc * s if mult else fc + s


def _on_sa(model):
    """Run a non-seasonal model on the seasonally adjusted series and reseasonalise."""
    def run(y, h, ctx):
        ysa, idx, mult = _seasonal_split(y, ctx)
        return _reseason(model(ysa, h), len(y), idx, mult, ctx.m)
    run.__name__ = model.__name__
    return run


@_quiet
def _ses(y, h):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    r = ExponentialSmoothing(y, initialization_method="estimated").fit(use_brute=False)
    return np.asarray(r.forecast(h))


@_quiet
def _holt_damped(y, h):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    r = ExponentialSmoothing(y, trend="add", damped_trend=True,
                             initialization_method="estimated").fit(use_brute=False)
    return np.asarray(r.forecast(h))


@_quiet
def _theta(y, h):
    from statsmodels.tsa.forecasting.theta import ThetaModel
    r = ThetaModel(np.asarray(y, float), deseasonalize=False).fit()
    return np.asarray(r.forecast(h))


@_quiet
def _arima_drift(y, h):
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    r = SARIMAX(y, order=(0, 1, 1), trend="t").fit(disp=False)
    return np.asarray(r.forecast(h))


@_quiet
def _hw_seasonal(y, h, ctx):
    """Holt-Winters, damped additive trend, additive seasonality (on log y for positive data,
    which is multiplicative seasonality and trend on the original scale)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    z = np.log(y) if ctx.positive else y
    r = ExponentialSmoothing(z, trend="add", damped_trend=True, seasonal="add",
                             seasonal_periods=ctx.m,
                             initialization_method="heuristic").fit(use_brute=False)
    f = np.asarray(r.forecast(h))
    return np.exp(f) if ctx.positive else f


@_quiet
def _sarima_airline(y, h, ctx):
    """SARIMA(0,1,1)(0,1,1)m (the airline model), on log y for positive data, fitted to the
    last SARIMA_SEASONS seasons (its cost grows with length; its parameters are local anyway)."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    y = y[-SARIMA_SEASONS * ctx.m:]
    z = np.log(y) if ctx.positive else y
    m = ctx.m
    r = SARIMAX(z, order=(0, 1, 1), seasonal_order=(0, 1, 1, m), simple_differencing=True,
                concentrate_scale=True).fit(disp=False)
    w = np.asarray(r.forecast(h))          # forecasts of (1-B)(1-B^m) z: integrate back
    zz = list(z)
    for k in range(h):
        zz.append(w[k] + zz[-1] + zz[-m] - zz[-m - 1])
    f = np.array(zz[len(z):])
    return np.exp(f) if ctx.positive else f


def _candidates(n_train: int, ctx: _Ctx, m: int) -> dict[str, Callable]:
    """Candidate models allowed for a training length (the shortest backtest train set)."""
    if n_train < SHORT:
        return {"Naive": _naive, "Mean": _mean}
    cands: dict[str, Callable] = {}
    if ctx.seasonal:
        tag = "M" if ctx.positive else "A"
        cands["SeasonalNaive"] = _snaive
        cands[f"ETS(A,N,{tag})"] = _on_sa(_ses)
        cands[f"ETS(A,Ad,{tag})"] = _on_sa(_holt_damped)
        cands["Theta"] = _on_sa(_theta)
        if m <= 12 and n_train >= 2 * m + 4:
            cands["SARIMA(0,1,1)(0,1,1)"] = _sarima_airline
        if m <= 12 and n_train >= 2 * m + 2:
            cands[f"HoltWinters(A,Ad,{tag})"] = _hw_seasonal
    else:
        cands["Naive"] = _naive
        cands["Drift"] = _drift
        if n_train >= 2 * m:
            # the seasonality test can miss a weak season: let the backtest judge the baseline
            cands["SeasonalNaive"] = _snaive
        cands["ETS(A,N,N)"] = _on_sa(_ses)          # (no seasonal split when not seasonal)
        cands["ETS(A,Ad,N)"] = _on_sa(_holt_damped)
        cands["Theta"] = _on_sa(_theta)
        cands["ARIMA(0,1,1)+drift"] = _on_sa(_arima_drift)
    return cands


def _is_seasonal(y: np.ndarray, m: int) -> bool:
    """Seasonality test: the 90% autocorrelation test at lag m (the M4 competition's test), or,
    with three full seasons, a seasonal strength of at least SEASONAL_STRENGTH.

    The autocorrelation test alone misses a clear season under a strong trend: the trend makes
    every autocorrelation near 1, which widens the test's limit past the lag-m autocorrelation
    (a clean ``100 + 10 sin(2 pi t / 12) + t`` was called non-seasonal and forecast flat).
    The strength measure works on the detrended series, so a trend cannot mask the season.
    """
    n = len(y)
    if m < 2 or n < 2 * m:
        return False
    z = y - y.mean()
    denom = float(np.dot(z, z))
    if denom <= 0:
        return False
    acf = np.array([np.dot(z[k:], z[:n - k]) / denom for k in range(m + 1)])
    limit = 1.645 * math.sqrt((1 + 2 * np.sum(acf[1:m] ** 2)) / n)
    if abs(acf[m]) > limit:
        return True
    return n >= 3 * m and seasonal_strength(y, m) >= SEASONAL_STRENGTH


#: Seasonal strength from which a series counts as seasonal (the threshold of forecast::nsdiffs).
SEASONAL_STRENGTH = 0.64


def seasonal_strength(y: np.ndarray, m: int) -> float:
    """Seasonal strength F_s = 1 - Var(remainder) / Var(seasonal + remainder) (Wang, Smith &
    Hyndman 2006) on a classical additive decomposition (2 x m centred moving average), with both
    variances corrected for their degrees of freedom (m - 1 seasonal indices are fitted), so a
    short pure-noise series scores about 0 rather than about m / n. 0 when it cannot be computed."""
    y = np.asarray(y, float)
    n = len(y)
    if m < 2 or n < 2 * m + 1:
        return 0.0
    kern = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, kern, mode="valid")
    off = m // 2
    detr = y[off:off + len(trend)] - trend
    pos = (np.arange(len(trend)) + off) % m
    idx = np.array([detr[pos == j].mean() for j in range(m)])
    idx -= idx.mean()
    rem = detr - idx[pos]
    k = len(detr)
    if k <= m:
        return 0.0
    var_d = float(np.sum((detr - detr.mean()) ** 2)) / (k - 1)
    var_r = float(np.sum((rem - rem.mean()) ** 2)) / (k - m)
    if var_d <= 0:
        return 0.0
    return float(max(0.0, 1.0 - var_r / var_d))


# --------------------------------------------------------------------------------------------
# one series
# --------------------------------------------------------------------------------------------

@dataclass
class _SeriesResult:
    yhat: np.ndarray
    bands: dict                 # level -> (lower, upper)
    model: str
    mase: float
    snaive_mase: float
    coverage: dict              # level -> float
    n_obs: int


class _Guard:
    """Sane range for forecasts: finite, within k ranges of the history, non-negative if the data are."""

    def __init__(self, y: np.ndarray, k: float):
        lo, hi = float(np.min(y)), float(np.max(y))
        rng = max(hi - lo, 1e-9 * max(1.0, abs(hi)), 1e-12)
        self.lo, self.hi = lo - k * rng, hi + k * rng
        self.nonneg = lo >= 0
        self.neg_tol = 0.05 * rng

    def ok(self, f: np.ndarray) -> bool:
        if f is None or not np.all(np.isfinite(f)):
            return False
        if f.min() < self.lo or f.max() > self.hi:
            return False
        if self.nonneg and f.min() < -self.neg_tol:
            return False
        return True

    def clip(self, f: np.ndarray) -> np.ndarray:
        return np.maximum(f, 0.0) if self.nonneg else f


def _run(fn, y, h, ctx, guard) -> np.ndarray | None:
    try:
        f = np.asarray(fn(y, h, ctx), float).reshape(-1)
    except Exception:  # noqa: BLE001 - a model that fails to fit is simply not a candidate
        return None
    if len(f) != h or not guard.ok(f):
        return None
    return guard.clip(f)


def _origins(n: int, h: int, n_windows: int) -> tuple[list[int], int]:
    """Training lengths of the backtest windows and their horizon (shorter for short series)."""
    hb = h
    if n - hb < MIN_TRAIN:
        hb = max(1, n - MIN_TRAIN)
    if n - hb < MIN_TRAIN:
        return [], hb
    avail = n - hb - MIN_TRAIN          # how far back the first origin may go
    step = hb
    if n_windows > 1 and (n_windows - 1) * step > avail:
        # overlapping windows, but keep at least a season-free minimum of training data
        step = max(1, avail // (n_windows - 1)) if avail >= n_windows - 1 else 1
    ends = [n - hb - i * step for i in range(n_windows)]
    ends = sorted({e for e in ends if e >= MIN_TRAIN})
    return ends, hb


def _combine(fcs: dict[str, np.ndarray], weights: dict[str, float], how: str) -> np.ndarray:
    names = list(weights)
    if how == "median" and len(names) > 2:
        return np.median(np.vstack([fcs[k] for k in names]), axis=0)
    w = np.array([weights[k] for k in names], float)
    w = w / w.sum()
    return np.sum(np.vstack([fcs[k] for k in names]) * w[:, None], axis=0)


def _growth_curve(abs_err: np.ndarray) -> tuple[float, float]:
    """Fit mean |error| at step k as a * k**b (b clipped to [0.1, 1])."""
    hb = abs_err.shape[1]
    mk = abs_err.mean(axis=0)
    k = np.arange(1, hb + 1)
    good = mk > 0
    if hb >= 3 and good.sum() >= 3:
        b = float(np.polyfit(np.log(k[good]), np.log(mk[good]), 1)[0])
    else:
        b = 0.5
    b = float(np.clip(b, 0.1, 1.0))
    a = float(np.mean(mk / k ** b))
    return a, b


def _conformal_q(scores: np.ndarray, level: float) -> float:
    n = len(scores)
    if n == 0:
        return float("nan")
    rank = math.ceil((n + 1) * level / 100.0)
    s = np.sort(scores)
    if rank > n:
        # too few scores for this level: widen the largest by the normal tail ratio
        from scipy.stats import norm
        return float(s[-1] * norm.ppf(0.5 + level / 200.0) / norm.ppf(0.5 + (n / (n + 1)) / 2))
    return float(s[rank - 1])


def _forecast_one(y: np.ndarray, ds: pd.DatetimeIndex, pfreq: str, m: int, h: int,
                  levels: Sequence[float], n_windows: int, top_k: int, combine: str,
                  guard_k: float, holidays: bool, within: float = 1.2,
                  max_seasons: int | None = None, exclude: Sequence[str] = ()) -> _SeriesResult:
    n = len(y)
    guard = _Guard(y, guard_k)

    # Spring Festival regressor (weekly series only)
    X_all = None
    if holidays and pfreq == "W-MON":
        future = pd.date_range(ds[-1] + pd.Timedelta(weeks=1), periods=h, freq="W-MON")
        X_all = _sf_features(ds.append(future))

    def adjust(train_len):
        if X_all is None:
            return None
        return _fit_holiday(y[:train_len], X_all[:train_len])

    ends, hb = _origins(n, h, n_windows)
    n_min = min(ends) if ends else n
    ctx = _Ctx(m=m, seasonal=False, positive=bool(np.all(y > 0)))
    ctx.seasonal = n_min >= 2 * m and _is_seasonal(y, m)
    cands = _candidates(n_min, ctx, m)
    if exclude:
        kept = {k: v for k, v in cands.items() if not k.startswith(tuple(exclude))}
        cands = kept or cands          # never exclude every candidate

    def predict_all(train_len, horizon):
        start = max(0, train_len - max_seasons * max(m, 4)) if max_seasons else 0
        yt = y[start:train_len]
        adj = adjust(train_len)
        if adj is not None:
            yt_a = adj.remove(yt, X_all[start:train_len])
            if not np.all(np.isfinite(yt_a)):
                adj, yt_a = None, yt
        else:
            yt_a = yt
        out = {}
        for name, fn in cands.items():
            f = _run(fn, yt_a, horizon, ctx, guard)
            if f is not None and adj is not None:
                f = adj.apply(f, X_all[train_len:train_len + horizon])
                f = f if guard.ok(f) else None
                f = guard.clip(f) if f is not None else None
            if f is not None:
                out[name] = f
        return out, adj

    # ---- backtest ---------------------------------------------------------------------------
    scores: dict[str, list[float]] = {k: [] for k in cands}
    snaive_scores: list[float] = []
    window_fcs: list[dict[str, np.ndarray]] = []
    for e in ends:
        yt, ytest = y[:e], y[e:e + hb]
        scale = _insample_scale(yt, m)
        fcs, _ = predict_all(e, hb)
        window_fcs.append(fcs)
        for k in cands:
            scores[k].append(np.mean(np.abs(ytest - fcs[k])) / scale if k in fcs else np.inf)
        base = _snaive(yt, hb, _Ctx(m=m, seasonal=True, positive=False)) if e > m else _naive(yt, hb, ctx)
        snaive_scores.append(float(np.mean(np.abs(ytest - base)) / scale))

    # ---- final fits -------------------------------------------------------------------------
    final, adj_final = predict_all(n, h)
    if ends:
        mean_score = {k: float(np.mean(v)) for k, v in scores.items()}
    else:
        mean_score = {k: np.nan for k in cands}
    usable = [k for k in cands if k in final and np.isfinite(mean_score.get(k, np.nan))]
    if not ends:
        usable = [k for k in ("Naive", "Mean") if k in final][:1] or list(final)[:1]
    usable.sort(key=lambda k: mean_score.get(k, np.inf) if ends else 0)

    if not usable:
        # every candidate failed the guards: fall back to seasonal naive, then naive
        if n > m:
            name, fc = "SeasonalNaive", _snaive(y, h, ctx)
        else:
            name, fc = "Naive", _naive(y, h, ctx)
        chosen, weights = [name], {name: 1.0}
        final = {name: guard.clip(fc)}
        for wf, e in zip(window_fcs, ends):
            wf[name] = guard.clip(_snaive(y[:e], hb, ctx) if n > m else _naive(y[:e], hb, ctx))
    else:
        chosen = usable[:1] if combine == "best" else usable[:max(1, top_k)]
        if ends and len(chosen) > 1:
            best = mean_score[chosen[0]]
            chosen = [k for k in chosen if mean_score[k] <= within * best + 1e-12]
        weights = {k: 1.0 / max(mean_score[k], 1e-6) if ends else 1.0 for k in chosen}

    yhat = _combine(final, weights, combine) if len(chosen) > 1 else final[chosen[0]]
    label = chosen[0] if len(chosen) == 1 else "Ensemble(" + "+".join(chosen) + ")"
    if adj_final is not None:
        label += "+SpringFestival"

    # ---- backtest of the chosen forecast, intervals and their coverage ----------------------
    err = []
    scores_sel = []
    for wf, e in zip(window_fcs, ends):
        if not all(k in wf for k in chosen):
            continue
        f = _combine(wf, weights, combine) if len(chosen) > 1 else wf[chosen[0]]
        err.append(y[e:e + hb] - f)
        scores_sel.append(float(np.mean(np.abs(err[-1])) / _insample_scale(y[:e], m)))
    err = np.array(err) if err else np.zeros((0, hb))
    bands: dict = {}
    coverage: dict = {}
    k = np.arange(1, h + 1)
    if len(err) >= 1 and hb >= 1:
        a, b = _growth_curve(np.abs(err))
        floor = 1e-9 * _insample_scale(y, m)
        sig_bt = np.maximum(a * np.arange(1, hb + 1) ** b, floor)
        sig = np.maximum(a * k ** b, floor)
        s = (np.abs(err) / sig_bt).reshape(-1)
        for L in levels:
            q = _conformal_q(s, L)
            bands[L] = (guard.clip(yhat - q * sig), guard.clip(yhat + q * sig))
            # honest coverage: calibrate on the other windows, test on the held-out one
            if len(err) >= 2:
                hits = []
                for w in range(len(err)):
                    rest = np.delete(np.abs(err), w, axis=0)
                    a2, b2 = _growth_curve(rest)
                    sg = np.maximum(a2 * np.arange(1, hb + 1) ** b2, floor)
                    q2 = _conformal_q((rest / sg).reshape(-1), L)
                    hits.append(np.abs(err[w]) <= q2 * sg)
                coverage[L] = float(np.mean(hits))
            else:
                coverage[L] = float("nan")
    else:
        # no backtest possible: Gaussian bands from the naive one-step RMS error, growing as sqrt(k)
        from scipy.stats import norm
        d = np.diff(y)
        sd = float(np.sqrt(np.mean(d ** 2))) if len(d) else 0.0   # RMS of naive one-step errors
        sd = sd if sd > 0 else 1e-9 * max(1.0, abs(float(np.mean(y))))
        for L in levels:
            z = norm.ppf(0.5 + L / 200.0)
            bands[L] = (guard.clip(yhat - z * sd * np.sqrt(k)), guard.clip(yhat + z * sd * np.sqrt(k)))
            coverage[L] = float("nan")

    yhat = guard.clip(yhat)
    return _SeriesResult(
        yhat=yhat, bands=bands, model=label,
        mase=float(np.mean(scores_sel)) if scores_sel else float("nan"),
        snaive_mase=float(np.mean(snaive_scores)) if snaive_scores else float("nan"),
        coverage=coverage, n_obs=n,
    )


# --------------------------------------------------------------------------------------------
# frames in, frames out
# --------------------------------------------------------------------------------------------

def _prepare(df: pd.DataFrame, pfreq: str, fill: str) -> dict:
    """Long frame -> {unique_id: (DatetimeIndex, values)} on a regular grid, gaps filled.

    Several rows in one period are summed (raw records -> counts); when that happens and the last
    period holds under half the median number of rows, it is an incomplete period and is dropped.
    """
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise LandDeskError(f"The forecast input lacks the column(s) {', '.join(missing)}.")
    if fill not in ("interpolate", "zero"):
        raise LandDeskError(f"Unknown gap fill {fill!r}: use 'interpolate' or 'zero'.")
    work = df[["unique_id", "ds", "y"]].copy()
    try:
        work["ds"] = pd.to_datetime(work["ds"])
    except (ValueError, TypeError) as exc:
        raise LandDeskError(f"The ds column holds values that are not dates ({exc}).") from None
    if work["ds"].isna().any():
        raise LandDeskError("The ds column has empty or unparsable dates.")
    y_num = pd.to_numeric(work["y"], errors="coerce")
    if (y_num.isna() & work["y"].notna()).any():
        bad = work.loc[y_num.isna() & work["y"].notna(), "y"].iloc[0]
        raise LandDeskError(f"The y column holds a non-numeric value {bad!r}.")
    work["y"] = y_num.astype(float)
    work["ds"] = _period_start(work["ds"], pfreq)
    out = {}
    for uid, g in work.groupby("unique_id", sort=True):
        g = g.dropna(subset=["y"])
        if g.empty:
            raise LandDeskError(f"Series {uid!r} has no values.")
        grp = g.groupby("ds")["y"]
        s = grp.sum(min_count=1).sort_index()
        counts = grp.size().sort_index()
        if len(s) > MIN_POINTS and counts.max() > 1 and counts.iloc[-1] < 0.5 * counts.median():
            # raw records summed into periods: the last period is still filling up, drop it
            s = s.iloc[:-1]
        grid = pd.date_range(s.index[0], s.index[-1], freq=pfreq)
        s = s.reindex(grid)
        if fill == "zero":
            s = s.fillna(0.0)
        else:
            s = s.interpolate(method="linear", limit_direction="both")
        if s.notna().sum() < MIN_POINTS:
            raise LandDeskError(
                f"Series {uid!r} has {int(s.notna().sum())} points; a forecast needs at least {MIN_POINTS}."
            )
        out[uid] = (grid, s.to_numpy(float))
    if not out:
        raise LandDeskError("The forecast input has no rows.")
    return out


def _single_thread():
    """BLAS in one thread: the models' matrices are tiny, and a threaded BLAS on a busy 2-core
    machine makes them 10-20 times slower."""
    try:
        from threadpoolctl import threadpool_limits
        return threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib
        return contextlib.nullcontext()


class Forecaster:
    """statsforecast-style wrapper: ``Forecaster("MS", 12).fit(df).predict()``.

    ``report_`` holds the per-series report frame after ``predict``.
    """

    def __init__(self, freq: str, horizon: int, level: Sequence[int] = (80, 95), *,
                 n_windows: int = 3, top_k: int = 3, combine: str = "inverse_mase",
                 fill: str = "interpolate", guard_k: float = 2.0, holidays: bool = True,
                 within: float = 1.2, max_seasons: int | None = None, exclude: Sequence[str] = ()):
        self.pfreq, self.m = _freq(freq)
        try:
            self.horizon = int(horizon)
        except (TypeError, ValueError):
            raise LandDeskError(f"The horizon {horizon!r} is not a whole number.") from None
        if self.horizon < 1:
            raise LandDeskError("The horizon must be at least 1 period.")
        self.level = tuple(sorted(float(x) for x in level))
        if any(not 0 < x < 100 for x in self.level):
            raise LandDeskError("Interval levels must lie strictly between 0 and 100.")
        if combine not in ("inverse_mase", "median", "best"):
            raise LandDeskError(f"Unknown combination {combine!r}: use inverse_mase, median or best.")
        self.n_windows, self.top_k, self.combine = int(n_windows), int(top_k), combine
        self.fill, self.guard_k, self.holidays = fill, float(guard_k), bool(holidays)
        self.within = float(within)
        self.max_seasons = int(max_seasons) if max_seasons else None
        self.exclude = tuple(str(x) for x in exclude)
        self._series: dict = {}
        self.report_: pd.DataFrame | None = None

    def fit(self, df: pd.DataFrame) -> "Forecaster":
        self._series = _prepare(df, self.pfreq, self.fill)
        return self

    def predict(self, h: int | None = None) -> pd.DataFrame:
        if not self._series:
            raise LandDeskError("Call fit() with a frame before predict().")
        h = self.horizon if h is None else int(h)
        fc_rows, rep_rows = [], []
        for uid, (grid, y) in self._series.items():
            with _single_thread():
                res = _forecast_one(y, grid, self.pfreq, self.m, h, self.level, self.n_windows,
                                self.top_k, self.combine, self.guard_k, self.holidays,
                                self.within, self.max_seasons, self.exclude)
            fut = pd.date_range(grid[-1], periods=h + 1, freq=self.pfreq)[1:]
            part = {"unique_id": uid, "ds": fut, "yhat": res.yhat}
            for L in self.level:
                lo, hi = res.bands[L]
                part[f"yhat_lower_{_lvl(L)}"] = lo
                part[f"yhat_upper_{_lvl(L)}"] = hi
            part["model"] = res.model
            fc_rows.append(pd.DataFrame(part))
            rep = {"unique_id": uid, "model": res.model, "mase": res.mase,
                   "snaive_mase": res.snaive_mase}
            for L in self.level:
                rep[f"coverage_{_lvl(L)}"] = res.coverage.get(L, float("nan"))
            rep["n_obs"] = res.n_obs
            rep_rows.append(rep)
        self.report_ = pd.DataFrame(rep_rows)
        return pd.concat(fc_rows, ignore_index=True)


def _lvl(L: float) -> str:
    return str(int(L)) if float(L).is_integer() else str(L)


def forecast(df: pd.DataFrame, freq: str, horizon: int, level: Sequence[int] = (80, 95),
             **options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast every series of a long frame ``unique_id, ds, y``.

    Returns ``(forecast_frame, report_frame)``:
    forecast_frame: unique_id, ds, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95,
    yhat_upper_95, model; report_frame: unique_id, model, mase, snaive_mase, coverage_80,
    coverage_95, n_obs (backtest MASE of the forecast and of the seasonal naive on the same
    windows; interval coverage measured in the backtest).

    Options: n_windows (3), top_k (3), combine ("inverse_mase" | "median" | "best"),
    fill ("interpolate" | "zero" for count series), guard_k (2.0), holidays (True: Spring
    Festival regressor for weekly series), exclude (candidate-name prefixes to leave out, e.g.
    ("ARIMA",) for speed; never all of them).
    """
    model = Forecaster(freq, horizon, level, **options).fit(df)
    fc = model.predict()
    return fc, model.report_


# --------------------------------------------------------------------------------------------
# file interface (the `landdesk forecast` command)
# --------------------------------------------------------------------------------------------

def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise LandDeskError(f"The input file {path} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path)
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(path, encoding=enc)
            except UnicodeDecodeError:
                continue
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise LandDeskError(f"The input file {path} cannot be read as a table ({exc}).") from None
    raise LandDeskError(f"The input file {path} is neither UTF-8 nor GB18030 text.")


def forecast_file(path, date_col: str, value_col: str, freq: str, horizon: int,
                  level: float = 95, **options) -> pd.DataFrame:
    """Forecast one series from a CSV (UTF-8 or GB18030) or xlsx file.

    Returns a frame ``ds, yhat, yhat_lower, yhat_upper, model, mase, snaive_mase`` with the
    ``level`` % interval (95 by default); values in the same period are summed. Bad input raises
    LandDeskError with one sentence.
    """
    _freq(freq)
    table = _read_table(Path(path))
    for col, what in ((date_col, "date"), (value_col, "value")):
        if col not in table.columns:
            cols = ", ".join(map(str, table.columns[:12]))
            raise LandDeskError(f"The {what} column {col!r} is not in {Path(path).name} (columns: {cols}).")
    dates = pd.to_datetime(table[date_col], errors="coerce", format="mixed")
    bad = dates.isna() & table[date_col].notna()
    if bad.any():
        raise LandDeskError(
            f"The date column {date_col!r} has a value that is not a date: {table.loc[bad, date_col].iloc[0]!r}."
        )
    values = pd.to_numeric(table[value_col], errors="coerce")
    badv = values.isna() & table[value_col].notna()
    if badv.any():
        raise LandDeskError(
            f"The value column {value_col!r} has a value that is not a number: {table.loc[badv, value_col].iloc[0]!r}."
        )
    df = pd.DataFrame({"unique_id": "series", "ds": dates, "y": values}).dropna(subset=["ds"])
    levels = sorted({float(level), 80.0, 95.0})
    fc, rep = forecast(df, freq, horizon, level=levels, **options)
    tag = _lvl(float(level))
    out = pd.DataFrame({
        "ds": fc["ds"].dt.strftime("%Y-%m-%d"),
        "yhat": fc["yhat"],
        "yhat_lower": fc[f"yhat_lower_{tag}"],
        "yhat_upper": fc[f"yhat_upper_{tag}"],
        "model": fc["model"],
        "mase": rep["mase"].iloc[0],
        "snaive_mase": rep["snaive_mase"].iloc[0],
    })
    return out


def format_forecast(frame: pd.DataFrame, fmt: str = "csv") -> str:
    """Render a ``forecast_file`` frame as CSV or JSON (records) text."""
    if fmt == "csv":
        return frame.to_csv(index=False, float_format="%.6g")
    if fmt == "json":
        recs = json.loads(frame.to_json(orient="records", double_precision=10))
        return json.dumps(recs, ensure_ascii=False, indent=1)
    raise LandDeskError(f"Unknown output format {fmt!r}: use csv or json.")

