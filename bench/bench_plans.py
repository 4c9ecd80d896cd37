"""Query plans of the hot queries (issue 20): EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.

    .venv/bin/python bench/bench_plans.py --db URL [--db URL …] [--only NAME,…] [--min-ms 20]

Runs each hot request once with a statement listener on the engine — the cockpit KPI set for 30 days and a year
read from the base tables and from the marts, and stage-times, case-efficiency and petitions for 3 months
(the periods of bench/bench_analytics.py) — then prints, per statement that took at least --min-ms, its time and
the plan the dialect chose for it with the same parameters. Reads only; nothing is written to the store.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from analytics import memo  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from bench_analytics import scopes  # noqa: E402


def requests():
    """(label, period, function(engine, scope)) of the hot requests."""
    from analytics import kpis
    from analytics.exports import run_export
    from analytics.workcal import load_calendar

    def kpi(source):
        def run(engine, scope):
            with engine.connect() as conn:
                return kpis.kpi_table(conn, scope, load_calendar(conn), "workdays", source=source)
        return run

    def export(name, by=None):
        return lambda engine, scope: run_export(engine, name, scope, "workdays", by)

    return [("kpis base", "30d", kpi("base")), ("kpis base", "year", kpi("base")),
            ("kpis marts", "30d", kpi("marts")), ("kpis marts", "year", kpi("marts")),
            ("stage-times", "3m", export("stage-times")), ("case-efficiency", "3m", export("case-efficiency")),
            ("petitions", "3m", export("petitions"))]


def capture(engine, fn, scope) -> list[tuple[float, str, object]]:
    """Run fn once; return (seconds, statement, parameters) of every statement it executed."""
    seen: list[tuple[float, str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("_plan_t0", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["_plan_t0"].pop()
        seen.append((time.perf_counter() - t0, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        memo.clear_all()
        fn(engine, scope)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return seen


def explain(engine, statement: str, parameters) -> str:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            rows = cur.fetchall()
            depth = {0: 0}
            lines = []
            for node, parent, _aux, detail in rows:
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * depth[node] + detail)
            return "\n".join(lines)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join("  " + r[0] for r in cur.fetchall())
    finally:
        raw.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--only", help="comma-separated labels (e.g. 'kpis base,stage-times')")
    ap.add_argument("--min-ms", type=float, default=20.0)
    args = ap.parse_args(argv)

    from etl.store import make_engine
    only = set(args.only.split(",")) if args.only else None
    sc = scopes()
    for url in args.db:
        engine = make_engine(url)
        print(f"\n######## {engine.dialect.name}: {url}")
        for label, period, fn in requests():
            if only and label not in only:
                continue
            fn(engine, sc[period])                       # warm the page cache
            stmts = capture(engine, fn, sc[period])
            total = sum(s for s, _, _ in stmts)
            print(f"\n==== {label} ({period}): {len(stmts)} statements, {total:.3f} s in the database driver")
            for secs, statement, params in stmts:
                if secs * 1000 < args.min_ms:
                    continue
                print(f"\n-- {secs * 1000:.0f} ms: {' '.join(statement.split())[:900]}")
                print(f"   params: {params}")
                print(explain(engine, statement, params))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
