"""The plan indexes of migration 0013 (issue 20), measured on a built store: without and with, alternating.

    .venv/bin/python bench/bench_indexes.py [--sqlite WITHOUT_URL WITH_URL] [--pg URL] [--runs 3] [--frames]

SQLite: two copies of one store, the first at 0012 (without), the second upgraded to 0013 (with).
PostgreSQL: one store at 0013; 'without' runs inside a transaction that drops the 0013 indexes and re-creates
`ix_case_events_completed_at` (rolled back afterwards, so the store is left as it was).

Per candidate, the exports it targets are timed --runs times each way after a warm-up, without and with the
indexes alternating run by run (the machine is shared: blocks of runs drift with its load), each on a fresh
connection with the in-process caches emptied (as bench/bench_analytics.py); the median and the fastest are
printed. Every frame with the indexes must equal its frame without,
exactly. --frames also computes every export of bench/bench_analytics.py (its periods and 'by' variants) once
each way and asserts the frames equal.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402
from sqlalchemy import text  # noqa: E402

from analytics import memo  # noqa: E402
from bench_analytics import cases_to_time, scopes  # noqa: E402

#: name: (the 0013 indexes it is about, the (export, period) pairs they target)
CANDIDATES = {
    "case_events (completed_at, system, case_id) for (completed_at)": (
        ["ix_case_events_completed_at_case"],
        [("(process fetch)", "3m"), ("stage-times", "3m"), ("dfg", "3m"), ("bottlenecks", "3m")]),
    "petitions accepted_at, replied_at, closed_at": (
        ["ix_petitions_accepted_at", "ix_petitions_replied_at", "ix_petitions_closed_at"],
        [("(data end)", "3m"), ("kpis", "30d"), ("kpis", "year"), ("petitions", "3m")]),
}
NEW_INDEXES = [i for names, _ in CANDIDATES.values() for i in names]


def compute(conn, name: str, scope, by=None) -> pd.DataFrame:
    """run_export on an open connection (the same compute and conversion, no connection of its own); two
    pseudo-exports time the step an index targets alone: `(data end)` = coverage.last_event, `(process fetch)`
    = process.scoped_events (uncached)."""
    from analytics.exports import get, shown_local
    from analytics.workcal import load_calendar
    if name == "(data end)":
        from analytics.coverage import last_event
        return pd.DataFrame({"last_event": [last_event(conn)]})
    if name == "(process fetch)":
        from analytics.process import scoped_events
        return scoped_events(conn, scope)
    return shown_local(get(name).compute(conn, scope, load_calendar(conn), "workdays", by), scope.tz)


class Variants:
    """Connections to the store without and with the 0013 indexes."""

    def __init__(self, without_url: str | None, with_url: str):
        from etl.store import make_engine
        self.with_engine = make_engine(with_url)
        self.without_engine = make_engine(without_url) if without_url else None
        self.dialect = self.with_engine.dialect.name

    @contextlib.contextmanager
    def connect(self, with_indexes: bool):
        if with_indexes:
            with self.with_engine.connect() as conn:
                yield conn
        elif self.without_engine is not None:
            with self.without_engine.connect() as conn:
                yield conn
        else:                                            # PostgreSQL: DDL is transactional
            with self.with_engine.connect() as conn:
                trans = conn.begin()
                try:
                    for name in NEW_INDEXES:
                        conn.execute(text(f'DROP INDEX "{name}"'))
                    conn.execute(text("CREATE INDEX ix_case_events_completed_at ON case_events (completed_at)"))
                    yield conn
                finally:
                    trans.rollback()

    def dispose(self):
        for eng in (self.with_engine, self.without_engine):
            if eng is not None:
                eng.dispose()


def timed_interleaved(variants: Variants, targets, runs: int, sc) -> dict:
    """{(with_indexes, target): (median seconds, min seconds, last frame)}: run i times every target without and
    with the indexes, in alternating order (without first on even runs), each variant on a fresh connection (as
    run_export), the in-process caches emptied before every timed call; one warm-up of each first."""
    times = {(w, t): [] for w in (False, True) for t in targets}
    frames = {}
    for i in range(runs + 1):
        for with_indexes in ((False, True) if i % 2 == 0 else (True, False)):
            with variants.connect(with_indexes) as conn:
                for export, period in targets:
                    memo.clear_all()
                    t0 = time.perf_counter()
                    frames[(with_indexes, (export, period))] = compute(conn, export, sc[period])
                    if i:                                  # run 0 is the warm-up
                        times[(with_indexes, (export, period))].append(time.perf_counter() - t0)
    return {k: (statistics.median(v), min(v), frames[k]) for k, v in times.items()}


def jit_off(variants: Variants, targets, runs: int, sc) -> None:
    """The process exports on PostgreSQL with the server's `jit` and with `SET jit = off`, alternating (on, off, on)."""
    def run(off: bool) -> dict:
        with variants.with_engine.connect() as conn:
            if off:
                conn.execute(text("SET jit = off"))
            out = {}
            for export, period in targets:
                compute(conn, export, sc[period])
                times = []
                for _ in range(runs):
                    memo.clear_all()
                    t0 = time.perf_counter()
                    compute(conn, export, sc[period])
                    times.append(time.perf_counter() - t0)
                out[export] = statistics.median(times)
            return out
    print(f"\npostgresql · jit (server setting) against SET jit = off · load average {os.getloadavg()[0]:.2f}")
    on, off, on2 = run(False), run(True), run(False)
    for export, _period in targets:
        lo = min(on[export], on2[export])
        print(f"  {export:14s} jit {on[export]:.3f} / {on2[export]:.3f} s, jit off {off[export]:.3f} s "
              f"({(off[export] - lo) / lo * 100:+.0f}%)", flush=True)


def same_frames(variants: Variants, sc) -> int:
    """Every export of the benchmark, once without and once with the indexes: frames equal (exact)."""
    n = 0
    for name, period, by in cases_to_time():
        got = {}
        for with_indexes in (False, True):
            memo.clear_all()
            with variants.connect(with_indexes) as conn:
                got[with_indexes] = compute(conn, name, sc[period], by)
        pd.testing.assert_frame_equal(got[True], got[False], check_exact=True, obj=f"{name} --by {by} {period}")
        n += 1
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sqlite", nargs=2, metavar=("WITHOUT_URL", "WITH_URL"))
    ap.add_argument("--pg")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", action="store_true", help="also compare every export's frame without and with")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--jit", action="store_true",
                    help="PostgreSQL: also time the process exports with the server's jit setting and with jit off")
    args = ap.parse_args(argv)

    sc = scopes()
    stores = ([Variants(*args.sqlite)] if args.sqlite else []) + ([Variants(None, args.pg)] if args.pg else [])
    for v in stores:
        for name, (_indexes, targets) in ({} if args.no_timing else CANDIDATES).items():
            print(f"\n{v.dialect} · {name} · load average {os.getloadavg()[0]:.2f}", flush=True)
            got = timed_interleaved(v, targets, args.runs, sc)
            print(f"  {'export':14s} {'period':>6s} {'without':>16s} {'with':>16s} {'change':>7s}   "
                  f"(median / fastest of {args.runs}, alternating)")
            for key in targets:
                a, b = got[(False, key)], got[(True, key)]
                pd.testing.assert_frame_equal(b[2], a[2], check_exact=True)
                print(f"  {key[0]:14s} {key[1]:>6s} {a[0]:7.3f} / {a[1]:6.3f} {b[0]:7.3f} / {b[1]:6.3f} "
                      f"{(b[0] - a[0]) / a[0] * 100:+6.0f}%   (frames equal)", flush=True)
            print(f"  load average {os.getloadavg()[0]:.2f}")
        if args.jit and v.dialect == "postgresql":
            jit_off(v, CANDIDATES[next(iter(CANDIDATES))][1][:2], args.runs, sc)
        if args.frames:
            print(f"\n{v.dialect}: {same_frames(v, sc)} export frames equal without and with the indexes", flush=True)
        v.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
