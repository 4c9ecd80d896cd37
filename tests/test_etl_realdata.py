"""Real data (../shared/realdata or $LANDDESK_REALDATA): the WABO receipt log through the shipped mappings."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select

from etl import schema as S
from etl.load import load_mapping
from etl.mapping import DEFAULT_REALDATA


def wall(value, tz: str) -> str:
    """A stored instant (naive UTC) as the wall-clock time the source wrote in `tz`."""
    return str(pd.Timestamp(value).tz_localize("UTC").tz_convert(tz).tz_localize(None))

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
    print(f"\nreceipt load: {seconds:.1f} s")
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


def _skip_without(folder: str):
    if not (REALDATA / folder).is_dir():
        pytest.skip(f"real data folder {REALDATA / folder} is absent (set LANDDESK_REALDATA)")


def scalar(engine, query):
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


@pytest.mark.slow
def test_road_traffic_fines_full_log(engine):
    """The full log: 150,370 cases and 561,470 events (SOURCE.txt), day-granular ties kept in source order."""
    _skip_without("road_traffic_fines")
    t0 = time.perf_counter()
    r = load_mapping(engine, MAPPINGS / "road_traffic_fines.yaml")
    seconds = time.perf_counter() - t0
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_rejected, r.cases_derived) == ("loaded", 561470, 561470, 0, 150370)
    assert counts(engine) == (150370, 561470)
    with engine.connect() as conn:
        stages = dict(conn.execute(select(S.case_events.c.stage, func.count()).group_by(S.case_events.c.stage)).all())
        first = conn.execute(select(S.case_events.c.stage).where(S.case_events.c.seq == 1)
                             .group_by(S.case_events.c.stage)).scalars().all()
        span = conn.execute(select(func.min(S.case_events.c.completed_at), func.max(S.case_events.c.completed_at))).one()
    assert stages["Create Fine"] == 150370 and stages["Payment"] == 77601 and stages["Send Fine"] == 103987
    assert len(stages) == 11 and first == ["Create Fine"]
    assert wall(span[0], "Europe/Rome")[:10] == "2000-01-01" and wall(span[1], "Europe/Rome")[:10] == "2013-06-18"
    assert scalar(engine, select(func.count()).select_from(S.cases).where(S.cases.c.status != "closed")) == 0
    print(f"\nroad traffic fines full log on {engine.dialect.name}: {seconds:.1f} s")
    assert load_mapping(engine, MAPPINGS / "road_traffic_fines.yaml").status == "skipped"


@pytest.mark.parametrize("mapping", ["road_traffic_fines_100.yaml", "road_traffic_fines_100_csv.yaml"])
def test_road_traffic_fines_100_trace_cut(engine, mapping):
    _skip_without("road_traffic_fines")
    r = load_mapping(engine, MAPPINGS / mapping)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.cases_derived) == (390, 390, 0, 100)
    assert counts(engine) == (100, 390)
    with engine.connect() as conn:
        s = conn.execute(select(S.case_events.c.seq, S.case_events.c.stage, S.case_events.c.completed_at)
                         .where(S.case_events.c.case_id == "S106046").order_by(S.case_events.c.seq)).all()
    # the pm4py CSV's first cases: two payments in order, day-granular timestamps read in Europe/Rome
    assert [x.stage for x in s] == ["Create Fine", "Send Fine", "Insert Fine Notification", "Add penalty", "Payment", "Payment"]
    assert wall(s[0].completed_at, "Europe/Rome")[:19] == "2006-07-12 00:00:00"


def test_la311_as_petitions(engine):
    """9,999 rows (SOURCE.txt); 12 close at midnight before their same-day creation: rejected with the reason."""
    _skip_without("la311")
    from etl.load import list_rejects
    r = load_mapping(engine, MAPPINGS / "la311_petitions.yaml")
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_rejected) == ("loaded", 9999, 9987, 12)
    rej = list_rejects(engine, r.batch_id)
    assert set(rej.reason) == {"closed_at is before received_at"} and len(rej) == 12
    P = S.petitions
    with engine.connect() as conn:
        channels = dict(conn.execute(select(P.c.channel, func.count()).group_by(P.c.channel)).all())
        statuses = dict(conn.execute(select(P.c.status, func.count()).group_by(P.c.status)).all())
        first = conn.execute(select(P.c.received_at, P.c.closed_at, P.c.topic, P.c.department, P.c.township)
                             .where(P.c.petition_id == "1-870704831")).one()
        span = conn.execute(select(func.min(P.c.received_at), func.max(P.c.received_at))).one()
        open_ = conn.execute(select(func.count()).select_from(P).where(P.c.closed_at.is_(None))).scalar_one()
    src = pd.read_csv(REALDATA / "la311" / "MyLA311_Service_Request_Data_2017_Subset.csv", dtype=str)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    kept = src[~(pd.to_datetime(src.ClosedDate, format=fmt) < pd.to_datetime(src.CreatedDate, format=fmt))]
    codes = yaml.safe_load((MAPPINGS / "la311_petitions.yaml").read_text(encoding="utf-8"))["values"]["channel"]
    assert channels == kept.RequestSource.map(codes).value_counts().to_dict()
    assert set(statuses) <= {"open", "closed", "rejected"} and statuses.get("open", 0) <= 5
    la = "America/Los_Angeles"
    assert wall(first.received_at, la) == "2017-12-31 23:59:58" and wall(first.closed_at, la) == "2018-04-09 09:18:35"
    assert (first.topic, first.department, first.township) == ("Homeless Encampment", "BOS", "13")
    assert wall(span[0], la) == "2017-12-27 13:36:22" and wall(span[1], la) == "2017-12-31 23:59:58"
    assert open_ == 5


def test_usda_land_use_wide_table_cr_line_endings_and_na(engine):
    """945 rows × 16 measures = 15,120 records; the 102 "N.A." cells are rejected, the rest load, in hectares."""
    _skip_without("usda_major_land_use")
    from etl.load import list_rejects
    raw = (REALDATA / "usda_major_land_use" / "USDA_MajorLandUse_1945-2012.csv").read_bytes()
    assert b"\r" in raw and b"\n" not in raw                       # CR-only line endings, as SOURCE.txt says
    r = load_mapping(engine, MAPPINGS / "usda_land_use.yaml")
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_rejected) == ("loaded", 15120, 15018, 102)
    rej = list_rejects(engine, r.batch_id)
    assert set(rej.reason) == {"area_ha is missing"}
    assert rej.row_number.min() >= 2 and rej.row_number.max() <= 946   # the CSV record each N.A. is on
    L = S.land_use
    with engine.connect() as conn:
        n_regions = conn.execute(select(func.count(func.distinct(L.c.region_code)))).scalar_one()
        years = conn.execute(select(L.c.year).distinct().order_by(L.c.year)).scalars().all()
        maine = conn.execute(select(L.c.area_ha).where(L.c.region_code == "Maine", L.c.year == 1945,
                                                       L.c.category_code == "TOTAL")).scalar_one()
        idle_1949 = conn.execute(select(func.count()).select_from(L).where(L.c.year == 1949,
                                                                            L.c.category_code == "CROP_IDLE")).scalar_one()
        per_code = dict(conn.execute(select(L.c.category_code, func.count()).group_by(L.c.category_code)).all())
    assert n_regions == 63 and years[0] == 1945 and years[-1] == 2012 and len(years) == 15
    src = pd.read_csv(REALDATA / "usda_major_land_use" / "USDA_MajorLandUse_1945-2012.csv", dtype=str)
    acres = float(src.loc[(src["Region or State"] == "Maine") & (src.Year == "1945"), "Total land"].iloc[0])
    assert maine == pytest.approx(acres * 404.68564224)
    spec = yaml.safe_load((MAPPINGS / "usda_land_use.yaml").read_text(encoding="utf-8"))["unpivot"]["columns"]
    assert per_code == {code: int((src[header] != "N.A.").sum()) for header, code in spec.items()}
    assert idle_1949 == int((src.loc[src.Year == "1949", "Cropland idled"] != "N.A.").sum())
