"""ETL benchmarks (issue 3): prints the figures, asserts nothing. Run from the repository root:

    .venv/bin/python bench/bench_etl.py [--scale 30] [--no-pg] [--no-sample]

1. Road-traffic-fines full log (XES.gz, 150,370 cases, 561,470 events) into a fresh SQLite store
   through `landdesk etl load` in a subprocess: wall time and peak RSS (os.wait4 rusage).
   Targets: ≤ 18 s, ≤ 600 MB.
2. The same load again (unchanged source, skipped by SHA-256): wall time of the subprocess and of
   the in-process call. Target: < 2 s.
3. PostgreSQL ($LANDDESK_BENCH_PG_URL or $LANDDESK_TEST_PG_URL, in a throw-away schema): the same
   log; rows written (cases + events) per second of the write phase, and end to end.
   Target: ≥ 150,000 rows/s.
4. The sample county at --scale (30 ≈ 1M events) from CSV into SQLite (cases CSV + the event log
   flattened to CSV, untimed), through the CLI in a subprocess. Target: ≤ 30 s. Skipped with a
   message when the generator (sample_data/generator.py) is not there.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from etl.mapping import DEFAULT_REALDATA  # noqa: E402

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or DEFAULT_REALDATA)
FINES_MAPPING = ROOT / "sample_data" / "mappings" / "real" / "road_traffic_fines.yaml"
FINES_ROWS = 150_370 + 561_470


def run_cli(args: list[str]) -> tuple[float, float, str]:
    """Run `python -m cli.main ARGS`; return (wall seconds, peak RSS MB, last stdout line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    # communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN only as a running max,
    # so measure peak RSS with a dedicated wait4 in run_measured instead when it matters.
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"landdesk {' '.join(args)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return wall, 0.0, (out.strip().splitlines() or [""])[-1]


CPU = {"last": 0.0}


def run_measured(args: list[str]) -> tuple[float, float, str]:
    """Like run_cli, but waits with os.wait4 to read this child's own peak RSS (and CPU time, in CPU["last"])."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        CPU["last"] = usage.ru_utime + usage.ru_stime
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f"landdesk {' '.join(args)} failed ({proc.returncode}): {errors.strip()[-500:]}")
    return wall, usage.ru_maxrss / 1024, (text.strip().splitlines() or [""])[-1]


def bench_sqlite_fines(tmp: Path) -> None:
    if not (REALDATA / "road_traffic_fines").is_dir():
        print(f"[skip] road traffic fines: no real data at {REALDATA}")
        return
    url = f"sqlite:///{tmp / 'fines.db'}"
    run_cli(["db", "upgrade", "--db", url])
    wall, rss, line = run_measured(["etl", "load", str(FINES_MAPPING), "--db", url, "--quiet"])
    print(f"road-fines → SQLite (CLI subprocess): wall {wall:.1f} s (CPU {CPU['last']:.1f} s), peak RSS {rss:.0f} MB "
          f"[targets ≤ 18 s, ≤ 600 MB]; load average {os.getloadavg()[0]:.1f}\n    {line}")
    wall, rss, line = run_measured(["etl", "load", str(FINES_MAPPING), "--db", url, "--quiet"])
    from etl.load import load_mapping
    from etl.store import make_engine
    engine = make_engine(url)
    t0 = time.perf_counter()
    r = load_mapping(engine, FINES_MAPPING)
    inproc = time.perf_counter() - t0
    engine.dispose()
    print(f"unchanged reload (road-fines, 2.9 MB .xes.gz): CLI wall {wall:.2f} s (incl. interpreter start), "
          f"in-process {inproc:.3f} s, status {r.status} [target < 2 s]\n    {line}")


def bench_pg_fines() -> None:
    url = os.environ.get("LANDDESK_BENCH_PG_URL") or os.environ.get("LANDDESK_TEST_PG_URL")
    if not url:
        print("[skip] PostgreSQL: set LANDDESK_BENCH_PG_URL (or LANDDESK_TEST_PG_URL)")
        return
    if not (REALDATA / "road_traffic_fines").is_dir():
        print(f"[skip] PostgreSQL road fines: no real data at {REALDATA}")
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    import etl.load as L
    from etl.store import make_engine, normalise_url, upgrade

    base = make_url(normalise_url(url))
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base.render_as_string(hide_password=False))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False))
    spent = {"write": 0.0}
    real_write = L.write

    def timed_write(*a, **k):
        t = time.perf_counter()
        try:
            return real_write(*a, **k)
        finally:
            spent["write"] += time.perf_counter() - t

    try:
        upgrade(engine)
        L.write = timed_write
        t0 = time.perf_counter()
        r = L.load_mapping(engine, FINES_MAPPING)
        total = time.perf_counter() - t0
        rows = r.rows_loaded + r.cases_derived
        print(f"road-fines → PostgreSQL (COPY + INSERT … SELECT … ON CONFLICT): {rows:,} rows written in "
              f"{spent['write']:.2f} s = {rows / spent['write']:,.0f} rows/s [target ≥ 150,000]; "
              f"end to end {total:.1f} s ({rows / total:,.0f} rows/s incl. parsing)")
        t0 = time.perf_counter()
        again = L.load_mapping(engine, FINES_MAPPING)
        print(f"unchanged reload on PostgreSQL: {time.perf_counter() - t0:.3f} s ({again.status})")
    finally:
        L.write = real_write
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def bench_sample_county(tmp: Path, scale: float) -> None:
    generator = ROOT / "sample_data" / "generator.py"
    if not generator.is_file() or not (ROOT / "sample_data" / "exports").is_dir():
        print("[skip] sample county: sample_data/generator.py or sample_data/exports is not there yet")
        return
    import yaml

    from etl.extract import read_xes
    from etl.mapping import Source

    out = tmp / "county"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sample_data.generator", "--scale", str(scale), "--out", str(out)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    events = read_xes(Source(format="xes", path=out / "approval_events.xes.gz"))
    events.drop(columns=["_row"]).to_csv(out / "approval_events.csv", index=False)
    n_events_raw = len(events)
    del events
    prep = time.perf_counter() - t0
    mappings = []
    for name, src in (("approval_cases.yaml", out / "approval_cases.csv"),
                      ("approval_events.yaml", out / "approval_events.csv")):
        doc = yaml.safe_load((ROOT / "sample_data" / "mappings" / name).read_text(encoding="utf-8"))
        doc["source"] = {"path": str(src), "format": "csv"}
        path = tmp / name
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        mappings.append(str(path))
    url = f"sqlite:///{tmp / 'county.db'}"
    run_cli(["db", "upgrade", "--db", url])
    wall, rss, _ = run_measured(["etl", "load", *mappings, "--db", url, "--quiet"])
    from sqlalchemy import func, select

    from etl import schema as S
    from etl.store import make_engine
    engine = make_engine(url)
    with engine.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(S.cases)).scalar_one()
        n_events = conn.execute(select(func.count()).select_from(S.case_events)).scalar_one()
    engine.dispose()
    print(f"sample county --scale {scale:g} from CSV → SQLite (CLI subprocess, cases then events): wall {wall:.1f} s "
          f"(CPU {CPU['last']:.1f} s, load average {os.getloadavg()[0]:.1f}), "
          f"peak RSS {rss:.0f} MB; {n_cases:,} cases, {n_events:,} events stored "
          f"({n_events_raw:,} lifecycle records in the CSV) [target ≤ 30 s]; generating took {prep:.0f} s (untimed)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=30.0, help="sample county scale (30 ≈ 1M events)")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sample", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, real data at {REALDATA}")
    with tempfile.TemporaryDirectory(prefix="landdesk-bench-") as d:
        tmp = Path(d)
        if not args.no_sqlite:
            bench_sqlite_fines(tmp)
        if not args.no_pg:
            bench_pg_fines()
        if not args.no_sample:
            bench_sample_county(tmp, args.scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
