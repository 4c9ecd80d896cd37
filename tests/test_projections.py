"""analytics.projections: the forecast export's shape on the sample county, its backtest export (one row
per series), complete weeks, the backlog
projection's rising flag on a synthetic store, the land trajectory's crossing year on a declining
township (SQLite, and PostgreSQL when configured)."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from analytics import projections as fu
from analytics.exports import registry, run_export
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.schema import cases, land_use, targets
from etl.store import make_engine

d = dt.date
SAMPLE_SCOPE = Scope(d(2026, 1, 1), d(2026, 10, 31))


@pytest.fixture(scope="module")
def sample_forecast(sample_store_url):
    engine = make_engine(sample_store_url)
    try:
        return {by: run_export(engine, "forecast", SAMPLE_SCOPE, by=by) for by in (None, "case_type", "topic")}
    finally:
        engine.dispose()


def test_exports_are_registered():
    names = registry()
    for name in ("forecast", "forecast-backtest", "backlog-projection", "land-trajectory"):
        assert name in names
    assert set(names["forecast"].by) == {"total", "case_type", "topic"}
    assert names["forecast-backtest"].by == names["forecast"].by


def test_forecast_export_shape(sample_forecast):
    f = sample_forecast[None]
    assert list(f.columns) == fu.FORECAST_COLUMNS
    assert set(f["unique_id"]) == {"cases:total", "petitions:total"}
    for uid, g in f.groupby("unique_id"):
        hist, fut = g[g["kind"] == "history"], g[g["kind"] == "forecast"]
        # history: the 2 years before the period's end (the period is shorter), complete weeks only
        assert len(hist) in (103, 104, 105)
        assert hist["ds"].min() >= pd.Timestamp("2024-11-01")
        assert hist["y"].notna().all() and hist["yhat"].isna().all()
        assert len(fut) == fu.HORIZON_WEEKS
        assert fut["y"].isna().all()
        assert (fut["ds"].diff().dropna() == pd.Timedelta(weeks=1)).all()
        assert fut["ds"].min() == hist["ds"].max() + pd.Timedelta(weeks=1)
        # a Saturday cut-off keeps its working week
        assert hist["ds"].max() == pd.Timestamp("2026-10-26")
        b = fut[["yhat_lower_95", "yhat_lower_80", "yhat", "yhat_upper_80", "yhat_upper_95"]].to_numpy()
        assert (np.diff(b, axis=1) >= -1e-9).all()
        assert (b >= 0).all()
        assert g["mase"].notna().all() and g["snaive_mase"].notna().all()
        assert g["model"].nunique() == 1 and g["model"].iloc[0] != "none"


def test_forecast_backtest_export_one_row_per_series(sample_store_url, sample_forecast):
    engine = make_engine(sample_store_url)
    try:
        bt = run_export(engine, "forecast-backtest", SAMPLE_SCOPE, by="case_type")
    finally:
        engine.dispose()
    assert list(bt.columns) == fu.BACKTEST_COLUMNS
    fc = sample_forecast["case_type"]
    # one row per series of the forecast export, in its order, with the values its rows carry
    assert list(bt["unique_id"]) == list(dict.fromkeys(fc["unique_id"]))
    assert bt["unique_id"].is_unique
    first = fc.drop_duplicates("unique_id").set_index("unique_id")
    for col in ("model", "mase", "snaive_mase", "coverage_80", "coverage_95"):
        pd.testing.assert_series_equal(bt.set_index("unique_id")[col], first[col], check_names=False)
    assert (bt["beats_baseline"] == (bt["mase"] < bt["snaive_mase"])).all()
    assert fu.backtest_frame(fc.iloc[0:0]).empty


def test_forecast_by_case_type_and_topic(sample_forecast):
    ct = sample_forecast["case_type"]
    assert ct["unique_id"].nunique() == 9            # 8 case types + total
    assert "cases:建设用地预审" in set(ct["unique_id"])
    tp = sample_forecast["topic"]
    assert tp["unique_id"].nunique() == 9            # 8 topics + total
    hist = tp[(tp["kind"] == "history")]
    total = hist[hist["group"] == "total"].set_index("ds")["y"]
    parts = hist[hist["group"] != "total"].groupby("ds")["y"].sum()
    pd.testing.assert_series_equal(total, parts.reindex(total.index), check_names=False)
    with pytest.raises(ValueError):
        fu.forecast_series(None, SAMPLE_SCOPE, by="channel")


def test_complete_periods_and_history_scope():
    cal = WorkCalendar()
    # ends on Wednesday 2025-12-31: that week is not complete
    weeks = fu.complete_periods(Scope(d(2025, 12, 1), d(2025, 12, 31)), "W", cal)
    assert weeks[0] == pd.Timestamp("2025-12-01") and weeks[-1] == pd.Timestamp("2025-12-22")
    # ends on Saturday 2025-12-27: only non-working days remain, the week counts
    weeks = fu.complete_periods(Scope(d(2025, 12, 2), d(2025, 12, 27)), "W", cal)
    assert weeks[0] == pd.Timestamp("2025-12-08") and weeks[-1] == pd.Timestamp("2025-12-22")
    months = fu.complete_periods(Scope(d(2025, 1, 15), d(2025, 6, 30)), "MS")
    assert list(months.strftime("%m")) == ["02", "03", "04", "05", "06"]
    short = fu.history_scope(Scope(d(2026, 1, 1), d(2026, 3, 31)))
    assert short.end == d(2026, 3, 31) and short.days == fu.MIN_HISTORY_DAYS
    long = Scope(d(2020, 1, 1), d(2026, 3, 31))
    assert fu.history_scope(long) is long


# ---------- backlog projection ----------

END = d(2025, 12, 28)                       # a Sunday; the 10 weeks before it have no holiday
WEEKS = pd.date_range("2024-01-01", END, freq="7D")      # Mondays


def _cases(open_last_weeks: int, per_week: int = 20, closed_per_week: int = 12):
    rows = []
    for i, w in enumerate(WEEKS):
        late = i >= len(WEEKS) - open_last_weeks
        for k in range(per_week):
            rec = (w + pd.Timedelta(days=k % 3, hours=9, minutes=k)).to_pydatetime()
            still_open = late and k >= closed_per_week
            rows.append(dict(case_id=f"T{i:03d}{k:02d}", case_type="测试", township="东坪镇", received_at=rec,
                             closed_at=None if still_open else rec + dt.timedelta(days=1),
                             status="open" if still_open else "closed", promised_days=5, statutory_days=20))
    return rows


@pytest.mark.parametrize("open_last_weeks, rising", [(10, True), (0, False)])
def test_backlog_projection_flags_a_rising_backlog(engine, open_last_weeks, rising):
    with engine.begin() as conn:
        conn.execute(insert(cases), _cases(open_last_weeks))
    out = run_export(engine, "backlog-projection", Scope(d(2024, 1, 1), END))
    assert list(out.columns) == fu.BACKLOG_COLUMNS
    assert len(out) == fu.HORIZON_WEEKS and (out["group"] == "total").all()
    assert out["week"].iloc[0] == d(2025, 12, 29)
    assert out["backlog_now"].iloc[0] == 8 * open_last_weeks
    assert bool(out["backlog_rising"].iloc[0]) is rising
    assert (out["backlog_lower_95"] <= out["backlog"] + 1e-9).all()
    assert (out["backlog"] <= out["backlog_upper_80"] + 1e-9).all()
    assert (out["backlog_upper_80"] <= out["backlog_upper_95"] + 1e-9).all()
    if rising:
        # 20 arrivals against ~12 completions a week: about +8 a week, and the old cases run late
        assert out["capacity"].iloc[1] == pytest.approx(12, abs=1)
        assert out["backlog"].iloc[-1] - out["backlog_now"].iloc[0] > 40
        assert bool(out["overdue_rising"].iloc[0])
        assert out["overdue_at_risk"].iloc[-1] > out["overdue_now"].iloc[0]
    else:
        assert out["backlog"].iloc[-1] < 30


def test_cumulative_bound_and_fluid_queue():
    yhat = np.array([10.0, 10.0, 10.0, 10.0])
    up = fu.cumulative_bound(yhat, yhat + 4)
    assert np.cumsum(up) == pytest.approx(np.cumsum(yhat) + 4 * np.sqrt(np.arange(1, 5)))
    lo = fu.cumulative_bound(yhat, np.zeros(4))
    assert (lo >= 0).all() and np.cumsum(lo)[-1] == pytest.approx(40 - 20)
    cal = WorkCalendar()
    open_now = pd.DataFrame({"received_at": pd.to_datetime(["2025-11-03 09:00"] * 4), "promised_days": [5] * 4})
    weeks = pd.date_range("2025-11-10", periods=3, freq="7D")
    backlog, overdue = fu.project_backlog(open_now, np.array([2.0, 2.0, 2.0]), weeks, 1.0, 0.0, 5, cal)
    assert backlog == pytest.approx([5, 6, 7])
    assert overdue[0] == pytest.approx(3)          # the 3 oldest left are past 5 working days by 16 Nov


# ---------- land trajectory ----------

TOWN = ("999001", "测试乡")
OTHER = ("999002", "平安乡")


def _land():
    rows = []
    years = range(2019, 2024)
    for j, y in enumerate(years):
        # 测试乡: cultivated −12.5 ha a year (±0.5), construction 05 + 07 + 10 growing
        rows += [dict(region_code=TOWN[0], region_name=TOWN[1], year=y, category_code="01",
                      area_ha=1000 - 12.5 * j + (0.5 if j % 2 else -0.5)),
                 dict(region_code=TOWN[0], region_name=TOWN[1], year=y, category_code="05", area_ha=20 + j),
                 dict(region_code=TOWN[0], region_name=TOWN[1], year=y, category_code="07", area_ha=100 + 10 * j),
                 dict(region_code=TOWN[0], region_name=TOWN[1], year=y, category_code="10", area_ha=30),
                 dict(region_code=TOWN[0], region_name=TOWN[1], year=y, category_code="12", area_ha=500),
                 dict(region_code=OTHER[0], region_name=OTHER[1], year=y, category_code="01", area_ha=800),
                 dict(region_code=OTHER[0], region_name=OTHER[1], year=y, category_code="07", area_ha=50)]
    tg = [dict(indicator="cultivated_land_ha", region_code=TOWN[0], period="2030", value=920.0),
          dict(indicator="cultivated_land_ha", region_code=OTHER[0], period="2030", value=760.0),
          dict(indicator="cultivated_land_ha", region_code="999", period="2030", value=1600.0)]
    return rows, tg


def test_land_trajectory_crossing_year(engine):
    rows, tg = _land()
    with engine.begin() as conn:
        conn.execute(insert(land_use), rows)
        conn.execute(insert(targets), tg)
    out = run_export(engine, "land-trajectory", Scope(d(2019, 1, 1), d(2023, 12, 31)))
    assert list(out.columns) == fu.LAND_COLUMNS
    town = out[(out["region_name"] == TOWN[1]) & (out["measure"] == "cultivated")]
    hist, proj = town[town["kind"] == "history"], town[town["kind"] == "projection"]
    assert list(hist["year"]) == [2019, 2020, 2021, 2022, 2023]
    assert list(proj["year"]) == list(range(2024, 2024 + fu.LAND_HORIZON_YEARS))
    r = town.iloc[0]
    # 950 ha in 2023, −12.5 a year → below 920 during 2026
    assert r["slope_ha_per_year"] == pytest.approx(-12.5, abs=0.3)
    assert r["cross_year"] == 2026 and r["status"] == "crossing"
    assert r["cross_year_earliest_95"] <= 2026 <= r["cross_year_latest_95"]
    assert (proj["lower_95"] <= proj["lower_80"]).all() and (proj["lower_80"] <= proj["fit"]).all()
    assert (proj["fit"] <= proj["upper_80"]).all() and (proj["upper_80"] <= proj["upper_95"]).all()
    # intervals widen away from the data
    assert (np.diff((proj["upper_95"] - proj["lower_95"]).to_numpy()) > 0).all()
    # construction land = 05 + 07 + 10 (12 is not construction land)
    con = out[(out["region_name"] == TOWN[1]) & (out["measure"] == "construction") & (out["kind"] == "history")]
    assert con.set_index("year")["area_ha"].to_dict() == {2019 + j: 150.0 + 11 * j for j in range(5)}
    assert con["target_ha"].isna().all() and con["cross_year"].isna().all()
    # a flat township holds; the county sums the townships
    other = out[(out["region_name"] == OTHER[1]) & (out["measure"] == "cultivated")].iloc[0]
    assert other["status"] == "holding" and pd.isna(other["cross_year"])
    county = out[(out["region_name"].isna()) & (out["measure"] == "construction") & (out["kind"] == "history")]
    assert county.set_index("year")["area_ha"].iloc[0] == pytest.approx(150 + 50)


def test_trend_projection_edge_cases():
    p = fu.trend_projection([2020], [10.0], [2021])
    assert np.isnan(p["fit"]).all()
    p = fu.trend_projection([2020, 2021], [10.0, 12.0], [2022])
    assert p["fit"][0] == pytest.approx(14.0) and np.isnan(p["lower_95"]).all()


def test_land_trajectory_on_the_sample(sample_store_url):
    engine = make_engine(sample_store_url)
    try:
        out = run_export(engine, "land-trajectory", Scope(d(2025, 1, 1), d(2025, 12, 31)))
    finally:
        engine.dispose()
    first = out.drop_duplicates(["measure", "region_name"]).set_index(["measure", "region_name"])
    # planted: 城关镇 already below its target, 东坪镇 on course to cross about 2027
    assert first.loc[("cultivated", "城关镇"), "status"] == "below"
    dp = first.loc[("cultivated", "东坪镇")]
    assert dp["status"] == "crossing" and 2026 <= dp["cross_year"] <= 2028
    assert dp["cross_year_earliest_95"] <= dp["cross_year"] <= dp["cross_year_latest_95"]
