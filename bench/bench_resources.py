"""Benchmark the process views of issue 14 on the road-traffic-fines log (561,470 events): handover network,
resource × activity matrix, dotted chart, performance spectrum and conformance — against PM4Py's
discover_handover_of_work_network on the same events (equal counts, time ratio).

    python bench/bench_resources.py [--db sqlite:///fines.db] [--keep DIR]

Without --db the full log is loaded through the ETL into DIR/fines.db once (about a minute) and reused. The
conformance step uses a reference process written here for the fines log (Create Fine → Send Fine → Insert Fine
Notification → Add penalty → Send for Credit Collection, payments and appeals optional). PM4Py is timed on
the events LandDesk fetched (resource = the stored pseudonymised handler, missing → "(unknown)", which PM4Py
needs), without its import and dataframe formatting. Needs the `[bench]` extra for PM4Py (else only LandDesk's
times are printed).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import conformance as cf  # noqa: E402
from analytics import resources as rs  # noqa: E402
from analytics import timeviews as tv  # noqa: E402
from analytics.process import UNKNOWN, measure, scoped_events  # noqa: E402
from analytics.scope import Scope  # noqa: E402
from analytics.workcal import load_calendar  # noqa: E402
from etl.load import load_mapping  # noqa: E402
from etl.reference import read_reference, stored_reference, write_reference  # noqa: E402
from etl.schema import case_events, cases  # noqa: E402
from etl.store import make_engine, upgrade  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or ROOT.parent / "shared" / "realdata")
EVERYTHING = Scope(dt.date(1990, 1, 1), dt.date(2035, 12, 31))
FINES_REFERENCE = """dataset: reference_process
case_types:
  fine:
    stages:
      - {stage: Create Fine, limit_workdays: 1}
      - {stage: Payment, mandatory: false}
      - {stage: Send Fine, limit_workdays: 90}
      - {stage: Insert Fine Notification, limit_workdays: 60}
      - {stage: Insert Date Appeal to Prefecture, mandatory: false}
      - {stage: Send Appeal to Prefecture, mandatory: false}
      - {stage: Receive Result Appeal from Prefecture, mandatory: false}
      - {stage: Notify Result Appeal to Offender, mandatory: false}
      - {stage: Appeal to Judge, mandatory: false}
      - {stage: Add penalty, limit_workdays: 60}
      - {stage: Send for Credit Collection, mandatory: false}
    moves: [Create Fine -> Payment, Send Fine -> Payment, Insert Fine Notification -> Payment, Add penalty -> Payment,
            Payment -> Payment, Payment -> Send Fine, Payment -> Add penalty, Payment -> Send for Credit Collection]
"""


def fines_store(keep: Path) -> str:
    db = keep / "fines.db"
    url = f"sqlite:///{db.as_posix()}"
    keep.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(case_events)).scalar_one():
            return url
    mapping = keep / "fines.yaml"
    mapping.write_text(f"""dataset: case_events
source:
  path: {(REALDATA / 'road_traffic_fines' / 'Road_Traffic_Fine_Management_Process.xes.gz').as_posix()}
  format: xes
columns:
  case_id: "case:concept:name"
  stage: "concept:name"
  completed_at: "time:timestamp"
  handler_key: "org:resource"
  lifecycle: "lifecycle:transition"
timezone: Europe/Rome
""", encoding="utf-8")
    t = time.perf_counter()
    r = load_mapping(engine, mapping, progress=True)
    print(f"loaded {r.rows_loaded:,} events in {time.perf_counter() - t:.1f} s")
    with engine.begin() as conn:            # one case type for the reference process below
        conn.execute(update(cases).values(case_type="fine"))
    engine.dispose()
    return url


def timed(name: str, fn, out: dict):
    t = time.perf_counter()
    value = fn()
    out[name] = time.perf_counter() - t
    return value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db")
    ap.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "landdesk-bench-fines")
    args = ap.parse_args(argv)
    url = args.db or fines_store(args.keep)
    engine = make_engine(url)
    out: dict[str, float] = {}
    with engine.begin() as conn:
        write_reference(conn, read_reference(_reference_file(args.keep)).rows)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        ev = measure(timed("fetch", lambda: scoped_events(conn, EVERYTHING), out), cal, "days")
        net = timed("handovers", lambda: rs.handovers(ev, cal, "days"), out)
        timed("handovers_department", lambda: rs.handovers(ev, cal, "days", "department"), out)
        timed("resource_activity", lambda: rs.resource_activity(ev), out)
        timed("dotted_chart", lambda: tv.dotted_chart(ev), out)
        timed("spectrum", lambda: tv.spectrum(ev), out)
        full = timed("conformance_fetch", lambda: cf.case_events_with_types(conn, EVERYTHING), out)
        ref = stored_reference(conn)
        per_case = timed("conformance_cases", lambda: cf.conformance_cases(full, ref, cal), out)
        timed("conformance_stages", lambda: cf.conformance_stages(full, ref, cal), out)
    print(f"road fines: {len(ev):,} events, {ev['case_key'].nunique():,} cases, {len(net):,} handover links, "
          f"{len(per_case):,} cases checked (conforming {per_case['conforming'].mean():.1%}, median fitness "
          f"{per_case['fitness'].median():.2f})")
    for name, seconds in out.items():
        print(f"  {name:22} {seconds:7.2f} s")
    try:
        import pm4py
    except ImportError:
        print("pm4py is not installed (pip install -e .[bench]): no comparison")
        return 0
    df = ev[["case_key", "stage", "completed_at", "handler", "seq"]].copy()
    df["handler"] = df["handler"].astype(object).where(df["handler"].notna(), UNKNOWN)
    df = df.rename(columns={"case_key": "case:concept:name", "stage": "concept:name", "completed_at": "time:timestamp",
                            "handler": "org:resource"})
    df["case:concept:name"] = df["case:concept:name"].astype(str)
    df = pm4py.format_dataframe(df, case_id="case:concept:name", activity_key="concept:name",
                                timestamp_key="time:timestamp")
    pm = {}
    sna = timed("pm4py", lambda: pm4py.discover_handover_of_work_network(df), pm)
    pairs = int((df.groupby("case:concept:name").size() - 1).sum())
    theirs = {k: int(round(v * pairs)) for k, v in sna.connections.items()}
    ours = {(r.source, r.target): int(r.count) for r in net.itertuples(index=False)}
    print(f"  pm4py handover         {pm['pm4py']:7.2f} s  (LandDesk {out['handovers']:.2f} s: "
          f"{pm['pm4py'] / out['handovers']:.1f}× faster)")
    print(f"  counts equal: {ours == theirs} ({len(ours)} links, {sum(ours.values()):,} handovers)")
    engine.dispose()
    return 0 if ours == theirs else 1


def _reference_file(keep: Path) -> Path:
    keep.mkdir(parents=True, exist_ok=True)
    path = keep / "fines_reference.yaml"
    path.write_text(FINES_REFERENCE, encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
