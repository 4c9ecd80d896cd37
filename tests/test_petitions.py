"""Petitions (信访工作条例) against a hand-computed set: late acceptance, extended replies, closure without a
reply, repeats at 89 and 91 days, a rejected petition, countdowns at the period's end."""
import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import insert

from analytics import kpis
from analytics import petitions as pet
from analytics.exports import registry, run_export
from analytics.scope import Scope
from etl.schema import petitions

from etl_helpers import shanghai as D  # noqa: E402  (bureau wall-clock times as stored instants)
FEB = Scope(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
LONG = "村民反映征地补偿款未按协议足额发放，要求镇政府说明补偿标准并公开分配方案，另有多户联名。"


def _p(pid, received, topic, channel, township, key, accepted=None, replied=None, closed=None, extended=False,
       satisfaction=None, status="open", summary=None):
    return dict(petition_id=pid, received_at=received, topic=topic, channel=channel, township=township,
                department="信访办", petitioner_key=key, accepted_at=accepted, replied_at=replied, closed_at=closed,
                extended=extended, satisfaction=satisfaction, status=status, summary=summary)


PETITIONS = [
    _p("P1", D(2026, 2, 2, 10), "征地补偿", "visit", "东坪镇", "k1", accepted=D(2026, 2, 10), status="accepted",
       summary=LONG),
    # accepted after 17 days: late
    _p("P2", D(2026, 1, 20, 9), "征地补偿", "letter", "东坪镇", "k2", accepted=D(2026, 2, 6), status="accepted"),
    # replied after 71 days, not extended: late; unsatisfied
    _p("P3", D(2025, 12, 1), "不动产登记", "online", "西河镇", "k3", accepted=D(2025, 12, 5), replied=D(2026, 2, 10),
       closed=D(2026, 2, 12), satisfaction="unsatisfied", status="closed"),
    # replied after 88 days, extended: on time; basically satisfied
    _p("P4", D(2025, 11, 20), "征地补偿", "letter", "西河镇", "k4", accepted=D(2025, 11, 25), replied=D(2026, 2, 16),
       extended=True, satisfaction="basic", status="replied"),
    # replied after 36 days, no satisfaction answer
    _p("P5", D(2026, 1, 10), "矿产", "hotline", "东坪镇", "k5", accepted=D(2026, 1, 12), replied=D(2026, 2, 15),
       status="replied"),
    # k1 again on the same topic 18 days after P1: a repeat; received on a holiday, not accepted yet
    _p("P6", D(2026, 2, 20, 8), "征地补偿", "online", "东坪镇", "k1"),
    _p("P7", D(2025, 11, 10), "征地补偿", "visit", "北山乡", "k7", accepted=D(2025, 11, 12), replied=D(2025, 12, 20),
       closed=D(2025, 12, 25), satisfaction="satisfied", status="closed"),
    # 89 days after P7, same petitioner and topic: a repeat
    _p("P8", D(2026, 2, 7, 9), "征地补偿", "visit", "北山乡", "k7", accepted=D(2026, 2, 9), status="accepted"),
    _p("P9", D(2025, 11, 8), "征地补偿", "letter", "北山乡", "k9", accepted=D(2025, 11, 10), replied=D(2025, 12, 1),
       closed=D(2025, 12, 5), satisfaction="satisfied", status="closed"),
    # 91 days after P9: not a repeat; never accepted, 6 days past the acceptance limit at 28 Feb
    _p("P10", D(2026, 2, 7, 15), "征地补偿", "letter", "北山乡", "k9"),
    # k7 on another topic: not a repeat
    _p("P11", D(2026, 2, 8, 11), "不动产登记", "online", "北山乡", "k7", accepted=D(2026, 2, 9), status="accepted"),
    # k1's third: repeat of P6 (5 days)
    _p("P12", D(2026, 2, 25, 16), "征地补偿", "hotline", "东坪镇", "k1"),
    # closed without a reply in February, satisfied
    _p("P13", D(2026, 1, 5), "矿产", "online", "西河镇", "k13", accepted=D(2026, 1, 6), closed=D(2026, 2, 20),
       satisfaction="satisfied", status="closed"),
    # not accepted (不予受理): no countdown
    _p("P14", D(2026, 2, 26), "矿产", "letter", "西河镇", "k14", status="rejected"),
    # extended, awaiting its reply: limit 20 Dec + 90 = 20 Mar
    _p("P15", D(2025, 12, 20), "不动产登记", "letter", "西河镇", "k15", accepted=D(2025, 12, 22), extended=True,
       status="accepted"),
]


@pytest.fixture
def county(engine):
    with engine.begin() as conn:
        conn.execute(insert(petitions), PETITIONS)
    return engine


def test_repeat_flags_89_90_91_days():
    hist = pd.DataFrame([
        ("a1", "x", "t", D(2025, 11, 10, 23)), ("a2", "x", "t", D(2026, 2, 7, 1)),    # 89 days by date
        ("b1", "y", "t", D(2025, 11, 9)), ("b2", "y", "t", D(2026, 2, 7)),            # 90 days: still a repeat
        ("c1", "z", "t", D(2025, 11, 8)), ("c2", "z", "t", D(2026, 2, 7)),            # 91 days: not
        ("d1", "w", "t", D(2026, 1, 1)), ("d2", "w", "u", D(2026, 1, 2)),             # other topic: not
        ("e1", None, "t", D(2026, 1, 1)), ("e2", None, "t", D(2026, 1, 2)),           # no key: never
    ], columns=["petition_id", "petitioner_key", "topic", "received_at"])
    flags = pet.repeat_flags(hist)
    assert flags.to_dict() == {"a1": False, "a2": True, "b1": False, "b2": True, "c1": False, "c2": False,
                               "d1": False, "d2": False, "e1": False, "e2": False}


def test_petition_metrics_match_hand_computation(county):
    with county.connect() as conn:
        (row,) = pet.petition_metrics(conn, FEB).to_dict("records")
        cockpit = kpis.petition_reply_on_time_rate(conn, FEB)
    assert row["received"] == 7                                # P1 P6 P8 P10 P11 P12 P14
    assert row["accepted"] == 4                                # P1 8 d, P2 17 d, P8, P11
    assert row["timely_acceptance_rate"] == pytest.approx(3 / 4)
    assert row["replied"] == 3                                 # P3 71 d late, P4 88 d extended, P5 36 d
    assert row["reply_on_time_rate"] == pytest.approx(2 / 3) == pytest.approx(cockpit)
    assert row["concluded"] == 4                               # P3 P4 P5 replied, P13 closed
    assert row["answered"] == 3
    assert row["participation_rate"] == pytest.approx(3 / 4)
    assert row["satisfaction_rate"] == pytest.approx(2 / 3)   # basic + satisfied of 3 answers
    assert row["repeat_petitions"] == 3                        # P6 P8 P12 (P10 at 91 days, P11 other topic)
    assert row["repeat_petitioners"] == 2                      # k1, k7
    assert not any("key" in c for c in pet.METRIC_COLUMNS)


def test_petition_metrics_by_township_topic_and_month(county):
    by_town = run_export(county, "petitions", FEB, by="township").set_index("township")
    assert by_town.loc["东坪镇", ["received", "accepted", "repeat_petitions", "repeat_petitioners"]].tolist() \
        == [3, 2, 2, 1]
    assert by_town.loc["东坪镇", "timely_acceptance_rate"] == pytest.approx(1 / 2)
    assert by_town.loc["东坪镇", "participation_rate"] == 0 and math.isnan(by_town.loc["东坪镇", "satisfaction_rate"])
    assert by_town.loc["西河镇", "reply_on_time_rate"] == pytest.approx(1 / 2)
    assert by_town.loc["西河镇", "satisfaction_rate"] == pytest.approx(2 / 3)
    assert by_town.loc["北山乡", "repeat_petitions"] == 1
    by_topic = run_export(county, "petitions", FEB, by="topic").set_index("topic")
    assert by_topic.loc["征地补偿", "received"] == 5 and by_topic.loc["征地补偿", "repeat_petitions"] == 3
    by_month = run_export(county, "petitions", Scope(dt.date(2026, 1, 1), dt.date(2026, 2, 28)), by="period")
    assert by_month.set_index("period")["received"].to_dict() == {"2026-01": 3, "2026-02": 7}  # P2 P5 P13
    town_scope = run_export(county, "petitions", Scope(FEB.start, FEB.end, township="东坪镇"))
    assert town_scope.iloc[0]["received"] == 3 and town_scope.iloc[0]["repeat_petitions"] == 2


def test_countdown_sorted_by_urgency_without_personal_data(county):
    df = run_export(county, "petition-countdown", FEB)
    assert list(df["petition_id"]) == ["P10", "P6", "P12", "P15", "P2", "P1", "P8", "P11"]
    rows = df.set_index("petition_id")
    assert rows.loc["P10", "days_left_accept"] == -6 and rows.loc["P10", "overdue"]
    assert rows.loc["P6", "days_left_accept"] == 7 and rows.loc["P6", "days_left_reply"] == 52
    assert math.isnan(rows.loc["P1", "days_left_accept"]) and rows.loc["P1", "days_left_reply"] == 34
    assert rows.loc["P15", "days_left_reply"] == 20 and rows.loc["P15", "extended"]   # 90 days when extended
    assert rows.loc["P2", "days_left"] == 21
    assert len(rows.loc["P1", "summary"]) == pet.SUMMARY_CHARS and rows.loc["P1", "summary"].endswith("…")
    assert "petitioner_key" not in df.columns and "P14" not in rows.index and "P4" not in rows.index


def test_weekly_trend_by_topic(county):
    df = run_export(county, "petition-trend", FEB)
    assert len(df) == 5 * 3
    got = {(w.date().isoformat(), t): n for w, t, n in zip(df["week"], df["topic"], df["petitions"]) if n}
    assert got == {("2026-02-02", "征地补偿"): 3, ("2026-02-02", "不动产登记"): 1, ("2026-02-16", "征地补偿"): 1,
                   ("2026-02-23", "征地补偿"): 1, ("2026-02-23", "矿产"): 1}


def test_exports_registered():
    reg = registry()
    assert {"petitions", "petition-countdown", "petition-trend"} <= set(reg)
    assert reg["petitions"].by == pet.BY


def test_each_months_row_is_that_months_own_metrics(county, sample_store_url):
    """--by period fetches the period once; every month's row still equals the metrics of that month alone (its
    repeats looking back 90 days from the month), on the hand-made county and on the sample county with a filter."""
    from analytics.efficiency import month_scopes
    from etl.store import make_engine
    sample = make_engine(sample_store_url)
    for engine, scope in ((county, Scope(dt.date(2026, 1, 1), dt.date(2026, 2, 28))),
                          (sample, Scope(dt.date(2025, 11, 15), dt.date(2026, 10, 31))),
                          (sample, Scope(dt.date(2025, 11, 15), dt.date(2026, 10, 31), township="东坪镇"))):
        got = run_export(engine, "petitions", scope, by="period")
        months = list(month_scopes(scope))
        assert len(got) == len(months) and got["received"].sum() > 0
        for (label, sub), (_, row) in zip(months, got.iterrows()):
            alone = run_export(engine, "petitions", sub).iloc[0]
            assert row["period"] == label
            pd.testing.assert_series_equal(row.drop("period"), alone, check_names=False, obj=label)
    sample.dispose()
