"""Time as instants (issue 13): the store keeps UTC, calendar questions are asked in the bureau's zone.

- a hand-made Europe/Amsterdam log crossing spring forward and fall back, naive (read in the mapping's zone) and
  with offsets: stage times and DFG edge times in hours equal a computation from UTC instants to the second;
- period boundaries are the instants of local midnights; Date columns stay local days; "now" stamps are UTC;
- migration 0004 converts a store of naive bureau-local times to UTC and back (DST periods exact, microseconds
  kept), on SQLite and PostgreSQL;
- business calendars: cn (official holidays) and weekdays (Mon–Fri plus the calendar table), and the warning
  when the data reach a year the installed chinese-calendar does not know;
- the default period ends at the data end; `landdesk export` says so on stderr and accepts `--to today`.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select, text

from analytics import bottlenecks as bn
from analytics.coverage import data_end, last_event, status
from analytics.process import scoped_measured
from analytics.scope import Scope
from analytics.workcal import WorkCalendar, load_calendar, local_days, official_last_year
from etl import schema as S
from etl.load import load_mapping
from etl_helpers import table, write_mapping

ROOT = Path(__file__).resolve().parent.parent
AMS = ZoneInfo("Europe/Amsterdam")
SECOND_IN_HOURS = 1 / 3600
EVERYTHING = Scope(dt.date(2000, 1, 1), dt.date(2030, 12, 31), tz="Europe/Amsterdam")

# Spring forward: 2024-03-31 02:00 → 03:00 (CET → CEST); fall back: 2024-10-27 03:00 → 02:00 (CEST → CET).
LOG = [
    ("S1", "Receive", "2024-03-30 12:00:00"), ("S1", "Review", "2024-03-31 12:00:00"),   # 23 h, not 24
    ("S1", "Decide", "2024-04-01 12:00:00"),                                              # 24 h
    ("S2", "Receive", "2024-03-31 01:30:00"), ("S2", "Review", "2024-03-31 03:30:00"),   # 1 h across the gap
    ("F1", "Receive", "2024-10-26 12:00:00"), ("F1", "Review", "2024-10-27 12:00:00"),   # 25 h, not 24
    ("F1", "Decide", "2024-10-27 13:00:00"),
    ("F2", "Receive", "2024-10-27 01:30:00"), ("F2", "Review", "2024-10-27 03:30:00"),   # 3 h across the repeat
]


def utc_of(local: str) -> dt.datetime:
    """An independent reading: a naive Amsterdam wall time → its UTC instant (zoneinfo, fold 0)."""
    return dt.datetime.fromisoformat(local).replace(tzinfo=AMS).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _log_mapping(tmp_path: Path, aware: bool) -> Path:
    rows = []
    for case, act, local in LOG:
        stamp = local
        if aware:   # the same instants written with their offsets, as XES/CSV exports often carry them
            stamp = dt.datetime.fromisoformat(local).replace(tzinfo=AMS).isoformat()
        rows.append({"case": case, "activity": act, "time": stamp})
    pd.DataFrame(rows).to_csv(tmp_path / "dst.csv", index=False)
    return write_mapping(tmp_path, "dst.yaml", {
        "dataset": "case_events", "source": {"path": "dst.csv"},
        "columns": {"case_id": "case", "stage": "activity", "completed_at": "time"},
        "timezone": "UTC" if aware else "Europe/Amsterdam"})   # aware values need no zone: any would do


def expected(log: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage sojourns and DFG edges in hours from UTC instants (first event: 0; ▶ / ■ edges: 0)."""
    f = pd.DataFrame(log, columns=["case", "act", "local"])
    f["t"] = [utc_of(v) for v in f["local"]]
    f = f.sort_values(["case", "t"], kind="stable")
    prev = f.groupby("case")["t"].shift()
    f["h"] = ((f["t"] - prev).dt.total_seconds() / 3600).fillna(0.0)
    stages = f.groupby("act")["h"].agg(count="size", median="median", mean="mean").sort_index()
    f["src"] = f.groupby("case")["act"].shift().fillna("▶")
    edges = f.groupby(["src", "act"])["h"].agg(count="size", median="median")
    return stages, edges


@pytest.mark.parametrize("aware", [False, True], ids=["naive-in-zone", "with-offsets"])
def test_dst_crossings_durations_exact_in_hours(engine, tmp_path, aware):
    r = load_mapping(engine, _log_mapping(tmp_path, aware))
    assert r.status == "loaded" and r.rows_loaded == len(LOG)
    ev = table(engine, "case_events", order="case_id,seq")
    stored = [utc_of(t) for _, _, t in sorted(LOG, key=lambda x: (x[0], utc_of(x[2])))]
    assert list(ev["completed_at"]) == stored                     # the store keeps UTC instants
    cal = WorkCalendar(tz="Europe/Amsterdam")
    with engine.connect() as conn:
        measured = scoped_measured(conn, EVERYTHING, cal, "hours", cache=False)
    got = bn.stage_times(measured).set_index("stage").sort_index()
    want, want_edges = expected(LOG)
    assert list(got.index) == list(want.index)
    for col in ("median", "mean"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), atol=SECOND_IN_HOURS)
    sojourn = measured.set_index(["case_id", "stage"])["sojourn"]
    assert sojourn[("S1", "Review")] == pytest.approx(23) and sojourn[("F1", "Review")] == pytest.approx(25)
    assert sojourn[("S2", "Review")] == pytest.approx(1) and sojourn[("F2", "Review")] == pytest.approx(3)
    graph = bn.dfg(measured, cal, "hours").set_index(["source", "target"])
    for (src, dst), row in want_edges.iterrows():
        assert graph.loc[(src, dst), "count"] == row["count"]
        assert graph.loc[(src, dst), "median"] == pytest.approx(row["median"], abs=SECOND_IN_HOURS)
    # throughput of the derived cases, too
    cases = table(engine, "cases", order="case_id").set_index("case_id")
    hours = (cases["closed_at"] - cases["received_at"]).dt.total_seconds() / 3600
    assert hours["S1"] == pytest.approx(47) and hours["F1"] == pytest.approx(26)


def test_days_and_period_bounds_are_the_bureaus():
    march = Scope(dt.date(2024, 3, 1), dt.date(2024, 3, 31), tz="Europe/Amsterdam")
    assert march.start_ts == dt.datetime(2024, 2, 29, 23) and march.end_ts == dt.datetime(2024, 3, 31, 22)
    feb = Scope(dt.date(2026, 2, 1), dt.date(2026, 2, 28), tz="Asia/Shanghai")
    assert feb.start_ts == dt.datetime(2026, 1, 31, 16) and feb.end_ts == dt.datetime(2026, 2, 28, 16)
    # 17:30 UTC on 31 January is already 1 February in Shanghai
    assert local_days([dt.datetime(2026, 1, 31, 17, 30)], "Asia/Shanghai")[0] == pd.Timestamp(2026, 2, 1)
    # working days count local dates: received Fri 16:00 UTC (Sat 00:00 Shanghai) → Mon 02:00 UTC: 1 working day
    cal = WorkCalendar(tz="Asia/Shanghai")
    got = cal.workdays_between([dt.datetime(2025, 3, 7, 16)], [dt.datetime(2025, 3, 10, 2)])[0]
    assert got == 1


def test_date_columns_stay_local_days_and_now_stamps_are_utc(engine, tmp_path):
    (tmp_path / "supply.csv").write_text("id,area,approved,started\nL1,1.5,2024-03-05,2024-03-31 00:30\n",
                                         encoding="utf-8")
    m = write_mapping(tmp_path, "supply.yaml", {
        "dataset": "land_supply", "source": {"path": "supply.csv"}, "timezone": "Asia/Shanghai",
        "columns": {"supply_id": "id", "area_ha": "area", "approved_at": "approved", "actual_start": "started"}})
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=5)
    load_mapping(engine, m)
    row = table(engine, "land_supply").iloc[0]
    assert str(row["approved_at"]) == "2024-03-05" and str(row["actual_start"]) == "2024-03-31"
    batch = table(engine, "etl_batches").iloc[-1]
    assert before <= batch["started_at"] <= before + dt.timedelta(minutes=5)   # UTC, not Shanghai (+8 h)


# ---------- migration 0004 ----------

VALUES = [dt.datetime(2024, 3, 30, 12, 0, 0, 123456), dt.datetime(2024, 3, 31, 12, 0),
          dt.datetime(2024, 10, 27, 2, 30),     # in the repeated hour: read as its first (summer) occurrence
          dt.datetime(2024, 10, 27, 12, 0), dt.datetime(2024, 1, 15, 9, 0)]


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Asia/Shanghai"])
def test_migration_0004_converts_bureau_local_times_to_utc_and_back(engine, monkeypatch, zone):
    from alembic import command
    from etl.store import alembic_config, upgrade
    monkeypatch.setenv("LANDDESK_TIMEZONE", zone)
    command.downgrade(alembic_config(engine), "0003")
    with engine.begin() as conn:
        conn.execute(insert(S.cases), [dict(case_id=f"C{i}", received_at=v, closed_at=v + dt.timedelta(hours=30),
                                            status="closed") for i, v in enumerate(VALUES)])
        conn.execute(insert(S.case_events), [dict(case_id=f"C{i}", seq=1, stage="x", completed_at=v)
                                             for i, v in enumerate(VALUES)])
        conn.execute(insert(S.audit_log), [dict(at=VALUES[0], action="signin")])
    upgrade(engine)
    tz = ZoneInfo(zone)

    def utc(v):
        return v.replace(tzinfo=tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
    got = table(engine, "cases", order="case_id")
    assert list(got["received_at"]) == [utc(v) for v in VALUES]
    assert list(got["closed_at"]) == [utc(v + dt.timedelta(hours=30)) for v in VALUES]
    assert list(table(engine, "case_events", order="case_id")["completed_at"]) == [utc(v) for v in VALUES]
    assert table(engine, "audit_log")["at"].iloc[0] == utc(VALUES[0])
    command.downgrade(alembic_config(engine), "0003")
    with engine.connect() as conn:      # the columns of revision 0003 (the store's schema module is newer)
        back = conn.execute(select(S.cases.c.received_at).order_by(S.cases.c.case_id)).scalars().all()
    assert [pd.Timestamp(v).to_pydatetime() for v in back] == VALUES
    upgrade(engine)


# ---------- business calendars ----------

def test_weekdays_calendar_ignores_chinese_holidays_and_uses_the_table(engine, monkeypatch):
    spring_festival_monday, override = dt.date(2026, 2, 16), dt.date(2026, 2, 17)
    with engine.begin() as conn:
        conn.execute(insert(S.calendar), [dict(date=override, is_workday=False, note="Koningsdag-like holiday")])
    assert not load_calendar(engine).is_workday([spring_festival_monday])[0]            # cn: a holiday
    monkeypatch.setenv("LANDDESK_CALENDAR", "weekdays")
    cal = load_calendar(engine)
    assert cal.kind == "weekdays"
    assert list(cal.is_workday([spring_festival_monday, override, dt.date(2026, 2, 14)])) == [True, False, False]
    assert cal.uncovered_years(dt.date(2030, 1, 1), dt.date(2031, 1, 1)) == []          # no library to outrun


def test_bad_calendar_or_zone_setting_is_one_sentence(monkeypatch):
    from landdesk.errors import LandDeskError
    from landdesk.settings import settings
    monkeypatch.setenv("LANDDESK_CALENDAR", "lunar")
    with pytest.raises(LandDeskError, match="LANDDESK_CALENDAR"):
        settings()
    monkeypatch.setenv("LANDDESK_CALENDAR", "cn")
    monkeypatch.setenv("LANDDESK_TIMEZONE", "Mars/Olympus")
    with pytest.raises(LandDeskError, match="LANDDESK_TIMEZONE"):
        settings()


def _uncovered_store(engine) -> int:
    year = official_last_year() + 1
    with engine.begin() as conn:
        conn.execute(insert(S.cases), [
            dict(case_id="A", received_at=dt.datetime(year - 1, 12, 1, 2), closed_at=dt.datetime(year, 1, 5, 2),
                 status="closed")])
    return year


def test_data_beyond_the_installed_calendar_warn_on_pages_and_in_the_briefing(engine):
    year = _uncovered_store(engine)
    with engine.connect() as conn:
        st = status(conn)
    assert st["uncovered_years"] == [year]
    from dashboard import ui
    assert str(official_last_year()) in ui.calendar_warning(st) and str(year) in ui.calendar_warning(st)
    from briefing.build import build_briefing
    from landdesk.i18n import t
    b = build_briefing(engine, f"{year}-W01", lang="en", charts=False)
    want = t("calendar_uncovered", "en", last=official_last_year(), years=str(year))
    assert want in b.notices


# ---------- the period the data cover ----------

def test_data_end_is_the_last_event_of_any_kind_in_the_bureaus_day(engine):
    with engine.begin() as conn:
        conn.execute(insert(S.cases), [dict(case_id="A", received_at=dt.datetime(2015, 2, 1, 9), status="open")])
        conn.execute(insert(S.petitions), [dict(petition_id="P", received_at=dt.datetime(2015, 2, 3),
                                                replied_at=dt.datetime(2015, 3, 9, 17))])   # 10 March in Shanghai
    with engine.connect() as conn:
        assert last_event(conn) == dt.datetime(2015, 3, 9, 17)
        assert data_end(conn) == dt.date(2015, 3, 10)
        st = status(conn)
    assert st["last"] == dt.date(2015, 3, 10) and st["last_event"] == dt.datetime(2015, 3, 9, 17)
    from dashboard import ui
    from landdesk.settings import to_local
    assert "2015-03-10 01:00" in ui.data_as_of_text(st)
    assert to_local(dt.datetime(2015, 3, 9, 17)) == dt.datetime(2015, 3, 10, 1)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_export_defaults_to_the_data_end_and_accepts_today(sqlite_engine):
    db = sqlite_engine.url.render_as_string(hide_password=False)
    with sqlite_engine.begin() as conn:
        conn.execute(insert(S.cases), [
            dict(case_id="A", received_at=dt.datetime(2015, 2, 20, 2), closed_at=dt.datetime(2015, 3, 10, 2),
                 status="closed", township="东坪镇", channel="online")])
        conn.execute(insert(S.case_events), [dict(case_id="A", seq=1, stage="受理", completed_at=dt.datetime(2015, 2, 20, 2)),
                                              dict(case_id="A", seq=2, stage="办结", completed_at=dt.datetime(2015, 3, 10, 2))])
    r = _cli("export", "stage-times", "--time-unit", "hours", "--format", "json", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "period 2015-02-09..2015-03-10 (data end 2015-03-10)" in r.stderr
    assert "办结" in r.stdout                       # not empty: the period covers the data
    today = _cli("export", "kpis", "--to", "today", "--format", "json", "--db", db)
    assert today.returncode == 0, today.stderr
    from landdesk.settings import local_now
    assert f"..{local_now().date()} (data end 2015-03-10)" in today.stderr


def test_exports_show_instants_as_the_bureaus_wall_clock(engine):
    """The store keeps UTC; an export shows what the office clock said (09:30 in Shanghai is 01:30 UTC), while
    calendar columns (weeks) stay the local days they are and durations stay exact."""
    from analytics.exports import run_export
    from etl_helpers import shanghai

    with engine.begin() as conn:
        conn.execute(insert(S.cases), [
            {"case_id": "T1", "case_type": "t", "department": "d", "township": "x", "channel": "window",
             "received_at": shanghai(2024, 3, 1, 9, 30), "closed_at": shanghai(2024, 3, 1, 17, 0),
             "status": "closed", "promised_days": 5, "statutory_days": 10}])
    scope = Scope(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    cases = run_export(engine, "cases", scope, "hours")
    assert cases.loc[0, "received_at"] == pd.Timestamp(2024, 3, 1, 9, 30)
    assert cases.loc[0, "closed_at"] == pd.Timestamp(2024, 3, 1, 17, 0)
    assert cases.loc[0, "throughput"] == pytest.approx(7.5)
    flow = run_export(engine, "weekly-flow", scope)
    assert pd.Timestamp(flow["week"].iloc[0]) == pd.Timestamp(2024, 3, 4)      # a local Monday, not 08:00
