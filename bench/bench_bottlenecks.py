"""Benchmark the stage analytics (analytics.bottlenecks) on a store: one line of timings per step.

    python bench/bench_bottlenecks.py --db sqlite:///data/store.db [--from 2011-01-01 --to 2012-12-31] [--unit hours]

Steps: fetch (one SQL query + in-case context), measure (per-event times), then each metric.
Reference (2-CPU container, SQLite): receipt 8,577 events ≈ 0.1 s in all; road traffic fines
561,470 events ≈ 5 s in all (fetch ≈ 2.3 s, paths ≈ 1 s, variants ≈ 0.8 s, the rest < 0.4 s each).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import bottlenecks as bn  # noqa: E402
from analytics.process import closed_case_paths, measure, scoped_events  # noqa: E402
from analytics.scope import Scope  # noqa: E402
from analytics.workcal import load_calendar  # noqa: E402
from etl.store import make_engine  # noqa: E402


def run(db: str, scope: Scope, unit: str = "workdays") -> dict[str, float]:
    """Seconds per step for one scope on the store at `db`."""
    engine = make_engine(db)
    out: dict[str, float] = {}

    def step(name, fn):
        t = time.perf_counter()
        value = fn()
        out[name] = time.perf_counter() - t
        return value

    with engine.connect() as conn:
        cal = load_calendar(conn)
        ev = step("fetch", lambda: scoped_events(conn, scope))
        m = step("measure", lambda: measure(ev, cal, unit))
        step("stage_times", lambda: bn.stage_times(m))
        step("bottlenecks", lambda: bn.bottlenecks(m, unit))
        step("dfg", lambda: bn.dfg(m, cal, unit))
        paths = step("paths", lambda: closed_case_paths(conn, scope))
        step("variants", lambda: bn.variants(paths, cal, unit))
        step("rework", lambda: bn.rework(m))
        step("workload", lambda: bn.workload(m, "handler", bn.workload_freq(scope)))
        step("stage_trend", lambda: bn.stage_trend(m))
    out["events"] = len(ev)
    engine.dispose()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=dt.date(1990, 1, 1))
    ap.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=dt.date(2035, 12, 31))
    ap.add_argument("--unit", choices=["workdays", "days", "hours"], default="workdays")
    args = ap.parse_args(argv)
    res = run(args.db, Scope(args.start, args.end), args.unit)
    events = res.pop("events")
    total = sum(res.values())
    print(f"{events} events, {args.unit}: " + ", ".join(f"{k} {v:.2f}s" for k, v in res.items())
          + f"; total {total:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
