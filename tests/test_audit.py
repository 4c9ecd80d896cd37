"""The audit log: rows for exports, ETL runs and user changes; transactional with the work it
describes; readable newest first; clear errors on a store without the table."""
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command

from etl.store import alembic_config, make_engine
from service import audit
from landdesk.errors import LandDeskError
from landdesk.settings import SAMPLE_DIR

ROOT = Path(__file__).resolve().parent.parent


def test_record_and_recent(engine):
    audit.record(engine, "download", "张三", {"file": "效能.xlsx", "rows": 12}, "10.0.0.1")
    audit.record(engine, "upload", "analyst", "raw text detail", None)
    audit.record(engine, "export", None, None, "cli")
    log = audit.recent(engine, 10)
    assert list(log["action"]) == ["export", "upload", "download"]
    assert json.loads(log.iloc[2]["detail"]) == {"file": "效能.xlsx", "rows": 12}
    assert log.iloc[2]["username"] == "张三" and log.iloc[1]["detail"] == "raw text detail"
    assert list(audit.recent(engine, 10, action="upload")["username"]) == ["analyst"]
    assert list(audit.recent(engine, 10, username="张三")["action"]) == ["download"]
    assert len(audit.recent(engine, 2)) == 2
    with engine.connect() as conn:
        assert audit.count_since(conn, "download", dt.datetime(2000, 1, 1), username="张三") == 1
        assert audit.count_since(conn, "download", dt.datetime(2000, 1, 1), client="10.0.0.2") == 0


def test_long_details_are_truncated_and_bad_actions_refused(engine):
    audit.record(engine, "export", "x", {"blob": "字" * 10_000})
    assert len(audit.recent(engine, 1).iloc[0]["detail"]) == audit.MAX_DETAIL_CHARS
    audit.record(engine, "export", "u" * 500, None, "c" * 500)
    row = audit.recent(engine, 1).iloc[0]
    assert len(row["username"]) == 100 and len(row["client"]) == 100
    with pytest.raises(ValueError):
        audit.record(engine, "", "x")


def test_audit_row_rolls_back_with_the_work_it_describes(engine):
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            audit.record(conn, "upload", "analyst", {"file": "a.csv"})
            raise RuntimeError("the load failed")
    assert audit.recent(engine, 10).empty


def test_time_is_a_utc_instant():
    """Audit rows are stamped like every time in the store: naive UTC (shown in the bureau's zone)."""
    expected = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((audit.now() - expected).total_seconds()) < 5
    assert abs((audit.now() - dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)).total_seconds()) > 3600


def test_store_without_the_audit_table_says_run_db_upgrade(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'old.db').as_posix()}")
    command.upgrade(alembic_config(engine), "0001")
    with pytest.raises(LandDeskError, match="landdesk db upgrade"):
        audit.record(engine, "export", "x")
    with pytest.raises(LandDeskError, match="landdesk db upgrade"):
        audit.recent(engine)


def landdesk(*args, db):
    return subprocess.run([sys.executable, "-m", "cli.main", *args, "--db", db], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_cli_exports_and_etl_runs_are_audited(tmp_path):
    db = f"sqlite:///{(tmp_path / 'a.db').as_posix()}"
    assert landdesk("db", "upgrade", db=db).returncode == 0
    r = landdesk("etl", "load", str(SAMPLE_DIR / "mappings" / "targets.yaml"),
                 str(SAMPLE_DIR / "mappings" / "approval_cases.yaml"), "--quiet", db=db)
    assert r.returncode == 0, r.stderr
    r = landdesk("export", "kpis", "--from", "2026-10-01", "--to", "2026-10-31", "--township", "东坪镇", db=db)
    assert r.returncode == 0, r.stderr
    log = json.loads(landdesk("audit", "--format", "json", db=db).stdout)
    assert log[0]["action"] == "export" and {e["action"] for e in log[1:]} == {"etl_run"} and len(log) >= 2
    assert all(e["client"] == "cli" and e["username"] for e in log)
    exp = json.loads(log[0]["detail"])
    assert exp["export"] == "kpis" and exp["township"] == "东坪镇" and exp["from"] == "2026-10-01"
    batches = [b for e in log[1:] for b in json.loads(e["detail"])["batches"]]
    assert all(b["status"] == "loaded" for b in batches) and any("targets" in b["summary"] for b in batches)


def test_audit_log_is_never_updated_or_deleted_by_landdesk():
    """Append-only from LandDesk's side: no update()/delete() of audit_log anywhere in the code."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        src = path.read_text(encoding="utf-8")
        if "update(audit_log" in src or "delete(audit_log" in src or "audit_log.update" in src \
                or "audit_log.delete" in src:
            offenders.append(str(path))
    assert not offenders
