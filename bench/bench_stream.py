"""Streaming-load benchmark (issue 16): peak memory of `landdesk etl load` on a big CSV event log. Prints the
figures, asserts nothing. Run from the repository root:

    .venv/bin/python bench/bench_stream.py [--mb 1000] [--mb 250] [--chunk 200000] [--pg URL]

For each --mb size it writes (in a temporary directory, deleted afterwards) a case_events CSV of about that
many megabytes — cases of 4–9 stage events each (UTF-8, Chinese headers and stage names, an unmapped free-text remarks column), a few
unparseable dates so there are rejects — and a mapping that derives the cases, then runs `landdesk db upgrade`
and `landdesk etl load MAPPING --quiet` in a subprocess on a fresh SQLite store (or a fresh schema of --pg),
and prints wall time, CPU time and the child's peak RSS (os.wait4). Target: peak RSS ≤ 1 GB at any size.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTE = ("申请材料齐全，符合法定形式，予以受理；经现场核查，宗地界址清楚，权属无争议，" * 4)[:100]
STAGES = ["受理", "审查", "现场勘查", "审核", "决定", "制证", "送达", "归档", "补正"]


def write_log(path: Path, megabytes: float, seed: int = 16) -> int:
    """A case_events CSV of about `megabytes` MB; returns its records."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    n = 0
    case = 0
    base = 1_700_000_000
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("办件编号,环节,完成时间,经办人,部门,备注\n")
        size = 0
        while size < target:
            case += 1
            t = base + rng.randrange(0, 60_000_000)
            lines = []
            for step in range(rng.randint(4, 9)):
                t += rng.randrange(600, 400_000)
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
                if rng.random() < 0.0005:
                    when = "不详"                      # a reject now and then
                note = NOTE[:rng.randrange(40, len(NOTE))]       # an unmapped free-text column, as exports have
                lines.append(f"QS{case:09d},{STAGES[step]},{when},H{rng.randrange(400):04d},D{rng.randrange(12):02d},"
                             f"{note}\n")
            block = "".join(lines)
            fh.write(block)
            size += len(block.encode("utf-8"))
            n += len(lines)
    return n


MAPPING = """dataset: case_events
source:
  path: events.csv
columns:
  case_id: 办件编号
  stage: 环节
  completed_at: 完成时间
  handler_key: 经办人
  department: 部门
derive_cases: true
timezone: Asia/Shanghai
"""


def run_measured(args: list[str], env: dict) -> tuple[float, float, float, str]:
    """`python -m cli.main ARGS` in a subprocess: (wall s, CPU s, peak RSS MB, last output line)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=ROOT, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        text, errors = out.read(), err.read()
    if code:
        raise SystemExit(f"landdesk {' '.join(args)} failed ({code}): {errors.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, (text.strip().splitlines() or [""])[-1]


def pg_schema_url(base: str) -> tuple[str, str]:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with create_engine(url).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text
    with create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1)).begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, action="append", help="CSV size in MB (repeatable; default 250 and 1000)")
    ap.add_argument("--chunk", type=int, help="LANDDESK_ETL_CHUNK_ROWS for the load (default: the setting's)")
    ap.add_argument("--pg", help="a PostgreSQL server URL: load into a throw-away schema there instead of SQLite")
    ap.add_argument("--tmp", help="folder for the temporary files (default: the system's)")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.chunk:
        env["LANDDESK_ETL_CHUNK_ROWS"] = str(args.chunk)
    for mb in args.mb or [250, 1000]:
        with tempfile.TemporaryDirectory(prefix="ldstream", dir=args.tmp) as tmp:
            tmp = Path(tmp)
            t0 = time.perf_counter()
            n = write_log(tmp / "events.csv", mb)
            size = (tmp / "events.csv").stat().st_size / 1e6
            (tmp / "events.yaml").write_text(MAPPING, encoding="utf-8")
            print(f"{size:.0f} MB CSV, {n:,} events written in {time.perf_counter() - t0:.0f} s", flush=True)
            schema = None
            if args.pg:
                url, schema = pg_schema_url(args.pg)
            else:
                url = f"sqlite:///{(tmp / 'store.db').as_posix()}"
            try:
                run_measured(["db", "upgrade", "--db", url], env)
                wall, cpu, rss, line = run_measured(["etl", "load", str(tmp / "events.yaml"), "--db", url, "--quiet"], env)
            finally:
                if schema:
                    drop_schema(args.pg, schema)
            store = "PostgreSQL" if args.pg else "SQLite"
            print(f"{size:.0f} MB → {store}: wall {wall:.1f} s (CPU {cpu:.1f} s), peak RSS {rss:.0f} MB "
                  f"[target ≤ 1024 MB]; chunk {env.get('LANDDESK_ETL_CHUNK_ROWS', 'default')}; "
                  f"load average {os.getloadavg()[0]:.1f}\n    {line}", flush=True)


if __name__ == "__main__":
    main()
