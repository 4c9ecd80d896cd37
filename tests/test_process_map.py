"""The process map (analytics.dfg) and the process filters (analytics.casefilter) on a hand-made log whose every
number is worked out below, a hypothesis property of the path slider on random logs, and the export options.

The log (March 2026, 东坪镇, each case received at 09:00, no start times, unit hours; times are completions):

| case | day | events | closed |
| --- | --- | --- | --- |
| A | Mon 03-02 | a 10:00 · b 12:00 · c 13:00 | 13:00 |
| B | Tue 03-03 | a 10:00 · b 11:00 · b 15:00 (by h2) · c 16:00 | 16:00 |
| C | Wed 03-04 | a 10:00 · d 14:00 · c 20:00 | 20:00 |
| D | Thu 03-05 | a 10:00 · b 13:00 | open |

Edges: ▶→a 4 (1 h each) · a→b 3 ([2, 1, 3] h, median 2) · b→c 2 (1 h) · b→b 1 (4 h) · a→d 1 (4 h) · d→c 1 (6 h)
· c→■ 3 (0 h). Activities by events: a 4, b 4, c 3, d 1; b's sojourns [2, 1, 4, 3] h, median 2.5.
Variants: A a→b→c, B a→b→b→c, C a→d→c, D a→b. Durations: A 4 h, B 7 h, C 11 h, D (open, last event) 4 h.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import insert

from analytics import bottlenecks as bn
from analytics import dfg
from analytics.casefilter import CaseFilter, apply, top_variants, case_paths
from analytics.exports import registry, run_export
from analytics.process import END, START, measure, scoped_measured
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.schema import case_events, cases
from landdesk.errors import LandDeskError

from etl_helpers import shanghai as D  # noqa: E402

MARCH = Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
CAL = WorkCalendar()
DAYS = {"A": 2, "B": 3, "C": 4, "D": 5}
TRACES = {"A": [("a", 10), ("b", 12), ("c", 13)], "B": [("a", 10), ("b", 11), ("b", 15), ("c", 16)],
          "C": [("a", 10), ("d", 14), ("c", 20)], "D": [("a", 10), ("b", 13)]}


@pytest.fixture
def store(engine):
    return _fill(engine)


def _edges(frame):
    return {(s, t): c for s, t, c in zip(frame["source"], frame["target"], frame["count"])}


def test_full_map_counts_and_times(store):
    g = run_export(store, "dfg", MARCH, "hours").set_index(["source", "target"])
    assert _edges(g.reset_index()) == {(START, "a"): 4, ("a", "b"): 3, ("b", "c"): 2, ("b", "b"): 1,
                                       ("a", "d"): 1, ("d", "c"): 1, ("c", END): 3}
    assert g.loc[("a", "b"), "median"] == 2.0 and g.loc[("a", "b"), "mean"] == 2.0
    assert g.loc[("a", "b"), "total"] == 6.0 and g.loc[("a", "b"), "cases"] == 3
    assert g.loc[("a", "b"), "p90"] == pytest.approx(2.8)          # linear between 2 and 3
    assert g.loc[("b", "b"), ("count", "cases", "median")].tolist() == [1, 1, 4.0]
    assert g.loc[("d", "c"), "median"] == 6.0
    nodes = run_export(store, "dfg-nodes", MARCH, "hours").set_index("activity")
    assert nodes.loc["b", ["count", "cases"]].tolist() == [4, 3] and nodes.loc["b", "median"] == 2.5
    assert nodes.loc["b", "total"] == 10.0
    assert nodes.loc[START, "cases"] == 4 and nodes.loc[END, "cases"] == 3


def test_activity_slider_projects_the_log(store):
    g = run_export(store, "dfg", MARCH, "hours", options={"activities": 75}).set_index(["source", "target"])
    # d (the least frequent) is taken out: C goes a → c directly, in 10 h
    assert _edges(g.reset_index()) == {(START, "a"): 4, ("a", "b"): 3, ("b", "c"): 2, ("b", "b"): 1,
                                       ("a", "c"): 1, ("c", END): 3}
    assert g.loc[("a", "c"), "median"] == 10.0
    half = run_export(store, "dfg", MARCH, "hours", options={"activities": 50}).set_index(["source", "target"])
    # a and b kept (4 events each): A and B end after b (1 h to the close), C after a (10 h), D is open
    assert _edges(half.reset_index()) == {(START, "a"): 4, ("a", "b"): 3, ("b", END): 2, ("b", "b"): 1,
                                          ("a", END): 1}
    assert half.loc[("b", END), "median"] == 1.0 and half.loc[("a", END), "median"] == 10.0
    one = run_export(store, "dfg-nodes", MARCH, "hours", options={"activities": 0})
    assert set(one["activity"]) == {START, "a", END}                 # at least one activity stays


def test_path_slider_keeps_the_backbone(store):
    none = run_export(store, "dfg", MARCH, "hours", options={"paths": 0})
    # widest paths from ▶ (▶a, ab, ad, bc) and to ■ (c■, bc, dc, ab, ▶a): only the self-loop b → b goes
    assert set(_edges(none)) == {(START, "a"), ("a", "b"), ("a", "d"), ("b", "c"), ("d", "c"), ("c", END)}
    assert len(run_export(store, "dfg", MARCH, "hours", options={"paths": 90})) == 7


def test_a_share_outside_0_100_is_one_sentence(store):
    with pytest.raises(LandDeskError, match="0 to 100"):
        run_export(store, "dfg", MARCH, "hours", options={"paths": 150})
    with pytest.raises(LandDeskError, match="no option"):
        run_export(store, "stage-times", MARCH, "hours", options={"paths": 50})


def test_full_map_equals_the_bottleneck_dfg(store):
    with store.connect() as conn:
        ev = scoped_measured(conn, MARCH, CAL, "hours")
    full = dfg.process_map(ev, CAL, "hours")
    old = bn.dfg(ev, CAL, "hours")
    pd.testing.assert_frame_equal(full.edges[bn.DFG_COLUMNS], old)


# ---------- the process filters ----------

def _cases(store, f: CaseFilter, scope=MARCH):
    with store.connect() as conn:
        ev = scoped_measured(conn, replace(scope, cases=f), CAL, "hours")
    return sorted(ev["case_id"].unique())


@pytest.mark.parametrize("f, want", [
    (CaseFilter(has_activity=("d",)), ["C"]),
    (CaseFilter(has_activity=("b", "c")), ["A", "B"]),
    (CaseFilter(lacks_activity=("b",)), ["C"]),
    (CaseFilter(end_activity=("c",)), ["A", "B", "C"]),
    (CaseFilter(start_activity=("b",)), []),
    (CaseFilter(top_variants=1), ["D"]),                      # all once: the shortest first
    (CaseFilter(variant_coverage=0.5), ["A", "D"]),           # then a → b → c before a → d → c (by name)
    (CaseFilter(variants=("a → d → c", "a → b")), ["C", "D"]),
    (CaseFilter(duration_min=5, unit="hours"), ["B", "C"]),
    (CaseFilter(duration_max=4, unit="hours"), ["A", "D"]),
    (CaseFilter(slowest=0.25, unit="hours"), ["C"]),
    (CaseFilter(slowest=0.5, unit="hours"), ["B", "C"]),
    (CaseFilter(handler=("h2",)), ["B"]),
    (CaseFilter(township=("西河镇",)), []),
])
def test_case_filters(store, f, want):
    assert _cases(store, f) == want


def test_period_modes_pick_whole_cases(store):
    days = Scope(dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    assert _cases(store, CaseFilter(period="started"), days) == ["B", "C"]
    assert _cases(store, CaseFilter(period="completed"), days) == ["B", "C"]
    assert _cases(store, CaseFilter(period="active"), Scope(dt.date(2026, 3, 6), dt.date(2026, 3, 9))) == ["D"]
    with store.connect() as conn:
        ev = scoped_measured(conn, replace(MARCH, cases=CaseFilter(period="started")), CAL, "hours")
    assert len(ev) == 12
    stats = run_export(store, "stage-times", replace(days, cases=CaseFilter(has_activity=("d",))), "hours")
    assert stats.set_index("stage")["count"].to_dict() == {"a": 1, "c": 1, "d": 1}


def test_filters_refused_where_they_do_not_apply(store):
    with pytest.raises(LandDeskError, match="process filters"):
        run_export(store, "kpis", replace(MARCH, cases=CaseFilter(has_activity=("d",))))
    assert registry()["dfg"].filters_cases and registry()["variants"].filters_cases


def test_filter_criteria_are_checked():
    with pytest.raises(ValueError):
        CaseFilter(period="someday")
    with pytest.raises(ValueError):
        CaseFilter(slowest=1.5)
    with pytest.raises(ValueError):
        CaseFilter(duration_min=5, duration_max=1)
    assert CaseFilter().is_empty() and not CaseFilter(top_variants=3).is_empty()


def test_top_variants_cover_the_share():
    paths = pd.Series(["x → y"] * 5 + ["x"] * 3 + ["y"] * 2)
    assert top_variants(paths, n=2) == ["x → y", "x"]
    assert top_variants(paths, coverage=0.8) == ["x → y", "x"]
    assert top_variants(paths, coverage=0.81) == ["x → y", "x", "y"]


# ---------- the slider property on random logs ----------

def _random_log(traces: list[list[str]], closed: list[bool]) -> pd.DataFrame:
    rows = []
    base = pd.Timestamp("2026-03-02 01:00")
    for k, (trace, done) in enumerate(zip(traces, closed)):
        received = base + pd.Timedelta(days=k)
        for i, stage in enumerate(trace):
            rows.append(dict(case_id=f"c{k}", seq=i + 1, stage=stage, department=None, handler="h",
                             started_at=pd.NaT, completed_at=received + pd.Timedelta(hours=i + 1 + (k % 3)),
                             result="pass", received_at=received,
                             closed_at=received + pd.Timedelta(hours=len(trace) + 2) if done else pd.NaT,
                             system="default", case_key=k))
    frame = pd.DataFrame(rows)
    same = frame["case_key"].eq(frame["case_key"].shift())
    frame["prev_completed_at"] = frame["completed_at"].shift().where(same)
    frame["prev_stage"] = frame["stage"].shift().where(same)
    frame["is_last"] = ~frame["case_key"].eq(frame["case_key"].shift(-1))
    frame["occurrence"] = frame.groupby(["case_key", "stage"]).cumcount() + 1
    return measure(frame, CAL, "hours")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces=st.lists(st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=8), min_size=1, max_size=25),
       closed=st.lists(st.booleans(), min_size=25, max_size=25),
       activities=st.integers(0, 100), paths=st.integers(0, 100))
def test_every_kept_activity_stays_connected(traces, closed, activities, paths):
    ev = _random_log(traces, closed[:len(traces)])
    view = dfg.process_map(ev, CAL, "hours", activities, paths)
    keep = set(dfg.kept_activities(ev, activities))
    full = dfg.edge_stats(dfg.edge_list(ev, CAL, "hours", keep))
    assert len(view.edges) >= min(len(full), dfg.share_count(paths, len(full)))
    assert set(zip(view.edges["source"], view.edges["target"])) <= set(zip(full["source"], full["target"]))
    for side in (False, True):
        root = END if side else START
        was, now = dfg.reachable(full, root, reverse=side), dfg.reachable(view.edges, root, reverse=side)
        assert {a for a in keep if a in was} <= now, (activities, paths)
    assert keep <= set(view.nodes["activity"])
    if paths == 100:
        assert len(view.edges) == len(full)
    if activities == 100 and paths == 100:
        pd.testing.assert_frame_equal(view.edges[bn.DFG_COLUMNS], bn.dfg(ev, CAL, "hours"))


def test_degenerate_logs():
    empty = _random_log([["a"]], [True]).iloc[0:0]
    view = dfg.process_map(empty, CAL, "hours", 10, 10)
    assert view.edges.empty and view.nodes.empty
    one = dfg.process_map(_random_log([["a"]], [True]), CAL, "hours", 0, 0)
    assert _edges(one.edges) == {(START, "a"): 1, ("a", END): 1}
    assert dfg.default_shares(_random_log([["a"]], [True]), CAL, "hours") == (100, 100)


def test_default_view_of_a_large_log_is_readable():
    rng = np.random.default_rng(3)
    names = [f"act{i:03d}" for i in range(200)]
    traces = [list(rng.choice(names, size=rng.integers(3, 12))) for _ in range(400)]
    ev = _random_log(traces, [True] * len(traces))
    act, paths = dfg.default_shares(ev, CAL, "hours")
    view = dfg.process_map(ev, CAL, "hours", act, paths)
    assert len(set(view.nodes["activity"]) - {START, END}) <= dfg.DEFAULT_ACTIVITIES
    assert len(view.edges) < 3 * dfg.DEFAULT_EDGES


def test_case_paths_and_apply_on_a_frame():
    ev = _random_log([["a", "b"], ["a"], ["b", "b"]], [True, True, False])
    assert case_paths(ev).tolist() == ["a → b", "a", "b → b"]
    assert sorted(apply(ev, CaseFilter(start_activity=("a",)))["case_id"].unique()) == ["c0", "c1"]
    assert apply(ev, CaseFilter()) is ev


# ---------- the command line ----------

def _cli(*args, db):
    import subprocess
    import sys
    from pathlib import Path
    cmd = [sys.executable, "-m", "cli.main", "export", *args, "--db", db]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=300)


def test_cli_export_with_sliders_and_filters(sqlite_engine):
    import json
    db = _fill(sqlite_engine).url.render_as_string(hide_password=False)
    span = ["--from", "2026-03-01", "--to", "2026-03-31", "--time-unit", "hours", "--format", "json"]
    full = _cli("dfg", *span, db=db)
    assert full.returncode == 0, full.stderr
    assert len(json.loads(full.stdout)) == 7
    half = json.loads(_cli("dfg", *span, "--activities", "50", "--paths", "100", db=db).stdout)
    assert {(r["source"], r["target"]): r["count"] for r in half} == {
        (START, "a"): 4, ("a", "b"): 3, ("b", END): 2, ("b", "b"): 1, ("a", END): 1}
    only_c = json.loads(_cli("dfg", *span, "--has-activity", "d", db=db).stdout)
    assert {(r["source"], r["target"]) for r in only_c} == {(START, "a"), ("a", "d"), ("d", "c"), ("c", END)}
    for bad, words in ((["dfg", "--paths", "150"], "percentage"), (["kpis", "--has-activity", "d"], "process filters"),
                       (["dfg", "--duration-min", "5", "--duration-max", "1"], "do not fit")):
        out = _cli(*bad, db=db)
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, (bad, out.stderr)


def _fill(engine):
    case_rows, event_rows = [], []
    for cid, trace in TRACES.items():
        day = DAYS[cid]
        closed = None if cid == "D" else D(2026, 3, day, trace[-1][1])
        case_rows.append(dict(case_id=cid, case_type="建设用地规划许可", township="东坪镇", department="审批科",
                              channel="online", received_at=D(2026, 3, day, 9), closed_at=closed,
                              status="closed" if closed else "open"))
        for seq, (stage, hour) in enumerate(trace, 1):
            event_rows.append(dict(case_id=cid, seq=seq, stage=stage, completed_at=D(2026, 3, day, hour),
                                   result="pass", handler_key="h2" if (cid, seq) == ("B", 3) else "h1"))
    with engine.begin() as conn:
        conn.execute(insert(cases), case_rows)
        conn.execute(insert(case_events), event_rows[::-1])      # source order ≠ seq order
    return engine


# ---------- the URL parser of the process filters ----------

def test_url_filters_are_checked_and_corrected():
    from dashboard import params
    known = {"activities": ["a", "b"], "variants": ["a → b"], "handlers": ["h1"]}
    f, notes = params.parse_process_filter(
        {"pf_period": "someday", "pf_has": ["a", "zz", "a"], "pf_variant": "a → b", "pf_top": "3.6",
         "pf_cover": "250", "pf_dmin": "5", "pf_dmax": "2", "pf_slowest": "nan", "pf_handler": "h9"}, known, "days")
    assert f == CaseFilter(has_activity=("a",), variants=("a → b",), top_variants=4, variant_coverage=1.0,
                           duration_min=5.0, unit="days")
    assert {n.param for n in notes} == {"pf_period", "pf_has", "pf_top", "pf_cover", "pf_dmax", "pf_slowest",
                                        "pf_handler"}
    back, again = params.parse_process_filter(params.process_filter_params(f), known, "days")
    assert back == f and not again
    assert params.parse_share({"pm_act": "150"}, "pm_act", 10) == (100, params.Correction("pm_act", "150", "100"))
    assert params.parse_share({"pm_act": "x"}, "pm_act", 10)[0] == 10
    assert params.parse_share({}, "pm_act", 10) == (10, None)
