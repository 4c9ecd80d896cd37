"""Honest loads (issue 13): ids named NA, loads that keep nothing, non-finite numbers, hours-only
offsets, sources that are not readable regular files, no source content in messages, open cases.
Small files written in tmp_path."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from etl.load import list_batches, list_rejects, load_mapping
from etl_helpers import cli_load, local_table, snapshot, table, write_mapping
from landdesk.errors import LandDeskError

ROOT = Path(__file__).resolve().parent.parent

EVENTS = {"dataset": "case_events",
          "columns": {"case_id": "case", "stage": "activity", "completed_at": "time"}}


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _events_mapping(tmp_path, text: str, name="ev.yaml", **extra) -> Path:
    src = _csv(tmp_path, name.replace(".yaml", ".csv"), text)
    return write_mapping(tmp_path, name, {**EVENTS, "source": {"path": str(src)}, **extra})


def test_a_case_id_na_is_a_real_id(sqlite_engine, tmp_path):
    """NA, null, N/A as a case id are ids (only an empty cell is missing); their events all load."""
    mapping = _events_mapping(tmp_path, "case,activity,time\n"
                                        "NA,Receive,2024-03-01 09:00\nNA,Decide,2024-03-04 10:00\n"
                                        "null,Receive,2024-03-01 09:00\nN/A,Receive,2024-03-02 09:00\n"
                                        "C1,Receive,2024-03-01 09:00\n")
    r = load_mapping(sqlite_engine, mapping)
    assert (r.status, r.rows_loaded, r.rows_rejected, r.cases_derived) == ("loaded", 5, 0, 4)
    cases = table(sqlite_engine, "cases", "case_id")
    assert sorted(cases.case_id) == ["C1", "N/A", "NA", "null"]
    ev = table(sqlite_engine, "case_events", "case_id,seq")
    assert list(ev[ev.case_id == "NA"].stage) == ["Receive", "Decide"]


def test_na_words_still_mean_missing_outside_id_columns(sqlite_engine, tmp_path):
    src = _csv(tmp_path, "c.csv", "id,recv,town\nNA,2024-03-01,NA\n")
    doc = {"dataset": "cases", "source": {"path": str(src)},
           "columns": {"case_id": "id", "received_at": "recv", "township": "town"}}
    assert load_mapping(sqlite_engine, write_mapping(tmp_path, "c.yaml", doc)).rows_loaded == 1
    cases = table(sqlite_engine, "cases")
    assert cases.case_id[0] == "NA" and cases.township[0] is None


def test_a_load_that_keeps_nothing_fails_and_names_the_cause(engine, tmp_path):
    """Lifecycle values the mapping does not map: every event is rejected; the batch fails, nothing is
    stored, and the message says how many were read and why (without quoting source values)."""
    ok = _events_mapping(tmp_path, "case,activity,time\nK1,Receive,2024-03-01 09:00\n", name="ok.yaml")
    assert load_mapping(engine, ok).status == "loaded"
    before = snapshot(engine)
    text = "case,activity,time,life\n" + "".join(
        f"X{i},Review,2024-03-0{1 + i % 5} 09:00,{'Begin' if i % 2 else 'Ende'}\n" for i in range(9))
    mapping = _events_mapping(tmp_path, text, reject_threshold=1.0,
                              columns={**EVENTS["columns"], "lifecycle": "life"})
    with pytest.raises(LandDeskError) as info:
        load_mapping(engine, mapping)
    msg = str(info.value)
    assert "9 rows read, none kept" in msg and "unmapped lifecycle value" in msg and "`values:`" in msg
    assert "Begin" not in msg and "Ende" not in msg and "\n" not in msg
    assert snapshot(engine) == before
    batch = list_batches(engine).iloc[0]
    assert (batch.status, batch.rows_loaded) == ("failed", 0) and batch.message == msg
    assert len(list_rejects(engine, int(batch.batch_id))) == 9


def test_a_load_that_keeps_nothing_exits_2_on_the_cli(tmp_path):
    text = "case,activity,time\n" + "".join(f"X{i},Review,not a date {i}\n" for i in range(5))
    mapping = _events_mapping(tmp_path, text, reject_threshold=1.0)
    p = cli_load(tmp_path, mapping)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "5 rows read, none kept" in lines[0] and "completed_at … is not a date/time" in lines[0]


def test_lifecycle_transitions_of_the_xes_model_are_still_dropped_quietly(sqlite_engine, tmp_path):
    mapping = _events_mapping(tmp_path, "case,activity,time,life\nC1,A,2024-03-01 09:00,schedule\n"
                                        "C1,A,2024-03-01 10:00,start\nC1,A,2024-03-01 11:00,complete\n"
                                        "C1,B,2024-03-01 12:00,Begin\n",
                              columns={**EVENTS["columns"], "lifecycle": "life"}, reject_threshold=0.9)
    r = load_mapping(sqlite_engine, mapping)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (4, 1, 1)
    rej = list_rejects(sqlite_engine, r.batch_id)
    assert list(rej.row_number) == [5] and rej.reason[0].startswith("unmapped lifecycle value 'Begin'")


def test_non_finite_numbers_are_rejected_per_row(sqlite_engine, tmp_path):
    src = _csv(tmp_path, "lu.csv", "code,year,cat,area\nR1,2020,01,inf\nR2,2020,01,-inf\nR3,2020,01,1e309\n"
                                   "R4,2020,01,NaN\nR5,2020,01,12.5\nR6,inf,01,1\n")
    doc = {"dataset": "land_use", "source": {"path": str(src)}, "reject_threshold": 0.9,
           "columns": {"region_code": "code", "year": "year", "category_code": "cat", "area_ha": "area"}}
    r = load_mapping(sqlite_engine, write_mapping(tmp_path, "lu.yaml", doc))
    assert (r.rows_loaded, r.rows_rejected) == (1, 5)
    rej = list_rejects(sqlite_engine, r.batch_id).set_index("row_number")["reason"]
    assert rej[2] == "area_ha 'inf' is not a finite number"
    assert rej[3] == "area_ha '-inf' is not a finite number"
    assert rej[4] == "area_ha '1e309' is not a finite number"
    assert rej[5] == "area_ha is missing"
    assert rej[7] == "year 'inf' is not a finite number"
    lu = table(sqlite_engine, "land_use")
    assert list(lu.area_ha) == [12.5]


def test_multiply_overflow_is_rejected(sqlite_engine, tmp_path):
    src = _csv(tmp_path, "lu.csv", "code,year,cat,area\nR1,2020,01,1e308\nR2,2020,01,2\n")
    doc = {"dataset": "land_use", "source": {"path": str(src)}, "reject_threshold": 0.9, "multiply": {"area_ha": 10},
           "columns": {"region_code": "code", "year": "year", "category_code": "cat", "area_ha": "area"}}
    r = load_mapping(sqlite_engine, write_mapping(tmp_path, "lu.yaml", doc))
    assert (r.rows_loaded, r.rows_rejected) == (1, 1)
    assert "not a finite number" in list_rejects(sqlite_engine, r.batch_id).reason[0]


def test_hours_only_offsets_are_read(sqlite_engine, tmp_path):
    """+08, +0800, +08:00 and Z are the same instant; stored as one UTC instant (read back here as Asia/Shanghai wall time).
    An impossible offset is rejected on its row, not a traceback."""
    src = _csv(tmp_path, "c.csv", "id,recv\nA,2024-01-02T08:00:00+08\nB,2024-01-02T08:00:00+0800\n"
                                  "C,2024-01-02T08:00:00+08:00\nD,2024-01-02T00:00:00Z\nE,2024-01-02 02:00+02\n"
                                  "F,2024-01-02T08:00:00+99\nG,2024-01-02\n")
    doc = {"dataset": "cases", "source": {"path": str(src)}, "reject_threshold": 0.5, "timezone": "Asia/Shanghai",
           "columns": {"case_id": "id", "received_at": "recv"}}
    r = load_mapping(sqlite_engine, write_mapping(tmp_path, "c.yaml", doc))
    assert (r.rows_loaded, r.rows_rejected) == (6, 1)
    cases = local_table(sqlite_engine, "cases", "case_id").set_index("case_id")
    for cid in "ABCDE":
        assert cases.received_at[cid] == pd.Timestamp("2024-01-02 08:00"), cid
    assert cases.received_at["G"] == pd.Timestamp("2024-01-02")
    assert "received_at '2024-01-02T08:00:00+99' is not a date/time" in list_rejects(sqlite_engine, r.batch_id).reason[0]


def _source_error(engine, tmp_path, path: Path) -> str:
    doc = {**EVENTS, "source": {"path": str(path), "format": "csv"}}
    with pytest.raises(LandDeskError) as info:
        load_mapping(engine, write_mapping(tmp_path, "s.yaml", doc))
    msg = str(info.value)
    assert "\n" not in msg and "does not exist" not in msg and str(path) in msg
    return msg


def test_a_directory_as_source(sqlite_engine, tmp_path):
    (tmp_path / "exports").mkdir()
    assert "is a directory, not a file" in _source_error(sqlite_engine, tmp_path, tmp_path / "exports")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_fifo_as_source_does_not_hang(sqlite_engine, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "is a named pipe (FIFO)" in _source_error(sqlite_engine, tmp_path, fifo)


def test_an_unreadable_source(sqlite_engine, tmp_path, monkeypatch):
    """Tests run as root (permissions do not stop root), so the open is made to fail as it would for a user."""
    import etl.extract
    path = _csv(tmp_path, "locked.csv", "case,activity,time\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(etl.extract, "open", deny, raising=False)
    assert "cannot be read: permission denied" in _source_error(sqlite_engine, tmp_path, path)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="running as root: file permissions do not stop root (the monkeypatched test covers it)")
def test_an_unreadable_source_for_real(sqlite_engine, tmp_path):
    path = _csv(tmp_path, "locked.csv", "case,activity,time\n")
    path.chmod(0)
    assert "permission denied" in _source_error(sqlite_engine, tmp_path, path)


def test_the_wrong_file_is_not_echoed(sqlite_engine, tmp_path):
    """A mapping pointed at some other file: none of its content reaches the error or the batch message."""
    secret = _csv(tmp_path, "notes.csv", "db_password=hunter2-SECRET,owner\nline two SECRET\n")
    msg = _source_error(sqlite_engine, tmp_path, secret)
    assert "SECRET" not in msg and "hunter2" not in msg and "is it the right file" in msg
    assert "SECRET" not in str(list_batches(sqlite_engine).message.iloc[0])


def test_a_real_header_is_still_listed(sqlite_engine, tmp_path):
    """When the header holds mapped columns, it is that source's header: the others are listed to help."""
    src = _csv(tmp_path, "ev.csv", "case,activity,timestamp\nC1,A,2024-03-01\n")
    msg = _source_error(sqlite_engine, tmp_path, src)
    assert "has no column 'time'" in msg and "(columns: case, activity, timestamp)" in msg


# ---------- open cases ----------

OPEN_LOG = """case,activity,time,caseStatus
O1,Receive,2024-03-01 09:00,O
O1,Review,2024-03-04 10:00,O
C1,Receive,2024-03-01 09:00,C
C1,Review,2024-03-05 10:00,C
C1,Decide,2024-03-06 10:00,C
"""


def test_open_cases_have_no_closed_at_and_do_not_look_finished(engine, tmp_path):
    mapping = _events_mapping(tmp_path, OPEN_LOG, case_columns={"status": "caseStatus"},
                              values={"status": {"O": "open", "C": "closed"}})
    assert load_mapping(engine, mapping).status == "loaded"
    cases = local_table(engine, "cases", "case_id").set_index("case_id")
    assert cases.status["O1"] == "open" and pd.isna(cases.closed_at["O1"])
    assert cases.received_at["O1"] == pd.Timestamp("2024-03-01 09:00")
    assert cases.status["C1"] == "closed" and cases.closed_at["C1"] == pd.Timestamp("2024-03-06 10:00")

    from analytics.exports import run_export
    from analytics.scope import Scope
    scope = Scope(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    variants = run_export(engine, "variants", scope, "days")
    assert int(variants["cases"].sum()) == 1                       # the finished case only
    dfg = run_export(engine, "dfg", scope, "days")
    ends = dfg[dfg["target"] == "■"]
    assert list(ends["source"]) == ["Decide"] and int(ends["count"].sum()) == 1   # Review of O1 is no end
    assert int(dfg[(dfg.source == "Receive") & (dfg.target == "Review")]["count"].iloc[0]) == 2


def test_an_open_case_in_a_cases_export_loses_its_closed_at(sqlite_engine, tmp_path):
    src = _csv(tmp_path, "c.csv", "id,recv,done,state\nA,2024-03-01,2024-03-05,在办\nB,2024-03-01,2024-03-05,办结\n")
    doc = {"dataset": "cases", "source": {"path": str(src)}, "values": {"status": {"在办": "open", "办结": "closed"}},
           "columns": {"case_id": "id", "received_at": "recv", "closed_at": "done", "status": "state"}}
    assert load_mapping(sqlite_engine, write_mapping(tmp_path, "c.yaml", doc)).rows_loaded == 2
    cases = local_table(sqlite_engine, "cases", "case_id").set_index("case_id")
    assert pd.isna(cases.closed_at["A"]) and cases.closed_at["B"] == pd.Timestamp("2024-03-05")


# ---------- readers ----------

def test_an_xls_workbook_is_read_like_xlsx(sqlite_engine, tmp_path):
    """tests/fixtures/land_use.xls (BIFF, made with xlwt): a merged title row above the header, numbers
    as numbers (code 1 padded to 01); the header is found by the mapped names."""
    from etl_helpers import FIXTURES
    doc = {"dataset": "land_use", "source": {"path": str(FIXTURES / "land_use.xls")},
           "columns": {"region_code": "行政区代码", "region_name": "行政区名称", "year": "年度",
                       "category_code": "地类编码", "area_ha": "面积（公顷）"}}
    r = load_mapping(sqlite_engine, write_mapping(tmp_path, "xls.yaml", doc))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)
    lu = table(sqlite_engine, "land_use", "region_code")
    assert list(lu.region_code) == ["360101", "360102", "360103"] and list(lu.category_code) == ["0101", "0103", "01"]
    assert list(lu.area_ha) == [1234.5, 987.25, 2200.0] and set(lu.year) == {2023}
    from etl.load import list_rejects as _lr
    assert _lr(sqlite_engine, r.batch_id).empty


def test_an_xls_that_is_not_one(sqlite_engine, tmp_path):
    fake = _csv(tmp_path, "fake.xls", "a,b\n1,2\n")
    doc = {"dataset": "land_use", "source": {"path": str(fake)},
           "columns": {"region_code": "a", "year": "b", "category_code": "a", "area_ha": "b"}}
    with pytest.raises(LandDeskError, match="is not an .xls workbook"):
        load_mapping(sqlite_engine, write_mapping(tmp_path, "x.yaml", doc))


def test_a_stage_from_two_columns(sqlite_engine, tmp_path):
    """`stage: [concept:name, lifecycle:transition]`: the classifier joins them with '+'."""
    src = _csv(tmp_path, "ev.csv", "case,name,life,time\nC1,Review,start,2024-03-01 09:00\n"
                                   "C1,Review,complete,2024-03-01 10:00\nC1,Decide,,2024-03-02 10:00\n")
    doc = {**EVENTS, "source": {"path": str(src)},
           "columns": {"case_id": "case", "stage": ["name", "life"], "completed_at": "time"}}
    r = load_mapping(sqlite_engine, write_mapping(tmp_path, "ev.yaml", doc))
    assert r.rows_loaded == 3
    ev = table(sqlite_engine, "case_events", "case_id,seq")
    assert list(ev.stage) == ["Review+start", "Review+complete", "Decide"]


def test_supplement_stages_are_stored_for_the_analytics(sqlite_engine, tmp_path):
    mapping = _events_mapping(tmp_path, "case,activity,time\nC1,Receive,2024-03-01\nC1,Ask for more,2024-03-02\n",
                              supplement_stages=["Ask for more"])
    r = load_mapping(sqlite_engine, mapping)
    roles = table(sqlite_engine, "stage_roles")
    assert list(zip(roles.stage, roles.role, roles.batch_id)) == [("Ask for more", "supplement", r.batch_id)]


def test_declared_supplement_stages_count_as_returns_in_the_rework_export(sqlite_engine, tmp_path):
    """A foreign log's own name for 补正 (declared with supplement_stages:) is a return in the rework export."""
    import datetime as dt

    from analytics.exports import run_export
    from analytics.scope import Scope
    log = ("case,activity,time\nC1,Receive,2024-03-01\nC1,Ask for more,2024-03-04\nC1,Review,2024-03-05\n"
           "C2,Receive,2024-03-01\nC2,Review,2024-03-02\n")
    scope = Scope(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    load_mapping(sqlite_engine, _events_mapping(tmp_path, log))
    before = run_export(sqlite_engine, "rework", scope).set_index("stage")
    assert before.loc["Ask for more", "return_events"] == 0
    load_mapping(sqlite_engine, _events_mapping(tmp_path, log, supplement_stages=["Ask for more"]), force=True)
    after = run_export(sqlite_engine, "rework", scope).set_index("stage")
    assert after.loc["Ask for more", "return_events"] == 1
