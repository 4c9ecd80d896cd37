"""Fuzzing the mapping loader (issue 16): the sample county's mappings and source exports, mutated by hypothesis
(columns dropped or renamed, values garbled, huge / negative numbers, odd timestamps, truncated or empty files,
wrong encodings, bad YAML, wrong types in the mapping), loaded through the real CLI (`landdesk etl load`,
in-process). Whatever the input: never a traceback or an internal error — a load either succeeds (possibly with
rejects) or is refused with one sentence and a non-zero exit, and a refused load leaves the store's data as it
was (only a failed batch row is recorded)."""
from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings, strategies as st

from cli.main import main as cli
from etl.store import make_engine, upgrade
from landdesk.resources import SAMPLE_DIR
from etl_helpers import snapshot, table

ROWS = 25
#: mapping file → (its source's encoding in the sample), the CSV sources of the sample county
SOURCES = {"approval_cases.yaml": "utf-8-sig", "petitions.yaml": "gb18030", "land_supply.yaml": "utf-8-sig",
           "targets.yaml": "utf-8-sig"}

ODD_VALUES = st.sampled_from([
    "", " ", "NA", "null", "-", "1e309", "-1e309", "NaN", "inf", "-5", "-99999999999999999999", "99999999999999999999",
    "3.5", "0", "１２", "2024-13-45", "2024-02-30 25:61:00", "0000-00-00", "9999-12-31 23:59:59", "1900-01-01",
    "2024/3/5 下午 13:00", "45356.5", "20240305", "12:00 AM", "2024-03-10 02:30:00+25:00", "2024-03-05T14:02:00Z",
    "1/2/3/4", "2030-01-01", "＝1+1", "=cmd|' /C calc'!A0", "<b>x</b>", "'; DROP TABLE cases; --", "\x00", "a\nb",
    '"', "是", "满意", "窗口", "已办结", "9" * 500,
])
TEXT = st.one_of(ODD_VALUES, st.text(max_size=30))


def _sample_rows(mapping: str) -> tuple[dict, list[list[str]]]:
    """(the mapping as a dict, the first ROWS records of its CSV source as rows with the header first)."""
    doc = yaml.safe_load((SAMPLE_DIR / "mappings" / mapping).read_text(encoding="utf-8"))
    path = (SAMPLE_DIR / "mappings" / doc["source"]["path"]).resolve()
    text = path.read_bytes().decode(SOURCES[mapping])
    rows = list(csv.reader(io.StringIO(text)))[:ROWS + 1]
    return doc, rows


@st.composite
def mutated(draw):
    """One mutated (mapping text, source bytes) pair of a sample CSV source."""
    name = draw(st.sampled_from(sorted(SOURCES)))
    doc, rows = _sample_rows(name)
    rows = [list(r) for r in rows]
    width = len(rows[0])
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["drop", "rename", "garble", "garble", "garble", "dupe", "short", "long"]))
        if op == "drop" and width > 1:
            i = draw(st.integers(0, width - 1))
            rows = [r[:i] + r[i + 1:] for r in rows]
            width -= 1
        elif op == "rename":
            rows[0][draw(st.integers(0, width - 1))] = draw(TEXT)
        elif op == "garble" and len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1)) if rows[r] else 0
            if rows[r]:
                rows[r][c] = draw(TEXT)
        elif op == "dupe" and len(rows) > 1:
            rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
        elif op == "short" and len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            rows[r] = rows[r][:draw(st.integers(0, len(rows[r])))]
        elif op == "long" and len(rows) > 1:
            rows[draw(st.integers(1, len(rows) - 1))].append(draw(TEXT))
    buf = io.StringIO()
    csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1", "big5"]))
    data = buf.getvalue().encode(encoding, errors="replace")
    cut = draw(st.sampled_from(["whole", "whole", "whole", "truncate", "empty", "header"]))
    if cut == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif cut == "empty":
        data = b""
    elif cut == "header":
        data = data.split(b"\n")[0]
    doc = dict(doc)
    doc["source"] = {**doc["source"], "path": "source.csv"}
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["unmap", "threshold", "timezone", "dataset", "columns", "values", "encoding",
                                   "defaults", "formats"]))
        if op == "unmap" and doc.get("columns"):
            cols = dict(doc["columns"])
            cols.pop(draw(st.sampled_from(sorted(cols))))
            doc["columns"] = cols
        elif op == "threshold":
            doc["reject_threshold"] = draw(st.sampled_from(["abc", -1, 5, 1e309, None, 0, [1]]))
        elif op == "timezone":
            doc["timezone"] = draw(st.sampled_from(["Mars/Base", 5, "", "UTC", "Europe/Rome", None]))
        elif op == "dataset":
            doc["dataset"] = draw(st.sampled_from(["nonsense", 3, None, "cases", "case_events", "land_use"]))
        elif op == "columns":
            doc["columns"] = draw(st.sampled_from([["a", "b"], "x", None, {}, {"case_id": 5}, {"nope": "办件编号"}]))
        elif op == "values":
            doc["values"] = draw(st.sampled_from([3, ["x"], {"channel": "window"}, {"channel": {None: None}}]))
        elif op == "encoding":
            doc["source"] = {**doc["source"], "encoding": draw(st.sampled_from(["klingon", "utf-8", "gb18030",
                                                                                 "ascii", 7]))}
        elif op == "defaults":
            doc["defaults"] = draw(st.sampled_from([{"township": ["a"]}, "x", {"visits": -3}, {"rating": 99}]))
        elif op == "formats":
            doc["date_formats"] = draw(st.sampled_from([{"*": "%Q"}, {"received_at": "excel"}, "iso", {"*": 5}]))
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    yaml_cut = draw(st.sampled_from(["ok"] * 6 + ["bad", "empty", "truncate", "binary"]))
    if yaml_cut == "bad":
        text = text + "\ncolumns: [unclosed\n\t- : :"
    elif yaml_cut == "empty":
        text = ""
    elif yaml_cut == "truncate":
        text = text[:draw(st.integers(0, len(text)))]
    mapping_bytes = b"\xff\xfe\x00garbage" if yaml_cut == "binary" else text.encode("utf-8")
    return name, mapping_bytes, data


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for all examples, holding the sample county's cases (so event and petition checks have
    something to compare with)."""
    path = tmp_path_factory.mktemp("fuzz") / "store.db"
    url = f"sqlite:///{path.as_posix()}"
    engine = make_engine(url)
    upgrade(engine)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli(["etl", "load", str(SAMPLE_DIR / "mappings" / "targets.yaml"), "--db", url, "--quiet"]) == 0
    yield engine, url
    engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=mutated())
def test_mutated_sample_sources_load_or_are_refused_cleanly(store, case):
    engine, url = store
    name, mapping_bytes, data = case
    folder = Path(tempfile.mkdtemp(prefix="fuzz"))
    try:
        (folder / "source.csv").write_bytes(data)
        (folder / name).write_bytes(mapping_bytes)
        before = snapshot(engine)
        batches_before = len(table(engine, "etl_batches"))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli(["etl", "load", str(folder / name), "--db", url, "--quiet", "--force"])
        message = err.getvalue()
        event("loaded" if code == 0 else "refused")
        assert "Traceback" not in message and "internal error" not in message, message
        batches = table(engine, "etl_batches", "batch_id").iloc[batches_before:]
        if code == 0:
            assert list(batches["status"]) == ["loaded"] and "loaded" in out.getvalue()
            assert int(batches["rows_loaded"].iloc[0]) >= 1
        else:
            assert code == 2
            lines = [ln for ln in message.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("landdesk: "), message
            assert snapshot(engine) == before                        # nothing stored, nothing half-written
            assert set(batches["status"]) <= {"failed"}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
