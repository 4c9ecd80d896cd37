"""Load: run one mapping end to end (extract → map → validate → upsert) as one store transaction.

A batch's etl_batches row is written as 'running' and set to 'loaded' in the same transaction
as its data, so an interrupted load leaves nothing behind. Failures are recorded as a 'failed'
batch in their own small transaction and raised as one LandDeskError sentence.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, case as sql_case, func, insert, literal_column, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl import marts, schema as S
from etl.extract import ROW, check_source_file, iter_extract, source_sha256
from etl.mapping import Mapping, read_mapping
from etl.staging import Spool, Stage
from etl.store import ensure_ready, id_chunk, id_in
from etl.transform import CASE_PREFIX, assign_seq, derive_cases, to_canonical
from etl.validate import validate
from landdesk.errors import LandDeskError
from etl.batchresult import RECORD_NOUNS, BatchResult, other_mappings_note  # noqa: F401 (BatchResult re-exported)
from landdesk.settings import etl_chunk_rows, utc_now

CHUNK_ROWS = 5000
BULK_ROWS = 50_000
BULK_INDEX_ROWS = 50_000
ANALYZE_ROWS = 1000


class LoadError(LandDeskError):
    """A failed load; `result` is the failed BatchResult."""

    def __init__(self, message: str, result: BatchResult):
        super().__init__(message)
        self.result = result


def _now() -> datetime:
    return utc_now()


def _insert_fn(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def records(frame: pd.DataFrame, table) -> list[dict]:
    """Plain-Python dicts (None for nulls, date for Date columns) ready for executemany."""
    cols = {}
    for name in frame.columns:
        s = frame[name]
        col = table.c[name]
        if isinstance(col.type, Date):
            vals = [None if pd.isna(v) else v.date() for v in s]
        elif pd.api.types.is_datetime64_any_dtype(s):
            vals = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        else:
            vals = [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v
                    for v in s.astype(object).tolist()]
        cols[name] = vals
    names = list(cols)
    return [dict(zip(names, row)) for row in zip(*cols.values())]


def _timestamps(series: pd.Series, date_only: bool) -> list:
    """Datetimes as the text SQLAlchemy stores in SQLite (and PostgreSQL COPY reads): fast, C-level."""
    arr = series.to_numpy(dtype="datetime64[us]")
    if date_only:
        text = np.datetime_as_string(arr, unit="D")
        return [None if t == "NaT" else t for t in text.tolist()]
    text = np.datetime_as_string(arr, unit="us")
    return [None if t == "NaT" else t.replace("T", " ", 1) for t in text.tolist()]


def db_columns(frame: pd.DataFrame, table, dialect: str) -> list[list]:
    """Each column of `frame` as a list of DBAPI-ready values (None for nulls), in frame order.

    Datetimes become 'YYYY-MM-DD HH:MM:SS.ffffff' text (SQLAlchemy's SQLite storage format, and a
    literal PostgreSQL parses), dates 'YYYY-MM-DD', booleans 0/1 on SQLite.
    """
    out = []
    for name in frame.columns:
        s = frame[name]
        kind = table.c[name].type
        if isinstance(kind, (Date, DateTime)) or pd.api.types.is_datetime64_any_dtype(s):
            if not pd.api.types.is_datetime64_any_dtype(s):
                s = pd.to_datetime(s, errors="coerce")
            vals = _timestamps(s, isinstance(kind, Date))
        elif isinstance(kind, Boolean):
            vals = [None if v is None or v is pd.NA else (int(bool(v)) if dialect == "sqlite" else bool(v))
                    for v in s.astype(object).tolist()]
        elif isinstance(kind, Integer):
            num = pd.to_numeric(s, errors="coerce").astype("Int64")
            vals = num.astype(object).where(num.notna(), None).tolist()
        elif isinstance(kind, Float):
            num = pd.to_numeric(s, errors="coerce").astype("float64")
            vals = num.astype(object).where(num.notna(), None).tolist()
        else:
            obj = s.astype(object)
            vals = obj.where(obj.notna(), None).tolist()
        out.append(vals)
    return out


def _chunks(seq: list, size: int):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, leave=False, disable=None)


def _upsert_statement(conn: Connection, table, columns: list[str], keys: tuple[str, ...], set_expr: dict | None):
    ins = _insert_fn(conn)(table)
    updates = set_expr if set_expr is not None else {c: ins.excluded[c] for c in columns if c not in keys}
    if updates:
        return ins.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return ins.on_conflict_do_nothing(index_elements=list(keys))


def upsert(conn: Connection, table, frame: pd.DataFrame, keys: tuple[str, ...], set_expr: dict | None = None,
           bar=None, fresh: bool = False) -> int:
    """INSERT … ON CONFLICT (keys) DO UPDATE of the frame's columns; returns rows written.

    SQLite: one prepared statement, executemany on the raw DBAPI cursor in chunks (a big load
    into a table smaller than itself drops the table's plain secondary indexes and rebuilds them
    afterwards, in the same transaction). PostgreSQL: COPY into a temporary staging table, then
    one INSERT … SELECT … ON CONFLICT DO UPDATE. Both run inside the caller's transaction (the
    batch's), so a failure or a kill leaves nothing behind. `fresh` says no stored row can have
    these keys (e.g. a case's events after they were deleted): a plain INSERT / direct COPY.
    """
    if frame.empty:
        return 0
    columns = [str(c) for c in frame.columns]
    dialect = conn.dialect.name
    n = len(frame)
    if dialect == "postgresql":
        return _pg_upsert(conn, table, frame, columns, keys, set_expr, bar, n, fresh)
    stmt = insert(table) if fresh else _upsert_statement(conn, table, columns, keys, set_expr)
    compiled = stmt.compile(dialect=conn.dialect, column_keys=columns)
    sql = str(compiled)
    order = [columns.index(name) for name in compiled.positiontup]
    cursor = conn.connection.driver_connection.cursor()
    rebuilt = _drop_indexes_for_bulk(cursor, table.name, n)
    try:
        for lo in range(0, n, BULK_ROWS):
            hi = min(lo + BULK_ROWS, n)
            values = db_columns(frame.iloc[lo:hi], table, dialect)
            cursor.executemany(sql, zip(*[values[i] for i in order]))
            del values
            if bar is not None:
                bar.update(hi - lo)
        for create in rebuilt:
            cursor.execute(create)
    finally:
        cursor.close()
    return n


def _drop_indexes_for_bulk(cursor, table: str, n: int) -> list[str]:
    """SQLite: when `n` new rows outnumber the table's rows (and are many), drop its plain
    (non-unique) indexes and return their CREATE statements: building an index once after the
    insert is several times faster than keeping it up to date row by row. DDL is transactional
    in SQLite, so a failed or killed load restores them with everything else."""
    if n < BULK_INDEX_ROWS:
        return []
    existing = cursor.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT {n})').fetchone()[0]
    if existing >= n:
        return []
    rows = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                          "AND sql IS NOT NULL", (table,)).fetchall()
    creates = []
    for name, sql in rows:
        if "UNIQUE" in sql.upper().split("ON", 1)[0]:
            continue
        cursor.execute(f'DROP INDEX "{name}"')
        creates.append(sql)
    return creates


def _pg_upsert(conn: Connection, table, frame: pd.DataFrame, columns: list[str], keys, set_expr, bar, n: int,
               fresh: bool = False) -> int:
    from sqlalchemy import column as sql_column, select as sql_select, table as sql_table

    stage = f"_landdesk_stage_{table.name}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    try:
        rebuild = _pg_drop_for_bulk(cursor, table.name, n)
        if not fresh:
            cursor.execute(f'DROP TABLE IF EXISTS "{stage}"')
            cursor.execute(f'CREATE TEMP TABLE "{stage}" ON COMMIT DROP AS SELECT {quoted} FROM "{table.name}" WITH NO DATA')
        target = f'"{table.name}"' if fresh else f'"{stage}"'
        with cursor.copy(f'COPY {target} ({quoted}) FROM STDIN') as copy:
            for lo in range(0, n, BULK_ROWS):
                hi = min(lo + BULK_ROWS, n)
                values = db_columns(frame.iloc[lo:hi], table, "postgresql")
                for row in zip(*values):
                    copy.write_row(row)
                del values
                if bar is not None:
                    bar.update(hi - lo)
    finally:
        cursor.close()
    if fresh:
        for ddl in rebuild:
            conn.exec_driver_sql(ddl)
        _pg_analyze(conn, table.name, n)
        return n
    stage_t = sql_table(stage, *[sql_column(c) for c in columns])
    ins = _insert_fn(conn)(table).from_select(columns, sql_select(*[stage_t.c[c] for c in columns]))
    updates = set_expr if set_expr is not None else {c: ins.excluded[c] for c in columns if c not in keys}
    stmt = ins.on_conflict_do_update(index_elements=list(keys), set_=updates) if updates \
        else ins.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt)
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{stage}"')
    for ddl in rebuild:
        conn.exec_driver_sql(ddl)
    _pg_analyze(conn, table.name, n)
    return n


def _pg_analyze(conn: Connection, table: str, n: int) -> None:
    """PostgreSQL: after writing `n` rows (at least ANALYZE_ROWS, and a tenth of what the planner thinks the table
    holds), ANALYZE it inside the batch's transaction. Autovacuum cannot see uncommitted rows, so without this the
    planner keeps the statistics of the table before the load (empty, for a first load) and plans the load's
    later look-ups by id (marts.note_ids, delete_case_events, from_other_mappings) as a scan of every row of the
    system with the ids as a filter: quadratic in the load's size. SKIP_LOCKED: a concurrent load already
    analysing the table (its lock is held until it commits) is not waited for."""
    if n < ANALYZE_ROWS:
        return
    held = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)",
                                {"t": f'"{table}"'}).scalar()
    if held is not None and held > 0 and n < 0.1 * held:
        return
    conn.exec_driver_sql(f'ANALYZE (SKIP_LOCKED) "{table}"')


def _pg_drop_for_bulk(cursor, table: str, n: int) -> list[str]:
    """PostgreSQL: when `n` new rows outnumber the table's rows (and are many), drop the table's
    foreign keys and plain indexes and return the DDL that restores them. Row-by-row foreign-key
    triggers cost more than the whole COPY; re-adding a constraint checks every row in one join.
    All of it is inside the batch's transaction: a failure or a kill restores the schema too.
    While the load runs the table is locked against readers (an initial bulk load only)."""
    if n < BULK_INDEX_ROWS:
        return []
    cursor.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT {n}) t')
    if cursor.fetchone()[0] >= n:
        return []
    cursor.execute("""SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                      WHERE c.conrelid = to_regclass(%s) AND c.contype = 'f'""", (f'"{table}"',))
    fkeys = cursor.fetchall()
    cursor.execute("""SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
                      JOIN pg_class i ON i.oid = x.indexrelid
                      WHERE x.indrelid = to_regclass(%s) AND NOT x.indisunique AND NOT x.indisprimary""",
                   (f'"{table}"',))
    indexes = cursor.fetchall()
    restore = []
    for name, definition in fkeys:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    return restore


def delete_case_events(conn: Connection, system: str, case_ids: list) -> None:
    """Delete the events of these cases of `system` (a newer export replaces a case's events; another system's
    case with the same id keeps its own), in the batch's transaction."""
    if not case_ids:
        return
    cursor = conn.connection.driver_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute('DELETE FROM "case_events" WHERE "system" = %s AND "case_id" = ANY(%s)',
                           (system, list(map(str, case_ids))))
        else:
            cursor.executemany('DELETE FROM "case_events" WHERE "system" = ? AND "case_id" = ?',
                               ((system, str(c)) for c in case_ids))
    finally:
        cursor.close()


def _merge_cases_expr(conn: Connection, columns: list[str], ins=None) -> dict:
    """SET clause for derived cases: a row loaded from a cases export keeps received_at, closed_at, status
    and batch_id, and only its null attributes are filled; a row derived earlier is re-derived."""
    ins = ins if ins is not None else _insert_fn(conn)(S.cases)
    t = S.cases
    from_export = t.c.batch_id.in_(select(S.etl_batches.c.batch_id).where(
        S.etl_batches.c.dataset == literal_column("'cases'")))
    out = {}
    for c in columns:
        if c in ("system", "case_id"):
            continue
        if c == "batch_id":
            out[c] = sql_case((from_export, t.c.batch_id), else_=ins.excluded.batch_id)
        elif c in ("received_at", "closed_at", "status"):   # the export's life cycle wins, even an open case's null
            out[c] = sql_case((from_export, t.c[c]), else_=ins.excluded[c])
        else:
            out[c] = sql_case((from_export, func.coalesce(t.c[c], ins.excluded[c])),
                              else_=func.coalesce(ins.excluded[c], t.c[c]))
    return out


def known_case_ids(conn: Connection, ids, system: str = S.DEFAULT_SYSTEM) -> set[str]:
    """Which of `ids` already have a cases row of `system` in the store."""
    found: set[str] = set()
    ids = list(ids)
    c = S.cases.c
    for chunk in _chunks(ids, id_chunk(conn)):
        found.update(conn.execute(select(c.case_id).where(c.system == system, id_in(conn, c.case_id, chunk))).scalars())
    return found


#: The id column a system's records are numbered by, per dataset (case_events: their case).
ID_COLUMN = {"cases": "case_id", "case_events": "case_id", "petitions": "petition_id", "land_supply": "supply_id"}


def from_other_mappings(conn: Connection, mapping: Mapping, ids: list) -> dict[str, int]:
    """How many of these records of the mapping's system (ids of ID_COLUMN) were last written by another mapping
    file — before this load overwrites them: {mapping file name: count}. For an event log a case counts when its
    cases row or any of its events is another mapping's. Cheap when no other mapping loaded into the system
    (one look at etl_batches); otherwise one indexed look-up per chunk of ids."""
    b = S.etl_batches.c
    others = dict(conn.execute(select(b.batch_id, b.mapping).where(
        b.system == mapping.system, b.mapping != str(mapping.path), b.status == "loaded")).all())
    if not others or not ids:
        return {}
    tables = [S.cases, S.case_events] if mapping.dataset == "case_events" else [S.DATASETS[mapping.dataset]]
    key = ID_COLUMN[mapping.dataset]
    owner_ids: dict[str, set] = {}
    batch_ids = list(others)
    for part in _chunks(list(ids), id_chunk(conn)):
        for t in tables:
            q = (select(t.c.batch_id, t.c[key]).distinct()
                 .where(t.c.system == mapping.system, id_in(conn, t.c[key], part), t.c.batch_id.in_(batch_ids)))
            for batch_id, record in conn.execute(q):
                owner_ids.setdefault(Path(others[batch_id]).name, set()).add(record)
    return {name: len(v) for name, v in owner_ids.items()}


@dataclass
class Prepared:
    """A batch ready to write: canonical rows, derived cases, rejects and counts."""
    rows: pd.DataFrame
    cases: pd.DataFrame | None
    rejects: pd.DataFrame
    rows_read: int


def prepare(engine: Engine, mapping: Mapping, raw: pd.DataFrame, conn: Connection | None = None) -> Prepared:
    """Map and validate an extracted frame (no store writes; `conn`: look cases up in this transaction)."""
    frame = to_canonical(raw, mapping)
    known = None
    if mapping.dataset == "case_events" and not mapping.derive_cases and not mapping.case_columns:
        if conn is not None:
            known = known_case_ids(conn, frame["case_id"].dropna().unique(), mapping.system)
        else:
            with engine.connect() as own:
                known = known_case_ids(own, frame["case_id"].dropna().unique(), mapping.system)
    good, rejects = validate(frame, mapping, known)
    cases = None
    if mapping.dataset == "case_events":
        good = assign_seq(good)
        if mapping.derive_cases or mapping.case_columns:
            cases = derive_cases(good, mapping)
        good = good.drop(columns=[c for c in good.columns if c.startswith(CASE_PREFIX)])
    # records read: source rows, or row × column cells of an unpivoted table
    return Prepared(good, cases, rejects, len(frame) if mapping.unpivot else len(raw))


def _count(conn: Connection, table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def write(conn: Connection, mapping: Mapping, prep: Prepared, batch_id: int, progress: bool,
          ) -> tuple[int, int, dict[str, int]]:
    """Write a prepared batch inside the caller's transaction; returns (data rows written, records that
    existed before: updated cases of an event log, updated rows otherwise — what `etl undo` cannot restore,
    those of them another mapping file of the same system wrote: {mapping name: count}).

    Every record is written under the mapping's source system: an id another system also uses is another record."""
    counted = counted_table(mapping)
    before = _count(conn, counted)
    bar = _bar(progress and len(prep.rows) > 20_000,
               len(prep.rows) + (len(prep.cases) if prep.cases is not None else 0), f"load {mapping.name}")
    try:
        written, touched, others = write_rows(conn, mapping, prep, batch_id, bar)
        if len(prep.rejects):
            _write_rejects(conn, batch_id, prep.rejects)
    finally:
        if bar is not None:
            bar.close()
    updated = max(0, touched - (_count(conn, counted) - before))
    return written, updated, others


def counted_table(mapping: Mapping):
    """The table whose new rows tell created from updated records: cases for an event log, else the dataset's."""
    return S.cases if mapping.dataset == "case_events" else S.DATASETS[mapping.dataset]


def write_rows(conn: Connection, mapping: Mapping, prep: Prepared, batch_id: int, bar=None,
               ) -> tuple[int, int, dict[str, int]]:
    """Write a prepared batch's records (not its rejects) inside the caller's transaction; returns (data rows
    written, records touched: the cases of an event log, else the rows written, {other mapping: records})."""
    table = S.DATASETS[mapping.dataset]
    keys = S.NATURAL_KEYS[mapping.dataset]
    cols = [c for c in prep.rows.columns if c in table.c and c not in ("batch_id", "system")]
    rows = prep.rows[cols].copy()
    if "system" in table.c:
        rows["system"] = mapping.system
    if "batch_id" in table.c:
        rows["batch_id"] = batch_id
    others: dict[str, int] = {}
    if mapping.dataset in ID_COLUMN:
        ids = rows[ID_COLUMN[mapping.dataset]]
        others = from_other_mappings(conn, mapping, ids.unique().tolist() if mapping.dataset == "case_events"
                                     else ids.tolist())
    marted = _mart_ids(mapping, prep, rows)       # the records whose days the marts recompute (old and new)
    if marted is not None:
        marts.note_ids(conn, marted[0], mapping.system, marted[1])
    if mapping.dataset == "case_events":
        marts.note_event_cases(conn, mapping.system, rows["case_id"].unique().tolist())
        if prep.cases is not None and len(prep.cases):
            cases = prep.cases.copy()
            cases["system"] = mapping.system
            cases["batch_id"] = batch_id
            upsert(conn, S.cases, cases, S.NATURAL_KEYS["cases"], _merge_cases_expr(conn, list(cases.columns)), bar)
        delete_case_events(conn, mapping.system, rows["case_id"].unique().tolist())
        written = upsert(conn, table, rows, keys, bar=bar, fresh=True)   # no stored event has these keys now
    else:
        written = upsert(conn, table, rows, keys, bar=bar)
    if marted is not None:
        marts.note_ids(conn, marted[0], mapping.system, marted[1])
    if mapping.supplement_stages:
        conn.execute(_insert_fn(conn)(S.stage_roles).on_conflict_do_nothing(index_elements=["stage", "role"]),
                     [{"stage": st, "role": "supplement", "batch_id": batch_id} for st in mapping.supplement_stages])
    if mapping.dataset == "case_events":
        touched = len(prep.cases) if prep.cases is not None else 0
    else:
        touched = written
    return written, touched, others


def _mart_ids(mapping: Mapping, prep: Prepared, rows: pd.DataFrame) -> tuple[str, list] | None:
    """(base table, ids) of the records a batch writes that the marts count: its cases (an event log's derived
    cases) or petitions; None when it writes neither."""
    if mapping.dataset == "case_events":
        return ("cases", prep.cases["case_id"].tolist()) if prep.cases is not None and len(prep.cases) else None
    if mapping.dataset in ("cases", "petitions"):
        return mapping.dataset, rows[ID_COLUMN[mapping.dataset]].tolist()
    return None


def _write_rejects(conn: Connection, batch_id: int, rejects: pd.DataFrame) -> None:
    rows = [{"batch_id": batch_id, "row_number": int(r), "reason": reason, "raw": raw}
            for r, reason, raw in zip(rejects[ROW], rejects["reason"], rejects["raw"])]
    for chunk in _chunks(rows, CHUNK_ROWS):
        conn.execute(insert(S.etl_rejects), chunk)


def _record(engine: Engine, values: dict, rejects: pd.DataFrame | Spool | None = None) -> int | None:
    """Write a 'skipped' or 'failed' batch row (and its rejects: a frame, or a chunked load's spool) in its own
    small transaction."""
    try:
        with engine.begin() as conn:
            batch_id = conn.execute(insert(S.etl_batches).values(**values).returning(S.etl_batches.c.batch_id)).scalar_one()
            if rejects is not None and len(rejects):
                for part in (rejects.frames() if isinstance(rejects, Spool) else [rejects]):
                    _write_rejects(conn, batch_id, part)
            return batch_id
    except SQLAlchemyError:
        return None


def _already_loaded(engine: Engine, mapping: Mapping, sha: str | None) -> int | None:
    if sha is None:
        return None
    with engine.connect() as conn:
        return conn.execute(
            select(func.max(S.etl_batches.c.batch_id)).where(
                S.etl_batches.c.mapping == str(mapping.path), S.etl_batches.c.source_sha256 == sha,
                S.etl_batches.c.status == "loaded")
        ).scalar()


def _reason_kind(reason: str) -> str:
    """A reject reason without the values it quotes ('x' → '…'), so reasons of many rows group together
    and no source value reaches a batch message."""
    import re
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "…", reason.split("; ")[0])


def nothing_kept(mapping: Mapping, source: str, prep: Prepared) -> str:
    """The one sentence for a load that read records but kept none, naming the likely cause."""
    kinds = prep.rejects["reason"].map(_reason_kind).value_counts() if len(prep.rejects) else pd.Series(dtype=int)
    return _nothing_kept(mapping, source, prep.rows_read, kinds, len(prep.rejects))


def _nothing_kept(mapping: Mapping, source: str, rows_read: int, kinds: pd.Series, nrej: int) -> str:
    """nothing_kept from counts: rejects per reason kind, most frequent first."""
    head = f"{Path(source).name} (mapping {mapping.name}): {rows_read} rows read, none kept, so nothing was loaded"
    if nrej:
        top, n = kinds.index[0], int(kinds.iloc[0])
        if "lifecycle" in top or "is not one of" in top:
            hint = "check the mapping's `values:`"
        elif "date" in top or "future" in top or "before" in top:
            hint = "check the mapping's `date_formats:`, `dayfirst:` and `timezone:`"
        elif "missing" in top:
            hint = "check the mapping's `columns:` (is the right source column mapped?)"
        else:
            hint = "see `landdesk etl rejects` for this batch"
        return (f"{head}: every row was rejected — most often ({n} of {nrej}) for '{top}'; {hint}.")
    if mapping.dataset == "case_events" and "lifecycle" in mapping.columns:
        return (f"{head}: no event has the lifecycle transition start or complete; map the log's transitions "
                "under `values: lifecycle:`.")
    return f"{head}: every row was dropped."


def load_mapping(engine: Engine, mapping_path, *, force: bool = False, progress: bool = False,
                 chunk_rows: int | None = None) -> BatchResult:
    """Load one mapping's source into the store; skip when this exact file was already loaded (unless force).

    A CSV or XES source of more than `chunk_rows` records (default LANDDESK_ETL_CHUNK_ROWS) is read and
    processed in chunks (see etl.staging), still as one transaction; a smaller one in one frame."""
    from etl.reference import is_reference_file, load_reference
    if is_reference_file(mapping_path):          # the statutory process: a file of its own shape (etl.reference)
        return load_reference(engine, mapping_path, force=force)
    t0 = time.perf_counter()
    chunk_rows = chunk_rows or etl_chunk_rows()
    started = _now()
    ensure_ready(engine)
    mapping = read_mapping(mapping_path)
    source = mapping.source.describe()
    base = dict(mapping=str(mapping.path), dataset=mapping.dataset, source=source,
                system=mapping.system if mapping.dataset in S.SYSTEM_DATASETS else None)

    def result(status, batch_id, read=0, loaded=0, rejected=0, cases=0, message=""):
        return BatchResult(batch_id, str(mapping.path), mapping.dataset, source, status, read, loaded, rejected,
                           cases, time.perf_counter() - t0, message)

    def fail(message: str, sha=None, read=0, rejects=None) -> LoadError:
        nrej = 0 if rejects is None else len(rejects)
        batch_id = _record(engine, dict(**base, source_sha256=sha, started_at=started, finished_at=_now(),
                                        rows_read=read, rows_loaded=0, rows_rejected=nrej, status="failed",
                                        message=message), rejects)
        return LoadError(message, result("failed", batch_id, read, 0, nrej, 0, message))

    sha = None
    try:
        if mapping.source.path is not None:
            check_source_file(mapping.source.path, mapping.name)
            sha = source_sha256(mapping)
            if not force:
                previous = _already_loaded(engine, mapping, sha)
                if previous is not None:
                    msg = f"unchanged since batch {previous}"
                    batch_id = _record(engine, dict(**base, source_sha256=sha, started_at=started, finished_at=_now(),
                                                    rows_read=0, rows_loaded=0, rows_rejected=0, status="skipped",
                                                    message=msg))
                    return result("skipped", batch_id, message=msg)
        chunks = iter_extract(mapping, progress=progress, chunk_rows=chunk_rows)
        raw = next(chunks)
        more = next(chunks, None)
        if more is not None:
            return _load_chunked(engine, mapping, itertools.chain([raw, more], chunks), base, sha, started,
                                 chunk_rows, progress, result, fail)
        if sha is None:
            sha = source_sha256(mapping, raw)
            if not force and _already_loaded(engine, mapping, sha) is not None:
                msg = "query result unchanged"
                batch_id = _record(engine, dict(**base, source_sha256=sha, started_at=started, finished_at=_now(),
                                                rows_read=len(raw), rows_loaded=0, rows_rejected=0,
                                                status="skipped", message=msg))
                return result("skipped", batch_id, read=len(raw), message=msg)
        prep = prepare(engine, mapping, raw)
    except LoadError:
        raise
    except LandDeskError as exc:
        raise fail(str(exc), sha) from None
    except OSError as exc:      # the file went away or failed while being read
        raise fail(f"Source {source} (from mapping {mapping.name}) cannot be read "
                   f"({exc.strerror or type(exc).__name__}).", sha) from None
    if prep.rows_read == 0:
        raise fail(f"Source {source} of mapping {mapping.name} has no records.", sha)
    nrej = len(prep.rejects)
    if prep.rows.empty:
        raise fail(nothing_kept(mapping, source, prep), sha, prep.rows_read, prep.rejects)
    if nrej / prep.rows_read > mapping.reject_threshold:
        first = prep.rejects.iloc[0]
        msg = (f"Mapping {mapping.name} rejected {nrej} of {prep.rows_read} records of {Path(source).name} "
               f"({nrej / prep.rows_read:.1%} > threshold {mapping.reject_threshold:.0%}), so nothing was loaded; "
               f"first: row {first[ROW]}: {first['reason']}.")
        raise fail(msg, sha, prep.rows_read, prep.rejects)
    try:
        with engine.begin() as conn:
            batch_id = conn.execute(insert(S.etl_batches).values(
                **base, source_sha256=sha, started_at=started, rows_read=prep.rows_read, status="running",
            ).returning(S.etl_batches.c.batch_id)).scalar_one()
            marts.discard(conn)
            loaded, updated, others = write(conn, mapping, prep, batch_id, progress)
            marts.refresh(conn)
            ncases = len(prep.cases) if prep.cases is not None else 0
            message = ((f"{ncases} cases derived" if ncases else "")
                       + other_mappings_note(mapping.dataset, others)).lstrip("; ") or None
            conn.execute(update(S.etl_batches).where(S.etl_batches.c.batch_id == batch_id).values(
                finished_at=_now(), rows_loaded=loaded, rows_rejected=nrej, status="loaded", rows_updated=updated,
                message=message))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise fail(f"Writing {mapping.name} to the store failed, nothing was loaded: {reason}", sha,
                   prep.rows_read) from None
    out = result("loaded", batch_id, prep.rows_read, loaded, nrej, ncases)
    out.from_other_mappings = others
    return out


class _Refused(Exception):
    """A chunked load that read its records but must store none of them (its rejects are recorded)."""

    def __init__(self, message: str, read: int, with_rejects: bool):
        super().__init__(message)
        self.message, self.read, self.with_rejects = message, read, with_rejects


def _bulk_drop(conn: Connection, tables: list, n: int) -> list[str]:
    """Drop the plain indexes (PostgreSQL: and foreign keys) of tables smaller than `n`, the rows a chunked load
    brings, once for the whole load; returns the DDL restoring them (see _drop_indexes_for_bulk)."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        out = []
        for table in tables:
            out += (_pg_drop_for_bulk(cursor, table.name, n) if conn.dialect.name == "postgresql"
                    else _drop_indexes_for_bulk(cursor, table.name, n))
        return out
    finally:
        cursor.close()


def _load_chunked(engine: Engine, mapping: Mapping, chunks, base: dict, sha, started, chunk_rows: int,
                  progress: bool, result, fail) -> BatchResult:
    """Load a source that comes in several chunks as ONE transaction: stage the raw chunks (etl.staging), then
    prepare and write slice by slice, each slice holding every record of its cases or keys, so every rule
    behaves as in a one-frame load; refuse (nothing stored, rejects recorded) by the same rules at the end."""
    spool = Spool()
    read = 0
    dbapi_error = getattr(engine.dialect.dbapi, "Error", SQLAlchemyError)
    try:
        with engine.begin() as conn:
            batch_id = conn.execute(insert(S.etl_batches).values(
                **base, source_sha256=sha, started_at=started, rows_read=0, status="running",
            ).returning(S.etl_batches.c.batch_id)).scalar_one()
            marts.discard(conn)
            want = sorted(mapping.source_columns() | set((mapping.unpivot or {}).get("columns", {}) or ()))
            stage = None
            for raw in chunks:
                if stage is None:
                    probe = raw.head(2).copy()
                    to_canonical(probe, mapping)          # a missing column fails here, naming the header
                    stage = Stage(conn, mapping, [c for c in want if c in raw.columns]
                                  if mapping.source.format == "csv" else want)
                stage.add(raw)
                del raw
            counted = counted_table(mapping)
            before = _count(conn, counted)
            tables = [S.cases, S.case_events] if mapping.dataset == "case_events" else [S.DATASETS[mapping.dataset]]
            restore = _bulk_drop(conn, tables, stage.rows)
            bar = _bar(progress and stage.rows > 20_000, stage.rows, f"load {mapping.name}")
            read = kept = loaded = touched = ncases = 0
            others: dict[str, int] = {}
            try:
                for part in stage.slices(chunk_rows):
                    prep = prepare(engine, mapping, part, conn=conn)
                    read += prep.rows_read
                    spool.add(prep.rejects, _reason_kind)
                    if bar is not None:
                        bar.update(len(part))
                    del part
                    if prep.rows.empty:
                        continue
                    kept += len(prep.rows)
                    ncases += len(prep.cases) if prep.cases is not None else 0
                    w, t, o = write_rows(conn, mapping, prep, batch_id)
                    loaded, touched = loaded + w, touched + t
                    for k, v in o.items():
                        others[k] = others.get(k, 0) + v
                    del prep
            finally:
                if bar is not None:
                    bar.close()
            source = base["source"]
            nrej = len(spool)
            if read == 0:
                raise _Refused(f"Source {source} of mapping {mapping.name} has no records.", 0, False)
            if kept == 0:
                kinds = pd.Series(spool.kinds, dtype="int64").sort_values(ascending=False, kind="stable")
                raise _Refused(_nothing_kept(mapping, source, read, kinds, nrej), read, True)
            if nrej / read > mapping.reject_threshold:
                first = spool.first
                raise _Refused(f"Mapping {mapping.name} rejected {nrej} of {read} records of {Path(source).name} "
                               f"({nrej / read:.1%} > threshold {mapping.reject_threshold:.0%}), so nothing was "
                               f"loaded; first: row {first[ROW]}: {first['reason']}.", read, True)
            for ddl in restore:
                conn.exec_driver_sql(ddl)
            marts.refresh(conn)
            for part in spool.frames():
                _write_rejects(conn, batch_id, part)
            stage.drop()
            updated = max(0, touched - (_count(conn, counted) - before))
            message = ((f"{ncases} cases derived" if ncases else "")
                       + other_mappings_note(mapping.dataset, others)).lstrip("; ") or None
            conn.execute(update(S.etl_batches).where(S.etl_batches.c.batch_id == batch_id).values(
                finished_at=_now(), rows_read=read, rows_loaded=loaded, rows_rejected=nrej, status="loaded",
                rows_updated=updated, message=message))
    except _Refused as exc:
        raise fail(exc.message, sha, exc.read, spool if exc.with_rejects else None) from None
    except LoadError:
        raise
    except LandDeskError as exc:
        raise fail(str(exc), sha) from None
    except OSError as exc:
        raise fail(f"Source {base['source']} (from mapping {mapping.name}) cannot be read "
                   f"({exc.strerror or type(exc).__name__}).", sha) from None
    except (SQLAlchemyError, dbapi_error) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise fail(f"Writing {mapping.name} to the store failed, nothing was loaded: {reason}", sha, read) from None
    finally:
        spool.close()
    out = result("loaded", batch_id, read, loaded, nrej, ncases)
    out.from_other_mappings = others
    return out


def run_sources(engine: Engine, sources_yaml, *, force: bool = False, progress: bool = False) -> list[BatchResult]:
    """Load every mapping listed under `sources:` (paths relative to the file), in order.

    A failing source does not stop the others: its result has status 'failed' and the message.
    """
    path = Path(sources_yaml).expanduser().resolve()
    if not path.is_file():
        raise LandDeskError(f"Sources file {path} does not exist.")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise LandDeskError(f"Sources file {path} is not valid YAML.") from None
    items = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise LandDeskError(f"Sources file {path} must have a `sources:` list of mapping file paths.")
    results = []
    for item in items:
        mapping_path = (path.parent / item).resolve()
        try:
            results.append(load_mapping(engine, mapping_path, force=force, progress=progress))
        except LoadError as exc:
            results.append(exc.result)
        except LandDeskError as exc:
            results.append(BatchResult(None, str(mapping_path), "?", "", "failed", 0, 0, 0, 0, 0.0, str(exc)))
    return results


def list_batches(engine: Engine, limit: int = 50) -> pd.DataFrame:
    """The newest `limit` batches, newest first."""
    ensure_ready(engine)
    b = S.etl_batches
    q = select(b.c.batch_id, b.c.status, b.c.dataset, b.c.system, b.c.mapping, b.c.source, b.c.started_at, b.c.finished_at,
               b.c.rows_read, b.c.rows_loaded, b.c.rows_rejected, b.c.rows_updated, b.c.source_sha256, b.c.message
               ).order_by(b.c.batch_id.desc()).limit(limit)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])


def list_rejects(engine: Engine, batch_id: int) -> pd.DataFrame:
    """The rejected records of one batch (row number, reason, pseudonymised raw record)."""
    ensure_ready(engine)
    with engine.connect() as conn:
        exists = conn.execute(select(S.etl_batches.c.batch_id).where(S.etl_batches.c.batch_id == batch_id)).scalar()
        if exists is None:
            raise LandDeskError(f"There is no batch {batch_id} in the store.")
        r = S.etl_rejects
        q = select(r.c.batch_id, r.c.row_number, r.c.reason, r.c.raw).where(r.c.batch_id == batch_id).order_by(r.c.row_number)
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=["batch_id", "row_number", "reason", "raw"])
