"""The event-times mart (issue 20, etl.eventtimes): after each kind of write — a first load, a reload of a few
cases' events, a second source system with the same case ids, an undo — it equals a rebuild from the base tables,
refreshing only the touched cases (which keep their numbers); every process export it serves equals the same
export measured from the base tables, exactly; where it cannot answer (another unit, process filters, rows
written outside the ETL) the exports measure from the base tables. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import insert, select

from analytics import eventmart, process
from analytics.casefilter import CaseFilter
from analytics.coverage import activity_range
from analytics.exports import run_export
from analytics.scope import Scope
from analytics.workcal import load_calendar
from etl import eventtimes, marts
from etl import schema as S
from etl.load import load_mapping
from etl.undo import undo_batch
from etl_helpers import write_mapping
from test_marts import assert_marts_recompute, load_sample

PROCESS_EXPORTS = [("stage-times", None), ("bottlenecks", None), ("bottlenecks-elapsed", None),
                   ("bottlenecks-waiting", None), ("bottlenecks-processing", None), ("dfg", None),
                   ("dfg-nodes", None), ("rework", None), ("workload", None), ("workload", "handler"),
                   ("workload", "system"), ("workload", "period"), ("stage-trend", None),
                   ("resource-activity", None)]
EVENTS = {"dataset": "case_events", "columns": {"case_id": "case", "stage": "activity", "completed_at": "time",
                                                "started_at": "start", "department": "dept"}}


def _scopes(engine) -> list[Scope]:
    with engine.connect() as conn:
        _, last = activity_range(conn)
        township = conn.execute(select(S.cases.c.township).where(S.cases.c.township.is_not(None))
                                .limit(1)).scalar_one()
    return [Scope(last - dt.timedelta(days=91), last), Scope(last - dt.timedelta(days=364), last),
            Scope(last - dt.timedelta(days=364), last, township=township)]


def assert_served_equal_to_base(engine, monkeypatch, scopes) -> int:
    """Every process export of `scopes` read from the mart equals it measured from the base tables; returns how
    many requests the mart served (every one, when it is current)."""
    served = []
    real_fetch = eventmart.fetch
    monkeypatch.setattr(eventmart, "fetch", lambda *a, **k: served.append(1) or real_fetch(*a, **k))
    for scope in scopes:
        for name, by in PROCESS_EXPORTS:
            process.clear_measured_cache()
            fast = run_export(engine, name, scope, by=by)
            with monkeypatch.context() as m:
                m.setattr(eventmart, "serves", lambda *a, **k: False)
                process.clear_measured_cache()
                slow = run_export(engine, name, scope, by=by)
            pd.testing.assert_frame_equal(fast, slow, check_exact=True, obj=f"{name} {by} {scope}")
    assert len(fast) > 0
    return len(served)


def _numbers(engine) -> dict:
    m = S.mart_event_times.c
    with engine.connect() as conn:
        return {(s, c): n for s, c, n in conn.execute(select(m.system, m.case_id, m.case_no).distinct()).all()}


def _events(tmp_path, name: str, rows: str, **extra):
    src = tmp_path / f"{name}.csv"
    src.write_text("case,activity,start,time,dept\n" + rows, encoding="utf-8")
    return write_mapping(tmp_path, f"{name}.yaml", {**EVENTS, "source": {"path": str(src)}, **extra})


def test_the_mart_serves_every_process_export_exactly(engine, monkeypatch):
    load_sample(engine)
    assert_marts_recompute(engine)
    scopes = _scopes(engine)
    assert assert_served_equal_to_base(engine, monkeypatch, scopes) == len(scopes) * len(PROCESS_EXPORTS)


def test_a_reload_of_a_few_cases_refreshes_just_them(engine, tmp_path, monkeypatch):
    load_sample(engine)
    before = _numbers(engine)
    with engine.connect() as conn:
        two = [r[0] for r in conn.execute(select(S.cases.c.case_id).where(S.cases.c.closed_at.is_not(None))
                                          .order_by(S.cases.c.case_id).limit(2)).all()]
    rebuilds = []
    real = eventtimes.rebuild
    monkeypatch.setattr(eventtimes, "rebuild", lambda *a: rebuilds.append(1) or real(*a))
    rows = (f"{two[0]},受理,2025-03-03 09:00,2025-03-03 10:00,窗口\n{two[0]},审核,,2025-03-05 16:00,\n"
            f"{two[1]},受理,2025-04-01 09:00,2025-04-01 09:30,\nNEW-1,受理,2025-04-02 09:00,2025-04-02 11:00,\n"
            "NEW-1,审核,2025-04-03 08:00,2025-04-07 17:00,\n")
    r = load_mapping(engine, _events(tmp_path, "few", rows))
    assert r.status == "loaded", r.summary()
    assert rebuilds == []                                   # three cases touched: refreshed, not rebuilt
    after = _numbers(engine)
    assert {k: v for k, v in after.items() if k[1] != "NEW-1"} == before         # every case keeps its number
    assert after[("default", "NEW-1")] == max(before.values()) + 1
    m = S.mart_event_times.c
    with engine.connect() as conn:
        got = [list(r) for r in conn.execute(select(m.case_id, m.seq, m.stage, m.prev_stage, m.is_last, m.occurrence)
                                             .where(m.case_id.in_([two[0], "NEW-1"])).order_by(m.case_id, m.seq))]
    assert got == [["NEW-1", 1, "受理", None, False, 1], ["NEW-1", 2, "审核", "受理", True, 1],
                                   [two[0], 1, "受理", None, False, 1], [two[0], 2, "审核", "受理", True, 1]]
    monkeypatch.setattr(eventtimes, "rebuild", real)
    assert_marts_recompute(engine)
    assert_served_equal_to_base(engine, monkeypatch, _scopes(engine)[:1])

    undo_batch(engine, r.batch_id, force=True)             # its events go, and NEW-1 with them
    assert ("default", "NEW-1") not in _numbers(engine)
    assert_marts_recompute(engine)


def test_the_same_case_id_in_two_systems_is_two_cases(engine, tmp_path, monkeypatch):
    load_sample(engine)
    with engine.connect() as conn:
        case_id = conn.execute(select(S.cases.c.case_id).order_by(S.cases.c.case_id).limit(1)).scalar_one()
    rows = f"{case_id},受理,,2026-09-01 10:00,\n{case_id},审核,,2026-09-02 10:00,\n"
    r = load_mapping(engine, _events(tmp_path, "other", rows, system="不动产登记系统"))
    assert r.status == "loaded", r.summary()
    numbers = _numbers(engine)
    assert numbers[("default", case_id)] != numbers[("不动产登记系统", case_id)]
    assert_marts_recompute(engine)
    assert_served_equal_to_base(engine, monkeypatch, _scopes(engine)[:1])


def test_where_the_mart_cannot_answer_the_exports_measure_from_the_base_tables(engine, monkeypatch):
    load_sample(engine)
    scope = _scopes(engine)[0]
    columns = ("stage", "sojourn", "case_key")
    with engine.connect() as conn:
        cal = load_calendar(conn)
        rows = process.store_state(conn)[2:]
        assert eventmart.serves(conn, scope, cal, "workdays", columns, rows)
        assert not eventmart.serves(conn, scope, cal, "hours", columns, rows)
        assert not eventmart.serves(conn, scope, cal, "workdays", columns + ("started_at",), rows)
        filtered = Scope(scope.start, scope.end, cases=CaseFilter(has_activity=("受理",)))
        assert not eventmart.serves(conn, filtered, cal, "workdays", columns, rows)
        last = conn.execute(select(S.cases.c.received_at).order_by(S.cases.c.received_at.desc()).limit(1)).scalar_one()
    with engine.begin() as conn:                           # written outside the ETL, which keeps the mart
        conn.execute(insert(S.cases), [dict(case_id="BYHAND", received_at=last, status="open", system="default")])
        conn.execute(insert(S.case_events), [dict(case_id="BYHAND", seq=1, stage="手工阶段", system="default",
                                                  completed_at=last + dt.timedelta(hours=3))])
    with engine.connect() as conn:
        assert not eventmart.serves(conn, scope, cal, "workdays", columns, process.store_state(conn)[2:])
    process.clear_measured_cache()
    assert "手工阶段" in set(run_export(engine, "stage-times", scope)["stage"])
    assert assert_served_equal_to_base(engine, monkeypatch, [scope]) == 0
    with engine.begin() as conn:
        marts.rebuild(conn)                                # `landdesk marts rebuild`: served again
    assert assert_served_equal_to_base(engine, monkeypatch, [scope]) == len(PROCESS_EXPORTS)


def test_the_stage_drill_down_reads_the_mart_and_lists_the_same_cases(engine, monkeypatch):
    from analytics.bottlenecks import STAGE_CASES_READS, stage_cases
    load_sample(engine)
    scope = _scopes(engine)[1]
    cases_frame = run_export(engine, "cases", scope)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        process.clear_measured_cache()
        fast = process.scoped_measured(conn, scope, cal, columns=STAGE_CASES_READS)
        slow = process.scoped_measured(conn, scope, cal)
    assert list(fast.columns) == list(STAGE_CASES_READS)
    top = run_export(engine, "bottlenecks", scope)["stage"].iloc[0]
    got, n = stage_cases(fast, cases_frame, top, 50)
    want, m = stage_cases(slow, cases_frame, top, 50)
    assert n == m > 0
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)   # a case's sum: its events' order
