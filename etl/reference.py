"""The bureau's statutory reference process (法定流程) per case type: read and check a `dataset:
reference_process` YAML file, and store it in the `reference_process` table (one row per case type × stage) in
one transaction. `landdesk etl load FILE` routes such a file here (etl.load.load_mapping), so it also loads from
a sources file (`landdesk etl run`, the demo).

The file::

    dataset: reference_process
    description: 青山县 法定流程            # optional
    case_types:
      不动产转移登记:
        stages:                          # in their statutory order
          - {stage: 受理, limit_workdays: 1}
          - {stage: 审核, limit_workdays: 10}
          - {stage: 补正, mandatory: false}
          - {stage: 登簿}
        moves: [审核 -> 补正, 补正 -> 审核]   # optional: moves allowed besides the listed order

A stage is mandatory unless `mandatory: false`; `limit_workdays` (optional) is its time limit in working days.
Allowed moves: from each stage to the next one listed, and past optional stages (to any later stage with only
optional ones between), plus the `moves` given ("▶ -> X" lets a case begin with X). A case may begin with the
first stage or with any stage that only optional stages precede.

Loading a file replaces the reference of every case type it names (other case types keep theirs); the same
file loaded again unchanged is skipped. Any problem is one sentence and nothing is written.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from etl import schema as S
from landdesk.errors import LandDeskError

DATASET = "reference_process"
START_MARKS = ("▶", "start", "START")
_TOP = {"dataset", "description", "case_types"}
_STAGE_KEYS = {"stage", "mandatory", "limit_workdays"}
_TYPE_KEYS = {"stages", "moves"}
_ARROW = re.compile(r"\s*(?:->|→)\s*")
COLUMNS = ["case_type", "stage", "stage_order", "mandatory", "limit_workdays", "initial", "successors"]


@dataclass
class Reference:
    """A checked reference file: its rows (COLUMNS, successors as lists) and the file's sha256."""
    path: Path
    rows: pd.DataFrame
    sha256: str


def is_reference_file(path) -> bool:
    """Whether `path` is a YAML file whose `dataset` is reference_process (unreadable files: False — the mapping
    reader then says what is wrong with them)."""
    try:
        doc = yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and doc.get("dataset") == DATASET


def _fail(path: Path, problem: str) -> LandDeskError:
    return LandDeskError(f"Reference process {path.name}: {problem}")


def read_reference(path) -> Reference:
    """Parse and check a reference-process file; any problem is one LandDeskError sentence."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise LandDeskError(f"Reference process file {path} does not exist.")
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _fail(path, "the file is not UTF-8 text.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise _fail(path, f"the YAML is malformed{where}.") from None
    if not isinstance(doc, dict) or doc.get("dataset") != DATASET:
        raise _fail(path, "the file must be a YAML mapping with `dataset: reference_process` and `case_types`.")
    unknown = set(doc) - _TOP
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; use {', '.join(sorted(_TOP))}.")
    types = doc.get("case_types")
    if not isinstance(types, dict) or not types:
        raise _fail(path, "`case_types` must map each case type to its `stages` list.")
    rows: list[dict] = []
    for case_type, spec in types.items():
        rows += _case_type_rows(path, str(case_type), spec)
    return Reference(path, pd.DataFrame(rows, columns=COLUMNS), hashlib.sha256(raw).hexdigest())


def _case_type_rows(path: Path, case_type: str, spec) -> list[dict]:
    where = f"case type {case_type!r}"
    if not case_type.strip():
        raise _fail(path, "a case type has an empty name.")
    if not isinstance(spec, dict) or not isinstance(spec.get("stages"), list) or not spec["stages"]:
        raise _fail(path, f"{where} needs a non-empty `stages` list.")
    unknown = set(spec) - _TYPE_KEYS
    if unknown:
        raise _fail(path, f"{where} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; use stages, moves.")
    names, mandatory, limits = [], [], []
    for i, item in enumerate(spec["stages"], start=1):
        if isinstance(item, str):
            item = {"stage": item}
        if not isinstance(item, dict) or not isinstance(item.get("stage"), (str, int)) or not str(item["stage"]).strip():
            raise _fail(path, f"{where} stage {i} must be a stage name or a mapping with `stage:`.")
        bad = set(item) - _STAGE_KEYS
        if bad:
            raise _fail(path, f"{where} stage {i} has unknown key(s) {', '.join(sorted(map(str, bad)))}; "
                              f"use {', '.join(sorted(_STAGE_KEYS))}.")
        name = str(item["stage"]).strip()
        if name in START_MARKS:
            raise _fail(path, f"{where} stage {i} may not be called {name!r} (it marks the start of a case).")
        if name in names:
            raise _fail(path, f"{where} lists stage {name!r} twice.")
        flag = item.get("mandatory", True)
        if not isinstance(flag, bool):
            raise _fail(path, f"{where} stage {name!r} has mandatory {flag!r}; use true or false.")
        limit = item.get("limit_workdays")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0):
            raise _fail(path, f"{where} stage {name!r} has limit_workdays {limit!r}; use a positive number of "
                              "working days.")
        names.append(name)
        mandatory.append(flag)
        limits.append(None if limit is None else float(limit))
    n = len(names)
    succ: dict[str, list[str]] = {s: [] for s in names}
    initial = [False] * n
    for i in range(-1, n):                    # -1: the start of a case
        for j in range(i + 1, n):
            if i < 0:
                initial[j] = True
            else:
                succ[names[i]].append(names[j])
            if mandatory[j]:
                break                         # a mandatory stage may not be passed over
    moves = spec.get("moves") or []
    if not isinstance(moves, list):
        raise _fail(path, f"{where} `moves` must be a list like [审核 -> 补正].")
    for move in moves:
        parts = _ARROW.split(move.strip()) if isinstance(move, str) else []
        if len(parts) != 2 or not all(parts):
            raise _fail(path, f"{where} has move {move!r}; write a move as 'FROM -> TO'.")
        a, b = parts
        for s in (a, b) if a not in START_MARKS else (b,):
            if s not in succ:
                raise _fail(path, f"{where} has move {move!r} naming stage {s!r}, which its stages do not list.")
        if a in START_MARKS:
            initial[names.index(b)] = True
        elif b not in succ[a]:
            succ[a].append(b)
    return [dict(case_type=case_type, stage=s, stage_order=k + 1, mandatory=mandatory[k], limit_workdays=limits[k],
                 initial=initial[k], successors=succ[s]) for k, s in enumerate(names)]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def load_reference(engine: Engine, path, *, force: bool = False):
    """Check `path` and store its reference in one transaction (replacing the reference of the case types it
    names); recorded as a batch of dataset reference_process. Returns an etl.load.BatchResult."""
    from etl.batchresult import BatchResult
    from etl.store import ensure_ready

    t0 = time.perf_counter()
    ensure_ready(engine)
    ref = read_reference(path)
    b = S.etl_batches
    base = dict(mapping=str(ref.path), dataset=DATASET, source=str(ref.path), source_sha256=ref.sha256)

    def result(status, batch_id, loaded=0, message=""):
        return BatchResult(batch_id, str(ref.path), DATASET, str(ref.path), status, len(ref.rows), loaded, 0, 0,
                           time.perf_counter() - t0, message)

    with engine.begin() as conn:
        if not force:
            previous = conn.execute(select(func.max(b.c.batch_id)).where(
                b.c.mapping == str(ref.path), b.c.source_sha256 == ref.sha256, b.c.status == "loaded")).scalar()
            if previous is not None and _still_stored(conn, previous):
                msg = f"unchanged since batch {previous}"
                batch_id = conn.execute(insert(b).values(**base, started_at=_now(), finished_at=_now(), rows_read=0,
                                                         rows_loaded=0, rows_rejected=0, status="skipped",
                                                         message=msg).returning(b.c.batch_id)).scalar_one()
                return result("skipped", batch_id, message=msg)
        batch_id = conn.execute(insert(b).values(**base, started_at=_now(), rows_read=len(ref.rows), status="running")
                                .returning(b.c.batch_id)).scalar_one()
        replaced = write_reference(conn, ref.rows, batch_id)
        types = ref.rows["case_type"].nunique()
        conn.execute(update(b).where(b.c.batch_id == batch_id).values(
            finished_at=_now(), rows_loaded=len(ref.rows), rows_rejected=0, rows_updated=replaced, status="loaded",
            message=f"{types} case type(s)"))
    return result("loaded", batch_id, len(ref.rows), f"{types} case type(s)")


def _still_stored(conn: Connection, batch_id: int) -> bool:
    t = S.reference_process
    return conn.execute(select(func.count()).select_from(t).where(t.c.batch_id == batch_id)).scalar_one() > 0


def write_reference(conn: Connection, rows: pd.DataFrame, batch_id: int | None = None) -> int:
    """Replace the stored reference of the case types in `rows` (COLUMNS) by `rows`; returns how many stored rows
    were replaced."""
    t = S.reference_process
    types = sorted(set(rows["case_type"]))
    replaced = conn.execute(delete(t).where(t.c.case_type.in_(types))).rowcount if types else 0
    records = [dict(case_type=r.case_type, stage=r.stage, stage_order=int(r.stage_order), mandatory=bool(r.mandatory),
                    limit_workdays=None if pd.isna(r.limit_workdays) else float(r.limit_workdays),
                    initial=bool(r.initial), successors=json.dumps(list(r.successors), ensure_ascii=False),
                    batch_id=batch_id) for r in rows.itertuples(index=False)]
    if records:
        conn.execute(insert(t), records)
    return max(replaced, 0)


def stored_reference(conn: Connection) -> pd.DataFrame:
    """The stored reference (COLUMNS; successors as lists), by case type and stage order; empty when none."""
    t = S.reference_process
    found = conn.execute(select(*(t.c[c] for c in COLUMNS)).order_by(t.c.case_type, t.c.stage_order)).all()
    frame = pd.DataFrame([tuple(r) for r in found], columns=COLUMNS)
    frame["successors"] = [json.loads(s) for s in frame["successors"]]
    frame["limit_workdays"] = frame["limit_workdays"].astype(float)
    return frame
