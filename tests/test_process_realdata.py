"""Handover of work on real logs against PM4Py's discover_handover_of_work_network, and the sample county's
statutory process recovering the planted skipped stages.

The logs go through the ETL into the store; LandDesk's counts come from `analytics.resources.handovers` on the
scoped events. PM4Py reads the source CSV straight (its own ordering by timestamp) and reports each handover's
count divided by all consecutive pairs, so its value × the pairs is the count. Its resources are pseudonymised
as the ETL stores handler_key (etl.privacy). PM4Py refuses a missing
resource (it sorts the resource names), so its input names a missing one as LandDesk does, "(unknown)" — the
road-fines log lacks the resource on most events.

Data folder: $LANDDESK_REALDATA, else <workspace>/shared/realdata next to the repository.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from analytics.exports import run_export
from analytics.process import UNKNOWN, scoped_measured
from analytics.resources import handovers
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.load import load_mapping
from etl.privacy import pseudonymise

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")
MAPPINGS = Path(__file__).resolve().parents[1] / "sample_data" / "mappings" / "real"
RECEIPT_CSV = REALDATA / "receipt" / "receipt.csv"
FINES_CSV = REALDATA / "road_traffic_fines" / "roadtraffic100traces.csv"
EVERYTHING = Scope(dt.date(1990, 1, 1), dt.date(2030, 12, 31))

try:
    import pm4py  # noqa: F401
    HAVE_PM4PY = True
except ImportError:
    HAVE_PM4PY = False
needs_pm4py = pytest.mark.skipif(not HAVE_PM4PY, reason="pm4py is not installed (pip install -e .[bench]); "
                                                        "it is the reference for the handover counts")


def pm4py_handover_counts(csv: Path) -> dict[tuple[str, str], int]:
    """PM4Py's handover-of-work network (beta 0) of a CSV event log, as counts."""
    import pm4py
    raw = pd.read_csv(csv, usecols=["case:concept:name", "concept:name", "time:timestamp", "org:resource"], dtype=str)
    raw["org:resource"] = pseudonymise(raw["org:resource"]).fillna(UNKNOWN)   # as the ETL stores the handler
    raw["time:timestamp"] = pd.to_datetime(raw["time:timestamp"], utc=True, format="ISO8601")
    df = pm4py.format_dataframe(raw, case_id="case:concept:name", activity_key="concept:name",
                                timestamp_key="time:timestamp")
    pairs = int((df.groupby("case:concept:name").size() - 1).sum())
    sna = pm4py.discover_handover_of_work_network(df)
    return {k: int(round(v * pairs)) for k, v in sna.connections.items()}


def landdesk_handover_counts(engine) -> dict[tuple[str, str], int]:
    cal = WorkCalendar()
    with engine.connect() as conn:
        net = handovers(scoped_measured(conn, EVERYTHING, cal, "hours", cache=False), cal, "hours")
    return {(r.source, r.target): int(r.count) for r in net.itertuples(index=False)}


@pytest.mark.realdata
@needs_pm4py
@pytest.mark.skipif(not RECEIPT_CSV.is_file(), reason=f"real data not found at {REALDATA} (set LANDDESK_REALDATA)")
def test_receipt_handovers_equal_pm4py(sqlite_engine):
    r = load_mapping(sqlite_engine, MAPPINGS / "receipt_csv.yaml")
    assert r.status == "loaded" and r.rows_loaded == 8577
    ours, theirs = landdesk_handover_counts(sqlite_engine), pm4py_handover_counts(RECEIPT_CSV)
    assert sum(ours.values()) == 8577 - 1434                # one handover per consecutive pair
    assert ours == theirs


@pytest.mark.realdata
@needs_pm4py
@pytest.mark.skipif(not FINES_CSV.is_file(), reason=f"real data not found at {REALDATA} (set LANDDESK_REALDATA)")
def test_road_fines_handovers_with_missing_resources_equal_pm4py(sqlite_engine, tmp_path):
    mapping = tmp_path / "fines.yaml"
    mapping.write_text(f"""dataset: case_events
source:
  path: {FINES_CSV.as_posix()}
  format: csv
columns:
  case_id: "case:concept:name"
  stage: "concept:name"
  completed_at: "time:timestamp"
  handler_key: "org:resource"
  lifecycle: "lifecycle:transition"
timezone: Europe/Rome
""", encoding="utf-8")
    assert load_mapping(sqlite_engine, mapping).status == "loaded"
    ours = landdesk_handover_counts(sqlite_engine)
    assert ours == pm4py_handover_counts(FINES_CSV)
    assert any(UNKNOWN in pair for pair in ours)


def test_sample_county_reference_flags_the_planted_skipped_stages(sample_store_url):
    """The generator's integrity-risk cases (建设用地预审 without 现场勘查 and 初审) skip statutory stages."""
    from etl.store import make_engine
    engine = make_engine(sample_store_url)
    scope = Scope(dt.date(2025, 4, 1), dt.date(2026, 10, 31))
    ref = run_export(engine, "reference-process", scope)
    assert ref["case_type"].nunique() == 8
    conf = run_export(engine, "conformance", Scope(scope.start, scope.end, case_type="建设用地预审"))
    skipped = conf[conf["skipped"] != ""]
    assert len(skipped) >= 10 and set(skipped["skipped"]) == {"现场勘查、初审"}
    assert (conf["conforming"].mean()) > 0.5                 # most cases follow the statutory process
    warn = run_export(engine, "warnings", scope)
    flagged = set(warn.loc[warn["rules"].str.contains("skipped_stage"), "case_id"])
    assert set(skipped["case_id"]) <= flagged
    engine.dispose()
