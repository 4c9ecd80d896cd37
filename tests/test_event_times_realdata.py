"""The event-times mart on real event logs: after the ETL's load, every process export it serves equals the same
export measured from the base tables, frame for frame, and the mart equals a rebuild from scratch.

- receipt (WABO, 1434 cases, 8577 events; aware timestamps across daylight-saving changes), XES and CSV mappings;
- road traffic fines, 100-trace cut (day-granular: many ties at one instant), XES;
- road traffic fines, full log (150,370 cases, 561,470 events), SQLite (marked `slow`).

Data folder: $LANDDESK_REALDATA, else <workspace>/shared/realdata next to the repository.
"""
from __future__ import annotations

import datetime as dt

import pytest

from analytics.coverage import activity_range
from analytics.scope import Scope
from etl.load import load_mapping
from test_bottlenecks_realdata import FINES, MAPPINGS, RECEIPT_CSV, REALDATA, _fines_mapping
from test_event_times import PROCESS_EXPORTS, assert_served_equal_to_base
from test_marts import assert_marts_recompute

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not RECEIPT_CSV.is_file(),
                       reason=f"real data not found at {REALDATA} (set LANDDESK_REALDATA to the shared realdata folder)"),
]


def _log_scopes(engine) -> list[Scope]:
    """The whole log, its last year and its last three months (the log's own dates, not today's)."""
    with engine.connect() as conn:
        first, last = activity_range(conn)
    return [Scope(first, last), Scope(last - dt.timedelta(days=364), last), Scope(last - dt.timedelta(days=91), last)]


def _check(engine, monkeypatch, scopes) -> None:
    assert_marts_recompute(engine)
    assert assert_served_equal_to_base(engine, monkeypatch, scopes) == len(scopes) * len(PROCESS_EXPORTS)


@pytest.mark.parametrize("mapping", ["receipt.yaml", "receipt_csv.yaml"])
def test_receipt_served_from_the_mart_equals_the_base_tables(engine, monkeypatch, mapping):
    r = load_mapping(engine, MAPPINGS / mapping)
    assert r.status == "loaded" and r.rows_loaded == 8577
    _check(engine, monkeypatch, _log_scopes(engine))


def test_road_fines_ties_served_from_the_mart_equal_the_base_tables(engine, monkeypatch, tmp_path):
    source = FINES / "roadtraffic100traces.xes"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    r = load_mapping(engine, _fines_mapping(tmp_path, source, "xes"))
    assert r.status == "loaded" and r.rows_rejected == 0
    _check(engine, monkeypatch, _log_scopes(engine))


@pytest.mark.slow
def test_road_fines_full_log_served_from_the_mart_equals_the_base_tables(sqlite_engine, monkeypatch, tmp_path):
    source = FINES / "Road_Traffic_Fine_Management_Process.xes.gz"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    r = load_mapping(sqlite_engine, _fines_mapping(tmp_path, source, "xes"))
    assert r.rows_loaded == 561470
    _check(sqlite_engine, monkeypatch, _log_scopes(sqlite_engine)[:1])   # the whole log: ≈ 2 min
