"""Stage analytics against a hand-computed log: ties, an open case, rows inserted out of order (seq
decides), missing start times, a case across the 2026 Spring Festival and its 调休 Saturday, a rework
loop with a return for supplement (补正), variants and the directly-follows graph.

The log (all in 东坪镇 except G; February 2026 is the scope):

| case | received | events (seq: stage completed [started]) | closed |
| --- | --- | --- | --- |
| A | Mon 02-02 09:00 | 1 受理 02-02 10:00 · 2 审查 02-04 17:00 [02-03 09:00] · 3 决定 02-05 10:00 | 02-05 16:00 |
| B | Fri 02-13 10:00 | 1 受理 02-13 11:00 · 2 审查 Tue 02-24 11:00 · 3 决定 02-24 15:00 | 02-24 15:00 |
| C | Mon 02-09 09:00 | 1 受理 09:30 · 2 审查 02-10 09:30 return · 3 补正 02-12 09:30 · 4 审查 02-13 09:30 · 5 决定 02-13 11:30 | 02-13 11:30 |
| D | Wed 02-25 09:00 | 1 受理 02-25 10:00 · 2 审查 02-25 10:00 (tie) | open |
| E | Wed 01-28 09:00 | 1 受理 01-28 10:00 (January) · 2 审查 02-02 10:00 · 3 决定 02-03 10:00 | 02-03 10:00 |
| G | Mon 02-16 09:00 (holiday) 西河镇 | 1 受理 02-16 10:00 | 02-16 10:00 |

Sojourn in hours: A 1, 32 (waiting 23), 17; B 1, 264, 4; C 0.5, 24, 48, 24, 2; D 1, 0; E 120, 24; G 1.
In working days: A 0, 1 (waiting 1), 1; B 0, 2 (Sat 14th 调休 + Tue 24th), 0; C 0, 1, 2, 1, 0; D 0, 0;
E 3, 1; G 0.
"""
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from analytics import bottlenecks as bn
from analytics.exports import registry, run_export
from analytics.process import END, START, closed_case_paths, measure, scoped_measured
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.schema import case_events, cases
from landdesk.errors import LandDeskError

from etl_helpers import shanghai as D  # noqa: E402  (bureau wall-clock times as stored instants)
FEB = Scope(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
CAL = WorkCalendar()


def _case(cid, received, closed, township="东坪镇", department="审批科"):
    return dict(case_id=cid, case_type="建设用地规划许可", township=township, department=department,
                channel="online", received_at=received, closed_at=closed,
                status="closed" if closed else "open")


def _ev(cid, seq, stage, completed, started=None, result="pass", department=None, handler="h1"):
    return dict(case_id=cid, seq=seq, stage=stage, completed_at=completed, started_at=started, result=result,
                department=department, handler_key=handler)


CASES = [
    _case("A", D(2026, 2, 2, 9), D(2026, 2, 5, 16)),
    _case("B", D(2026, 2, 13, 10), D(2026, 2, 24, 15)),
    _case("C", D(2026, 2, 9, 9), D(2026, 2, 13, 11, 30)),
    _case("D", D(2026, 2, 25, 9), None),
    _case("E", D(2026, 1, 28, 9), D(2026, 2, 3, 10)),
    _case("G", D(2026, 2, 16, 9), D(2026, 2, 16, 10), township="西河镇", department="登记科"),
]
EVENTS = [
    _ev("A", 1, "受理", D(2026, 2, 2, 10), department="窗口"),
    _ev("A", 2, "审查", D(2026, 2, 4, 17), started=D(2026, 2, 3, 9), handler="h2"),
    _ev("A", 3, "决定", D(2026, 2, 5, 10), handler="h3"),
    _ev("B", 1, "受理", D(2026, 2, 13, 11), department="窗口"),
    _ev("B", 2, "审查", D(2026, 2, 24, 11), handler="h2"),
    _ev("B", 3, "决定", D(2026, 2, 24, 15), handler="h3"),
    _ev("C", 1, "受理", D(2026, 2, 9, 9, 30), department="窗口"),
    _ev("C", 2, "审查", D(2026, 2, 10, 9, 30), result="return", handler="h2"),
    _ev("C", 3, "补正", D(2026, 2, 12, 9, 30), handler=None),
    _ev("C", 4, "审查", D(2026, 2, 13, 9, 30), handler="h2"),
    _ev("C", 5, "决定", D(2026, 2, 13, 11, 30), handler="h3"),
    _ev("D", 1, "受理", D(2026, 2, 25, 10), department="窗口"),
    _ev("D", 2, "审查", D(2026, 2, 25, 10), handler="h2"),
    _ev("E", 1, "受理", D(2026, 1, 28, 10), department="窗口"),
    _ev("E", 2, "审查", D(2026, 2, 2, 10), handler="h2"),
    _ev("E", 3, "决定", D(2026, 2, 3, 10), handler="h3"),
    _ev("G", 1, "受理", D(2026, 2, 16, 10), department="窗口"),
]


@pytest.fixture
def log(engine):
    rng = np.random.default_rng(7)
    shuffled = [EVENTS[i] for i in rng.permutation(len(EVENTS))]   # source order ≠ seq order
    with engine.begin() as conn:
        conn.execute(insert(cases), CASES)
        conn.execute(insert(case_events), shuffled)
    return engine


def _ev_frame(engine, scope=FEB, unit="hours"):
    with engine.connect() as conn:
        return scoped_measured(conn, scope, CAL, unit)


def _by_stage(frame):
    return frame.set_index("stage")


# ---------- the event frame ----------

def test_scope_is_events_completed_in_period_with_context_from_the_whole_case(log):
    ev = _ev_frame(log)
    assert len(ev) == 16                                     # E's January 受理 is outside
    assert list(ev.columns[:14]) == ["case_id", "seq", "stage", "department", "handler", "started_at",
                                     "completed_at", "result", "received_at", "closed_at", "prev_completed_at",
                                     "prev_stage", "is_last", "occurrence"]
    e2 = ev[(ev["case_id"] == "E") & (ev["seq"] == 2)].iloc[0]
    assert e2["prev_stage"] == "受理" and e2["prev_completed_at"] == pd.Timestamp(D(2026, 1, 28, 10))
    assert e2["sojourn"] == pytest.approx(120.0)            # from the January event, not received_at
    assert list(ev.loc[ev["case_id"] == "C", "stage"]) == ["受理", "审查", "补正", "审查", "决定"]   # seq order
    assert list(ev.loc[ev["case_id"] == "C", "occurrence"]) == [1, 1, 1, 2, 1]
    assert list(ev.loc[ev["case_id"] == "D", "is_last"]) == [False, True]
    # department: the event's own, else its case's
    assert set(ev.loc[ev["stage"] == "受理", "department"]) == {"窗口"}
    assert set(ev.loc[ev["stage"] == "审查", "department"]) == {"审批科"}


def test_sojourn_falls_back_from_start_to_previous_completion_to_received(log):
    ev = _ev_frame(log).set_index(["case_id", "seq"])
    assert ev.loc[("A", 1), "sojourn"] == pytest.approx(1.0)      # received_at anchor
    assert ev.loc[("A", 2), "sojourn"] == pytest.approx(32.0)     # started_at known
    assert ev.loc[("A", 2), "waiting"] == pytest.approx(23.0)
    assert ev.loc[("A", 2), "processing"] == pytest.approx(32.0)
    assert ev.loc[("A", 2), "edge_time"] == pytest.approx(55.0)   # completion to completion
    assert ev.loc[("A", 3), "sojourn"] == pytest.approx(17.0)     # previous completion
    assert math.isnan(ev.loc[("A", 3), "waiting"])
    assert ev.loc[("D", 2), "sojourn"] == 0.0                     # tie with the previous event
    assert ev.loc[("B", 2), "sojourn"] == pytest.approx(264.0)


def test_working_days_across_spring_festival_and_adjusted_saturday(log):
    ev = _ev_frame(log, unit="workdays").set_index(["case_id", "seq"])
    assert ev.loc[("B", 2), "sojourn"] == 2       # Fri 13 → Tue 24: Sat 14 (调休) and Tue 24; 15–23 holiday
    assert ev.loc[("E", 2), "sojourn"] == 3       # Wed 28 Jan → Mon 2 Feb: 29, 30 Jan, 2 Feb
    assert ev.loc[("G", 1), "sojourn"] == 0       # same (holiday) day
    assert ev.loc[("A", 2), "waiting"] == 1


# ---------- stage times ----------

def test_stage_times_hours(log):
    with log.connect() as conn:
        ev = scoped_measured(conn, FEB, CAL, "hours")
    st = bn.stage_times(ev)
    assert list(st.columns[:5]) == ["stage", "count", "median", "mean", "p90"]
    s = _by_stage(st)
    assert list(st["stage"]) == ["审查", "受理", "决定", "补正"]      # by count, then name
    assert (s.loc["审查", "count"], s.loc["审查", "cases"]) == (6, 5)
    assert s.loc["审查", "median"] == pytest.approx(28.0)           # [0, 24, 24, 32, 120, 264]
    assert s.loc["审查", "mean"] == pytest.approx(464 / 6)
    assert s.loc["审查", "p90"] == pytest.approx(192.0)              # linear: 120 + 0.5 × 144
    assert s.loc["审查", "waiting_median"] == pytest.approx(23.0)
    assert s.loc["审查", "processing_median"] == pytest.approx(32.0)
    assert s.loc["受理", "median"] == 1.0 and s.loc["受理", "mean"] == pytest.approx(0.9)
    assert s.loc["决定", "median"] == pytest.approx(10.5) and s.loc["决定", "p90"] == pytest.approx(21.9)
    assert math.isnan(s.loc["决定", "waiting_median"])
    assert s.loc["审查", "share_of_case_time"] == pytest.approx(464 / 563.5)
    assert st["share_of_case_time"].sum() == pytest.approx(1.0)
    assert st["p90"].equals(ev.groupby("stage")["sojourn"].apply(lambda x: np.percentile(x, 90))
                            .reindex(st["stage"]).reset_index(drop=True))


def test_stage_times_workdays_and_township_filter(log):
    s = _by_stage(run_export(log, "stage-times", FEB, "workdays"))
    assert s.loc["审查", "median"] == 1.0                           # [0, 1, 1, 1, 2, 3]
    assert s.loc["审查", "p90"] == pytest.approx(2.5)
    assert s.loc["补正", "median"] == 2.0
    town = _by_stage(run_export(log, "stage-times", Scope(FEB.start, FEB.end, township="东坪镇"), "hours"))
    assert town.loc["受理", "count"] == 4                           # G (西河镇) left out
    dept = _by_stage(run_export(log, "stage-times", Scope(FEB.start, FEB.end, department="登记科"), "hours"))
    assert list(dept.index) == ["受理"]                             # case department filter


def test_window_context_reaches_before_the_period(log):
    """Scope 13–28 Feb: C's second 审查 (13th) is a repeat and measures from 补正 on the 12th."""
    late = Scope(dt.date(2026, 2, 13), dt.date(2026, 2, 28))
    ev = _ev_frame(log, late).set_index(["case_id", "seq"])
    assert ev.loc[("C", 4), "sojourn"] == pytest.approx(24.0)
    rw = _by_stage(bn.rework(ev.reset_index()))
    assert rw.loc["审查", "rework_cases"] == 1 and rw.loc["审查", "return_cases"] == 0


# ---------- bottlenecks ----------

def test_bottleneck_impact_and_rank(log):
    b = run_export(log, "bottlenecks", FEB, "hours")
    assert list(b.columns[:9]) == ["stage", "count", "median", "p25", "impact_total", "impact_per_case", "rank",
                                   "trend_slope", "trend"]
    assert list(b["stage"]) == ["审查", "决定", "受理", "补正"]
    assert list(b["rank"]) == [1, 2, 3, 4]
    s = _by_stage(b)
    assert s.loc["审查", "p25"] == pytest.approx(24.0)
    assert s.loc["审查", "impact_total"] == pytest.approx(8 + 240 + 96)    # A 32, B 264, E 120 over 24
    assert s.loc["审查", "impact_per_case"] == pytest.approx(344 / 6)     # 6 cases have events in scope
    assert s.loc["决定", "p25"] == pytest.approx(3.5)
    assert s.loc["决定", "impact_total"] == pytest.approx(13.5 + 0.5 + 20.5)
    assert s.loc["受理", "impact_total"] == 0
    assert s.loc["审查", "trend"] == ""                                  # one month: no trend
    assert math.isnan(s.loc["审查", "trend_slope"])


def test_bottleneck_trend_worsening_improving_stable(engine):
    """Four months: 审查 takes 1, 2, 3, 4 days; 核查 4, 3, 2, 1 days; 受理 always 1 hour."""
    case_rows, event_rows = [], []
    for m in range(4):
        for k in range(3):
            cid = f"T{m}{k}"
            t0 = D(2025, 3 + m, 3 + k, 9)
            case_rows.append(_case(cid, t0, None))
            t1 = t0 + dt.timedelta(hours=1)
            t2 = t1 + dt.timedelta(days=m + 1)
            t3 = t2 + dt.timedelta(days=4 - m)
            event_rows += [_ev(cid, 1, "受理", t1), _ev(cid, 2, "审查", t2), _ev(cid, 3, "核查", t3)]
    with engine.begin() as conn:
        conn.execute(insert(cases), case_rows)
        conn.execute(insert(case_events), event_rows)
    s = _by_stage(run_export(engine, "bottlenecks", Scope(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), "days"))
    assert s.loc["审查", "trend_slope"] == pytest.approx(1.0) and s.loc["审查", "trend"] == "worsening"
    assert s.loc["核查", "trend_slope"] == pytest.approx(-1.0) and s.loc["核查", "trend"] == "improving"
    assert s.loc["受理", "trend_slope"] == pytest.approx(0.0) and s.loc["受理", "trend"] == "stable"
    assert s.loc["审查", "months"] == 4


# ---------- directly-follows graph ----------

def test_dfg_counts_and_median_times(log):
    g = run_export(log, "dfg", FEB, "hours")
    assert list(g.columns) == ["source", "target", "count", "median", "mean", "median_wait", "cases", "p90", "total"]
    e = g.set_index(["source", "target"])
    assert e.loc[(START, "受理"), "count"] == 5                      # E's start was in January
    assert e.loc[(START, "受理"), "median"] == 1.0
    assert e.loc[("受理", "审查"), "count"] == 5
    assert e.loc[("受理", "审查"), "median"] == pytest.approx(55.0)  # [0, 24, 55, 120, 264]
    assert e.loc[("受理", "审查"), "median_wait"] == pytest.approx(24.0)   # A waits 23 h to start
    assert e.loc[("审查", "决定"), "count"] == 4
    assert e.loc[("审查", "决定"), "median"] == pytest.approx(10.5)  # [2, 4, 17, 24]
    assert (e.loc[("审查", "补正"), "count"], e.loc[("审查", "补正"), "median"]) == (1, 48.0)
    assert (e.loc[("补正", "审查"), "count"], e.loc[("补正", "审查"), "median"]) == (1, 24.0)
    assert e.loc[("决定", END), "count"] == 4                        # A B C E; D is open
    assert e.loc[("决定", END), "mean"] == pytest.approx(1.5)        # A closed 6 h after its decision
    assert e.loc[("受理", END), "count"] == 1                        # G
    assert ("审查", END) not in e.index                              # open D has no end edge
    assert g["count"].sum() == 16 + 5                                # one edge per event + end edges
    assert list(g["count"]) == sorted(g["count"], reverse=True)


@pytest.mark.parametrize("unit", ["hours", "workdays", "days"])
def test_dfg_edge_times_add_up_to_throughput(log, unit):
    ev = _ev_frame(log, unit=unit)
    whole = ev[ev["case_id"].isin(["A", "B", "C", "G"])]             # closed cases wholly in February
    end = bn.durations(whole.loc[whole["is_last"], "completed_at"], whole.loc[whole["is_last"], "closed_at"],
                       unit, CAL)
    per_case = whole.groupby("case_id")["edge_time"].sum() + pd.Series(end, index=whole.loc[whole["is_last"],
                                                                                       "case_id"])
    first = whole.groupby("case_id").first()
    expect = bn.durations(first["received_at"], first["closed_at"], unit, CAL)
    assert per_case.to_numpy() == pytest.approx(expect)


# ---------- variants ----------

def test_variants(log):
    v = run_export(log, "variants", FEB, "hours")
    assert list(v.columns[:4]) == ["variant", "cases", "share", "median_throughput"]
    assert list(v["variant"]) == ["受理 → 审查 → 决定", "受理", "受理 → 审查 → 补正 → 审查 → 决定"]
    assert list(v["cases"]) == [3, 1, 1]                            # A B E; G; C (D open)
    assert v.loc[0, "share"] == pytest.approx(0.6)
    assert v.loc[0, "median_throughput"] == pytest.approx(145.0)    # A 79, B 269, E 145
    assert list(v["length"]) == [3, 1, 5]
    assert v["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    wd = run_export(log, "variants", FEB, "workdays")
    assert wd.loc[0, "median_throughput"] == 3                      # A 3, B 2, E 4


def test_variants_fallback_for_very_long_cases_gives_same_paths(log, monkeypatch):
    with log.connect() as conn:
        paths = closed_case_paths(conn, FEB)
    fast = bn.variants(paths, CAL, "hours")
    monkeypatch.setattr(bn, "VARIANT_GRID_LIMIT", 0)
    slow = bn.variants(paths, CAL, "hours")
    pd.testing.assert_frame_equal(fast, slow)


# ---------- rework and returns ----------

def test_rework_and_returns(log):
    rw = run_export(log, "rework", FEB, "hours")
    assert list(rw["stage"]) == ["审查", "补正", "决定", "受理"]
    s = _by_stage(rw)
    assert (s.loc["审查", "cases"], s.loc["审查", "rework_cases"], s.loc["审查", "repeat_events"]) == (5, 1, 1)
    assert s.loc["审查", "rework_share"] == pytest.approx(0.2)
    assert (s.loc["审查", "return_cases"], s.loc["审查", "return_events"]) == (1, 1)   # result = return
    assert (s.loc["补正", "return_cases"], s.loc["补正", "return_share"]) == (1, 1.0)  # the 补正 stage itself
    assert s.loc["受理", "rework_cases"] == 0 and s.loc["受理", "return_cases"] == 0


def test_supplement_stages_are_configurable(log):
    ev = _ev_frame(log)
    s = _by_stage(bn.rework(ev, supplement_stages=("决定",), return_results=()))
    assert s.loc["决定", "return_cases"] == 4 and s.loc["审查", "return_cases"] == 0


# ---------- workload and trends ----------

def test_workload_per_department_handler_and_week(log):
    per_week = run_export(log, "workload", FEB, "hours", by="period")
    assert dict(zip(per_week["period"].dt.date, per_week["events"])) == {
        dt.date(2026, 2, 2): 5, dt.date(2026, 2, 9): 6, dt.date(2026, 2, 16): 1, dt.date(2026, 2, 23): 4}
    dep = run_export(log, "workload", FEB, "hours", by="department")
    d = dep.set_index(["department", "period"])
    assert d.loc[("窗口", pd.Timestamp(2026, 2, 9)), "events"] == 2     # C, B 受理
    assert d.loc[("审批科", pd.Timestamp(2026, 2, 2)), "events"] == 4    # A 审查 决定, E 审查 决定
    assert d.loc[("审批科", pd.Timestamp(2026, 2, 2)), "median_sojourn"] == pytest.approx(28.0)  # 17 24 32 120
    h = run_export(log, "workload", FEB, "hours", by="handler")
    assert set(h["handler"]) == {"h1", "h2", "h3", "(unknown)"}
    assert h.loc[h["handler"] == "h2", "events"].sum() == 6
    assert run_export(log, "workload", FEB, "hours")["events"].sum() == 16     # default: department
    with pytest.raises(LandDeskError):
        run_export(log, "workload", FEB, "hours", by="township")


def test_workload_monthly_for_long_periods(log):
    year = Scope(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    w = run_export(log, "workload", year, "hours", by="period")
    assert dict(zip(w["period"].dt.date, w["events"])) == {dt.date(2026, 1, 1): 1, dt.date(2026, 2, 1): 16}


def test_stage_trend_weekly_medians(log):
    t = run_export(log, "stage-trend", FEB, "hours")
    assert list(t.columns) == ["stage", "week", "count", "median_sojourn", "median_waiting"]
    row = t[(t["stage"] == "审查") & (t["week"] == pd.Timestamp(2026, 2, 2))].iloc[0]
    assert (row["count"], row["median_sojourn"], row["median_waiting"]) == (2, 76.0, 23.0)   # A 32, E 120
    assert t["count"].sum() == 16


# ---------- edges of the input ----------

def test_empty_scope_gives_empty_frames_with_columns(log):
    empty = Scope(dt.date(2030, 1, 1), dt.date(2030, 1, 31))
    for name, first in [("stage-times", "stage"), ("bottlenecks", "stage"), ("dfg", "source"),
                        ("variants", "variant"), ("rework", "stage"), ("workload", "department"),
                        ("stage-trend", "stage")]:
        frame = run_export(log, name, empty, "workdays")
        assert frame.empty and frame.columns[0] == first, name


def test_exports_are_registered():
    names = set(registry())
    assert {"stage-times", "bottlenecks", "dfg", "variants", "rework", "workload", "stage-trend"} <= names
    assert registry()["workload"].by == ("department", "handler", "system", "period")


def test_measure_is_pure_on_a_frame():
    """measure() needs no store: the same numbers from a hand-made frame."""
    ev = pd.DataFrame({
        "case_id": ["X", "X"], "seq": [1, 2], "stage": ["受理", "审查"], "department": [None, None],
        "handler": [None, None], "started_at": [pd.NaT, pd.Timestamp(2026, 2, 13, 12)],
        "completed_at": [pd.Timestamp(2026, 2, 13, 11), pd.Timestamp(2026, 2, 24, 11)], "result": [None, None],
        "received_at": [pd.Timestamp(2026, 2, 13, 10)] * 2, "closed_at": [pd.Timestamp(2026, 2, 24, 11)] * 2,
        "prev_completed_at": [pd.NaT, pd.Timestamp(2026, 2, 13, 11)], "prev_stage": [None, "受理"],
        "is_last": [False, True], "occurrence": [1, 1]})
    m = measure(ev, CAL, "workdays")
    assert list(m["sojourn"]) == [0, 2] and list(m["waiting"].fillna(-1)) == [-1, 0]
    h = measure(ev, CAL, "hours")
    assert list(h["sojourn"]) == [1, 263] and h["waiting"].iloc[1] == 1
