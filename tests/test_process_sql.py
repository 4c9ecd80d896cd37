"""The process exports measured in SQL (issue 20) equal what they were, frame for frame.

`analytics.process.scoped_events` now measures each event's in-case context (previous event, later event,
occurrence) with window functions and sends only the period's events to pandas. The oracle is the
pre-issue-20 fetch, kept verbatim in tests/process_oracle.py. Both run on the same store — the sample county
and the real receipt log, on SQLite and PostgreSQL — for plain periods, dimension filters and the process
filters (period modes and case-level criteria); the event frames and every process export must be identical.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

import analytics.process as process
from analytics.casefilter import CaseFilter
from analytics.coverage import activity_range
from analytics.exports import registry, run_export
from analytics.scope import Scope
from analytics.workcal import load_calendar
from etl.load import load_mapping, run_sources
from etl.store import make_engine
from landdesk.resources import SAMPLE_DIR
from tests import process_oracle

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")
RECEIPT = REALDATA / "receipt" / "receipt_WABO_CoSeLoG.xes.gz"
MAPPINGS = Path(__file__).resolve().parents[1] / "sample_data" / "mappings" / "real"
PROCESS_EXPORTS = sorted(name for name, e in registry().items() if e.filters_cases)


def scopes(conn) -> list[Scope]:
    """Plain periods (a month, a quarter, a year, everything), a township and a case type, and process filters."""
    first, last = activity_range(conn)
    stage = conn.exec_driver_sql("SELECT stage FROM case_events GROUP BY stage ORDER BY COUNT(*) DESC, stage") \
        .scalars().first()
    township, case_type = conn.exec_driver_sql(
        "SELECT township, case_type FROM cases GROUP BY township, case_type ORDER BY COUNT(*) DESC, township, "
        "case_type").first()
    quarter = Scope(max(first, last - dt.timedelta(days=91)), last)
    out = [Scope(max(first, last - dt.timedelta(days=29)), last), quarter,
           Scope(max(first, last - dt.timedelta(days=364)), last), Scope(first, last)]
    if township is not None:
        out.append(Scope(quarter.start, last, township=township))
    if case_type is not None:
        out.append(Scope(quarter.start, last, case_type=case_type))
    for f in (CaseFilter(period="started"), CaseFilter(period="completed"), CaseFilter(period="active"),
              CaseFilter(has_activity=(stage,)), CaseFilter(top_variants=3, period="completed"),
              CaseFilter(slowest=0.2)):
        out.append(Scope(quarter.start, last, cases=f))
    return out


def assert_same(engine) -> None:
    """Event frames and process exports: new == oracle for every scope (the whole-range scope holds every event)."""
    with engine.connect() as conn:
        cal = load_calendar(conn)
        all_scopes = scopes(conn)
        stored = conn.exec_driver_sql("SELECT COUNT(*) FROM case_events").scalar_one()
        for i, scope in enumerate(all_scopes):
            new = process.scoped_events(conn, scope, cal)
            old = process_oracle.scoped_events(conn, scope, cal)
            pd.testing.assert_frame_equal(new, old, check_exact=True)
            if i == 3:                                   # Scope(first, last): every event of the store
                assert len(new) == stored > 0
    for scope in all_scopes[:2] + all_scopes[-3:]:
        for name in PROCESS_EXPORTS:
            process.clear_measured_cache()
            new = run_export(engine, name, scope, "hours")
            process.clear_measured_cache()
            saved = process.scoped_events
            process.scoped_events = process_oracle.scoped_events
            try:
                old = run_export(engine, name, scope, "hours")
            finally:
                process.scoped_events = saved
                process.clear_measured_cache()
            pd.testing.assert_frame_equal(new, old, check_exact=True, obj=f"{name} {scope}")


def test_sample_county_sqlite(sample_store_url):
    engine = make_engine(sample_store_url)
    try:
        assert_same(engine)
    finally:
        engine.dispose()


@pytest.mark.pg
def test_sample_county_postgresql(pg_engine):
    results = run_sources(pg_engine, SAMPLE_DIR / "sources.yaml")
    assert all(r.status == "loaded" for r in results), [r.summary() for r in results]
    assert_same(pg_engine)


@pytest.mark.realdata
@pytest.mark.skipif(not RECEIPT.is_file(), reason=f"the receipt log is not at {RECEIPT} (set LANDDESK_REALDATA)")
def test_receipt_log(engine):
    assert load_mapping(engine, MAPPINGS / "receipt.yaml").status == "loaded"
    assert_same(engine)
