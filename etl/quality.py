"""Data-quality report: rejected records by reason, per batch (what the data page shows)."""
from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from etl import schema as S
from etl.store import ensure_ready

COLUMNS = ["batch_id", "mapping", "reason", "count", "records", "share", "example_rows"]
EXAMPLES = 5
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_GOT = re.compile(r"\s*\(got .*\)$")


def rule(reason: str) -> str:
    """One reason with its record-specific values taken out, so equal rules group together:
    "visits '两次' is not a whole number" → "visits … is not a whole number";
    "rating is above 5 (got '7')" → "rating is above 5"."""
    return _QUOTED.sub("…", _GOT.sub("", reason.strip()))


def rejects_by_reason(engine: Engine, batch_id: int | None = None) -> pd.DataFrame:
    """Rejected records per batch and rule, most frequent first (newest batch first).

    A record rejected for several reasons counts once under each. Columns: batch_id, mapping (file
    name), reason (the rule), count (records; `records` is the same number, the data page's name),
    share (of that batch's rejected records), example_rows (up to five source row numbers, "2, 5, 9").
    """
    ensure_ready(engine)
    r, b = S.etl_rejects, S.etl_batches
    q = (select(r.c.batch_id, b.c.mapping, r.c.row_number, r.c.reason)
         .join(b, b.c.batch_id == r.c.batch_id).order_by(r.c.batch_id.desc(), r.c.row_number))
    if batch_id is not None:
        q = q.where(r.c.batch_id == batch_id)
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(q).all(), columns=["batch_id", "mapping", "row_number", "reason"])
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    totals = rows.groupby("batch_id")["row_number"].size()
    rows["reason"] = rows["reason"].astype(str).str.split(r";\s+")
    rows = rows.explode("reason")
    rows["reason"] = rows["reason"].map(rule)
    rows = rows.drop_duplicates(["batch_id", "row_number", "reason"])
    g = rows.groupby(["batch_id", "mapping", "reason"], sort=False)
    out = g["row_number"].agg(count="size",
                              example_rows=lambda s: ", ".join(str(int(x)) for x in sorted(s)[:EXAMPLES])).reset_index()
    out["records"] = out["count"]
    out["share"] = out["count"] / out["batch_id"].map(totals)
    out["mapping"] = out["mapping"].map(lambda p: str(p).replace("\\", "/").rsplit("/", 1)[-1])
    out = out.sort_values(["batch_id", "count", "reason"], ascending=[False, False, True], kind="stable")
    return out[COLUMNS].reset_index(drop=True)
