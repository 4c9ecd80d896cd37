"""Cockpit KPIs against a hand-computed county: a Spring Festival holiday, a 调休 Saturday, open,
withdrawn and rejected cases, extended petitions, township targets."""
import datetime as dt
import math

import pytest
from sqlalchemy import insert

from analytics import kpis
from analytics.exports import run_export
from analytics.scope import Scope
from analytics.workcal import WorkCalendar, durations, load_calendar
from etl.schema import calendar, cases, land_use, petitions, targets

from etl_helpers import shanghai as D  # noqa: E402  (bureau wall-clock times as stored instants)
FEB = Scope(dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def _case(cid, received, closed, status, promised, channel, rating=None, township="东坪镇"):
    return dict(case_id=cid, case_type="不动产转移登记", township=township, channel=channel, received_at=received,
                closed_at=closed, status=status, promised_days=promised, statutory_days=20, visits=0, rating=rating)


CASES = [
    # 2 working days, on time
    _case("A", D(2026, 2, 2, 9), D(2026, 2, 4, 16), "closed", 3, "online", 5),
    # Fri before Spring Festival → Tue after: Sat 14 Feb is a 调休 workday, 15–23 Feb holiday → 2 working days, late
    _case("B", D(2026, 2, 13, 10), D(2026, 2, 24, 11), "closed", 1, "window", 2),
    # same day → 0 working days (instant), on time
    _case("C", D(2026, 2, 10, 9), D(2026, 2, 10, 15), "closed", 1, "mobile", None),
    # received in January, rejected in February after 12 working days, late
    _case("D", D(2026, 1, 20, 9), D(2026, 2, 5, 9), "rejected", 10, "window", 4, township="西河镇"),
    # received on a holiday, open: 24–27 Feb + Sat 28 Feb = 5 working days at period end → not past 5
    _case("E", D(2026, 2, 20, 9), None, "open", 5, "online"),
    # open since 5 January, promised 10 → overdue
    _case("F", D(2026, 1, 5, 9), None, "open", 10, "window", township="西河镇"),
    # withdrawn: neither a completion nor backlog
    _case("G", D(2026, 2, 26, 9), D(2026, 2, 27, 9), "withdrawn", 5, "window"),
]
PETITIONS = [
    dict(petition_id="P1", received_at=D(2026, 1, 10), replied_at=D(2026, 2, 15), extended=False, township="东坪镇"),
    dict(petition_id="P2", received_at=D(2025, 12, 1), replied_at=D(2026, 2, 10), extended=False, township="东坪镇"),
    dict(petition_id="P3", received_at=D(2025, 11, 20), replied_at=D(2026, 2, 16), extended=True, township="西河镇"),
    dict(petition_id="P4", received_at=D(2026, 2, 3), replied_at=None, extended=None, township="东坪镇"),
]
LAND = [
    dict(region_code="331199001", region_name="东坪镇", year=2024, category_code="01", area_ha=1010.0),
    dict(region_code="331199001", region_name="东坪镇", year=2025, category_code="01", area_ha=1000.0),
    dict(region_code="331199002", region_name="西河镇", year=2025, category_code="01", area_ha=500.0),
    dict(region_code="331199002", region_name="西河镇", year=2025, category_code="03", area_ha=800.0),
]
TARGETS = [
    dict(indicator="cultivated_land_ha", region_code="331199", period="2030", value=1400.0),
    dict(indicator="cultivated_land_ha", region_code="331199001", period="2030", value=1100.0),
    dict(indicator="on_time_rate", region_code="331199", period="2025", value=0.90),
    dict(indicator="on_time_rate", region_code="331199", period="2026", value=0.95),
]


@pytest.fixture
def county(engine):
    with engine.begin() as conn:
        conn.execute(insert(cases), CASES)
        conn.execute(insert(petitions), PETITIONS)
        conn.execute(insert(land_use), LAND)
        conn.execute(insert(targets), TARGETS)
    return engine


def test_working_days_cross_spring_festival_and_adjusted_saturday():
    cal = WorkCalendar()
    got = cal.workdays_between([D(2026, 2, 13, 10), D(2026, 2, 10, 9), D(2026, 1, 20)],
                               [D(2026, 2, 24, 11), D(2026, 2, 10, 15), D(2026, 2, 5)])
    assert list(got) == [2, 0, 12]
    assert durations([D(2026, 2, 13, 10)], [D(2026, 2, 24, 11)], "hours", cal)[0] == pytest.approx(11 * 24 + 1)
    assert durations([D(2026, 2, 13, 12)], [D(2026, 2, 14, 0)], "days", cal)[0] == pytest.approx(0.5)


def test_calendar_override_table_changes_working_days(engine):
    with engine.begin() as conn:
        conn.execute(insert(calendar), [dict(date=dt.date(2026, 2, 25), is_workday=False, note="临时停工")])
    cal = load_calendar(engine)
    assert cal.workdays_between([D(2026, 2, 13, 10)], [D(2026, 2, 26)])[0] == 2 + 1  # 14th, 24th, 26th


def test_cockpit_kpis_match_hand_computation(county):
    with county.connect() as conn:
        v = kpis.kpi_values(conn, FEB, WorkCalendar())
    assert v["cases_received"] == 5            # A B C E G
    assert v["cases_closed"] == 4              # A B C D (G withdrawn)
    assert v["on_time_rate"] == pytest.approx(0.5)      # A, C of A B C D
    assert v["median_throughput"] == pytest.approx(2.0)  # [2, 2, 0, 12]
    assert v["backlog"] == 2                   # E, F
    assert v["overdue"] == 3                   # B, D late; F open past limit; E exactly at its limit
    assert v["online_rate"] == pytest.approx(3 / 5)      # A online, C mobile, E online
    assert v["good_rating_rate"] == pytest.approx(2 / 3)  # 5, 2, 4
    assert v["petitions_received"] == 1
    assert v["petition_reply_on_time_rate"] == pytest.approx(2 / 3)  # P1 36 d, P2 71 d late, P3 88 d extended
    assert v["cultivated_land_ha"] == pytest.approx(1500.0)


def test_township_scope_and_targets(county):
    with county.connect() as conn:
        v = kpis.kpi_values(conn, Scope(FEB.start, FEB.end, township="西河镇"), WorkCalendar())
        assert (v["cases_received"], v["cases_closed"], v["backlog"], v["overdue"]) == (0, 1, 1, 2)
        assert v["cultivated_land_ha"] == pytest.approx(500.0)
        assert kpis.target_value(conn, "cultivated_land_ha", FEB) == 1400.0
        assert kpis.target_value(conn, "cultivated_land_ha", Scope(FEB.start, FEB.end, township="东坪镇")) == 1100.0
        assert kpis.target_value(conn, "on_time_rate", FEB) == 0.95
        assert kpis.target_value(conn, "on_time_rate", Scope(dt.date(2025, 3, 1), dt.date(2025, 3, 31))) == 0.90


def test_kpi_table_previous_period_change_and_status(county):
    table = run_export(county, "kpis", FEB).set_index("kpi")
    assert table.loc["cases_received", "previous"] == 2     # D and F, received in January
    assert table.loc["cases_received", "change"] == 3
    assert math.isnan(table.loc["on_time_rate", "previous"])  # nothing completed in the previous period
    assert table.loc["on_time_rate", "target"] == 0.95
    assert table.loc["on_time_rate", "status"] == "red"
    assert table.loc["cultivated_land_ha", "status"] == "green"
    town = run_export(county, "kpis", Scope(FEB.start, FEB.end, township="东坪镇")).set_index("kpi")
    assert town.loc["cultivated_land_ha", "status"] == "red"   # 1000 ha against 1100, 9% short


def test_status_bands():
    assert kpis.status(0.96, 0.95, +1) == "green"
    assert kpis.status(0.93, 0.95, +1) == "amber"
    assert kpis.status(0.80, 0.95, +1) == "red"
    assert kpis.status(6.0, 5.0, -1) == "red"
    assert kpis.status(5.1, 5.0, -1) == "amber"
    assert kpis.status(3.0, math.nan, +1) == ""


def test_weekly_flow_counts_per_monday(county):
    flow = run_export(county, "weekly-flow", FEB)
    by_week = dict(zip(flow["week"].dt.date, zip(flow["received"], flow["closed"])))
    assert by_week[dt.date(2026, 2, 2)] == (1, 2)   # A received; A and D completed
    assert by_week[dt.date(2026, 2, 9)] == (2, 1)   # C, B received; C completed
    assert by_week[dt.date(2026, 2, 23)] == (1, 1)  # G received; B completed (withdrawn G not counted)
    assert flow["received"].sum() == 5
