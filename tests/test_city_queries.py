"""Queries rewritten for city scale (issue 20) give the same results, frame for frame, and the plans they were
rewritten for.

`analytics.kpis.open_cases_at_end` (backlog, overdue, backlog age, overdue cases, backlog projection …) now asks
SQLite for the cases still open at the period's end in two legs on ix_cases_closed_at (PostgreSQL keeps the one
query, whose plan was already right). The oracle is the query as it was (tests/city_oracle.py). Every export that reads those rows is computed both ways on the sample county and on the
real receipt log, on SQLite and PostgreSQL, for recent, whole-year, early and township periods.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

import analytics.kpis as kpis
from analytics import memo
from analytics.coverage import activity_range
from analytics.exports import run_export
from analytics.scope import Scope
from etl.load import load_mapping, run_sources
from etl.store import make_engine
from landdesk.resources import SAMPLE_DIR
import city_oracle

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")
RECEIPT = REALDATA / "receipt" / "receipt_WABO_CoSeLoG.xes.gz"
MAPPINGS = Path(__file__).resolve().parents[1] / "sample_data" / "mappings" / "real"
#: (export, by): every export whose rows come from open_cases_at_end.
EXPORTS = [("kpis", None), ("case-efficiency", None), ("case-efficiency", "township"), ("case-efficiency", "period"),
           ("case-efficiency-changes", None), ("backlog-age", None), ("backlog-age", "township"),
           ("overdue-cases", None), ("cases", None), ("backlog-projection", None)]


def scopes(engine) -> list[Scope]:
    with engine.connect() as conn:
        first, last = activity_range(conn)
        township = conn.exec_driver_sql("SELECT township FROM cases GROUP BY township ORDER BY COUNT(*) DESC, "
                                        "township").scalars().first()
    out = [Scope(max(first, last - dt.timedelta(days=29)), last),
           Scope(max(first, last - dt.timedelta(days=364)), last, compare="year"),
           Scope(max(first, last - dt.timedelta(days=91)), last),
           Scope(first, min(last, first + dt.timedelta(days=29)))]
    if township is not None:
        out.append(Scope(max(first, last - dt.timedelta(days=91)), last, township=township))
    return out


def assert_same(engine, monkeypatch) -> int:
    """Every export of EXPORTS: today's query == the oracle's, for every scope; returns the open rows compared."""
    compared = 0
    for scope in scopes(engine):
        with engine.connect() as conn:
            new = kpis.open_cases_at_end(conn, scope, ("case_id", "system"))
            old = city_oracle.open_cases_at_end(conn, scope, ("case_id", "system"))
        key = ["system", "case_id"]
        pd.testing.assert_frame_equal(new.sort_values(key).reset_index(drop=True),
                                      old.sort_values(key).reset_index(drop=True), check_exact=True)
        compared += len(new)
        for name, by in EXPORTS:
            memo.clear_all()
            got = run_export(engine, name, scope, by=by)
            with monkeypatch.context() as m:
                m.setattr(kpis, "open_cases_at_end", city_oracle.open_cases_at_end)
                memo.clear_all()
                want = run_export(engine, name, scope, by=by)
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"{name} by {by} {scope}")
    memo.clear_all()
    return compared


def test_sample_county_sqlite(sample_store_url, monkeypatch):
    engine = make_engine(sample_store_url)
    try:
        assert assert_same(engine, monkeypatch) > 0
    finally:
        engine.dispose()


@pytest.mark.pg
def test_sample_county_postgresql(pg_engine, monkeypatch):
    results = run_sources(pg_engine, SAMPLE_DIR / "sources.yaml")
    assert all(r.status == "loaded" for r in results), [r.summary() for r in results]
    assert assert_same(pg_engine, monkeypatch) > 0


@pytest.mark.realdata
@pytest.mark.skipif(not RECEIPT.is_file(), reason=f"the receipt log is not at {RECEIPT} (set LANDDESK_REALDATA)")
def test_receipt_log(engine, monkeypatch):
    assert load_mapping(engine, MAPPINGS / "receipt.yaml").status == "loaded"
    assert_same(engine, monkeypatch)


def test_sqlite_plan_reads_open_cases_from_the_closed_at_index(sample_store_url):
    """Both legs search ix_cases_closed_at; neither walks ix_cases_received_at over all earlier cases."""
    engine = make_engine(sample_store_url)
    try:
        with engine.connect() as conn:
            _, last = activity_range(conn)
            scope = Scope(last - dt.timedelta(days=364), last)
            captured = []
            real = kpis.fetch_frame
            kpis.fetch_frame = lambda c, q, cols: captured.append(q) or real(c, q, cols)
            try:
                kpis.open_cases_at_end(conn, scope)
            finally:
                kpis.fetch_frame = real
            sql = str(captured[0].compile(engine, compile_kwargs={"literal_binds": True}))
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    finally:
        engine.dispose()
    searches = [p for p in plan if p.startswith(("SEARCH", "SCAN"))]
    assert len(searches) == 2 and all("ix_cases_closed_at" in p for p in searches), plan
