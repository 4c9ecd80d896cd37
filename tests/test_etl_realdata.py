"""Real data (../shared/realdata or $LANDDESK_REALDATA): the WABO receipt log through the shipped mappings."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from etl import schema as S
from etl.load import load_mapping
from etl.mapping import DEFAULT_REALDATA

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or DEFAULT_REALDATA)
MAPPINGS = Path(__file__).resolve().parent.parent / "sample_data" / "mappings" / "real"
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not (REALDATA / "receipt").is_dir(),
                       reason=f"real data not found at {REALDATA} (set LANDDESK_REALDATA to the shared realdata folder)"),
]


def counts(engine):
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(S.cases)).scalar_one(),
                conn.execute(select(func.count()).select_from(S.case_events)).scalar_one())


def test_receipt_xes_then_skip(engine):
    t0 = time.perf_counter()
    r = load_mapping(engine, MAPPINGS / "receipt.yaml")
    seconds = time.perf_counter() - t0
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_rejected, r.cases_derived) == ("loaded", 8577, 8577, 0, 1434)
    assert counts(engine) == (1434, 8577)
    assert seconds < 30, f"receipt load took {seconds:.1f} s"
    again = load_mapping(engine, MAPPINGS / "receipt.yaml")
    assert again.status == "skipped" and counts(engine) == (1434, 8577)
    with engine.connect() as conn:
        channels = dict(conn.execute(select(S.cases.c.channel, func.count()).group_by(S.cases.c.channel)).all())
    assert channels == {"online": 1271, "window": 109, "mail": 53, "other": 1}


def test_receipt_csv_gives_the_same_counts(engine):
    r = load_mapping(engine, MAPPINGS / "receipt_csv.yaml")
    assert (r.rows_loaded, r.rows_rejected, r.cases_derived) == (8577, 0, 1434)
    assert counts(engine) == (1434, 8577)
    xes = load_mapping(engine, MAPPINGS / "receipt.yaml")        # same log, other format: replaces, adds nothing
    assert xes.status == "loaded" and counts(engine) == (1434, 8577)
