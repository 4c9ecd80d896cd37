"""The sample county's planted facts (sample_data/README.md) recovered by the efficiency, petition and
land-use analytics, on the sample exports loaded through the real mappings and ETL."""
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from analytics.exports import run_export
from analytics.scope import Scope
from etl.load import run_sources
from etl.store import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sample_data" / "sources.yaml"
d = dt.date

pytestmark = pytest.mark.skipif(not SOURCES.exists(), reason="the sample county's sources are not there")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    engine = make_engine(f"sqlite:///{(tmp_path_factory.mktemp('sample') / 'store.db').as_posix()}")
    upgrade(engine)
    run_sources(engine, SOURCES)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("first_day, holiday_monday, last_day", [
    (d(2024, 1, 1), d(2024, 2, 12), d(2024, 3, 31)),     # holiday 2024-02-10..17
    (d(2024, 12, 16), d(2025, 1, 27), d(2025, 3, 16)),   # holiday 2025-01-28..02-04
    (d(2026, 1, 5), d(2026, 2, 16), d(2026, 3, 29)),     # holiday 2026-02-15..23
])
def test_spring_festival_dip_in_weekly_arrivals(sample, first_day, holiday_monday, last_day):
    flow = run_export(sample, "flow", Scope(first_day, last_day)).set_index("week")
    weekly = flow["received"]
    dip = weekly[pd.Timestamp(holiday_monday)]
    assert weekly.idxmin() == pd.Timestamp(holiday_monday)
    assert dip < 0.3 * weekly.median()
    # completions dip too and the backlog stays bounded (Little's law within a factor of two)
    assert flow.loc[pd.Timestamp(holiday_monday), "closed"] < 0.3 * flow["closed"].median()
    ratio = flow["littles_ratio"].iloc[0]
    assert 0.5 < ratio < 2.0


def test_online_rate_jumps_at_the_reform_date(sample):
    months = run_export(sample, "case-efficiency", Scope(d(2024, 3, 1), d(2026, 2, 28)), by="period")
    rate = months.set_index("period")["online_rate"]
    before = rate.loc["2024-03":"2025-02"]
    after = rate.loc["2025-03":"2026-02"]
    assert before.max() < 0.45 and after.min() > 0.6
    assert rate.diff().idxmax() == "2025-03"                  # the largest month-on-month rise
    zero = months.set_index("period")["zero_visit_rate"]
    assert zero.loc["2024-03":"2025-02"].mean() < 0.3 < 0.5 < zero.loc["2025-03":"2026-02"].mean()
    changes = run_export(sample, "case-efficiency-changes", Scope(d(2025, 3, 1), d(2025, 8, 31))) \
        .set_index("metric")
    assert changes.loc["online_rate", "change_yoy"] > 0.25   # vs March–August 2024


def test_land_compensation_petition_spike_in_one_township(sample):
    window = Scope(d(2025, 9, 1), d(2025, 11, 30))
    towns = run_export(sample, "petitions", window, by="township").set_index("township")["received"] \
        .sort_values(ascending=False)
    assert towns.index[0] == "东坪镇" and towns.iloc[0] > 1.5 * towns.iloc[1]
    topics = run_export(sample, "petitions", Scope(window.start, window.end, township="东坪镇"), by="topic") \
        .set_index("topic")["received"]
    assert topics.idxmax() == "征地补偿" and topics["征地补偿"] > topics.drop("征地补偿").sum()
    trend = run_export(sample, "petition-trend", Scope(d(2025, 3, 3), d(2026, 2, 28), township="东坪镇"))
    comp = trend[trend["topic"] == "征地补偿"].set_index("week")["petitions"]
    inside = comp[(comp.index >= pd.Timestamp(2025, 9, 1)) & (comp.index <= pd.Timestamp(2025, 11, 24))]
    outside = comp[(comp.index < pd.Timestamp(2025, 8, 25)) | (comp.index > pd.Timestamp(2025, 12, 31))]
    assert inside.mean() > 4 and outside.mean() < 1
    # the spike repeats more: 东坪镇 has the most repeat petitions in the window
    reps = run_export(sample, "petitions", window, by="township").set_index("township")["repeat_petitions"]
    assert reps.idxmax() == "东坪镇"


def test_two_townships_near_the_farmland_target(sample):
    df = run_export(sample, "cultivated-target", Scope(d(2026, 1, 1), d(2026, 10, 31)))
    towns = df[df["level"] == "township"].set_index("region_name")
    assert len(towns) == 12 and towns["target_ha"].notna().all()
    near = set(towns.index[(towns["gap_pct"] < 3)])
    assert near == {"城关镇", "东坪镇"}
    assert towns.loc["城关镇", "status"] == "below"                         # below its target since 2024
    assert towns.loc["东坪镇", "status"] == "crossing"
    assert towns.loc["东坪镇", "projected_cross_year"] == 2027
    soon = towns[(towns["status"] == "below") | (towns["projected_cross_year"] <= 2035).fillna(False)]
    assert set(soon.index) == {"城关镇", "东坪镇"}


def test_petition_handling_and_land_supply_totals(sample):
    whole = Scope(d(2024, 1, 1), d(2026, 10, 31))
    row = run_export(sample, "petitions", whole).iloc[0]
    assert row["repeat_petitions"] == 370                    # same petitioner and topic within 90 days
    assert row["timely_acceptance_rate"] == pytest.approx(0.955, abs=0.001)
    assert row["reply_on_time_rate"] == pytest.approx(0.934, abs=0.001)   # counted from receipt
    end = Scope(d(2026, 10, 1), d(2026, 10, 31))
    assert run_export(sample, "unsupplied", end)["parcels"].sum() == 80
    assert len(run_export(sample, "idle-land", end)) == 16
