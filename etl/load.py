"""Load: run one mapping end to end (extract → map → validate → upsert) as one store transaction.

A batch's etl_batches row is written as 'running' and set to 'loaded' in the same transaction
as its data, so an interrupted load leaves nothing behind. Failures are recorded as a 'failed'
batch in their own small transaction and raised as one LandDeskError sentence.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import yaml
from sqlalchemy import Date, case as sql_case, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl import schema as S
from etl.extract import ROW, extract, source_sha256
from etl.mapping import Mapping, read_mapping
from etl.store import ensure_ready
from etl.transform import CASE_PREFIX, assign_seq, derive_cases, to_canonical
from etl.validate import validate
from landdesk.config import DEFAULT_TIMEZONE, LandDeskError

CHUNK_ROWS = 5000
ID_CHUNK = 900


@dataclass
class BatchResult:
    """What one load did; `summary()` is the line the CLI prints."""
    batch_id: int | None
    mapping: str
    dataset: str
    source: str
    status: str  # 'loaded' | 'skipped' | 'failed'
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    cases_derived: int
    seconds: float
    message: str = ""

    def summary(self) -> str:
        src = Path(self.source).name if "://" not in self.source else self.source
        head = f"batch {self.batch_id}" if self.batch_id is not None else "no batch"
        if self.status == "skipped":
            return f"{head} skipped {self.dataset} from {src}: {self.message or 'already loaded'}"
        if self.status == "failed":
            return f"{head} failed {self.dataset} from {src}: {self.message}"
        cases = f" ({self.cases_derived} cases)" if self.dataset == "case_events" else ""
        return (f"{head} loaded {self.dataset} from {src}: {self.rows_read} read, {self.rows_loaded} loaded{cases}, "
                f"{self.rows_rejected} rejected in {self.seconds:.1f} s")


class LoadError(LandDeskError):
    """A failed load; `result` is the failed BatchResult."""

    def __init__(self, message: str, result: BatchResult):
        super().__init__(message)
        self.result = result


def _now() -> datetime:
    return datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).replace(tzinfo=None)


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


def _chunks(seq: list, size: int):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, leave=False, disable=None)


def upsert(conn: Connection, table, frame: pd.DataFrame, keys: tuple[str, ...], set_expr: dict | None = None,
           bar=None) -> int:
    """INSERT … ON CONFLICT (keys) DO UPDATE of the frame's columns, in chunks; returns rows written."""
    if frame.empty:
        return 0
    ins = _insert_fn(conn)(table)
    updates = set_expr if set_expr is not None else {c: ins.excluded[c] for c in frame.columns if c not in keys}
    stmt = ins.on_conflict_do_update(index_elements=list(keys), set_=updates) if updates \
        else ins.on_conflict_do_nothing(index_elements=list(keys))
    rows = records(frame, table)
    for chunk in _chunks(rows, CHUNK_ROWS):
        conn.execute(stmt, chunk)
        if bar is not None:
            bar.update(len(chunk))
    return len(rows)


def _merge_cases_expr(conn: Connection, columns: list[str]) -> dict:
    """SET clause for derived cases: a row loaded from a cases export keeps received_at, closed_at, status
    and batch_id, and only its null attributes are filled; a row derived earlier is re-derived."""
    ins = _insert_fn(conn)(S.cases)
    t = S.cases
    from_export = t.c.batch_id.in_(select(S.etl_batches.c.batch_id).where(S.etl_batches.c.dataset == "cases"))
    out = {}
    for c in columns:
        if c == "case_id":
            continue
        if c == "batch_id":
            out[c] = sql_case((from_export, t.c.batch_id), else_=ins.excluded.batch_id)
        elif c in ("received_at", "closed_at", "status"):   # the export's life cycle wins, even an open case's null
            out[c] = sql_case((from_export, t.c[c]), else_=ins.excluded[c])
        else:
            out[c] = sql_case((from_export, func.coalesce(t.c[c], ins.excluded[c])),
                              else_=func.coalesce(ins.excluded[c], t.c[c]))
    return out


def known_case_ids(conn: Connection, ids) -> set[str]:
    """Which of `ids` already have a cases row in the store."""
    found: set[str] = set()
    ids = list(ids)
    for chunk in _chunks(ids, ID_CHUNK):
        found.update(conn.execute(select(S.cases.c.case_id).where(S.cases.c.case_id.in_(chunk))).scalars())
    return found


@dataclass
class Prepared:
    """A batch ready to write: canonical rows, derived cases, rejects and counts."""
    rows: pd.DataFrame
    cases: pd.DataFrame | None
    rejects: pd.DataFrame
    rows_read: int


def prepare(engine: Engine, mapping: Mapping, raw: pd.DataFrame) -> Prepared:
    """Map and validate an extracted frame (no store writes)."""
    frame = to_canonical(raw, mapping)
    known = None
    if mapping.dataset == "case_events" and not mapping.derive_cases and not mapping.case_columns:
        with engine.connect() as conn:
            known = known_case_ids(conn, frame["case_id"].dropna().unique())
    good, rejects = validate(frame, mapping, known)
    cases = None
    if mapping.dataset == "case_events":
        good = assign_seq(good)
        if mapping.derive_cases or mapping.case_columns:
            cases = derive_cases(good, mapping)
        good = good.drop(columns=[c for c in good.columns if c.startswith(CASE_PREFIX)])
    return Prepared(good, cases, rejects, len(raw))


def write(conn: Connection, mapping: Mapping, prep: Prepared, batch_id: int, progress: bool) -> int:
    """Write a prepared batch inside the caller's transaction; returns data rows written."""
    table = S.DATASETS[mapping.dataset]
    keys = S.NATURAL_KEYS[mapping.dataset]
    cols = [c for c in prep.rows.columns if c in table.c and c != "batch_id"]
    rows = prep.rows[cols].copy()
    if "batch_id" in table.c:
        rows["batch_id"] = batch_id
    bar = _bar(progress and len(rows) > 20_000, len(rows) + (len(prep.cases) if prep.cases is not None else 0),
               f"load {mapping.name}")
    try:
        if mapping.dataset == "case_events":
            if prep.cases is not None and len(prep.cases):
                cases = prep.cases.copy()
                cases["batch_id"] = batch_id
                upsert(conn, S.cases, cases, ("case_id",), _merge_cases_expr(conn, list(cases.columns)), bar)
            ids = rows["case_id"].unique().tolist()
            for chunk in _chunks(ids, ID_CHUNK):
                conn.execute(delete(S.case_events).where(S.case_events.c.case_id.in_(chunk)))
        written = upsert(conn, table, rows, keys, bar=bar)
        if len(prep.rejects):
            _write_rejects(conn, batch_id, prep.rejects)
    finally:
        if bar is not None:
            bar.close()
    return written


def _write_rejects(conn: Connection, batch_id: int, rejects: pd.DataFrame) -> None:
    rows = [{"batch_id": batch_id, "row_number": int(r), "reason": reason, "raw": raw}
            for r, reason, raw in zip(rejects[ROW], rejects["reason"], rejects["raw"])]
    for chunk in _chunks(rows, CHUNK_ROWS):
        conn.execute(insert(S.etl_rejects), chunk)


def _record(engine: Engine, values: dict, rejects: pd.DataFrame | None = None) -> int | None:
    """Write a 'skipped' or 'failed' batch row (and its rejects) in its own small transaction."""
    try:
        with engine.begin() as conn:
            batch_id = conn.execute(insert(S.etl_batches).values(**values).returning(S.etl_batches.c.batch_id)).scalar_one()
            if rejects is not None and len(rejects):
                _write_rejects(conn, batch_id, rejects)
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


def load_mapping(engine: Engine, mapping_path, *, force: bool = False, progress: bool = False) -> BatchResult:
    """Load one mapping's source into the store; skip when this exact file was already loaded (unless force)."""
    t0 = time.perf_counter()
    started = _now()
    ensure_ready(engine)
    mapping = read_mapping(mapping_path)
    source = mapping.source.describe()
    base = dict(mapping=str(mapping.path), dataset=mapping.dataset, source=source)

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
            if not mapping.source.path.is_file():
                raise LandDeskError(f"Source file {mapping.source.path} (from mapping {mapping.name}) does not exist.")
            sha = source_sha256(mapping)
            if not force:
                previous = _already_loaded(engine, mapping, sha)
                if previous is not None:
                    msg = f"unchanged since batch {previous}"
                    batch_id = _record(engine, dict(**base, source_sha256=sha, started_at=started, finished_at=_now(),
                                                    rows_read=0, rows_loaded=0, rows_rejected=0, status="skipped",
                                                    message=msg))
                    return result("skipped", batch_id, message=msg)
        raw = extract(mapping, progress=progress)
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
    if prep.rows_read == 0:
        raise fail(f"Source {source} of mapping {mapping.name} has no records.", sha)
    nrej = len(prep.rejects)
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
            loaded = write(conn, mapping, prep, batch_id, progress)
            ncases = len(prep.cases) if prep.cases is not None else 0
            conn.execute(update(S.etl_batches).where(S.etl_batches.c.batch_id == batch_id).values(
                finished_at=_now(), rows_loaded=loaded, rows_rejected=nrej, status="loaded",
                message=f"{ncases} cases derived" if ncases else None))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise fail(f"Writing {mapping.name} to the store failed, nothing was loaded: {reason}", sha,
                   prep.rows_read) from None
    return result("loaded", batch_id, prep.rows_read, loaded, nrej, ncases)


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
    q = select(b.c.batch_id, b.c.status, b.c.dataset, b.c.mapping, b.c.source, b.c.started_at, b.c.finished_at,
               b.c.rows_read, b.c.rows_loaded, b.c.rows_rejected, b.c.source_sha256, b.c.message
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
