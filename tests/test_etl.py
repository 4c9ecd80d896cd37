"""ETL end to end against a real store (SQLite, and PostgreSQL when LANDDESK_TEST_PG_URL is set)."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from etl.load import BatchResult, list_batches, list_rejects, load_mapping, run_sources
from etl.privacy import ID_TOKEN, PHONE_TOKEN
from etl_helpers import FIXTURES, ID_OR_PHONE, all_text, local_table, snapshot, table, write_mapping
from landdesk.errors import LandDeskError

T = pd.Timestamp

EVENTS = {
    "dataset": "case_events",
    "source": {"path": str(FIXTURES / "events.xes")},
    "columns": {"case_id": "case:concept:name", "stage": "concept:name", "completed_at": "time:timestamp",
                "handler_key": "org:resource", "lifecycle": "lifecycle:transition"},
    "case_columns": {"channel": "case:channel", "department": "case:department"},
    "values": {"channel": {"网上": "online", "窗口": "window"}},
    "timezone": "Asia/Shanghai",
}
CASES = {
    "dataset": "cases",
    "source": {"path": "cases.csv", "encoding": "auto"},
    "columns": {"case_id": "办件编号", "service_item": "事项名称", "received_at": "受理时间", "closed_at": "办结时间",
                "status": "办理状态", "channel": "渠道", "township": "乡镇", "visits": "跑动次数", "rating": "评价",
                "applicant_key": "申请人身份证号", "promised_days": "承诺时限"},
    "values": {"status": {"办结": "closed", "在办": "open"}, "channel": {"窗口": "window", "网上": "online"}},
    "defaults": {"department": "不动产登记中心"},
}
PETITIONS = {
    "dataset": "petitions",
    "source": {"path": "petitions.csv"},
    "columns": {"petition_id": "信访编号", "received_at": "登记日期", "channel": "来信来访方式", "topic": "问题类别",
                "township": "所属乡镇", "petitioner_key": "信访人身份证", "summary": "诉求摘要", "closed_at": "办结日期"},
    "values": {"channel": {"来访": "visit", "网上": "online", "来信": "letter"}},
}


def cases_mapping(tmp_path, text: str | None = None, **extra):
    (tmp_path / "cases.csv").write_text(text or (FIXTURES / "cases.csv").read_text(encoding="utf-8"), encoding="utf-8")
    return write_mapping(tmp_path, "cases.yaml", {**CASES, **extra})


def test_xes_lifecycle_pairs_seq_ties_and_derived_cases(engine, tmp_path):
    r = load_mapping(engine, write_mapping(tmp_path, "events.yaml", EVENTS))
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_rejected, r.cases_derived) == ("loaded", 8, 6, 0, 2)
    assert r.summary().startswith(f"batch {r.batch_id} loaded case_events from events.xes: 8 read, 6 loaded (2 cases), 0 rejected in ")
    ev = local_table(engine, "case_events", "case_id,seq")
    assert list(zip(ev.case_id, ev.seq, ev.stage)) == [
        ("C1", 1, "受理"), ("C1", 2, "办结"), ("C1", 3, "审查"),   # ordered by completed_at, not source order
        ("C2", 1, "受理"), ("C2", 2, "审核"), ("C2", 3, "复核"),   # a three-way tie keeps source order
    ]
    assert ev.started_at[0] == T("2024-03-04 09:00") and ev.completed_at[0] == T("2024-03-04 10:30")
    assert ev.started_at[1:].isna().all()
    assert ev.completed_at[3] == T("2024-03-07 16:00")             # 08:00Z, read back as Shanghai wall-clock
    assert ev.handler_key.str.fullmatch(r"[0-9a-f]{32}").all() and "张三" not in all_text(engine)
    assert (ev.batch_id == r.batch_id).all()
    cases = local_table(engine, "cases", "case_id")
    assert list(cases.received_at) == [T("2024-03-04 09:00"), T("2024-03-07 16:00")]
    assert list(cases.closed_at) == [T("2024-03-06 16:00"), T("2024-03-07 16:00")]
    assert list(cases.status) == ["closed", "closed"]
    assert list(cases.channel) == ["online", "window"] and list(cases.department) == ["登记科", "利用科"]


def test_end_stages_define_closing_and_gz_equals_plain(engine, tmp_path):
    doc = {**EVENTS, "source": {"path": str(FIXTURES / "events.xes.gz")}, "end_stages": ["办结"]}
    r = load_mapping(engine, write_mapping(tmp_path, "events.yaml", doc))
    assert (r.rows_read, r.rows_loaded, r.cases_derived) == (8, 6, 2)
    cases = local_table(engine, "cases", "case_id")
    assert cases.closed_at[0] == T("2024-03-05 11:00") and pd.isna(cases.closed_at[1])
    assert list(cases.status) == ["closed", "open"]


def test_timezone_converts_aware_timestamps(engine, tmp_path):
    load_mapping(engine, write_mapping(tmp_path, "events.yaml", {**EVENTS, "timezone": "Europe/Amsterdam"}))
    ev = table(engine, "case_events", "case_id,seq")
    assert ev.started_at[0] == T("2024-03-04 01:00")  # 09:00+08:00 = 01:00 UTC, whatever the mapping's zone
    assert local_table(engine, "case_events", "case_id,seq", tz="Europe/Amsterdam").started_at[0] == \
        T("2024-03-04 02:00")                          # = 02:00 CET


def test_csv_chinese_headers_types_pseudonyms_and_defaults(engine, tmp_path):
    (tmp_path / "cases.csv").write_bytes((FIXTURES / "cases.csv").read_text(encoding="utf-8").encode("utf-8-sig"))
    r = load_mapping(engine, write_mapping(tmp_path, "cases.yaml", CASES))
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_rejected) == ("loaded", 3, 3, 0)
    c = local_table(engine, "cases", "case_id")
    assert list(c.received_at) == [T("2024-03-01 09:00"), T("2024-03-02 10:15"), T("2024-03-03")]
    assert list(c.status) == ["closed", "open", "closed"] and list(c.channel) == ["window", "online", "online"]
    assert list(c.visits) == [1, 0, 0] and c.rating[0] == 5 and pd.isna(c.rating[1])
    assert (c.department == "不动产登记中心").all()
    assert c.applicant_key.str.fullmatch(r"[0-9a-f]{32}").all()
    assert not ID_OR_PHONE.search(all_text(engine))


def test_gb18030_petitions_pseudonymised_and_scrubbed(engine, tmp_path):
    shutil.copy(FIXTURES / "petitions_gb18030.csv", tmp_path / "petitions.csv")
    r = load_mapping(engine, write_mapping(tmp_path, "petitions.yaml", PETITIONS))
    assert (r.rows_loaded, r.rows_rejected) == (3, 0)
    p = local_table(engine, "petitions", "petition_id")
    assert p.petitioner_key[0] == p.petitioner_key[2] != p.petitioner_key[1]   # repeat petitioner still countable
    assert ID_TOKEN in p.summary[0] and PHONE_TOKEN in p.summary[0] and PHONE_TOKEN in p.summary[1]
    assert list(p.status) == ["closed", "open", "open"] and list(p.channel) == ["visit", "online", "letter"]
    assert not ID_OR_PHONE.search(all_text(engine))


def test_rejects_never_hold_clear_identifiers(engine, tmp_path):
    text = (FIXTURES / "petitions_gb18030.csv").read_bytes().decode("gb18030")
    text += "X4,不是日期,来访,征地补偿,青山镇,11010519491231002X,13812345678,电话13812345678 身份证11010519491231002X,\n"
    (tmp_path / "petitions.csv").write_bytes(text.encode("gb18030"))
    r = load_mapping(engine, write_mapping(tmp_path, "petitions.yaml", {**PETITIONS, "reject_threshold": 0.5}))
    assert (r.rows_loaded, r.rows_rejected) == (3, 1)
    rej = list_rejects(engine, r.batch_id)
    assert list(rej.row_number) == [5] and "received_at '不是日期' is not a date/time" in rej.reason[0]
    raw = json.loads(rej.raw[0])
    assert raw["petition_id"] == "X4" and len(raw["petitioner_key"]) == 32
    assert not ID_OR_PHONE.search(all_text(engine))


def test_xlsx_with_title_rows_and_sheet_by_name(engine, tmp_path):
    doc = {"dataset": "land_use",
           "source": {"path": str(FIXTURES / "land_use.xlsx"), "sheet": "地类面积", "header_row": 2},
           "columns": {"region_code": "行政区代码", "region_name": "行政区名称", "year": "年度",
                       "category_code": "地类编码", "area_ha": "面积（公顷）"}}
    r = load_mapping(engine, write_mapping(tmp_path, "lu.yaml", doc))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (4, 4, 0)
    lu = table(engine, "land_use", "region_code,year,category_code")
    assert list(lu.area_ha) == [1234.5, 2200.0, 987.25, 980.0] and list(lu.year) == [2022, 2022, 2022, 2023]
    assert list(lu.category_code) == ["01", "03", "01", "01"]
    doc["source"]["sheet"] = 0
    assert load_mapping(engine, write_mapping(tmp_path, "lu0.yaml", doc)).rows_loaded == 4


def test_second_load_is_skipped_and_force_adds_no_rows(engine, tmp_path):
    m = cases_mapping(tmp_path)
    first = load_mapping(engine, m)
    before = snapshot(engine)
    again = load_mapping(engine, m)
    assert again.status == "skipped" and again.batch_id > first.batch_id and "batch" in again.message
    forced = load_mapping(engine, m, force=True)
    assert forced.status == "loaded" and forced.rows_loaded == 3
    after = snapshot(engine)
    assert len(after["cases"]) == len(before["cases"]) == 3
    statuses = list_batches(engine)[["batch_id", "status"]].values.tolist()
    assert statuses == [[forced.batch_id, "loaded"], [again.batch_id, "skipped"], [first.batch_id, "loaded"]]


def test_modified_export_updates_rows_and_deletes_nothing(engine, tmp_path):
    load_mapping(engine, cases_mapping(tmp_path))
    lines = (FIXTURES / "cases.csv").read_text(encoding="utf-8").splitlines()
    header, a1, a2 = lines[0], lines[1], lines[2]
    a2 = a2.replace("2024/3/2 10:15,,在办", "2024/3/2 10:15,2024-03-10 12:00,办结")
    a4 = "A004,不动产登记,2024-03-09 09:00,,在办,窗口,青山镇,1,,,5"
    r = load_mapping(engine, cases_mapping(tmp_path, "\n".join([header, a1, a2, a4]) + "\n"))
    assert r.status == "loaded" and r.rows_loaded == 3
    c = local_table(engine, "cases", "case_id").set_index("case_id")
    assert list(c.index) == ["A001", "A002", "A003", "A004"]           # A003 is not in the new export: kept
    assert c.loc["A002", "status"] == "closed" and c.loc["A002", "closed_at"] == T("2024-03-10 12:00")
    assert c.loc["A002", "batch_id"] == r.batch_id and c.loc["A003", "batch_id"] == r.batch_id - 1


def test_newer_event_export_replaces_a_cases_events(engine, tmp_path):
    load_mapping(engine, write_mapping(tmp_path, "events.yaml", EVENTS))
    text = (FIXTURES / "events.xes").read_text(encoding="utf-8")
    trace2 = text.index("<trace>", text.index("<trace>") + 1)
    end = text.index("</log>")
    shorter = text[:trace2].replace('<string key="concept:name" value="审查"/>', '<string key="concept:name" value="复审"/>') + text[end:]
    (tmp_path / "events2.xes").write_text(shorter, encoding="utf-8")
    r = load_mapping(engine, write_mapping(tmp_path, "events.yaml", {**EVENTS, "source": {"path": "events2.xes"}}))
    assert (r.rows_loaded, r.cases_derived) == (3, 1)
    ev = local_table(engine, "case_events", "case_id,seq")
    assert list(ev[ev.case_id == "C1"].stage) == ["受理", "办结", "复审"]
    assert len(ev[ev.case_id == "C2"]) == 3                            # C2 not in the export: untouched


def test_derived_cases_do_not_overwrite_a_cases_export(engine, tmp_path):
    text = "办件编号,事项名称,受理时间,办结时间,办理状态,渠道,乡镇,跑动次数,评价,申请人身份证号,承诺时限\n" \
           "C1,不动产登记,2024-03-01 08:00,,在办,窗口,青山镇,1,,,5\n"
    load_mapping(engine, cases_mapping(tmp_path, text, defaults={}))
    load_mapping(engine, write_mapping(tmp_path, "events.yaml", EVENTS))
    c = local_table(engine, "cases", "case_id").set_index("case_id")
    assert c.loc["C1", "received_at"] == T("2024-03-01 08:00") and pd.isna(c.loc["C1", "closed_at"])
    assert c.loc["C1", "status"] == "open" and c.loc["C1", "channel"] == "window"     # the export wins
    assert c.loc["C1", "department"] == "登记科" and c.loc["C1", "township"] == "青山镇"  # nulls are filled
    assert c.loc["C2", "status"] == "closed"
    # a newer event log re-derives C2 (derived rows are not protected), C1 stays as exported
    load_mapping(engine, write_mapping(tmp_path, "events.yaml", {**EVENTS, "end_stages": ["办结"]}), force=True)
    c = local_table(engine, "cases", "case_id").set_index("case_id")
    assert c.loc["C2", "status"] == "open" and c.loc["C1", "status"] == "open"
    assert pd.isna(c.loc["C1", "closed_at"])


BAD_ROWS = """办件编号,事项名称,受理时间,办结时间,办理状态,渠道,乡镇,跑动次数,评价,申请人身份证号,承诺时限
B01,登记,2024-03-01,2024-03-02,办结,窗口,青山镇,0,5,,5
B02,登记,2024-03-05,2024-03-02,办结,窗口,青山镇,0,5,,5
B03,登记,2024-03-01,,在办,传真,青山镇,0,9,,5
B04,登记,,,在办,窗口,青山镇,-1,,,5
B05,登记,2099-01-01,,在办,窗口,青山镇,0,,,5
B06,登记,1900-01-01,,在办,窗口,青山镇,0,,,5
B07,登记,2024-03-01,,在办,窗口,青山镇,1.5,,,5
B01,登记,2024-03-01,,在办,窗口,青山镇,0,,,5
"""


def test_rejects_have_reasons_and_source_line_numbers(engine, tmp_path):
    r = load_mapping(engine, cases_mapping(tmp_path, BAD_ROWS, reject_threshold=1.0))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (8, 1, 7)
    rej = list_rejects(engine, r.batch_id).set_index("row_number")["reason"]
    assert list(rej.index) == [2, 3, 4, 5, 6, 7, 8]
    assert "duplicate key (case_id)" in rej[2]                     # the later B01 (line 9) is kept
    assert "closed_at is before received_at" in rej[3]
    assert "channel is not one of" in rej[4] and "rating is above 5" in rej[4]
    assert "received_at is missing" in rej[5] and "visits is below 0" in rej[5]
    assert "in the future" in rej[6] and "before 1949" in rej[7] and "is not a whole number" in rej[8]
    c = local_table(engine, "cases")
    assert list(c.case_id) == ["B01"] and c.status[0] == "open"


def test_too_many_rejects_fails_the_batch_and_loads_nothing(engine, tmp_path):
    load_mapping(engine, write_mapping(tmp_path, "events.yaml", EVENTS))
    before = snapshot(engine)
    with pytest.raises(LandDeskError, match=r"rejected 7 of 8 records .* nothing was loaded") as info:
        load_mapping(engine, cases_mapping(tmp_path, BAD_ROWS))
    assert snapshot(engine) == before
    failed = list_batches(engine).iloc[0]
    assert failed.status == "failed" and failed.rows_rejected == 7 and "threshold" in failed.message
    assert len(list_rejects(engine, int(failed.batch_id))) == 7
    assert info.value.result.status == "failed"


def test_unknown_cases_are_rejected_when_derivation_is_off(engine, tmp_path):
    load_mapping(engine, cases_mapping(tmp_path, "办件编号,受理时间\nC1,2024-03-01\n",
                                       columns={"case_id": "办件编号", "received_at": "受理时间"}, values={}))
    doc = {**EVENTS, "derive_cases": False, "reject_threshold": 1.0}
    doc.pop("case_columns"), doc.pop("values")
    r = load_mapping(engine, write_mapping(tmp_path, "events.yaml", doc))
    assert (r.rows_loaded, r.rows_rejected, r.cases_derived) == (3, 3, 0)
    assert list_rejects(engine, r.batch_id).reason.str.contains("not a known case").all()


def _truncated(tmp_path):
    data = (FIXTURES / "events.xes.gz").read_bytes()
    (tmp_path / "cut.xes.gz").write_bytes(data[: len(data) // 2])
    return {**EVENTS, "source": {"path": "cut.xes.gz"}}


BAD_INPUTS = {
    "malformed yaml": (lambda p: "dataset: cases\nsource: [unclosed\n", "YAML is malformed"),
    "unknown dataset": (lambda p: {**CASES, "dataset": "parcels"}, "unknown dataset 'parcels'"),
    "missing file": (lambda p: {**CASES, "source": {"path": "nowhere.csv"}}, "nowhere.csv .*does not exist"),
    "xlsx as csv": (lambda p: {**CASES, "source": {"path": str(FIXTURES / "land_use.xlsx"), "format": "csv"}},
                    "is an xlsx/zip file, not csv"),
    "csv as xlsx": (lambda p: {**CASES, "source": {"path": str(FIXTURES / "cases.csv"), "format": "xlsx"}},
                    "is not an xlsx workbook"),
    "wrong encoding": (lambda p: {**PETITIONS, "source": {"path": str(FIXTURES / "petitions_gb18030.csv"),
                                                          "encoding": "utf-8"}}, "cannot be decoded as utf-8"),
    "truncated gzip": (_truncated, "cut.xes.gz is a truncated or corrupt gzip file"),
    "not xes": (lambda p: {**EVENTS, "source": {"path": str(FIXTURES / "not_xes.xml"), "format": "xes"}},
                r"not an XES event log \(root element <rss>\)"),
    "missing column": (lambda p: {**CASES, "source": {"path": str(FIXTURES / "cases.csv")},
                                  "columns": {**CASES["columns"], "township": "镇街"}}, "has no column '镇街'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_sentence_and_leaves_the_store_unchanged(engine, tmp_path, case):
    load_mapping(engine, write_mapping(tmp_path, "events.yaml", EVENTS))
    before = snapshot(engine)
    make, pattern = BAD_INPUTS[case]
    doc = make(tmp_path)
    path = tmp_path / "bad.yaml"
    if isinstance(doc, str):
        path.write_text(doc, encoding="utf-8")
    else:
        write_mapping(tmp_path, "bad.yaml", doc)
    with pytest.raises(LandDeskError, match=pattern) as info:
        load_mapping(engine, path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert snapshot(engine) == before


def test_run_sources_loads_in_order_and_reports_failures(engine, tmp_path):
    shutil.copy(FIXTURES / "petitions_gb18030.csv", tmp_path / "petitions.csv")
    cases_mapping(tmp_path)
    write_mapping(tmp_path, "petitions.yaml", PETITIONS)
    write_mapping(tmp_path, "broken.yaml", {**CASES, "source": {"path": "gone.csv"}})
    (tmp_path / "sources.yaml").write_text("sources:\n  - cases.yaml\n  - broken.yaml\n  - petitions.yaml\n", encoding="utf-8")
    results = run_sources(engine, tmp_path / "sources.yaml")
    assert [r.status for r in results] == ["loaded", "failed", "loaded"]
    assert all(isinstance(r, BatchResult) for r in results) and "gone.csv" in results[1].message
    assert [r.status for r in run_sources(engine, tmp_path / "sources.yaml")] == ["skipped", "failed", "skipped"]


def test_sql_source_and_progress_bar(engine, tmp_path, capsys):
    from sqlalchemy import create_engine, text
    src = create_engine(f"sqlite:///{tmp_path / 'system.db'}")
    with src.begin() as conn:
        conn.execute(text("create table ts (code text, d text, workday int)"))
        conn.execute(text("insert into ts values ('a', '2025-01-26', 1), ('b', '2025-02-08', 1), ('c', '2025-10-01', 0)"))
    src.dispose()
    doc = {"dataset": "calendar", "source": {"url": f"sqlite:///{tmp_path / 'system.db'}", "query": "select * from ts"},
           "columns": {"date": "d", "is_workday": "workday", "note": "code"}}
    m = write_mapping(tmp_path, "cal.yaml", doc)
    r = load_mapping(engine, m, progress=True)
    assert (r.status, r.rows_loaded) == ("loaded", 3)
    cal = table(engine, "calendar", "date")
    assert list(cal.is_workday) == [True, True, False] and str(cal.date[0]) == "2025-01-26"
    assert load_mapping(engine, m).status == "skipped"


def test_a_write_that_breaks_midway_leaves_nothing(engine, tmp_path, monkeypatch):
    import etl.load as L
    from sqlalchemy.exc import OperationalError

    real = L.upsert

    def broken(conn, table, frame, *a, **k):
        if table.name == "case_events":   # cases were already written in this transaction
            raise OperationalError("insert", {}, Exception("disk I/O error"))
        return real(conn, table, frame, *a, **k)

    monkeypatch.setattr(L, "upsert", broken)
    with pytest.raises(LandDeskError, match="nothing was loaded: disk I/O error"):
        load_mapping(engine, write_mapping(tmp_path, "events.yaml", EVENTS))
    assert all(not rows for rows in snapshot(engine).values())
    assert list(list_batches(engine).status) == ["failed"]
