"""Unit tests of the ETL's pure parts: dates, privacy, mappings, extractors (no store)."""
from __future__ import annotations

import gzip

import pandas as pd
import pytest

from etl.extract import iter_xes, read_csv, read_xlsx
from etl.mapping import DEFAULT_REALDATA, Source, expand, read_mapping
from etl.privacy import ID_TOKEN, PHONE_TOKEN, pseudonym, pseudonymise, scrub, scrub_text
from etl.transform import parse_datetime
from etl_helpers import FIXTURES, write_mapping
from landdesk.errors import LandDeskError


def parse_local(series, tz, *args, **kwargs):
    """parse_datetime, its instants (naive UTC) read back as wall-clock times in `tz` (what these cases state)."""
    from etl_helpers import wall
    value, failed = parse_datetime(series, tz, *args, **kwargs)
    return wall(value, tz), failed


def test_parse_datetime_formats_and_timezones():
    s = pd.Series(["2024-03-05T14:02:00+08:00", "2011-10-11T13:45:40.276+02:00", "2024/3/5 14:02",
                   "2024年3月5日", "2024-03-05", "2024-3-5", "2024-03-05 06:02:00Z", "garbage", None, ""])
    value, failed = parse_local(s, "Asia/Shanghai")
    expected = ["2024-03-05 14:02", "2011-10-11 19:45:40.276", "2024-03-05 14:02", "2024-03-05", "2024-03-05",
                "2024-03-05", "2024-03-05 14:02"]
    assert list(value[:7]) == [pd.Timestamp(x) for x in expected]
    assert value[7:].isna().all()
    assert list(failed) == [False] * 7 + [True, False, False]


def test_parse_datetime_aware_to_other_timezone_and_naive_kept():
    value, _ = parse_local(pd.Series(["2024-07-01T12:00:00+08:00", "2024-07-01 12:00"]), "Europe/Amsterdam")
    assert list(value) == [pd.Timestamp("2024-07-01 06:00"), pd.Timestamp("2024-07-01 12:00")]


def test_scrub_text_ids_and_phones():
    text = "张三 身份证11010519491231002X 手机13812345678 座机0571-88123456 编号20240305001 面积1200公顷 +86 138-1234-5678"
    out = scrub_text(text)
    assert "11010519491231002X" not in out and "13812345678" not in out and "88123456" not in out
    assert out.count(ID_TOKEN) == 1 and out.count(PHONE_TOKEN) == 3
    assert "20240305001" in out and "1200公顷" in out
    assert list(scrub(pd.Series([text, None])))[1] is None


def test_pseudonym_is_stable_keyed_and_not_clear(monkeypatch):
    a = pseudonym("11010519491231002X")
    assert a == pseudonym(" 11010519491231002X ") and len(a) == 32 and "1101" not in a
    monkeypatch.setenv("LANDDESK_SECRET", "another-bureau")
    assert pseudonym("11010519491231002X") != a
    out = pseudonymise(pd.Series(["x", "x", None, ""]))
    assert out[0] == out[1] and out[2] is None and out[3] is None


def test_expand_realdata_default_and_unset_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("LANDDESK_REALDATA", raising=False)
    assert expand("${LANDDESK_REALDATA}/x", tmp_path) == f"{DEFAULT_REALDATA}/x"
    monkeypatch.setenv("LANDDESK_REALDATA", "/data/real")
    assert expand("${LANDDESK_REALDATA}/x", tmp_path) == "/data/real/x"
    monkeypatch.delenv("NO_SUCH_VAR_FOR_TEST", raising=False)
    with pytest.raises(LandDeskError, match="NO_SUCH_VAR_FOR_TEST is not set"):
        expand("$NO_SUCH_VAR_FOR_TEST/a.csv", tmp_path)


def test_mapping_defaults_and_checks(tmp_path):
    m = read_mapping(write_mapping(tmp_path, "m.yaml", {
        "dataset": "case_events", "source": {"path": str(FIXTURES / "events.xes.gz")},
        "columns": {"case_id": "case:concept:name", "stage": "concept:name", "completed_at": "time:timestamp"}}))
    assert m.source.format == "xes" and m.timezone == "Asia/Shanghai" and m.reject_threshold == 0.05
    with pytest.raises(LandDeskError, match="required column"):
        read_mapping(write_mapping(tmp_path, "m2.yaml", {"dataset": "cases", "source": "x.csv", "columns": {"case_id": "a"}}))
    with pytest.raises(LandDeskError, match="not a column of dataset cases"):
        read_mapping(write_mapping(tmp_path, "m3.yaml", {"dataset": "cases", "source": "x.csv",
                                                         "columns": {"case_id": "a", "received_at": "b", "colour": "c"}}))


def test_iter_xes_prefixes_trace_attributes():
    events = list(iter_xes(FIXTURES / "events.xes"))
    assert len(events) == 8
    assert events[0]["case:concept:name"] == "C1" and events[0]["concept:name"] == "受理"
    assert events[0]["lifecycle:transition"] == "start" and events[4]["case:channel"] == "窗口"


def test_csv_encodings_give_the_same_frame(tmp_path):
    text = (FIXTURES / "cases.csv").read_text(encoding="utf-8")
    frames = []
    for enc in ("utf-8", "utf-8-sig", "gb18030"):
        p = tmp_path / f"c_{enc}.csv"
        p.write_bytes(text.encode(enc))
        frames.append(read_csv(Source(format="csv", path=p)))
    for f in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], f)
    assert list(frames[0].columns[:2]) == ["办件编号", "事项名称"] and list(frames[0]["_row"]) == [2, 3, 4]


def test_csv_header_row_and_delimiter(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("青山县办件统计\n导出时间 2024-03-01\n编号;日期\nA;2024-03-01\n\nB;2024-03-02\n", encoding="utf-8")
    f = read_csv(Source(format="csv", path=p, header_row=2, delimiter=";"))
    assert list(f["编号"]) == ["A", "B"] and list(f["_row"]) == [4, 6]


def test_truncated_gzip_is_an_error(tmp_path):
    data = gzip.compress((FIXTURES / "events.xes").read_bytes() * 3)
    p = tmp_path / "cut.xes.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(LandDeskError, match="truncated or corrupt gzip"):
        list(iter_xes(p))


def test_parse_datetime_more_formats_auto_detected():
    s = pd.Series(["45356", "45356.75", "3/5/2024 2:14:00 PM", "12/31/2017 11:59:58 PM", "2024年3月5日 14时02分",
                   "20240305", "2024.3.5", "2024-03-05T14:02:00-05:00", "下午 2:30", "12:00:00 AM"])
    value, failed = parse_local(s, "Asia/Shanghai")
    assert value[0] == pd.Timestamp("2024-03-05") and value[1] == pd.Timestamp("2024-03-05 18:00")   # Excel serials
    assert value[2] == pd.Timestamp("2024-03-05 14:14") and value[3] == pd.Timestamp("2017-12-31 23:59:58")
    assert value[4] == pd.Timestamp("2024-03-05 14:02") and value[5] == pd.Timestamp("2024-03-05")
    assert value[6] == pd.Timestamp("2024-03-05") and value[7] == pd.Timestamp("2024-03-06 03:02")
    assert list(failed) == [False] * 8 + [True, True]               # a time without a date is not a date/time


def test_parse_datetime_day_first_by_data_option_or_dots():
    us = parse_local(pd.Series(["3/5/2024", "12/6/2024"]), "Asia/Shanghai")[0]
    assert list(us) == [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-12-06")]
    by_data = parse_local(pd.Series(["3/5/2024", "25/6/2024"]), "Asia/Shanghai")[0]   # 25 > 12: day first
    assert list(by_data) == [pd.Timestamp("2024-05-03"), pd.Timestamp("2024-06-25")]
    forced = parse_local(pd.Series(["3/5/2024"]), "Asia/Shanghai", dayfirst=True)[0]
    assert forced[0] == pd.Timestamp("2024-05-03")
    assert parse_local(pd.Series(["05.03.2024"]), "UTC")[0][0] == pd.Timestamp("2024-03-05")


def test_parse_datetime_explicit_formats():
    v, f = parse_local(pd.Series(["12/31/2017 11:59:58 PM", "2017-12-31 23:59:58"]), "UTC", "%m/%d/%Y %I:%M:%S %p")
    assert v[0] == pd.Timestamp("2017-12-31 23:59:58") and list(f) == [False, True]   # strict: ISO is not that format
    v, f = parse_local(pd.Series(["60", "45356"]), "UTC", "excel")
    assert v[1] == pd.Timestamp("2024-03-05") and not f.any()
    v, _ = parse_local(pd.Series(["2024-03-05 08:00 +0000"]), "Asia/Shanghai", "%Y-%m-%d %H:%M %z")
    assert v[0] == pd.Timestamp("2024-03-05 16:00")


def test_mapping_date_options_are_checked(tmp_path):
    base = {"dataset": "petitions", "source": "x.csv", "columns": {"petition_id": "a", "received_at": "b"}}
    m = read_mapping(write_mapping(tmp_path, "a.yaml", {**base, "date_formats": {"received_at": "%d.%m.%Y"},
                                                        "dayfirst": True}))
    assert m.date_formats == {"received_at": "%d.%m.%Y"} and m.dayfirst is True and m.source.delimiter == "auto"
    with pytest.raises(LandDeskError, match="neither a strftime pattern"):
        read_mapping(write_mapping(tmp_path, "b.yaml", {**base, "date_formats": {"received_at": "dd.mm.yyyy"}}))
    with pytest.raises(LandDeskError, match="does not map"):
        read_mapping(write_mapping(tmp_path, "c.yaml", {**base, "date_formats": {"closed_at": "iso"}}))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_line_endings_delimiters_and_embedded_newlines(tmp_path, newline, sep):
    rows = [["编号", "摘要", "日期"], ["A", "第一行\n第二行", "2024-03-01"], ["B", f"含{sep}分隔符", "2024-03-02"],
            ["C", "普通", "2024-03-03"]]
    text = newline.join(sep.join(f'"{c}"' if ("\n" in c or sep in c) else c for c in r) for r in rows) + newline
    p = tmp_path / "t.csv"
    p.write_bytes(text.encode("utf-8"))
    f = read_csv(Source(format="csv", path=p))
    assert list(f["编号"]) == ["A", "B", "C"] and f["摘要"][0] == "第一行\n第二行" and f["摘要"][1] == f"含{sep}分隔符"
    assert list(f["_row"]) == [2, 3, 4]            # record numbers, not physical lines


def test_xlsx_header_found_by_mapped_names_and_serial_dates(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["青山县 2024 年办件统计"])
    ws.append([])
    ws.append(["编号", "受理日期"])
    ws.append(["A1", 45356])                       # an Excel serial date typed as a plain number
    ws.append(["A2", "2024年3月6日"])
    wb.save(tmp_path / "t.xlsx")
    f = read_xlsx(Source(format="xlsx", path=tmp_path / "t.xlsx"), want={"编号", "受理日期"})
    assert list(f["编号"]) == ["A1", "A2"] and list(f["_row"]) == [4, 5]
    value, failed = parse_local(f["受理日期"], "Asia/Shanghai")
    assert list(value) == [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-03-06")] and not failed.any()


def test_rejects_by_reason_groups_rules_with_examples(sqlite_engine, tmp_path):
    from etl.load import load_mapping
    from etl.quality import rejects_by_reason, rule
    assert rule("visits '两次' is not a whole number") == "visits … is not a whole number"
    assert rule("rating is above 5 (got '7')") == "rating is above 5"
    text = "编号,受理时间,跑动次数\n" + "".join(
        [f"G{i},2024-03-01,1\n" for i in range(20)] + ["B1,bad,1\n", "B2,2024-03-01,两次\n", "B3,worse,三次\n"])
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    doc = {"dataset": "cases", "source": "c.csv", "columns": {"case_id": "编号", "received_at": "受理时间", "visits": "跑动次数"},
           "reject_threshold": 0.5}
    r = load_mapping(sqlite_engine, write_mapping(tmp_path, "c.yaml", doc))
    q = rejects_by_reason(sqlite_engine)
    assert list(q.columns) == ["batch_id", "mapping", "reason", "count", "records", "share", "example_rows"]
    got = {row.reason: (row.count, row.example_rows, round(row.share, 3)) for row in q.itertuples()}
    assert got == {"received_at … is not a date/time": (2, "22, 24", 0.667), "visits … is not a whole number": (2, "23, 24", 0.667)}
    assert (q.batch_id == r.batch_id).all() and (q.mapping == "c.yaml").all()
    assert rejects_by_reason(sqlite_engine, batch_id=r.batch_id + 99).empty
