"""Safe CLI defaults (issue 13): `landdesk etl undo BATCH` takes one batch back out (one transaction,
audited, refusing what it cannot restore), and `landdesk etl run` without a sources file loads the
sample county only into the demo store."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from etl import schema as S
from etl.load import list_batches, load_mapping
from etl.undo import undo_batch
from etl_helpers import snapshot, table, write_mapping
from landdesk.errors import LandDeskError
from landdesk.settings import SAMPLE_DIR, local_now

ROOT = Path(__file__).resolve().parent.parent
EVENTS = {"dataset": "case_events", "columns": {"case_id": "case", "stage": "activity", "completed_at": "time"}}


def _events(tmp_path, name: str, rows: str, **extra) -> Path:
    src = tmp_path / f"{name}.csv"
    src.write_text("case,activity,time\n" + rows, encoding="utf-8")
    return write_mapping(tmp_path, f"{name}.yaml", {**EVENTS, "source": {"path": str(src)}, **extra})


def test_undo_removes_one_batch_and_the_cases_it_created(engine, tmp_path):
    a = load_mapping(engine, _events(tmp_path, "a", "X1,Receive,2024-03-01 09:00\nX1,Decide,2024-03-02 09:00\n"))
    before = snapshot(engine)
    b_map = _events(tmp_path, "b", "Y1,Receive,2024-03-03 09:00\nY1,Decide,2024-03-04 09:00\nY2,Receive,2024-03-05 09:00\n")
    b = load_mapping(engine, b_map)
    assert (a.status, b.status) == ("loaded", "loaded")
    assert list_batches(engine).set_index("batch_id").loc[b.batch_id, "status"] == "loaded"
    result = undo_batch(engine, b.batch_id)
    assert result.removed["case_events"] == 3 and result.removed["cases"] == 2 and result.kept_cases == 0
    assert "removed 3 case_events, 2 cases" in result.summary()
    assert snapshot(engine) == before
    batch = list_batches(engine).set_index("batch_id").loc[b.batch_id]
    assert batch.status == "undone" and "removed 3 case_events, 2 cases" in batch.message
    again = load_mapping(engine, b_map)               # an undone batch does not make the source "unchanged"
    assert again.status == "loaded" and again.rows_loaded == 3
    with pytest.raises(LandDeskError, match=f"Batch {a.batch_id + 1} is undone, not loaded"):
        undo_batch(engine, b.batch_id)


def test_undo_refuses_a_batch_that_updated_existing_records(sqlite_engine, tmp_path):
    load_mapping(sqlite_engine, _events(tmp_path, "a", "C1,Receive,2024-03-01 09:00\n"))
    b = load_mapping(sqlite_engine, _events(tmp_path, "b", "C1,Receive,2024-03-01 09:00\nC1,Decide,2024-03-05 09:00\n"
                                                           "C2,Receive,2024-03-02 09:00\n"))
    assert list_batches(sqlite_engine).set_index("batch_id").loc[b.batch_id, "rows_updated"] == 1
    before = snapshot(sqlite_engine)
    with pytest.raises(LandDeskError, match=r"updated 1 record\(s\) that existed before it, and their earlier values "
                                            "cannot be restored"):
        undo_batch(sqlite_engine, b.batch_id)
    assert snapshot(sqlite_engine) == before
    forced = undo_batch(sqlite_engine, b.batch_id, force=True)
    assert forced.removed["cases"] == 2 and table(sqlite_engine, "cases").empty


def test_undo_of_a_table_batch_keeps_the_other_batches(sqlite_engine, tmp_path):
    def land(name, text):
        src = tmp_path / f"{name}.csv"
        src.write_text("code,year,cat,area\n" + text, encoding="utf-8")
        doc = {"dataset": "land_use", "source": {"path": str(src)},
               "columns": {"region_code": "code", "year": "year", "category_code": "cat", "area_ha": "area"}}
        return load_mapping(sqlite_engine, write_mapping(tmp_path, f"{name}.yaml", doc))
    land("y2020", "R1,2020,01,10\nR2,2020,01,20\n")
    b = land("y2021", "R1,2021,01,11\nR2,2021,01,21\n")
    assert undo_batch(sqlite_engine, b.batch_id).removed["land_use"] == 2
    assert sorted(table(sqlite_engine, "land_use").year) == [2020, 2020]


def test_undo_of_an_unknown_or_failed_batch(sqlite_engine):
    with pytest.raises(LandDeskError, match="There is no batch 99 in the store"):
        undo_batch(sqlite_engine, 99)


def _cli(*args, db):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cli.main", *args, "--db", db], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_undo_prints_and_audits_and_etl_run_refuses_a_non_demo_store(tmp_path):
    db = f"sqlite:///{(tmp_path / 'prod.db').as_posix()}"
    assert _cli("db", "upgrade", db=db).returncode == 0
    run = _cli("etl", "run", "--quiet", db=db)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and "not the demo store" in run.stderr
    mapping = _events(tmp_path, "a", "Z1,Receive,2024-03-01 09:00\n")
    assert _cli("etl", "load", str(mapping), "--quiet", db=db).returncode == 0
    undo = _cli("etl", "undo", "1", db=db)
    assert undo.returncode == 0, undo.stderr
    assert undo.stdout.strip() == "batch 1 undone (case_events): removed 1 case_events, 1 cases"
    again = _cli("etl", "undo", "1", db=db)
    assert again.returncode == 2 and again.stderr.strip() == \
        "landdesk: Batch 1 is undone, not loaded; there is nothing to undo."
    from etl.store import make_engine
    from service.audit import recent
    engine = make_engine(db)
    audit = recent(engine, 10)
    assert "etl_undo" in set(audit["action"])
    engine.dispose()


def test_demo_store_rule(sqlite_engine):
    from cli.main import is_demo_store
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert not is_demo_store(sqlite_engine, url)                     # empty, not the default file
    assert is_demo_store(sqlite_engine, "sqlite:///data/landdesk.db")
    row = dict(dataset="cases", source="x.csv", started_at=local_now(), status="loaded")
    with sqlite_engine.begin() as conn:
        conn.execute(insert(S.etl_batches).values(mapping=str(SAMPLE_DIR.resolve() / "mappings" / "cases.yaml"), **row))
    assert is_demo_store(sqlite_engine, url)                         # only sample-county batches
    with sqlite_engine.begin() as conn:
        conn.execute(insert(S.etl_batches).values(mapping="/srv/bureau/cases.yaml", **row))
    assert not is_demo_store(sqlite_engine, url)
