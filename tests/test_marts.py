"""The marts (etl.marts, issue 20): after every kind of write the ETL makes — loads, a reload that changes cases,
petitions reloaded, an undo, a calendar change, a failed load — the incrementally maintained marts equal a
recompute from scratch, and the cockpit's KPIs read from them equal the base-table definitions frame for frame;
on SQLite and PostgreSQL."""
import datetime as dt
import math

import pandas as pd
import pytest
import yaml
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from analytics import kpis
from analytics.coverage import activity_range
from analytics.scope import Scope
from analytics.workcal import load_calendar
from etl import eventtimes, marts
from etl.load import load_mapping
from etl.schema import cases
from etl.undo import undo_batch
from landdesk.resources import SAMPLE_DIR

MAPPINGS = SAMPLE_DIR / "mappings"
SOURCES = ("approval_cases", "approval_events", "petitions", "land_use", "targets")


def load_sample(engine):
    for name in SOURCES:
        r = load_mapping(engine, MAPPINGS / f"{name}.yaml")
        assert r.status == "loaded", r.summary()


def assert_marts_recompute(engine) -> dict:
    """The stored marts equal a from-scratch rebuild of the same base rows (rolled back); returns them."""
    with engine.connect() as conn:
        with conn.begin() as tx:
            kept = marts.snapshot(conn)
            kept_events = eventtimes.snapshot(conn)
            marts.rebuild(conn)
            fresh = marts.snapshot(conn)
            fresh_events = eventtimes.snapshot(conn)
            tx.rollback()
        assert marts.state(conn) == marts.current(conn, load_calendar(conn))
    for name in fresh:
        pd.testing.assert_frame_equal(kept[name], fresh[name], check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(kept_events, fresh_events, obj="mart_event_times")    # exact times too
    assert len(fresh_events) > 0
    assert len(fresh["mart_cases_closed"]) > 0
    return kept


def variant(tmp_path, name: str, change) -> str:
    """A copy of a sample mapping whose source is the sample export changed by `change(frame)`."""
    spec = yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8"))
    src = (MAPPINGS / spec["source"]["path"]).resolve()
    enc = "utf-8-sig" if name == "approval_cases" else "gb18030"
    frame = change(pd.read_csv(src, dtype=str, encoding=enc, keep_default_na=False))
    out = tmp_path / f"{name}_changed.csv"
    frame.to_csv(out, index=False, encoding=enc)
    spec["source"]["path"] = str(out)
    path = tmp_path / f"{name}_changed.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return str(path)


def _reopen_and_move(frame: pd.DataFrame) -> pd.DataFrame:
    """Change cases' status, closed_at and township, and drop some (a reload that is not a superset)."""
    f = frame.copy()
    closed = f.index[f["办件状态"] == "已办结"]
    f.loc[closed[:40], "办件状态"] = "在办"
    f.loc[closed[:40], "办结时间"] = ""
    f.loc[closed[40:80], "办结时间"] = "2025-06-30 16:00:00"
    f.loc[closed[80:120], "所属乡镇"] = "新设镇"
    f.loc[closed[120:160], "评价"] = "非常满意(5)"
    return f


def _petitions_changed(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    replied = f.index[f["答复日期"] != ""]
    f.loc[replied[:30], "答复日期"] = ""
    f.loc[replied[30:60], "答复日期"] = "2025-12-31"
    f.loc[replied[60:90], "所属乡镇"] = "新设镇"
    return f


def test_incremental_marts_equal_a_recompute(engine, tmp_path, monkeypatch):
    load_sample(engine)
    assert_marts_recompute(engine)
    rebuilds = []
    real_rebuild = marts.rebuild
    monkeypatch.setattr(marts, "rebuild", lambda conn, cal=None: rebuilds.append(1) or real_rebuild(conn, cal))

    r = load_mapping(engine, variant(tmp_path, "approval_cases", _reopen_and_move))
    assert r.status == "loaded", r.summary()
    after_reload = assert_marts_recompute(engine)

    p = load_mapping(engine, variant(tmp_path, "petitions", _petitions_changed))
    assert p.status == "loaded", p.summary()
    assert_marts_recompute(engine)

    undo_batch(engine, p.batch_id, force=True)          # its petitions go: the marts lose them too
    assert_marts_recompute(engine)
    undo_batch(engine, r.batch_id, force=True)
    assert_marts_recompute(engine)
    assert len(rebuilds) == 4          # only the four checks' own: the loads and undos refreshed their days

    calendar_csv = tmp_path / "calendar.csv"           # a calendar change: the workdays of every case move
    calendar_csv.write_text("date,is_workday,note\n" + "".join(
        f"{d:%Y-%m-%d},false,closure\n" for d in pd.date_range("2024-03-04", "2024-03-29", freq="B")),
        encoding="utf-8")
    cal_map = tmp_path / "calendar.yaml"
    cal_map.write_text(yaml.safe_dump({"dataset": "calendar", "source": {"path": str(calendar_csv), "format": "csv"},
                                       "columns": {"date": "date", "is_workday": "is_workday", "note": "note"}}),
                       encoding="utf-8")
    c = load_mapping(engine, cal_map)
    assert c.status == "loaded", c.summary()
    assert len(rebuilds) == 5          # the calendar load rebuilt them
    after_calendar = assert_marts_recompute(engine)
    assert not after_calendar["mart_cases_closed"].equals(after_reload["mart_cases_closed"])


def test_failed_load_leaves_the_marts_as_they_were(engine, tmp_path, monkeypatch):
    load_sample(engine)
    before = assert_marts_recompute(engine)
    import etl.load as L
    real = L.write

    def write_then_fail(*args, **kwargs):
        out = real(*args, **kwargs)
        marts.refresh(args[0])                        # the marts change inside the transaction …
        raise SQLAlchemyError("disk full")            # … which then fails
    monkeypatch.setattr(L, "write", write_then_fail)
    r = None
    with pytest.raises(L.LoadError):
        r = load_mapping(engine, variant(tmp_path, "approval_cases", _reopen_and_move))
    assert r is None
    after = assert_marts_recompute(engine)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)


def test_rows_written_outside_the_etl_send_the_kpis_to_the_base_tables(engine):
    load_sample(engine)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        _, last = activity_range(conn)
        scope = Scope(last - dt.timedelta(days=29), last)
        assert kpis.marts_serve(conn, scope, cal)
        assert not kpis.marts_serve(conn, scope, cal, "hours")
    with engine.begin() as conn:
        conn.execute(insert(cases), [dict(case_id="BYHAND", received_at=dt.datetime.combine(last, dt.time(2)),
                                          status="open", system="default")])
    with engine.connect() as conn:
        assert not kpis.marts_serve(conn, scope, cal)
        got = kpis.kpi_values(conn, scope, cal)
        assert got == kpis.kpi_values(conn, scope, cal, source="base") or _same(got, kpis.kpi_values(
            conn, scope, cal, source="base"))
    with engine.begin() as conn:
        marts.rebuild(conn)
    with engine.connect() as conn:
        assert kpis.marts_serve(conn, scope, cal)


@pytest.mark.pg
def test_concurrent_writers_refresh_the_marts_one_after_another(pg_engine):
    """Two transactions add a case on the same already-counted day and refresh: the second waits for the first's
    commit (etl.marts._serialise), so the day is counted once, with both cases, as a recompute counts it."""
    import threading
    import time
    from sqlalchemy import func, select
    engine = pg_engine
    load_sample(engine)
    with engine.connect() as conn:
        received = conn.execute(select(func.max(cases.c.received_at))).scalar_one()

    def add(conn, case_id):
        conn.execute(insert(cases), [dict(case_id=case_id, received_at=received, status="open", system="default")])
        marts.note_ids(conn, "cases", "default", [case_id])
        marts.refresh(conn)

    first = engine.connect()
    tx = first.begin()
    add(first, "CONCURRENT-A")                      # holds the refresh until it commits
    done = threading.Event()

    def second():
        with engine.begin() as conn:
            add(conn, "CONCURRENT-B")
        done.set()

    worker = threading.Thread(target=second)
    worker.start()
    time.sleep(1.5)
    assert not done.is_set(), "the second refresh did not wait for the first transaction"
    tx.commit()
    first.close()
    worker.join(60)
    assert done.is_set()
    assert_marts_recompute(engine)                   # the day counted once, with both cases


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def scopes(conn) -> list[Scope]:
    first, last = activity_range(conn)
    q_start = dt.date(last.year, (last.month - 1) // 3 * 3 + 1, 1)
    out = [Scope(last - dt.timedelta(days=29), last),
           Scope(q_start, last, grain="quarter"),
           Scope(last - dt.timedelta(days=364), last),
           Scope(dt.date(last.year, 1, 1), last, compare="year", grain="year"),
           Scope(last - dt.timedelta(days=89), last, compare="year"),
           Scope(first - dt.timedelta(days=400), first - dt.timedelta(days=300)),      # before the data
           Scope(first, first + dt.timedelta(days=6))]
    townships = [t for (t,) in conn.exec_driver_sql("SELECT DISTINCT township FROM cases WHERE township IS NOT NULL "
                                                     "ORDER BY township").all()]
    types = [t for (t,) in conn.exec_driver_sql("SELECT DISTINCT case_type FROM cases ORDER BY case_type").all()]
    departments = [t for (t,) in conn.exec_driver_sql("SELECT DISTINCT department FROM petitions "
                                                       "WHERE department IS NOT NULL ORDER BY department").all()]
    year = Scope(last - dt.timedelta(days=364), last)
    from dataclasses import replace
    out += [replace(year, township=townships[0]), replace(year, township=townships[-1], compare="year"),
            replace(year, case_type=types[0]), replace(out[0], case_type=types[-1]),
            replace(year, department=departments[0]), replace(year, system="default"),
            replace(year, system="elsewhere"), replace(out[1], township=townships[1], case_type=types[1])]
    return out


def test_kpis_from_the_marts_equal_the_base_tables(engine):
    load_sample(engine)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        checked = 0
        for scope in scopes(conn):
            via_marts = kpis.kpi_table(conn, scope, cal, source="marts")
            via_base = kpis.kpi_table(conn, scope, cal, source="base")
            pd.testing.assert_frame_equal(via_marts, via_base, check_exact=True, obj=str(scope))
            checked += int(via_base["value"].notna().sum())
        assert checked > 100
        assert kpis.kpi_table(conn, scopes(conn)[0], cal).equals(kpis.kpi_table(conn, scopes(conn)[0], cal,
                                                                                  source="base"))
        with pytest.raises(ValueError):
            kpis.kpi_values(conn, scopes(conn)[0], cal, "days", source="marts")


def test_median_from_counts_is_numpys_median():
    import numpy as np
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 11, 1000):
        taken = rng.integers(0, 30, n)
        values, counts = np.unique(taken, return_counts=True)
        assert kpis.median_from_counts(values.astype(float), counts) == float(np.median(taken.astype(float)))
    assert math.isnan(kpis.median_from_counts(np.array([]), np.array([], dtype="int64")))


def test_weekly_flow_from_the_marts_equals_the_base_tables(engine):
    load_sample(engine)
    with engine.connect() as conn:
        for scope in scopes(conn):
            via_marts = kpis.weekly_flow(conn, scope, source="marts")
            pd.testing.assert_frame_equal(via_marts, kpis.weekly_flow(conn, scope, source="base"), obj=str(scope))
        assert kpis.weekly_flow(conn, scopes(conn)[2])["received"].sum() > 0


def test_marts_rebuild_command(sample_store_url):
    """`landdesk marts rebuild` recomputes the marts in one transaction and says how many rows each holds;
    on a store without a schema it says so in one sentence."""
    import subprocess
    import sys
    from pathlib import Path
    from etl.store import make_engine
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "cli.main", "marts", "rebuild", "--db", sample_store_url],
                       capture_output=True, text=True, cwd=root, timeout=300)
    assert r.returncode == 0, r.stderr
    engine = make_engine(sample_store_url)
    try:
        with engine.connect() as conn:
            counts = marts.row_counts(conn)
    finally:
        engine.dispose()
    assert f"mart_cases_closed {counts['mart_cases_closed']} rows" in r.stdout and counts["mart_cases_closed"] > 0
    empty = Path(sample_store_url.removeprefix("sqlite:///")).parent / "nothing.db"
    empty.touch()
    bad = subprocess.run([sys.executable, "-m", "cli.main", "marts", "rebuild", "--db", f"sqlite:///{empty}"],
                         capture_output=True, text=True, cwd=root, timeout=300)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "db upgrade" in bad.stderr


def test_streamed_loads_keep_the_marts(engine, tmp_path):
    """A source read in chunks (etl.load._load_chunked: staged, then written slice by slice in one transaction)
    refreshes the marts as a one-frame load does, first load and reload alike."""
    for name in ("approval_cases", "approval_events", "petitions"):
        r = load_mapping(engine, MAPPINGS / f"{name}.yaml", chunk_rows=1500)
        assert r.status == "loaded", r.summary()
    first = assert_marts_recompute(engine)
    r = load_mapping(engine, variant(tmp_path, "approval_cases", _reopen_and_move), chunk_rows=1500)
    assert r.status == "loaded", r.summary()
    again = assert_marts_recompute(engine)
    assert not again["mart_cases_closed"].equals(first["mart_cases_closed"])


def test_migration_0012_builds_the_marts_of_an_existing_store(engine):
    """A store loaded before the marts (at 0011) gets them at `db upgrade`, equal to a recompute and serving."""
    from alembic import command
    from sqlalchemy import inspect
    from etl.store import alembic_config, upgrade
    load_sample(engine)
    command.downgrade(alembic_config(engine), "0011")
    assert "mart_cases_closed" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert_marts_recompute(engine)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        _, last = activity_range(conn)
        assert kpis.marts_serve(conn, Scope(last - dt.timedelta(days=364), last), cal)
