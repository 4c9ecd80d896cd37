"""Unit tests of the ETL's pure parts: dates, privacy, mappings, extractors (no store)."""
from __future__ import annotations

import gzip

import pandas as pd
import pytest

from etl.extract import iter_xes, read_csv
from etl.mapping import DEFAULT_REALDATA, Source, expand, read_mapping
from etl.privacy import ID_TOKEN, PHONE_TOKEN, pseudonym, pseudonymise, scrub, scrub_text
from etl.transform import parse_datetime
from etl_helpers import FIXTURES, write_mapping
from landdesk.config import LandDeskError


def test_parse_datetime_formats_and_timezones():
    s = pd.Series(["2024-03-05T14:02:00+08:00", "2011-10-11T13:45:40.276+02:00", "2024/3/5 14:02",
                   "2024年3月5日", "2024-03-05", "2024-3-5", "2024-03-05 06:02:00Z", "garbage", None, ""])
    value, failed = parse_datetime(s, "Asia/Shanghai")
    expected = ["2024-03-05 14:02", "2011-10-11 19:45:40.276", "2024-03-05 14:02", "2024-03-05", "2024-03-05",
                "2024-03-05", "2024-03-05 14:02"]
    assert list(value[:7]) == [pd.Timestamp(x) for x in expected]
    assert value[7:].isna().all()
    assert list(failed) == [False] * 7 + [True, False, False]


def test_parse_datetime_aware_to_other_timezone_and_naive_kept():
    value, _ = parse_datetime(pd.Series(["2024-07-01T12:00:00+08:00", "2024-07-01 12:00"]), "Europe/Amsterdam")
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
