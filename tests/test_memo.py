"""analytics.memo: results cached per store state are computed once, equal a fresh computation, and are
forgotten when the store changes; the dashboard learns the integrity-risk reference in the background."""
import datetime as dt
import threading
import time

import pandas as pd
import pytest
from sqlalchemy import insert

from analytics import integrity, memo, process
from analytics.exports import run_export
from analytics.scope import Scope
from analytics.workcal import load_calendar
from etl.schema import case_events, cases
from etl.store import make_engine

YEAR = Scope(dt.date(2025, 11, 1), dt.date(2026, 10, 31))


# ---------- StoreMemo ----------

def test_memo_computes_each_key_once_even_when_asked_concurrently():
    m = memo.StoreMemo(2)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "value"

    out = []
    threads = [threading.Thread(target=lambda: out.append(m.get("k", slow))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == ["value"] * 6 and len(calls) == 1


def test_memo_drops_the_least_recently_used_and_does_not_keep_failures():
    m = memo.StoreMemo(2)
    m.get("a", lambda: 1)
    m.get("b", lambda: 2)
    m.get("a", lambda: pytest.fail("a is cached"))
    m.get("c", lambda: 3)                        # evicts b, the least recently used
    assert m.get("b", lambda: 22) == 22
    with pytest.raises(ZeroDivisionError):
        m.get("d", lambda: 1 / 0)
    assert m.get("d", lambda: 4) == 4            # the failure was not cached
    memo.clear_all()
    assert len(m) == 0


def test_column_memo_reads_each_column_once_and_never_mixes_two_states():
    m = memo.ColumnMemo(2)
    table = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]})
    reads = []

    def read(names):
        reads.append(tuple(names))
        return table[list(names)].copy()

    assert m.get("k", ["a"], read, lambda: True).columns.tolist() == ["a"]
    got = m.get("k", ["b", "a"], read, lambda: True)
    pd.testing.assert_frame_equal(got[["a", "b"]], table[["a", "b"]])
    m.get("k", ["b"], read, lambda: pytest.fail("b is held"))
    assert reads == [("a",), ("b",)]                               # b read alone, joined on
    whole = m.get("k", ["c"], read, lambda: False)                 # the store changed during the read:
    assert reads[-2:] == [("c",), ("a", "b", "c")]                 # read whole again ...
    assert m.get("k", ["a"], read, lambda: True).columns.tolist() == ["a", "b"]   # ... and not kept
    pd.testing.assert_frame_equal(whole, table)
    short = lambda names: reads.append(tuple(names)) or table[list(names)].head(2).copy()   # noqa: E731
    assert len(m.get("k", ["c"], short, lambda: True)) == 2         # other rows than held: read whole
    assert reads[-2:] == [("c",), ("a", "b", "c")]


def test_a_pages_mart_exports_read_each_column_of_the_period_once(sample_store_url, monkeypatch, tmp_path):
    from analytics import eventmart
    engine = make_engine(_copy_of(sample_store_url, tmp_path))
    process.clear_measured_cache()
    asked = []
    real = eventmart.fetch
    monkeypatch.setattr(eventmart, "fetch", lambda conn, scope, cols: asked.append(list(cols)) or real(conn, scope, cols))
    requests = [("stage-times", None), ("bottlenecks", None), ("workload", "handler"), ("workload", "department"),
                ("rework", None), ("dfg", None), ("stage-trend", None)]
    first = [run_export(engine, name, YEAR, by=by) for name, by in requests]
    read = [c for cols in asked for c in cols]
    assert len(read) == len(set(read)) and len(asked) >= 2             # every column read once, in a few reads
    for (name, by), expected in zip(requests, first):
        process.clear_measured_cache()                                  # each alone: the same frames
        pd.testing.assert_frame_equal(run_export(engine, name, YEAR, by=by), expected, check_exact=True)
    engine.dispose()


# ---------- measured events: one computation for the bottlenecks page's exports ----------

def _copy_of(sample_store_url: str, tmp_path) -> str:
    """A private copy of the session's sample store (these tests write to it or need a key new to the process)."""
    import shutil

    shutil.copy(sample_store_url.removeprefix("sqlite:///"), tmp_path / "copy.db")
    return f"sqlite:///{(tmp_path / 'copy.db').as_posix()}"


def test_measured_events_are_computed_once_per_store_state(sample_store_url, monkeypatch, tmp_path):
    engine = make_engine(_copy_of(sample_store_url, tmp_path))
    process.clear_measured_cache()
    calls = []
    real = process.measure
    monkeypatch.setattr(process, "measure", lambda ev, cal, unit="workdays": calls.append(unit) or real(ev, cal, unit))
    first = {name: run_export(engine, name, YEAR, "days") for name in ("bottlenecks", "stage-times", "dfg", "rework",
                                                                        "stage-trend")}
    run_export(engine, "workload", YEAR, "days", by="department")
    assert calls == ["days"]                     # six exports, one measurement
    run_export(engine, "stage-times", YEAR, "hours")
    assert calls == ["days", "hours"]            # another unit is another frame
    workdays = run_export(engine, "stage-times", YEAR)
    assert calls == ["days", "hours"]            # working days: read from the event-times mart, nothing measured
    with engine.connect() as conn:
        cached = process.scoped_measured(conn, YEAR, load_calendar(conn))
        fresh = process.scoped_measured(conn, YEAR, load_calendar(conn), cache=False)
    assert calls == ["days", "hours", "workdays", "workdays"]      # every column: measured; the last is cache=False
    pd.testing.assert_frame_equal(cached, fresh)
    cached["sojourn"] = -1.0                     # the caller's copy; the cached frame is untouched
    pd.testing.assert_frame_equal(run_export(engine, "stage-times", YEAR, "days"), first["stage-times"])
    pd.testing.assert_frame_equal(run_export(engine, "stage-times", YEAR), workdays)

    # a write that bypasses the ETL changes the row counts, so the next export measures afresh and sees it
    with engine.begin() as conn:
        conn.execute(insert(cases), [{"case_id": "MEMO-1", "case_type": "不动产登记", "township": "东坪镇",
                                      "received_at": dt.datetime(2026, 10, 1, 9), "status": "open"}])
        conn.execute(insert(case_events), [{"case_id": "MEMO-1", "seq": 1, "stage": "新阶段",
                                            "completed_at": dt.datetime(2026, 10, 2, 9)}])
    after = run_export(engine, "stage-times", YEAR)
    assert len(calls) == 5 and "新阶段" in set(after["stage"])     # the mart lags the rows: measured afresh
    engine.dispose()


# ---------- the dashboard warms the integrity-risk reference in the background ----------

def test_dashboard_learns_the_reference_in_the_background(sample_store_url, monkeypatch, tmp_path):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    url = _copy_of(sample_store_url, tmp_path)         # its key is new to this process whatever ran before
    monkeypatch.setenv("LANDDESK_DATABASE_URL", url)
    integrity.clear_assess_cache()
    st.cache_resource.clear()
    at = AppTest.from_file(str(__import__("pathlib").Path(__file__).resolve().parent.parent / "dashboard" / "app.py"),
                           default_timeout=60)
    at.run()                                     # the cockpit: it needs no warnings itself
    assert not at.exception
    from dashboard.data import wait_for_warm_up
    wait_for_warm_up(60)
    monkeypatch.setattr(integrity, "_assess", lambda *a, **kw: pytest.fail("the reference was not learnt"))
    engine = make_engine(url)
    warnings = run_export(engine, "warnings", YEAR)
    assert len(warnings) > 0
    engine.dispose()
