"""One mapping loaded into SQLite and into PostgreSQL (issue 20): the load's wall time on each, and every table's
rows compared between the two stores. Prints figures and differences, asserts nothing. From the repository root:

    .venv/bin/python bench/bench_pg_load.py --pg postgresql://landdesk:landdesk@localhost:5432/DB \\
        [--mapping sample_data/mappings/real/road_traffic_fines.yaml | sample_data/sources.yaml]
        [--chunk 200000] [--only pg] [--undo]

Each store is fresh (a temporary SQLite file; a throw-away schema of --pg), upgraded by the normal migrations,
then `etl.load.load_mapping` runs once (for a sources file, `etl.load.run_sources`: every mapping, in order).
The rows of the data tables, the marts and the load records (etl_batches without its clock times, etl_rejects,
stage_roles) are reduced to a digest per table: the sorted hashes of the rows with values normalised (instants
as ISO text, floats to 9 digits, booleans as 0/1, a geometry only as present or not, since PostGIS keeps its
own type), so the same rows in any order give the same digest. `--undo` then undoes the batches (newest first)
on both and compares what was removed and what is left. The digests are printed, so runs of two code versions
(before / after a change) compare by eye or diff.
"""
from __future__ import annotations

import argparse
import datetime as dt
import decimal
import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from devtools.pgschema import drop_schema, schema_engine  # noqa: E402
from etl import schema as S  # noqa: E402
from etl.load import load_mapping, run_sources  # noqa: E402
from etl.store import make_engine, upgrade  # noqa: E402
from etl.undo import undo_batch  # noqa: E402

DEFAULT_MAPPING = ROOT / "sample_data" / "mappings" / "real" / "road_traffic_fines.yaml"
#: Columns that differ between any two loads (clock times), left out of the digests.
CLOCK = {"etl_batches": {"started_at", "finished_at"}, "mart_state": {"computed_at"}}
UNDONE = re.compile(r"undone \d{4}-\d\d-\d\d \d\d:\d\d")      # an undone batch's message: its clock time
TABLES = (*S.DATASETS.values(), S.reference_process, S.etl_batches, S.etl_rejects, S.stage_roles, *S.MART_TABLES,
          S.mart_state)


def _norm(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (float, decimal.Decimal)):
        return repr(round(float(v), 9))
    return v


def digests(engine) -> dict[str, tuple[int, str]]:
    """{table: (rows, digest of the sorted row hashes)} of every compared table."""
    out = {}
    with engine.connect() as conn:
        for t in TABLES:
            cols = [(c.isnot(None) if c.name == "geometry" else c) for c in t.columns
                    if c.name not in CLOCK.get(t.name, ())]
            hashes = sorted(hashlib.blake2b(UNDONE.sub("undone …", repr(tuple(_norm(v) for v in row))).encode(),
                                            digest_size=16).digest() for row in conn.execute(select(*cols)))
            out[t.name] = (len(hashes), hashlib.sha256(b"".join(hashes)).hexdigest()[:16])
    return out


def is_sources(path: Path) -> bool:
    doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    return isinstance(doc, dict) and "sources" in doc


def run(name: str, engine, mapping: Path, chunk: int | None, undo: bool) -> dict:
    """Load `mapping` (or every mapping of a sources file, as `etl run`) into a fresh store; its digests."""
    upgrade(engine)
    t0 = time.perf_counter()
    if is_sources(mapping):
        if chunk:
            os.environ["LANDDESK_ETL_CHUNK_ROWS"] = str(chunk)
        results = run_sources(engine, mapping)
    else:
        results = [load_mapping(engine, mapping, chunk_rows=chunk)]
    seconds = time.perf_counter() - t0
    load = os.getloadavg()[0]
    for r in results:
        print(f"  {Path(r.mapping).name}: {r.status}, {r.rows_loaded:,} rows, {r.cases_derived:,} cases derived, "
              f"{r.seconds:.1f} s" + (f" ({r.message})" if r.status == "failed" else ""))
    print(f"{name}: {seconds:.1f} s in all (load average {load:.1f})", flush=True)
    out = {"seconds": seconds, "tables": digests(engine)}
    if undo:
        removed = []
        for r in reversed(results):
            if r.status == "loaded" and r.dataset != "reference_process":
                u = undo_batch(engine, r.batch_id, force=True)
                removed.append((Path(r.mapping).name, dict(u.removed), u.kept_cases))
        out["undo"] = removed
        out["after_undo"] = digests(engine)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mapping", type=Path, default=DEFAULT_MAPPING, help="a mapping, or a sources file (etl run)")
    ap.add_argument("--pg", default=os.environ.get("LANDDESK_TEST_PG_URL"), help="a PostgreSQL server URL")
    ap.add_argument("--chunk", type=int, help="chunk_rows of the load (default: LANDDESK_ETL_CHUNK_ROWS)")
    ap.add_argument("--only", choices=["sqlite", "pg"], help="load into one store only (print its digests)")
    ap.add_argument("--undo", action="store_true", help="also undo the batch on each store and compare")
    args = ap.parse_args()
    results = {}
    if args.only != "pg":
        with tempfile.TemporaryDirectory(prefix="ldpgload") as tmp:
            engine = make_engine(f"sqlite:///{tmp}/store.db")
            results["SQLite"] = run("SQLite", engine, args.mapping, args.chunk, args.undo)
            engine.dispose()
    if args.only != "sqlite":
        if not args.pg:
            raise SystemExit("--pg URL (or LANDDESK_TEST_PG_URL) is needed for the PostgreSQL load")
        engine, admin, schema = schema_engine(args.pg, "bench")
        try:
            results["PostgreSQL"] = run("PostgreSQL", engine, args.mapping, args.chunk, args.undo)
        finally:
            drop_schema(engine, admin, schema)
    for part in ("tables", "after_undo"):
        if part not in next(iter(results.values())):
            continue
        print(f"\n{'table':28} " + " ".join(f"{k:>28}" for k in results) + ("   same" if len(results) > 1 else "")
              + ("   (after undo)" if part == "after_undo" else ""))
        for t in TABLES:
            cells = [results[k][part][t.name] for k in results]
            same = "" if len(cells) == 1 else ("   yes" if len(set(cells)) == 1 else "   DIFFERENT")
            print(f"{t.name:28} " + " ".join(f"{n:>10,} {d:>17}" for n, d in cells) + same)
    if "undo" in next(iter(results.values())):
        for k, v in results.items():
            for name, removed, kept in v["undo"]:
                print(f"undo {name} on {k}: removed {removed}, kept cases {kept}")
        if len(results) == 2:
            print("undo results the same:", results["SQLite"]["undo"] == results["PostgreSQL"]["undo"])
    if len(results) == 2:
        s, p = results["SQLite"]["seconds"], results["PostgreSQL"]["seconds"]
        print(f"\nPostgreSQL / SQLite: {p / s:.2f}")


if __name__ == "__main__":
    main()
