"""The source catalogue: what each dataset holds, where it came from and how fresh it is."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from etl.schema import DATASETS, etl_batches
from landdesk.settings import utc_now


def catalogue(engine: Engine, today: dt.datetime | None = None) -> pd.DataFrame:
    """One row per dataset: grain, fields, rows, last loaded batch, its mapping and source, age in days."""
    today = today or utc_now()       # an instant, like finished_at
    rows = []
    with engine.connect() as conn:
        for name, table in DATASETS.items():
            count = conn.execute(select(func.count()).select_from(table)).scalar_one()
            last = conn.execute(
                select(etl_batches.c.batch_id, etl_batches.c.mapping, etl_batches.c.source, etl_batches.c.finished_at)
                .where(etl_batches.c.dataset == name, etl_batches.c.status == "loaded")
                .order_by(etl_batches.c.batch_id.desc()).limit(1)).first()
            rows.append({
                "dataset": name,
                "grain": (table.comment or "").removeprefix("Grain: "),
                "fields": ", ".join(c.name for c in table.columns if c.name != "batch_id"),
                "rows": int(count),
                "last_batch": last.batch_id if last else None,
                "mapping": Path(last.mapping).name if last else None,
                "source": Path(last.source).name if last and "://" not in last.source else (last.source if last else None),
                "last_loaded": last.finished_at if last else None,
                "age_days": round((today - last.finished_at).total_seconds() / 86400, 1) if last and last.finished_at else None,
            })
    out = pd.DataFrame(rows)
    out["last_batch"] = out["last_batch"].astype("Int64")
    return out



def fields() -> pd.DataFrame:
    """One row per dataset × field, from the schema alone (no store needed): its type, whether it may be empty,
    whether it is part of the natural key, and its comment. The data dictionary of the catalogue (目录体系)."""
    from etl.schema import NATURAL_KEYS
    rows = []
    for name, table in DATASETS.items():
        key = NATURAL_KEYS.get(name, ())
        for col in table.columns:
            if col.name == "batch_id":
                continue
            rows.append({"dataset": name, "field": col.name, "type": _type_name(col.type),
                         "nullable": bool(col.nullable), "key": col.name in key, "comment": col.comment or ""})
    return pd.DataFrame(rows, columns=["dataset", "field", "type", "nullable", "key", "comment"])


def _type_name(type_) -> str:
    from sqlalchemy import Boolean, Date, DateTime, Float, Integer
    for cls, label in ((DateTime, "datetime"), (Date, "date"), (Boolean, "boolean"), (Integer, "integer"),
                       (Float, "number")):
        if isinstance(type_, cls):
            return label
    return "string"
