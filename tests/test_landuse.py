"""Land use and supply against a hand-computed county: first- and second-level codes, dynamic degree,
a zero base area, crossing-year projections (fractional and exact), a township without a target,
批而未供 at the period end, idle land at exactly one year."""
import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import insert

from analytics import landuse as lu
from analytics.exports import registry, run_export
from analytics.scope import Scope
from etl.schema import land_supply, land_use, targets

d = dt.date
YEARS = [2021, 2022, 2023, 2024, 2025]
ALL = Scope(d(2021, 1, 1), d(2025, 12, 31))
FEB26 = Scope(d(2026, 2, 1), d(2026, 2, 28))
DP, CG, XH = ("331199002", "东坪镇"), ("331199001", "城关镇"), ("331199003", "西河镇")


def _rows(region, category, areas):
    return [dict(region_code=region[0], region_name=region[1], year=y, category_code=category, area_ha=a)
            for y, a in zip(YEARS, areas) if a is not None]


LAND = (
    # 东坪镇: cultivated land −10 ha a year, residential absorbs it; total 1,700 ha every year
    _rows(DP, "01", [1100, 1090, 1080, 1070, 1060]) + _rows(DP, "03", [500] * 5)
    + _rows(DP, "07", [100, 110, 120, 130, 140])
    # 城关镇: 01 as first level, in 2024 also a stray second-level row (ignored: the first level wins),
    # in 2025 only second-level rows 0101 + 0103 (rolled up to 500)
    + _rows(CG, "01", [520, 515, 510, 505, None]) + _rows(CG, "0101", [None, None, None, 300, 300])
    + _rows(CG, "0103", [None, None, None, None, 200]) + _rows(CG, "03", [1000] * 5)
    + _rows(CG, "07", [80, 85, 90, 95, 100])
    # 西河镇: no target; industrial land grows from nothing (K undefined)
    + _rows(XH, "01", [200] * 5) + _rows(XH, "06", [0, 1, 2, 3, 5]) + _rows(XH, "12", [100, 99, 98, 97, 95])
)
TARGETS = [
    dict(indicator="cultivated_land_ha", region_code="331199", period="2030", value=1700.0),
    dict(indicator="cultivated_land_ha", region_code=DP[0], period="2030", value=1045.0),
    dict(indicator="cultivated_land_ha", region_code=CG[0], period="2030", value=510.0),
    dict(indicator="on_time_rate", region_code="331199", period="2026", value=0.95),
]


def _s(sid, town, approved, supplied, purpose, method, area, price, agreed, actual):
    return dict(supply_id=sid, region_code=town[0], region_name=town[1], approved_at=approved, supplied_at=supplied,
                purpose=purpose, method=method, area_ha=area, price=price, agreed_start=agreed, actual_start=actual)


SUPPLY = [
    # agreed start 2025-02-28, not started: idle from 2026-02-28 exactly (满一年), not on 2026-02-27
    _s("S1", DP, d(2024, 1, 10), d(2024, 3, 1), "工业用地", "招拍挂出让", 2.0, 600.0, d(2025, 2, 28), None),
    # started (late) before the period end: not idle any more
    _s("S2", DP, d(2024, 5, 1), d(2024, 6, 1), "住宅用地", "协议出让", 1.0, 400.0, d(2024, 9, 1), d(2025, 12, 1)),
    # 划拨, no price, never started since 2023-06-01: idle, 1,003 days past the agreed start at 2026-02-28
    _s("S3", CG, d(2023, 1, 1), d(2023, 2, 1), "公共管理与公共服务用地", "划拨", 3.0, None, d(2023, 6, 1), None),
    # approved, never supplied: 批而未供, 272 days at 2026-02-28
    _s("S4", CG, d(2025, 6, 1), None, "工业用地", None, 4.0, None, None, None),
    # supplied only after the period: 批而未供 at its end, 1,460 days
    _s("S5", DP, d(2022, 3, 1), d(2026, 3, 15), "住宅用地", "招拍挂出让", 1.5, 900.0, d(2026, 9, 1), None),
    # supplied in February 2026
    _s("S6", DP, d(2026, 2, 1), d(2026, 2, 10), "工业用地", "招拍挂出让", 2.5, 1000.0, d(2026, 8, 1), None),
    # anniversary 2026-03-01: one day short of idle at 2026-02-28
    _s("S7", DP, d(2024, 11, 1), d(2024, 12, 1), "工业用地", "招拍挂出让", 0.8, 200.0, d(2025, 3, 1), None),
    # starts after the period end: idle at it, 789 days past the agreed start
    _s("S8", CG, d(2023, 11, 1), d(2023, 12, 1), "住宅用地", "协议出让", 1.2, 300.0, d(2024, 1, 1), d(2026, 3, 10)),
]


@pytest.fixture
def county(engine):
    with engine.begin() as conn:
        conn.execute(insert(land_use), LAND)
        conn.execute(insert(targets), TARGETS)
        conn.execute(insert(land_supply), SUPPLY)
    return engine


def test_category_names_are_gbt21010_first_level():
    assert len(lu.CATEGORIES) == 13 and list(lu.CATEGORIES) == [f"{i:02d}" for i in range(13)]
    assert lu.CATEGORIES["01"] == ("耕地", "Cultivated land")
    assert lu.category_name("0101") == "耕地" and lu.category_name("08", "en") == "Public administration & services"
    assert lu.category_name("99") == "99"


def test_first_level_roll_up_prefers_first_level_rows():
    df = pd.DataFrame(LAND)
    out = lu.first_level(df).set_index(["region_code", "year", "category_code"])["area_ha"]
    assert out[(CG[0], 2024, "01")] == 505       # "01" wins over the stray "0101"
    assert out[(CG[0], 2025, "01")] == 500       # 0101 300 + 0103 200


def test_land_use_county_and_township(county):
    county_df = run_export(county, "land-use", ALL)
    y25 = county_df[county_df["year"] == 2025].set_index("category_code")
    assert y25.loc["01", "area_ha"] == pytest.approx(1060 + 500 + 200)
    assert y25.loc["01", "category_zh"] == "耕地" and y25.loc["07", "category_en"] == "Residential"
    assert y25["share"].sum() == pytest.approx(1.0)
    assert sorted(county_df["year"].unique()) == YEARS
    towns = run_export(county, "land-use", FEB26, by="township")       # 2026 clamps to the 2025 survey
    assert set(towns["year"]) == {2025} and set(towns["region_name"]) == {"东坪镇", "城关镇", "西河镇"}
    dp = towns[towns["region_name"] == "东坪镇"].set_index("category_code")
    assert dp.loc["01", "share"] == pytest.approx(1060 / 1700)
    only = run_export(county, "land-use", Scope(ALL.start, ALL.end, township="西河镇"))
    assert only[only["year"] == 2021].set_index("category_code")["area_ha"].to_dict() == {"01": 200, "06": 0, "12": 100}


def test_change_years_clamped():
    assert lu.change_years(ALL, YEARS) == (2021, 2025)
    assert lu.change_years(FEB26, YEARS) == (2024, 2025)            # one year: the survey before is the base
    assert lu.change_years(Scope(d(2019, 1, 1), d(2023, 6, 30)), YEARS) == (2021, 2023)
    assert lu.change_years(ALL, []) == (None, None)


def test_land_change_and_dynamic_degree(county):
    df = run_export(county, "land-change", ALL).set_index("category_code")
    assert df.loc["01", ["area_a", "area_b", "net_change"]].tolist() == [1820, 1760, -60]
    assert df.loc["01", "dynamic_degree_pct"] == pytest.approx(-60 / 1820 / 4 * 100)
    assert df.loc["07", "dynamic_degree_pct"] == pytest.approx(60 / 180 / 4 * 100)   # 180 → 240 ha
    assert df.loc["06", "net_change"] == 5 and math.isnan(df.loc["06", "dynamic_degree_pct"])  # from 0 ha
    assert df["net_change"].sum() == pytest.approx(0)                               # total area constant
    towns = run_export(county, "land-change", ALL, by="township")
    dp07 = towns[(towns["region_name"] == "东坪镇") & (towns["category_code"] == "07")].iloc[0]
    assert dp07["dynamic_degree_pct"] == pytest.approx(10.0)                        # 100 → 140 over 4 years
    with county.connect() as conn:
        two = lu.land_change(conn, ALL, year_a=2024, year_b=2025).set_index("category_code")
    assert two.loc["01", "net_change"] == -15 and two.loc["01", "year_a"] == 2024
    assert lu.dynamic_degree(100.0, 140.0, 4) == pytest.approx(10.0)


def test_transfer_matrix_from_parcels_and_empty_store_export(county):
    parcels = pd.DataFrame([
        ("p1", 2021, "01", 10.0), ("p1", 2025, "07", 10.0),
        ("p2", 2021, "01", 5.0), ("p2", 2025, "01", 5.0),
        ("p3", 2021, "03", 2.0), ("p3", 2025, "07", 2.0),
        ("p4", 2021, "01", 7.0),                                  # gone by 2025: left out
        ("p5", 2021, "0101", 3.0), ("p5", 2025, "0102", 3.0),     # second level → 01 → 01
    ], columns=["parcel_id", "year", "category_code", "area_ha"])
    m = lu.transfer_matrix(parcels, 2021, 2025)
    got = {(r.from_code, r.to_code): (r.area_ha, r.parcels) for r in m.itertuples()}
    assert got == {("01", "01"): (8.0, 2), ("01", "07"): (10.0, 1), ("03", "07"): (2.0, 1)}
    assert m.loc[m["to_code"] == "07", "to_zh"].iloc[0] == "住宅用地"
    wide = lu.transfer_matrix_wide(m)
    assert wide.loc["01", "07"] == 10.0 and wide.loc["03", "01"] == 0.0
    empty = run_export(county, "transfer-matrix", ALL)
    assert empty.empty and list(empty.columns) == lu.TRANSFER_STORE_COLUMNS
    assert "parcel" in empty.attrs["note"]


def test_projected_crossing():
    assert lu.projected_crossing(2025, 1060, 1045, -10, 1060 + 10 * 2025) == 2027      # 2026.5 → 2027
    assert lu.projected_crossing(2025, 1760, 1700, -15, 1760 + 15 * 2025) == 2029      # exactly 2029
    assert lu.projected_crossing(2025, 500, 510, -5, 500 + 5 * 2025) is None           # already below
    assert lu.projected_crossing(2025, 1200, 1100, 2, 1200 - 2 * 2025) is None         # rising
    assert lu.projected_crossing(2025, 1200, math.nan, -2, 1200 + 2 * 2025) is None    # no target
    assert lu.projected_crossing(2025, 1030, 1000, -1, 1030 + 2025) == 2055            # 30 years: the horizon
    assert lu.projected_crossing(2025, 1031, 1000, -1, 1031 + 2025) is None            # 31 years: not projected


def test_cultivated_target(county):
    df = run_export(county, "cultivated-target", ALL)
    assert list(df["level"]) == ["county", "township", "township", "township"]
    rows = df.set_index(df["region_name"].fillna("county"))
    c = rows.loc["county"]
    assert c["region_code"] == "331199" and c["latest_year"] == 2025
    assert c["area_ha"] == 1760 and c["target_ha"] == 1700 and c["gap_ha"] == 60
    assert c["slope_ha_per_year"] == pytest.approx(-15)
    assert c["projected_cross_year"] == 2029 and c["years_to_cross"] == 4 and c["status"] == "crossing"
    dp = rows.loc["东坪镇"]
    assert dp["target_ha"] == 1045 and dp["projected_cross_year"] == 2027 and dp["status"] == "crossing"
    cg = rows.loc["城关镇"]
    assert cg["gap_ha"] == -10 and cg["status"] == "below" and pd.isna(cg["projected_cross_year"])
    xh = rows.loc["西河镇"]          # no own target: never compared with the county's
    assert math.isnan(xh["target_ha"]) and xh["status"] == "no_target"
    town = run_export(county, "cultivated-target", Scope(ALL.start, ALL.end, township="东坪镇"))
    assert list(town["region_name"]) == ["东坪镇"]
    # a trend over the last 2 surveyed years only
    with county.connect() as conn:
        short = lu.cultivated_target(conn, ALL, trend_years=2).set_index("level")
    assert short.loc["county", "trend_years"] == 2
    series = run_export(county, "cultivated-series", Scope(d(2023, 1, 1), d(2023, 12, 31)))
    assert series["year"].max() == 2023 and len(series[series["level"] == "county"]) == 3


def test_land_supply_groups(county):
    y24 = Scope(d(2024, 1, 1), d(2024, 12, 31))
    (tot,) = run_export(county, "land-supply", y24).to_dict("records")
    assert (tot["parcels"], tot["area_ha"], tot["price"]) == (3, pytest.approx(3.8), pytest.approx(1200))
    assert tot["price_per_ha"] == pytest.approx(1200 / 3.8)
    by_method = run_export(county, "land-supply", y24, by="method").set_index("method")
    assert by_method.loc["招拍挂出让", ["parcels", "area_ha", "price"]].tolist() == [2, pytest.approx(2.8), 800]
    by_month = run_export(county, "land-supply", y24, by="period").set_index("period")
    assert len(by_month) == 12 and by_month["parcels"].to_dict()["2024-03"] == 1 and by_month["parcels"].sum() == 3
    allyears = Scope(d(2023, 1, 1), d(2026, 2, 28))
    by_town = run_export(county, "land-supply", allyears, by="township").set_index("township")
    assert by_town.loc["城关镇", "parcels"] == 2 and by_town.loc["城关镇", "price"] == 300
    assert by_town.loc["城关镇", "price_per_ha"] == pytest.approx(300 / 1.2)   # 划拨 S3 has no price
    by_purpose = run_export(county, "land-supply", FEB26, by="purpose")
    assert by_purpose.to_dict("records")[0]["purpose"] == "工业用地" and len(by_purpose) == 1


def test_unsupplied_at_period_end(county):
    df = run_export(county, "unsupplied", FEB26)
    assert list(df["region_name"]) == ["城关镇", "东坪镇"]                  # largest area first
    rows = df.set_index("region_name")
    assert rows.loc["城关镇", "area_ha"] == 4.0 and rows.loc["城关镇", "max_age_years"] == pytest.approx(272 / 365.25)
    assert rows.loc["东坪镇", "area_ha"] == 1.5 and rows.loc["东坪镇", "mean_age_years"] == pytest.approx(1460 / 365.25)
    after = run_export(county, "unsupplied", Scope(d(2026, 3, 1), d(2026, 3, 31)))
    assert list(after["region_name"]) == ["城关镇"]                          # S5 supplied on 15 March


def test_idle_land_at_exactly_one_year(county):
    df = run_export(county, "idle-land", FEB26)
    assert list(df["supply_id"]) == ["S3", "S8", "S1"]
    assert list(df["days_past_agreed_start"]) == [1003, 789, 365]
    assert df.set_index("supply_id").loc["S1", "idle_since"] == d(2026, 2, 28)
    day_before = run_export(county, "idle-land", Scope(d(2026, 2, 1), d(2026, 2, 27)))
    assert list(day_before["supply_id"]) == ["S3", "S8"]
    march = run_export(county, "idle-land", Scope(d(2026, 3, 1), d(2026, 3, 31)))
    assert list(march["supply_id"]) == ["S3", "S1", "S7"]                   # S8 started on 10 March
    assert lu.one_year_after(d(2024, 2, 29)) == pd.Timestamp(2025, 2, 28)


def test_exports_registered():
    reg = registry()
    for name in ("land-use", "land-change", "transfer-matrix", "cultivated-target", "land-supply", "unsupplied",
                 "idle-land"):
        assert name in reg
    assert reg["land-supply"].by == ("purpose", "method", "township", "system", "period")
