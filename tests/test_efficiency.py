"""Case efficiency against a hand-computed county: ties, open and withdrawn cases, cases crossing the
2026 Spring Festival (15–23 Feb holiday; Sat 14 Feb and Sat 28 Feb are 调休 working days)."""
import datetime as dt
import math

import pytest
from sqlalchemy import insert

from analytics import efficiency as eff
from analytics import kpis
from analytics.exports import registry, run_export
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.schema import cases

from etl_helpers import shanghai as D  # noqa: E402  (bureau wall-clock times as stored instants)
FEB = Scope(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
CAL = WorkCalendar()


def _case(cid, township, channel, received, closed, status, promised, statutory, visits=None, rating=None,
          case_type="不动产转移登记"):
    return dict(case_id=cid, case_type=case_type, service_item=case_type + "-1", department="登记中心",
                township=township, channel=channel, received_at=received, closed_at=closed, status=status,
                promised_days=promised, statutory_days=statutory, visits=visits, rating=rating,
                applicant_key=f"secret-{cid}")


CASES = [
    # working days 2, on time (≤ 3), statutory 20
    _case("A", "东坪镇", "online", D(2026, 2, 2, 9), D(2026, 2, 4, 16), "closed", 3, 20, 0, 5),
    # Fri → Tue across the Spring Festival: Sat 14th (调休) + 24th = 2 working days; late vs 1, on time vs 2
    _case("B", "东坪镇", "window", D(2026, 2, 13, 10), D(2026, 2, 24, 11), "closed", 1, 2, 1, 2),
    # same day: 0 working days, instant
    _case("C", "东坪镇", "mobile", D(2026, 2, 10, 9), D(2026, 2, 10, 15), "closed", 1, 5, 0, None),
    # received in January, rejected after 12 working days: late vs promised 10 and statutory 10
    _case("D", "西河镇", "window", D(2026, 1, 20, 9), D(2026, 2, 5, 9), "rejected", 10, 10, 2, 4),
    # received on a holiday, open: age 5 at 28 Feb (24–27 + Sat 28 调休) = exactly its limit, 0 days left
    _case("E", "东坪镇", "online", D(2026, 2, 20, 9), None, "open", 5, 20),
    # open since 5 January: age 35, promised 10 → overdue by 25
    _case("F", "西河镇", "window", D(2026, 1, 5, 9), None, "open", 10, 20),
    # withdrawn: neither completed nor open at the end
    _case("G", "东坪镇", "window", D(2026, 2, 26, 9), D(2026, 2, 27, 9), "withdrawn", 5, 20),
    # next working day: 1 ≤ 1, statutory = promised (compression 0), rating 1
    _case("H", "西河镇", "online", D(2026, 2, 25, 9), D(2026, 2, 26, 10), "closed", 1, 1, 0, 1),
    # open across the holiday: 13, Sat 14, 24–27, Sat 28 = age 7, promised 8 → 1 day left (near the limit)
    _case("I", "东坪镇", "window", D(2026, 2, 12, 9), None, "open", 8, 20),
    # open since December without a promised limit: age 59 (> 40), never "past limit"
    _case("J", "西河镇", "window", D(2025, 12, 1, 9), None, "open", None, 20, case_type="土地登记"),
]


@pytest.fixture
def county(engine):
    with engine.begin() as conn:
        conn.execute(insert(cases), CASES)
    return engine


def test_case_efficiency_total_matches_hand_computation(county):
    with county.connect() as conn:
        (row,) = eff.case_efficiency(conn, FEB, CAL).to_dict("records")
    assert row["received"] == 7                                  # A B C E G H I
    assert row["completed"] == 5                                 # A B C D H
    # working days A 2, B 2, C 0, D 12, H 1 → sorted 0 1 2 2 12 (a tie at the median)
    assert row["throughput_median"] == 2
    assert row["throughput_mean"] == pytest.approx(17 / 5)
    assert row["throughput_p90"] == pytest.approx(2 + 0.6 * 10)  # linear interpolation at rank 3.6
    assert row["on_time_rate"] == pytest.approx(3 / 5)           # A C H
    assert row["on_time_rate_statutory"] == pytest.approx(4 / 5)  # all but D
    assert row["overdue"] == 3                                   # B D late, F open past; E exactly at limit
    # received: A .85, B .5, C .8, E .75, G .75, H 0, I .6
    assert row["limit_compression"] == pytest.approx(4.25 / 7)
    assert row["actual_vs_promised_median"] == pytest.approx(1.0)  # 0, 2/3, 1, 1.2, 2
    assert row["instant_rate"] == pytest.approx(1 / 5)           # C
    assert row["online_rate"] == pytest.approx(4 / 7)            # A C(mobile) E H
    assert row["zero_visit_rate"] == pytest.approx(3 / 5)        # A C H
    assert row["one_visit_rate"] == pytest.approx(4 / 5)         # + B
    assert row["good_rating_rate"] == pytest.approx(2 / 4)       # 5 4 of 5 2 4 1
    assert row["bad_ratings"] == 2                               # 2 and 1
    assert row["rating_participation"] == pytest.approx(4 / 5)


def test_totals_agree_with_the_cockpit(county):
    with county.connect() as conn:
        row = eff.case_efficiency(conn, FEB, CAL).iloc[0]
        v = kpis.kpi_values(conn, FEB, CAL)
    assert row["received"] == v["cases_received"]
    assert row["completed"] == v["cases_closed"]
    assert row["on_time_rate"] == pytest.approx(v["on_time_rate"])
    assert row["throughput_median"] == pytest.approx(v["median_throughput"])
    assert row["overdue"] == v["overdue"]
    assert row["online_rate"] == pytest.approx(v["online_rate"])
    assert row["good_rating_rate"] == pytest.approx(v["good_rating_rate"])


def test_case_efficiency_by_township_and_hours(county):
    with county.connect() as conn:
        df = eff.case_efficiency(conn, FEB, CAL, "hours", by="township").set_index("township")
    assert list(df.index) == ["东坪镇", "西河镇"]
    assert df.loc["东坪镇", "received"] == 6 and df.loc["西河镇", "received"] == 1
    assert df.loc["东坪镇", "online_rate"] == pytest.approx(3 / 6)
    assert df.loc["东坪镇", "completed"] == 3 and df.loc["西河镇", "completed"] == 2
    assert df.loc["东坪镇", "overdue"] == 1      # B
    assert df.loc["西河镇", "overdue"] == 2      # D, F
    # hours: D 16 days = 384 h, H 25 h → median of two = mean
    assert df.loc["西河镇", "throughput_median"] == pytest.approx((384 + 25) / 2)
    assert df.loc["西河镇", "on_time_rate"] == pytest.approx(1 / 2)   # unit does not change the limits


def test_case_efficiency_by_month_is_each_month_as_its_own_scope(county):
    scope = Scope(dt.date(2026, 1, 10), dt.date(2026, 2, 28))
    with county.connect() as conn:
        df = eff.case_efficiency(conn, scope, CAL, by="period").set_index("period")
        feb = eff.case_efficiency(conn, FEB, CAL).iloc[0]
    assert list(df.index) == ["2026-01", "2026-02"]
    assert df.loc["2026-01", "period_start"] == "2026-01-10"
    assert df.loc["2026-01", "received"] == 1 and df.loc["2026-01", "completed"] == 0   # D (F before the 10th)
    assert math.isnan(df.loc["2026-01", "on_time_rate"])
    assert df.loc["2026-01", "overdue"] == 1        # F at 31 Jan: age 18 > 10
    for col in ("received", "completed", "on_time_rate", "overdue", "online_rate", "limit_compression"):
        assert df.loc["2026-02", col] == pytest.approx(feb[col])


def test_changes_vs_previous_period_and_year_before(county):
    df = run_export(county, "case-efficiency-changes", FEB).set_index("metric")
    assert set(eff.HEADLINE) == set(df.index)
    # previous period 4–31 Jan: received D, F, both window → online rate 0
    assert df.loc["online_rate", "value"] == pytest.approx(4 / 7)
    assert df.loc["online_rate", "previous"] == 0
    assert df.loc["online_rate", "change"] == pytest.approx(4 / 7)
    assert math.isnan(df.loc["online_rate", "year_before"]) and math.isnan(df.loc["online_rate", "change_yoy"])
    assert math.isnan(df.loc["on_time_rate", "previous"])   # nothing completed in January
    by_town = run_export(county, "case-efficiency-changes", FEB, by="township")
    assert set(by_town["township"]) == {"东坪镇", "西河镇"}
    by_month = run_export(county, "case-efficiency-changes", FEB, by="period")
    assert set(by_month["period"]) == {"2026-02"}


def test_backlog_age_bands_and_past_limit(county):
    with county.connect() as conn:
        df = eff.backlog_age(conn, FEB, CAL).set_index("age_band")
        by_town = eff.backlog_age(conn, FEB, CAL, by="township")
        backlog = kpis.backlog(kpis.open_cases_at_end(conn, FEB))
    assert list(df.index) == ["0-5", "6-10", "11-20", "21-40", ">40"]
    assert df["open"].to_dict() == {"0-5": 1, "6-10": 1, "11-20": 0, "21-40": 1, ">40": 1}   # E I F J
    assert df["past_limit"].to_dict() == {"0-5": 0, "6-10": 0, "11-20": 0, "21-40": 1, ">40": 0}  # F only
    assert df["open"].sum() == backlog
    assert len(by_town) == 10
    west = by_town[by_town["township"] == "西河镇"].set_index("age_band")["open"]
    assert west["21-40"] == 1 and west[">40"] == 1 and west["0-5"] == 0
    assert [eff.age_band(a) for a in (0, 5, 6, 10, 11, 20, 21, 40, 41)] == \
        ["0-5", "0-5", "6-10", "6-10", "11-20", "11-20", "21-40", "21-40", ">40"]


def test_overdue_cases_list(county):
    df = run_export(county, "overdue-cases", FEB)
    assert list(df["case_id"]) == ["F", "E", "I"]           # most urgent first
    assert list(df["days_left"]) == [-25, 0, 1]
    assert list(df["age"]) == [35, 5, 7]
    assert list(df["overdue"]) == [True, False, False]
    assert "applicant_key" not in df.columns
    assert set(df.columns) >= {"case_id", "case_type", "department", "township", "received_at", "promised_days"}


def test_flow_backlog_at_week_ends_and_littles_law(county):
    df = run_export(county, "flow", FEB)
    # weeks start on the first Monday in the period (1 Feb 2026 is a Sunday: no stub week)
    assert [d.isoformat() for d in df["week"].dt.date] == ["2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23"]
    assert list(df["received"]) == [1, 3, 1, 2]          # A | C I B | E | G H  (received in period)
    assert list(df["closed"]) == [2, 1, 0, 2]            # A D | C | – | B H
    assert list(df["backlog"]) == [2, 4, 5, 4]           # F J | F J I B | + E | F J I E
    assert df["week_end"].iloc[-1] == dt.datetime(2026, 3, 1)      # a local midnight (a label, not an instant)
    row = df.iloc[0]
    assert row["littles_arrival_rate_per_day"] == pytest.approx(7 / 28)
    # calendar days A 2.2917 B 11.0417 C 0.25 D 16 H 1.0417 → mean 6.125
    assert row["littles_mean_throughput_days"] == pytest.approx(30.625 / 5)
    assert row["littles_expected_backlog"] == pytest.approx(7 / 28 * 30.625 / 5)
    assert row["littles_mean_backlog"] == pytest.approx(15 / 4)


def test_case_drilldown(county):
    df = run_export(county, "cases", FEB).set_index("case_id")
    assert sorted(df.index) == list("ABCDEFGHIJ")
    assert "applicant_key" not in df.columns
    assert df.loc["B", "throughput"] == 2 and not df.loc["B", "on_time"]
    assert df.loc["A", "on_time"]
    assert df.loc["E", "age"] == 5 and math.isnan(df.loc["E", "throughput"])
    assert math.isnan(df.loc["G", "throughput"]) and math.isnan(df.loc["G", "age"])
    assert df.loc["D", "throughput"] == 12
    march = run_export(county, "cases", Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert sorted(march["case_id"]) == ["E", "F", "I", "J"]


def test_exports_registered_with_dimensions():
    reg = registry()
    for name in ("case-efficiency", "case-efficiency-changes", "backlog-age", "flow", "overdue-cases", "cases"):
        assert name in reg
    assert "period" in reg["case-efficiency"].by
    with pytest.raises(ValueError):
        eff.case_efficiency(None, FEB, CAL, by="applicant_key")
