"""Stage analytics on real event logs, checked against an independent pandas computation from the source CSV.

The logs go through the ETL into the store (`etl.load.load_mapping`), the module computes stage
times, the directly-follows graph and variants in hours; the check reads the CSV straight with
pandas (aware timestamps → UTC instants: the store keeps instants, so a case that spans a daylight-saving
change is not an hour off), orders each case's events by time (stable: ties keep source order), and
recomputes every number. Everything must agree to the second.

- receipt (WABO, 1434 cases, 8577 events) through the shipped XES and CSV mappings;
- road traffic fines, 100-trace cut (day-granular: many ties) through CSV and XES mappings made here;
- road traffic fines, full log (150,370 cases, 561,470 events) on SQLite: ETL load ≈ 8–30 s
  (machine load), stage metrics ≈ 4.5 s (marked `slow`; `pytest -m "not slow"` leaves it out).

Data folder: $LANDDESK_REALDATA, else <workspace>/shared/realdata next to the repository.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import bottlenecks as bn
from analytics.process import END, START, closed_case_paths, scoped_measured
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.load import load_mapping

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")
MAPPINGS = Path(__file__).resolve().parents[1] / "sample_data" / "mappings" / "real"
RECEIPT_CSV = REALDATA / "receipt" / "receipt.csv"
FINES = REALDATA / "road_traffic_fines"
SECOND_IN_HOURS = 1 / 3600
EVERYTHING = Scope(dt.date(1990, 1, 1), dt.date(2030, 12, 31))

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not RECEIPT_CSV.is_file(),
                       reason=f"real data not found at {REALDATA} (set LANDDESK_REALDATA to the shared realdata folder)"),
]


# ---------- the independent computation: straight from the CSV ----------

def csv_log(path: Path, timezone: str) -> pd.DataFrame:
    """case, activity, UTC instant; each case's events ordered by time, ties in file order. `timezone` reads
    naive values (the fines logs' days); aware ones (the receipt log's +01:00 / +02:00) need no zone."""
    raw = pd.read_csv(path, usecols=["case:concept:name", "concept:name", "time:timestamp"], dtype=str)
    text = raw["time:timestamp"]
    aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    t = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if aware.any():
        t[aware] = pd.to_datetime(text[aware], utc=True, format="ISO8601").dt.tz_localize(None)
    if (~aware).any():
        t[~aware] = (pd.to_datetime(text[~aware], format="ISO8601").dt.tz_localize(timezone)
                     .dt.tz_convert("UTC").dt.tz_localize(None))
    log = pd.DataFrame({"case": raw["case:concept:name"], "act": raw["concept:name"], "t": t})
    return log.sort_values(["case", "t"], kind="stable").reset_index(drop=True)


def expected_stage_times(log: pd.DataFrame) -> pd.DataFrame:
    """Sojourn = t − previous t in the case (first event: − the case's first time, i.e. 0)."""
    hours = (log["t"] - log.groupby("case")["t"].shift().fillna(log.groupby("case")["t"].transform("min"))) \
        .dt.total_seconds() / 3600
    rows = {}
    for act, part in hours.groupby(log["act"]):
        v = part.to_numpy()
        rows[act] = dict(count=len(v), median=np.median(v), mean=np.mean(v), p90=np.percentile(v, 90))
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def expected_dfg(log: pd.DataFrame) -> pd.DataFrame:
    """Edges between consecutive events + ▶ (first) + ■ (last; the store closes a case at its last event)."""
    prev_act = log.groupby("case")["act"].shift()
    prev_t = log.groupby("case")["t"].shift()
    edges = pd.DataFrame({"source": prev_act.fillna(START), "target": log["act"],
                          "h": ((log["t"] - prev_t).dt.total_seconds() / 3600).fillna(0.0)})
    last = log.groupby("case").tail(1)
    edges = pd.concat([edges, pd.DataFrame({"source": last["act"], "target": END, "h": 0.0})])
    return edges.groupby(["source", "target"])["h"].agg(count="size", median="median").sort_index()


def expected_variants(log: pd.DataFrame) -> pd.Series:
    paths = log.groupby("case")["act"].agg(" → ".join)
    return paths.value_counts().sort_index()


def check_against_csv(engine, csv: Path, timezone: str) -> dict:
    """Compute with the module from the store, recompute from the CSV, compare; return timings."""
    cal = WorkCalendar()
    t0 = time.perf_counter()
    with engine.connect() as conn:
        ev = scoped_measured(conn, EVERYTHING, cal, "hours")
        t1 = time.perf_counter()
        st = bn.stage_times(ev)
        graph = bn.dfg(ev, cal, "hours")
        t2 = time.perf_counter()
        var = bn.variants(closed_case_paths(conn, EVERYTHING), cal, "hours")
        t3 = time.perf_counter()
    log = csv_log(csv, timezone)

    want = expected_stage_times(log)
    got = st.set_index("stage").sort_index()
    assert list(got.index) == list(want.index)
    assert (got["count"].to_numpy() == want["count"].to_numpy()).all()
    for col in ("median", "mean", "p90"):
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float),
                                   rtol=0, atol=SECOND_IN_HOURS, err_msg=col)

    want_g = expected_dfg(log)
    got_g = graph.set_index(["source", "target"]).sort_index()
    assert list(got_g.index) == list(want_g.index)
    assert (got_g["count"].to_numpy() == want_g["count"].to_numpy()).all()
    np.testing.assert_allclose(got_g["median"].to_numpy(dtype=float), want_g["median"].to_numpy(dtype=float),
                               rtol=0, atol=SECOND_IN_HOURS)

    want_v = expected_variants(log)
    got_v = var.set_index("variant")["cases"].sort_index()
    assert list(got_v.index) == list(want_v.index) and (got_v.to_numpy() == want_v.to_numpy()).all()
    return {"fetch+measure": t1 - t0, "stage_times+dfg": t2 - t1, "variants": t3 - t2,
            "events": len(ev), "cases": int(ev["case_id"].nunique())}


# ---------- receipt ----------

@pytest.mark.parametrize("mapping", ["receipt.yaml", "receipt_csv.yaml"])
def test_receipt_stage_times_dfg_variants_match_the_csv(engine, mapping):
    path = MAPPINGS / mapping
    if not path.is_file():
        pytest.skip(f"mapping {path.name} is not there yet")
    t0 = time.perf_counter()
    r = load_mapping(engine, path)
    assert r.status == "loaded" and r.rows_loaded == 8577
    load_s = time.perf_counter() - t0
    timings = check_against_csv(engine, RECEIPT_CSV, "Europe/Amsterdam")
    assert timings["events"] == 8577 and timings["cases"] == 1434
    print(f"\nreceipt via {mapping} on {engine.dialect.name}: load {load_s:.2f} s, {timings}")
    assert timings["fetch+measure"] + timings["stage_times+dfg"] < 10


def test_receipt_all_exports_run_and_scope_to_a_month(engine):
    from analytics.exports import run_export
    load_mapping(engine, MAPPINGS / "receipt_csv.yaml")
    month = Scope(dt.date(2011, 3, 1), dt.date(2011, 3, 31), tz="Europe/Amsterdam")   # the municipality's March
    log = csv_log(RECEIPT_CSV, "Europe/Amsterdam")
    assert month.start_ts == dt.datetime(2011, 2, 28, 23) and month.end_ts == dt.datetime(2011, 3, 31, 22)
    in_month = log["t"].between(pd.Timestamp(month.start_ts), pd.Timestamp(month.end_ts), inclusive="left")
    st = run_export(engine, "stage-times", month, "hours")
    assert st["count"].sum() == in_month.sum()
    # the month's events still measure from predecessors completed before March
    prev_t = log.groupby("case")["t"].shift().fillna(log.groupby("case")["t"].transform("min"))
    hours = ((log["t"] - prev_t).dt.total_seconds() / 3600)[in_month]
    want = hours.groupby(log.loc[in_month, "act"]).median()
    np.testing.assert_allclose(st.set_index("stage")["median"].reindex(want.index), want, atol=SECOND_IN_HOURS)
    for name in ("bottlenecks", "dfg", "variants", "rework", "workload", "stage-trend"):
        assert not run_export(engine, name, month, "workdays").empty, name
    b = run_export(engine, "bottlenecks", Scope(dt.date(2010, 10, 1), dt.date(2011, 12, 31)), "hours")
    assert b["impact_total"].is_monotonic_decreasing and b["rank"].tolist() == list(range(1, len(b) + 1))


# ---------- road traffic fines ----------

def _fines_mapping(tmp_path: Path, source: Path, fmt: str) -> Path:
    text = f"""dataset: case_events
source:
  path: {source.as_posix()}
  format: {fmt}
columns:
  case_id: "case:concept:name"
  stage: "concept:name"
  completed_at: "time:timestamp"
  handler_key: "org:resource"
  lifecycle: "lifecycle:transition"
timezone: Europe/Rome
"""
    path = tmp_path / f"fines_{source.stem}_{fmt}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt,name", [("csv", "roadtraffic100traces.csv"), ("xes", "roadtraffic100traces.xes")])
def test_road_fines_100_traces_with_ties_match_the_csv(engine, tmp_path, fmt, name):
    source = FINES / name
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    r = load_mapping(engine, _fines_mapping(tmp_path, source, fmt))
    assert r.status == "loaded" and r.rows_rejected == 0
    timings = check_against_csv(engine, FINES / "roadtraffic100traces.csv", "Europe/Rome")
    assert timings["cases"] == 100


@pytest.mark.slow
def test_road_fines_full_log(sqlite_engine, tmp_path):
    source = FINES / "Road_Traffic_Fine_Management_Process.xes.gz"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    r = load_mapping(sqlite_engine, _fines_mapping(tmp_path, source, "xes"))
    assert r.rows_loaded == 561470
    cal = WorkCalendar()
    t0 = time.perf_counter()
    with sqlite_engine.connect() as conn:
        ev = scoped_measured(conn, EVERYTHING, cal, "workdays")
        st = bn.stage_times(ev)
        graph = bn.dfg(ev, cal, "workdays")
        b = bn.bottlenecks(ev, "workdays")
        var = bn.variants(closed_case_paths(conn, EVERYTHING), cal, "workdays")
    seconds = time.perf_counter() - t0
    print(f"\nroad fines, 561,470 events: stage times, dfg, bottlenecks, variants in {seconds:.1f} s")
    assert len(ev) == 561470 and st["count"].sum() == 561470
    assert graph.loc[graph["source"] == START, "count"].sum() == 150370
    assert graph.loc[graph["target"] == END, "count"].sum() == 150370
    assert var["cases"].sum() == 150370 and b["rank"].tolist() == list(range(1, len(b) + 1))
