"""Safety: a `landdesk etl load` killed with SIGKILL in the middle of writing its batch leaves the store
exactly as it was (row counts, a checksum of the table, no batch row, indexes intact), and the next
run completes the load; an unreachable store is one sentence on stderr and exit code 2.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from etl import schema as S
from etl.load import list_batches, load_mapping
from etl_helpers import write_mapping

ROOT = Path(__file__).resolve().parent.parent
N_BIG = 300_000
HEADER = "办件编号,事项名称,受理时间,办结时间,办理状态,渠道,乡镇,跑动次数,评价,申请人身份证号\n"
MAPPING = {
    "dataset": "cases",
    "columns": {"case_id": "办件编号", "service_item": "事项名称", "received_at": "受理时间", "closed_at": "办结时间",
                "status": "办理状态", "channel": "渠道", "township": "乡镇", "visits": "跑动次数", "rating": "评价",
                "applicant_key": "申请人身份证号"},
    "values": {"status": {"办结": "closed", "在办": "open"}, "channel": {"窗口": "window", "网上": "online"}},
}


def _write_cases(path: Path, n: int, prefix: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for i in range(n):
            day = 1 + i % 28
            fh.write(f"{prefix}{i:07d},不动产登记,2024-03-{day:02d} 09:00,2024-03-{day:02d} 15:30,办结,"
                     f"{'窗口' if i % 3 else '网上'},青山镇,{i % 3},{1 + i % 5},33110219800101{i % 10000:04d}\n")


def _state(engine) -> tuple:
    """Row counts of the data tables and etl_batches, and a SHA-256 of every cases row in key order."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for row in conn.execute(select(S.cases).order_by(S.cases.c.case_id)):
            h.update(repr(tuple(row)).encode())
        counts = tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                       for t in (S.cases, S.case_events, S.etl_batches, S.etl_rejects))
    return counts, h.hexdigest()


def _indexes(engine) -> set[str]:
    insp = inspect(engine)
    return {ix["name"] for ix in insp.get_indexes("cases")} | {ix["name"] for ix in insp.get_indexes("case_events")}


def _writing(engine, db_file: Path | None, wal_start: int) -> bool:
    """Is the child inside its write transaction? SQLite: its WAL grows; PostgreSQL: a COPY/INSERT is active."""
    if db_file is not None:
        wal = db_file.with_name(db_file.name + "-wal")
        return wal.exists() and wal.stat().st_size > wal_start + 1_000_000
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' "
            "AND datname = current_database() AND query ILIKE '%landdesk_stage_cases%'")).scalar_one())


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_the_store_unchanged_and_the_next_run_completes(engine, tmp_path):
    small = tmp_path / "small.csv"
    _write_cases(small, 50, "S")
    assert load_mapping(engine, write_mapping(tmp_path, "small.yaml", {**MAPPING, "source": {"path": str(small)}})).status == "loaded"
    big = tmp_path / "big.csv"
    _write_cases(big, N_BIG, "B")
    mapping = write_mapping(tmp_path, "big.yaml", {**MAPPING, "source": {"path": str(big)}})
    before, indexes = _state(engine), _indexes(engine)
    url = engine.url.render_as_string(hide_password=False)
    db_file = Path(engine.url.database) if engine.dialect.name == "sqlite" else None
    wal = db_file.with_name(db_file.name + "-wal") if db_file else None
    wal_start = wal.stat().st_size if wal is not None and wal.exists() else 0
    cmd = [sys.executable, "-m", "cli.main", "etl", "load", str(mapping), "--db", url, "--quiet"]
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not _writing(engine, db_file, wal_start):
            assert child.poll() is None, f"the load finished before it could be killed: {child.communicate()}"
            assert time.monotonic() < deadline, "the load never started writing"
            time.sleep(0.02)
        time.sleep(0.1)
        assert child.poll() is None, "the load finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    engine.dispose()                                     # no pooled connection from before the kill
    assert _state(engine) == before
    assert _indexes(engine) == indexes
    assert "running" not in set(list_batches(engine).status)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{N_BIG} read, {N_BIG} loaded" in done.stdout
    counts, _ = _state(engine)
    assert counts[0] == 50 + N_BIG and _indexes(engine) == indexes


def test_unreachable_store_is_one_sentence_and_exit_2(tmp_path):
    mapping = write_mapping(tmp_path, "m.yaml", {**MAPPING, "source": {"path": str(tmp_path / "x.csv")}})
    p = subprocess.run([sys.executable, "-m", "cli.main", "etl", "load", str(mapping),
                        "--db", "postgresql://nobody@127.0.0.1:1/x"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("landdesk: Cannot reach the store at postgresql") and "127.0.0.1:1" in lines[0]
