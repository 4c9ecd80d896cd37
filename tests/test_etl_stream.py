"""Streaming loads (issue 16): a source of more records than the chunk size is read and processed in chunks,
still as one transaction — and stores exactly what a one-chunk load stores (rows, rejects, batch counts)."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from etl import schema as S
from etl.load import LoadError, load_mapping, run_sources
from etl.store import make_engine, upgrade
from landdesk.errors import LandDeskError
from landdesk.resources import SAMPLE_DIR
from etl_helpers import snapshot, table, write_mapping

BATCH_COLUMNS = ["status", "dataset", "rows_read", "rows_loaded", "rows_rejected", "rows_updated", "message"]


def _fresh_sqlite(tmp_path, name):
    engine = make_engine(f"sqlite:///{(tmp_path / name).as_posix()}")
    upgrade(engine)
    return engine


def _batches(engine) -> list[tuple]:
    frame = table(engine, "etl_batches", "batch_id")
    return [tuple(r) for r in frame[BATCH_COLUMNS].astype(object).where(frame[BATCH_COLUMNS].notna(), None)
            .itertuples(index=False)]


def _rejects(engine) -> list[tuple]:
    """Rejects by the ordinal of their batch (PostgreSQL's sequence keeps the id a rolled-back batch took)."""
    frame = table(engine, "etl_rejects")
    ordinal = {b: i + 1 for i, b in enumerate(table(engine, "etl_batches", "batch_id")["batch_id"])}
    return sorted((ordinal[b], int(r), reason, raw) for b, r, reason, raw in
                  zip(frame["batch_id"], frame["row_number"], frame["reason"], frame["raw"]))


def _state(engine):
    return snapshot(engine), _batches(engine), _rejects(engine)


def _copy_sample(tmp_path):
    """The sample county's sources and mappings, copied so each store's batches name the same files."""
    shutil.copytree(SAMPLE_DIR / "mappings", tmp_path / "sample" / "mappings", ignore=shutil.ignore_patterns("real"))
    shutil.copytree(SAMPLE_DIR / "exports", tmp_path / "sample" / "exports")
    shutil.copytree(SAMPLE_DIR / "reference", tmp_path / "sample" / "reference")    # the statutory processes
    shutil.copy(SAMPLE_DIR / "sources.yaml", tmp_path / "sample" / "sources.yaml")
    return tmp_path / "sample" / "sources.yaml"


def test_the_sample_county_loaded_in_chunks_is_the_one_chunk_store(engine, tmp_path, monkeypatch):
    """Every sample source (a CSV of cases, an XES log with lifecycle pairs, GB18030 petitions …) loaded in chunks
    of 2500 records (SQLite and PostgreSQL) equals the same sources loaded whole."""
    sources = _copy_sample(tmp_path)
    whole = _fresh_sqlite(tmp_path, "whole.db")
    results = run_sources(whole, sources)
    assert len(results) >= 6 and [r.status for r in results] == ["loaded"] * len(results)   # every sample source
    monkeypatch.setenv("LANDDESK_ETL_CHUNK_ROWS", "2500")
    chunked = run_sources(engine, sources)
    assert [r.status for r in chunked] == ["loaded"] * len(results)
    assert [(r.rows_read, r.rows_loaded, r.rows_rejected, r.cases_derived) for r in chunked] == \
        [(r.rows_read, r.rows_loaded, r.rows_rejected, r.cases_derived) for r in results]
    assert results[0].rows_read > 2500 and results[1].rows_read > 2500     # really several chunks
    assert _state(engine) == _state(whole)


CASE_HEADER = "办件编号,事项,受理时间,办结时间,渠道,评价\n"


def _cases_csv(path, n: int, bad: set[int] = frozenset(), dupes: dict[int, int] | None = None, tail: str = ""):
    """A cases CSV of n records; rows in `bad` have an impossible rating, `dupes` maps a record to an earlier
    record whose id it repeats (a later state of that case)."""
    dupes = dupes or {}
    lines = [CASE_HEADER]
    for i in range(n):
        cid = f"C{dupes.get(i, i):05d}"
        rating = "9" if i in bad else str(1 + i % 5)
        lines.append(f"{cid},不动产登记,2025-03-{1 + i % 28:02d} 09:00,2025-04-{1 + i % 28:02d} 17:30,"
                     f"{'网上' if i % 2 else '窗口'},{rating}\n")
    path.write_text("".join(lines) + tail, encoding="gb18030")
    return path


def _cases_mapping(tmp_path, source, threshold=0.5):
    return write_mapping(tmp_path, "cases.yaml", {
        "dataset": "cases", "source": {"path": source.name, "encoding": "auto"},
        "columns": {"case_id": "办件编号", "service_item": "事项", "received_at": "受理时间", "closed_at": "办结时间",
                    "channel": "渠道", "rating": "评价"},
        "values": {"channel": {"网上": "online", "窗口": "window"}},
        "reject_threshold": threshold, "timezone": "Asia/Shanghai"})


def test_a_rejected_row_in_a_middle_chunk_and_duplicates_across_chunks_match_a_one_chunk_load(engine, tmp_path):
    """Chunks of 4 records: a rejected record in the middle, ids repeated across chunk boundaries (the later
    record wins, the earlier is rejected, also when the later one is itself rejected), a reload updating
    every case: rows, rejects and batch counts as in a one-chunk load."""
    src = _cases_csv(tmp_path / "cases.csv", 23, bad={9, 17}, dupes={14: 2, 17: 5, 22: 21})
    mapping = _cases_mapping(tmp_path, src)
    whole = _fresh_sqlite(tmp_path, "whole.db")
    for eng, chunk in ((whole, None), (engine, 4)):
        first = load_mapping(eng, mapping, chunk_rows=chunk)
        assert (first.rows_read, first.rows_loaded, first.rows_rejected) == (23, 23 - 5, 5)
        again = load_mapping(eng, mapping, chunk_rows=chunk, force=True)
        assert again.rows_loaded == 18
    assert _state(engine) == _state(whole)
    rejected = {r for _, r, _, _ in _rejects(engine)}
    assert rejected == {2 + 9, 2 + 17, 2 + 2, 2 + 5, 2 + 21}       # CSV record numbers: header is record 1
    updated = [b[5] for b in _batches(engine)]
    assert updated == [0, 18]


def test_a_failure_in_a_late_chunk_rolls_back_everything(engine, tmp_path):
    """A malformed record in the last chunk of a streamed CSV: the load fails with one sentence after earlier
    chunks were staged and processed, and the store is as it was (a failed batch row only)."""
    good = _cases_csv(tmp_path / "first.csv", 10)
    load_mapping(engine, _cases_mapping(tmp_path, good))
    before = _state(engine)
    src = _cases_csv(tmp_path / "cases.csv", 40, tail='C99999,"不动产登记,2025-03-01 09:00\n')
    with pytest.raises(LoadError) as err:
        load_mapping(engine, _cases_mapping(tmp_path, src), chunk_rows=4)
    assert isinstance(err.value, LandDeskError) and "not a well-formed CSV" in str(err.value)
    data, batches, rejects = _state(engine)
    assert data == before[0] and rejects == before[2]
    assert batches[:-1] == before[1] and batches[-1][0] == "failed"


def test_a_streamed_load_over_the_reject_threshold_stores_nothing_but_its_rejects(engine, tmp_path):
    """More rejects than the threshold allows, spread over chunks: nothing stored, the failed batch keeps every
    reject (as a one-chunk load does), the sentence names the first rejected row."""
    src = _cases_csv(tmp_path / "cases.csv", 30, bad=set(range(3, 30, 2)))
    whole = _fresh_sqlite(tmp_path, "whole.db")
    messages = []
    for eng, chunk in ((whole, None), (engine, 4)):
        with pytest.raises(LoadError) as err:
            load_mapping(eng, _cases_mapping(tmp_path, src, threshold=0.2), chunk_rows=chunk)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "first: row 5:" in messages[0]
    assert _state(engine) == _state(whole)
    assert _rejects(engine) and not table(engine, "cases").shape[0]


def test_a_streamed_event_log_orders_cases_and_derives_them_across_chunks(engine, tmp_path):
    """A CSV event log whose cases are scattered over the file (each case's events in several chunks, a
    start/complete pair split by a chunk boundary, equal timestamps kept in source order): the same events,
    seq numbers and derived cases as one chunk."""
    lines = ["case,stage,time,life,who\n"]
    for i in range(60):
        case, step = f"K{i % 7}", i // 7
        done = "2025-05-20 10:00" if step % 4 == 0 else f"2025-05-{1 + step:02d} 1{step % 9}:30"
        lines.append(f"{case},S{step},2025-05-{1 + step:02d} 10:00,start,h{i % 4}\n")
        lines.append(f"{case},S{step},{done},complete,h{i % 4}\n")
    (tmp_path / "events.csv").write_text("".join(lines), encoding="utf-8")
    mapping = write_mapping(tmp_path, "events.yaml", {
        "dataset": "case_events", "source": {"path": "events.csv"},
        "columns": {"case_id": "case", "stage": "stage", "completed_at": "time", "lifecycle": "life",
                    "handler_key": "who"},
        "derive_cases": True, "timezone": "Asia/Shanghai"})
    whole = _fresh_sqlite(tmp_path, "whole.db")
    a = load_mapping(whole, mapping)
    b = load_mapping(engine, mapping, chunk_rows=5)
    assert (a.rows_read, a.rows_loaded, a.cases_derived) == (b.rows_read, b.rows_loaded, b.cases_derived) == (120, 60, 7)
    assert _state(engine) == _state(whole)
    with engine.connect() as conn:
        seqs = conn.execute(select(S.case_events.c.case_id, S.case_events.c.seq)).all()
    assert sorted(seqs) == sorted((f"K{c}", s) for c in range(7) for s in range(1, 1 + sum(
        1 for i in range(60) if i % 7 == c)))


def test_the_chunk_size_setting_is_read_and_checked(monkeypatch):
    from landdesk import settings as LS
    monkeypatch.setenv("LANDDESK_ETL_CHUNK_ROWS", "50_000")
    assert LS.etl_chunk_rows() == 50_000
    monkeypatch.setenv("LANDDESK_ETL_CHUNK_ROWS", "-3")
    with pytest.raises(LandDeskError, match="LANDDESK_ETL_CHUNK_ROWS"):
        LS.etl_chunk_rows()
    monkeypatch.delenv("LANDDESK_ETL_CHUNK_ROWS")
    assert LS.etl_chunk_rows() == LS.ETL_CHUNK_ROWS
