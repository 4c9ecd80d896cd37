"""What migration 0013's plan indexes cost the load (issue 20): the same loads into a store at 0012 and at 0013.

    .venv/bin/python bench/bench_index_load.py [--pg SERVER_URL] [--rounds 2] [--base-scale 3] [--batch-scale 0.3]

Generates (seeded) a base county (--base-scale) and a second, smaller one with another seed (--batch-scale), then,
alternating 0012 / 0013 for --rounds rounds, on a fresh SQLite file and (with --pg) a fresh schema of that
server: loads the base county's cases, events and petitions into the empty store (a first, bulk load: the plain
indexes are dropped and rebuilt once, so it pays each index's build) and then the second county's (an incremental
load into larger tables: every index is kept up row by row). Prints the wall time of each.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SOURCES = ("approval_cases", "approval_events", "petitions")


def county(workdir: Path, seed: int, scale: float) -> Path:
    from landdesk.settings import SAMPLE_DIR
    from sample_data.generator import generate
    shutil.copytree(SAMPLE_DIR / "mappings", workdir / "mappings")
    generate(workdir / "exports", seed=seed, scale=scale)
    return workdir / "mappings"


def load(engine, mappings: Path) -> float:
    from etl.load import load_mapping
    t0 = time.perf_counter()
    for name in SOURCES:
        r = load_mapping(engine, mappings / f"{name}.yaml")
        if r.status != "loaded":
            raise SystemExit(r.summary())
    return time.perf_counter() - t0


def store(kind: str, revision: str, tmp: Path, pg: str | None):
    """(engine, cleanup) of an empty store at `revision`."""
    from alembic import command

    from etl.store import alembic_config, make_engine
    if kind == "sqlite":
        path = tmp / f"{uuid.uuid4().hex[:8]}.db"
        engine = make_engine(f"sqlite:///{path.as_posix()}")
        cleanup = lambda: (engine.dispose(), path.unlink(missing_ok=True))      # noqa: E731
    else:
        from devtools.pgschema import drop_schema, schema_engine
        engine, admin, schema = schema_engine(pg, "bench")
        cleanup = lambda: drop_schema(engine, admin, schema)                   # noqa: E731
    command.upgrade(alembic_config(engine), revision)
    return engine, cleanup


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--base-scale", type=float, default=3.0)
    ap.add_argument("--batch-scale", type=float, default=0.3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="landdesk-idxload-") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        base = county(tmp / "base", 20240101, args.base_scale)
        batch = county(tmp / "batch", 7, args.batch_scale)
        print(f"generated ×{args.base_scale:g} and ×{args.batch_scale:g} in {time.perf_counter() - t0:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
        got = {(k, r, p): [] for k in kinds for r in ("0012", "0013") for p in ("first", "incremental")}
        for i in range(args.rounds):
            for kind in kinds:
                for rev in (("0012", "0013") if i % 2 == 0 else ("0013", "0012")):
                    engine, cleanup = store(kind, rev, tmp, args.pg)
                    try:
                        first, inc = load(engine, base), load(engine, batch)
                    finally:
                        cleanup()
                    got[(kind, rev, "first")].append(first)
                    got[(kind, rev, "incremental")].append(inc)
                    print(f"  round {i + 1} {kind:10s} {rev}: first load {first:6.2f} s, incremental {inc:6.2f} s "
                          f"(load average {os.getloadavg()[0]:.2f})", flush=True)
        print(f"\n{'store':10s} {'load':12s} {'0012 s':>8s} {'0013 s':>8s} {'change':>7s}  (median of {args.rounds})")
        for kind in kinds:
            for part in ("first", "incremental"):
                a, b = (statistics.median(got[(kind, r, part)]) for r in ("0012", "0013"))
                print(f"{kind:10s} {part:12s} {a:8.2f} {b:8.2f} {(b - a) / a * 100:+6.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
