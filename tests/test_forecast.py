"""analytics.forecast: model paths, fall-backs, intervals, Spring Festival, the file interface."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analytics.forecast as F
from analytics.forecast import Forecaster, forecast, forecast_file, format_forecast, mase
from landdesk.errors import LandDeskError

FC_COLS = ["unique_id", "ds", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95",
           "yhat_upper_95", "model"]
REP_COLS = ["unique_id", "model", "mase", "snaive_mase", "coverage_80", "coverage_95", "n_obs"]


def monthly(n=96, seed=0, trend=0.5, level=100.0, amp=15.0, noise=3.0, start="2017-01-01"):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = level + trend * t + amp * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)
    return pd.DataFrame({"unique_id": "s", "ds": pd.date_range(start, periods=n, freq="MS"), "y": y})


@pytest.fixture(scope="module")
def seasonal_result():
    df = pd.concat([monthly(seed=1).assign(unique_id="a"),
                    monthly(seed=2, trend=-0.2, amp=25).assign(unique_id="b")])
    return forecast(df, "MS", 12)


# ---- shape of the output --------------------------------------------------------------------

def test_frames_have_contract_columns(seasonal_result):
    fc, rep = seasonal_result
    assert list(fc.columns) == FC_COLS
    assert list(rep.columns) == REP_COLS
    assert len(fc) == 24 and set(fc["unique_id"]) == {"a", "b"}
    first = fc[fc["unique_id"] == "a"]["ds"]
    assert first.iloc[0] == pd.Timestamp("2025-01-01") and first.iloc[-1] == pd.Timestamp("2025-12-01")
    assert (rep["n_obs"] == 96).all()


def test_every_forecast_reports_its_baseline_and_coverage(seasonal_result):
    _, rep = seasonal_result
    assert rep[["mase", "snaive_mase", "coverage_80", "coverage_95"]].notna().all().all()
    assert ((rep["coverage_80"] >= 0) & (rep["coverage_95"] <= 1)).all()
    # a clean seasonal series with trend: the engine beats the seasonal naive in the backtest
    assert (rep["mase"] < rep["snaive_mase"]).all()


def test_intervals_ordered_and_widening(seasonal_result):
    fc, _ = seasonal_result
    for _, g in fc.groupby("unique_id"):
        assert (g["yhat_lower_95"] <= g["yhat_lower_80"] + 1e-9).all()
        assert (g["yhat_lower_80"] <= g["yhat"] + 1e-9).all()
        assert (g["yhat"] <= g["yhat_upper_80"] + 1e-9).all()
        assert (g["yhat_upper_80"] <= g["yhat_upper_95"] + 1e-9).all()
        width = (g["yhat_upper_95"] - g["yhat_lower_95"]).to_numpy()
        assert np.all(np.diff(width) >= -1e-9) and width[-1] > width[0]


def test_forecaster_fit_predict_matches_function():
    """The class is the function's engine behind a fit/predict interface: the same frames (also with predict's
    own horizon and after a refit), and both forecast what is known about the series independently of the
    engine: the six months after the last observation, close to the noise-free continuation, inside the band."""
    df = monthly(seed=3)
    model = Forecaster("MS", 6).fit(df)
    fc = model.predict()
    fc2, rep2 = forecast(df, "MS", 6)
    pd.testing.assert_frame_equal(fc, fc2)
    pd.testing.assert_frame_equal(model.report_, rep2)

    assert list(fc.columns) == FC_COLS and (fc["unique_id"] == "s").all()
    assert list(fc["ds"]) == list(pd.date_range("2025-01-01", "2025-06-01", freq="MS"))   # 96 months from 2017-01
    t = np.arange(96, 102)
    truth = 100 + 0.5 * t + 15 * np.sin(2 * np.pi * t / 12)      # monthly()'s formula without the noise (sd 3)
    assert np.abs(fc["yhat"].to_numpy() - truth).max() < 2 * 3.0
    assert ((fc["yhat_lower_95"] <= truth) & (truth <= fc["yhat_upper_95"])).all()
    assert model.report_["n_obs"].tolist() == [96] and model.report_["model"].tolist() == fc["model"].unique().tolist()

    pd.testing.assert_frame_equal(model.predict(3), forecast(df, "MS", 3)[0])          # predict(h) overrides
    other = monthly(seed=5, level=500.0)
    refit = model.fit(other).predict()
    pd.testing.assert_frame_equal(refit, forecast(other, "MS", 6)[0])                   # fit() replaces the data
    assert np.abs(refit["yhat"].to_numpy() - (truth + 400)).max() < 2 * 3.0


# ---- each model path --------------------------------------------------------------------------

def test_candidate_set_for_a_long_positive_seasonal_series():
    ctx = F._Ctx(m=12, seasonal=True, positive=True)
    names = set(F._candidates(80, ctx, 12))
    assert {"SeasonalNaive", "ETS(A,N,M)", "ETS(A,Ad,M)", "Theta", "SARIMA(0,1,1)(0,1,1)",
            "HoltWinters(A,Ad,M)"} <= names


@pytest.mark.parametrize("name", ["SeasonalNaive", "ETS(A,N,M)", "ETS(A,Ad,M)", "Theta",
                                  "SARIMA(0,1,1)(0,1,1)", "HoltWinters(A,Ad,M)"])
def test_each_model_path_forecasts_sanely(name):
    y = monthly(seed=4)["y"].to_numpy()
    ctx = F._Ctx(m=12, seasonal=True, positive=True)
    fn = F._candidates(len(y), ctx, 12)[name]
    f = fn(y, 12, ctx)
    assert f.shape == (12,) and np.all(np.isfinite(f))
    truth = 100 + 0.5 * np.arange(96, 108) + 15 * np.sin(2 * np.pi * np.arange(96, 108) / 12)
    assert mase(truth, f, y, 12) < 1.5


def test_non_seasonal_paths():
    rng = np.random.default_rng(5)
    y = 50 + np.cumsum(rng.normal(0.3, 1, 60))
    ctx = F._Ctx(m=12, seasonal=False, positive=True)
    cands = F._candidates(len(y), ctx, 12)
    assert {"Naive", "Drift", "ETS(A,N,N)", "ETS(A,Ad,N)", "Theta", "ARIMA(0,1,1)+drift"} <= set(cands)
    for fn in cands.values():
        f = fn(y, 6, ctx)
        assert f.shape == (6,) and np.all(np.isfinite(f))


def test_select_best_names_a_single_model():
    fc, rep = forecast(monthly(seed=6), "MS", 12, combine="best")
    assert not rep["model"].iloc[0].startswith("Ensemble")
    assert rep["model"].iloc[0] in F._candidates(60, F._Ctx(12, True, True), 12)


def test_quarterly_series():
    df = monthly(n=40, seed=7)
    df["ds"] = pd.date_range("2015-01-01", periods=40, freq="QS")
    fc, rep = forecast(df, "QS", 4)
    assert list(fc["ds"].dt.month) == [1, 4, 7, 10]
    assert np.isfinite(rep["mase"].iloc[0])


# ---- fall-backs -------------------------------------------------------------------------------

def test_blown_up_model_is_dropped(monkeypatch):
    orig = F._candidates

    def with_bad(n, ctx, m):
        c = dict(orig(n, ctx, m))
        c["Exploding"] = lambda y, h, ctx: y[-1] * 10.0 ** np.arange(1, h + 1)
        c["NaNs"] = lambda y, h, ctx: np.full(h, np.nan)
        c["Negative"] = lambda y, h, ctx: np.full(h, -1000.0)
        return c

    monkeypatch.setattr(F, "_candidates", with_bad)
    fc, rep = forecast(monthly(seed=8), "MS", 12)
    for bad in ("Exploding", "NaNs", "Negative"):
        assert bad not in rep["model"].iloc[0]
    assert fc["yhat"].between(0, 400).all()


def test_all_models_blow_up_falls_back_to_seasonal_naive(monkeypatch):
    monkeypatch.setattr(F, "_candidates",
                        lambda n, ctx, m: {"Exploding": lambda y, h, c: np.full(h, np.inf)})
    df = monthly(seed=9)
    fc, rep = forecast(df, "MS", 12)
    assert rep["model"].iloc[0] == "SeasonalNaive"
    np.testing.assert_allclose(fc["yhat"], df["y"].to_numpy()[-12:])


def test_statsmodels_model_that_fails_is_skipped(monkeypatch):
    def boom(y, h, ctx):
        raise np.linalg.LinAlgError("singular")

    orig = F._candidates
    monkeypatch.setattr(F, "_candidates", lambda n, ctx, m: {**orig(n, ctx, m), "Broken": boom})
    _, rep = forecast(monthly(seed=10), "MS", 6)
    assert "Broken" not in rep["model"].iloc[0]


def test_constant_series():
    df = pd.DataFrame({"unique_id": "c", "ds": pd.date_range("2020-01-01", periods=48, freq="MS"),
                       "y": 7.0})
    fc, rep = forecast(df, "MS", 6)
    np.testing.assert_allclose(fc["yhat"], 7.0, atol=1e-6)
    assert (fc["yhat_lower_95"] <= fc["yhat"] + 1e-9).all() and (fc["yhat_upper_95"] >= fc["yhat"] - 1e-9).all()
    assert rep["mase"].iloc[0] == pytest.approx(0.0, abs=1e-6)


def test_short_series_get_naive_or_mean():
    df = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2024-01-01", periods=6, freq="MS"),
                       "y": [3.0, 5, 4, 6, 5, 7]})
    fc, rep = forecast(df, "MS", 3)
    assert rep["model"].iloc[0] in ("Naive", "Mean")
    assert len(fc) == 3 and fc["yhat"].notna().all()
    assert (fc["yhat_upper_95"] > fc["yhat_lower_95"]).all()


def test_under_two_seasons_means_no_seasonal_models():
    df = monthly(n=20, seed=11)
    _, rep = forecast(df, "MS", 6)
    model = rep["model"].iloc[0]
    assert not any(tag in model for tag in ("Seasonal", "SARIMA", "HoltWinters", ",M)", ",A)"))


def test_too_few_points_is_an_error():
    df = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2024-01-01", periods=3, freq="MS"),
                       "y": [1.0, 2, 3]})
    with pytest.raises(LandDeskError, match="at least"):
        forecast(df, "MS", 3)


def test_zeros_and_gaps_count_series():
    rng = np.random.default_rng(12)
    ds = pd.date_range("2021-01-04", periods=160, freq="W-MON")
    y = rng.poisson(2.0, len(ds)).astype(float)
    df = pd.DataFrame({"unique_id": "petitions", "ds": ds, "y": y})
    df = df.drop(index=[10, 11, 50, 90])           # weeks with no record
    fc, rep = forecast(df, "W", 8, fill="zero")
    assert rep["n_obs"].iloc[0] == 160              # reindexed to the full weekly grid
    assert ",M)" not in rep["model"].iloc[0]        # zeros: no multiplicative models
    assert (fc["yhat"] >= 0).all() and (fc["yhat_lower_95"] >= 0).all()
    assert (fc["ds"].dt.day_of_week == 0).all()


def test_gap_fill_interpolates_by_default():
    prepared = F._prepare(pd.DataFrame({
        "unique_id": "s", "ds": pd.to_datetime(["2024-01-15", "2024-02-03", "2024-04-20", "2024-05-01"]),
        "y": [10.0, 20.0, 40.0, 50.0]}), "MS", "interpolate")
    grid, y = prepared["s"]
    assert list(grid.strftime("%Y-%m")) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    np.testing.assert_allclose(y, [10, 20, 30, 40, 50])
    _, y0 = F._prepare(pd.DataFrame({"unique_id": "s", "ds": grid[[0, 1, 3, 4]], "y": [1.0, 2, 4, 5]}),
                       "MS", "zero")["s"]
    np.testing.assert_allclose(y0, [1, 2, 0, 4, 5])


# ---- Spring Festival --------------------------------------------------------------------------

def test_spring_festival_days_per_week():
    weeks = pd.DatetimeIndex(["2025-01-27", "2025-02-03", "2026-02-16", "2027-02-01", "2025-06-02"])
    days = F.spring_festival_days(weeks)
    # 2025: holiday Jan 28 - Feb 4; 2026: Feb 15 - 23; 2027 (beyond chinese_calendar): eve Feb 5 on
    assert list(days) == [6, 2, 7, 3, 0]


def test_spring_festival_dip_is_forecast_in_the_right_week():
    rng = np.random.default_rng(13)
    ds = pd.date_range("2019-01-07", "2025-12-29", freq="W-MON")
    share = F.spring_festival_days(ds) / 7
    y = (100 + 10 * np.sin(2 * np.pi * ds.day_of_year / 365.25)) * (1 - 0.7 * share) + rng.normal(0, 4, len(ds))
    df = pd.DataFrame({"unique_id": "arrivals", "ds": ds, "y": np.round(y)})
    fc, rep = forecast(df, "W", 13)
    assert rep["model"].iloc[0].endswith("+SpringFestival")
    yhat = fc.set_index("ds")["yhat"]
    sf_week = yhat[pd.Timestamp("2026-02-16")]           # Feb 15-23, 2026 holiday
    ordinary = yhat[[pd.Timestamp("2026-01-05"), pd.Timestamp("2026-03-09"), pd.Timestamp("2026-03-16")]]
    assert sf_week < 0.6 * ordinary.median()
    # the 2025 Spring Festival week (Jan 27) is NOT copied into 2026 by the seasonal pattern
    assert yhat[pd.Timestamp("2026-01-26")] > 0.85 * ordinary.median()
    # without the regressor the dip lands in the wrong weeks
    fc0, _ = forecast(df, "W", 13, holidays=False)
    assert fc0.set_index("ds")["yhat"][pd.Timestamp("2026-02-16")] > 0.85 * ordinary.median()


# ---- input errors -----------------------------------------------------------------------------

def test_unknown_freq_and_bad_frames():
    df = monthly(seed=14)
    with pytest.raises(LandDeskError, match="frequency"):
        forecast(df, "D", 3)
    with pytest.raises(LandDeskError, match="column"):
        forecast(df.drop(columns="y"), "MS", 3)
    with pytest.raises(LandDeskError, match="horizon"):
        forecast(df, "MS", 0)
    bad = df.astype({"ds": object})
    bad.loc[3, "ds"] = "not a date"
    with pytest.raises(LandDeskError):
        forecast(bad, "MS", 3)


# ---- file interface ---------------------------------------------------------------------------

@pytest.fixture
def csv_file(tmp_path):
    df = monthly(n=60, seed=15)
    path = tmp_path / "受理量.csv"
    pd.DataFrame({"月份": df["ds"].dt.strftime("%Y-%m-%d"), "受理件数": df["y"].round(1)}).to_csv(
        path, index=False, encoding="gb18030")
    return path


def test_forecast_file(csv_file):
    out = forecast_file(csv_file, "月份", "受理件数", "MS", 6)
    assert list(out.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper", "model", "mase", "snaive_mase"]
    assert len(out) == 6 and out["ds"].iloc[0] == "2022-01-01"
    assert (out["yhat_lower"] <= out["yhat"]).all() and (out["yhat"] <= out["yhat_upper"]).all()
    text = format_forecast(out, "csv")
    assert text.splitlines()[0].startswith("ds,yhat,yhat_lower,yhat_upper,model")
    js = format_forecast(out, "json")
    assert '"yhat_upper"' in js and "2022-01-01" in js


@pytest.mark.parametrize("kwargs, match", [
    ({"date_col": "date"}, "date column"),
    ({"value_col": "件数"}, "value column"),
    ({"freq": "daily"}, "frequency"),
])
def test_forecast_file_errors(csv_file, kwargs, match):
    args = {"date_col": "月份", "value_col": "受理件数", "freq": "MS", "horizon": 6} | kwargs
    with pytest.raises(LandDeskError, match=match):
        forecast_file(csv_file, **args)


def test_forecast_file_bad_content(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("d,v\n2024-01-01,1\nyesterday,2\n2024-03-01,3\n2024-04-01,4\n2024-05-01,5\n", encoding="utf-8")
    with pytest.raises(LandDeskError, match="not a date"):
        forecast_file(p, "d", "v", "MS", 2)
    p.write_text("d,v\n2024-01-01,1\n2024-02-01,abc\n", encoding="utf-8")
    with pytest.raises(LandDeskError, match="not a number"):
        forecast_file(p, "d", "v", "MS", 2)
    p.write_text("d,v\n2024-01-01,1\n2024-02-01,2\n", encoding="utf-8")
    with pytest.raises(LandDeskError, match="at least"):
        forecast_file(p, "d", "v", "MS", 2)
    with pytest.raises(LandDeskError, match="does not exist"):
        forecast_file(tmp_path / "missing.csv", "d", "v", "MS", 2)
    with pytest.raises(LandDeskError, match="format"):
        format_forecast(pd.DataFrame(), "xml")


def test_raw_daily_records_are_summed_and_a_partial_last_period_dropped():
    ds = pd.date_range("2023-01-02", periods=120, freq="D")     # ends on a Monday
    df = pd.DataFrame({"unique_id": "s", "ds": ds, "y": 1.0})
    grid, y = F._prepare(df, "W-MON", "interpolate")["s"]
    assert grid[-1] == pd.Timestamp("2023-04-24") and (y == 7).all()


@pytest.mark.parametrize("combine", ["median", "best"])
def test_combination_options(combine):
    fc, rep = forecast(monthly(seed=16), "MS", 6, combine=combine, level=(50, 90))
    assert {"yhat_lower_50", "yhat_upper_90", "coverage_50", "coverage_90"} <= set(fc.columns) | set(rep.columns)
    with pytest.raises(LandDeskError, match="combination"):
        forecast(monthly(seed=16), "MS", 6, combine="mean")


# ---- seasonality under a strong trend (regression) -------------------------------------------

def test_trend_does_not_mask_a_clean_season():
    """A clean y = 100 + 10 sin(2πt/12) + t was once called non-seasonal (the trend inflates every
    autocorrelation and so the lag-12 test's limit) and forecast flat at ~154."""
    t = np.arange(60)
    df = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2020-01-01", periods=60, freq="MS"),
                       "y": 100 + 10 * np.sin(2 * np.pi * t / 12) + t})
    fc, rep = forecast(df, "MS", 3)
    future = np.arange(60, 63)
    truth = 100 + 10 * np.sin(2 * np.pi * future / 12) + future
    assert np.abs(fc["yhat"].to_numpy() - truth).max() < 2.0
    assert rep["mase"].iloc[0] < rep["snaive_mase"].iloc[0]
    assert F._is_seasonal(df["y"].to_numpy(), 12)


def test_seasonal_strength_ignores_noise_and_trend():
    rng = np.random.default_rng(3)
    t = np.arange(60)
    assert F.seasonal_strength(100 + t + rng.normal(0, 3, 60), 12) < 0.3
    assert F.seasonal_strength(100 + 10 * np.sin(2 * np.pi * t / 12) + t, 12) > 0.99
    assert F.seasonal_strength(np.arange(20.0), 12) == 0.0        # too short to decompose
    noise_hits = sum(F._is_seasonal(rng.normal(100, 3, 48), 12) for _ in range(100))
    assert noise_hits <= 10


def test_exclude_leaves_out_candidates_but_never_all():
    df = monthly(n=40, seed=5, amp=0.0)        # non-seasonal: ARIMA(0,1,1)+drift is a candidate
    _, rep = forecast(df, "MS", 6, combine="median", top_k=10, within=100.0, exclude=("ARIMA",))
    assert "ARIMA" not in rep["model"].iloc[0]
    _, rep2 = forecast(df, "MS", 6, top_k=10, within=100.0, exclude=("ARIMA",))
    assert "ARIMA" not in rep2["model"].iloc[0]
    _, rep3 = forecast(monthly(n=8, seed=5), "MS", 2, exclude=("Naive", "Mean"))   # everything excluded
    assert rep3["model"].iloc[0] in ("Naive", "Mean", "Ensemble(Naive+Mean)", "Ensemble(Mean+Naive)")
