"""The data dictionary (数据目录, 目录体系): every dataset of the store with its grain, source systems, freshness
and row count, and every field with its type, unit and meaning in both languages — what an information office
asks for. Built on etl.catalogue (the schema and the load log); the 目录 page and `landdesk export catalogue` /
`catalogue-fields` show these frames."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from analytics.exports import Export
from analytics.scope import Scope
from etl.catalogue import fields as schema_fields
from etl.schema import DATASETS, etl_batches
from landdesk.colspec import field_unit
from landdesk.i18n import t
from landdesk.settings import utc_now

DATASET_COLUMNS = ["dataset", "label_zh", "label_en", "grain_zh", "grain_en", "fields", "rows", "systems",
                   "mappings", "batches", "last_batch", "last_loaded", "age_days"]
FIELD_COLUMNS = ["dataset", "field", "label_zh", "label_en", "type", "unit_zh", "unit_en", "key", "nullable",
                 "meaning_zh", "meaning_en"]


def datasets(conn: Connection, scope: Scope | None = None, today: dt.datetime | None = None) -> pd.DataFrame:
    """One row per dataset: its name and grain in both languages, field count, rows (a township scope counts only
    that township's rows where the dataset has a township), the source systems and mappings of its loaded
    batches, how many loads, the last one and its age in days (None: never loaded)."""
    today = today or utc_now()
    township = scope.township if scope is not None else None
    b = etl_batches
    loaded = pd.DataFrame(conn.execute(
        select(b.c.dataset, b.c.batch_id, b.c.system, b.c.mapping, b.c.finished_at)
        .where(b.c.status == "loaded")).mappings().all(),
        columns=["dataset", "batch_id", "system", "mapping", "finished_at"])
    counts = schema_fields().groupby("dataset").size()
    code = _township_code(conn, township) if township else None
    rows = []
    for name, table in DATASETS.items():
        q = select(func.count()).select_from(table)
        if township:
            q = q.where(*_in_township(name, table, township, code))
        mine = loaded[loaded["dataset"] == name].sort_values("batch_id")
        last = mine.iloc[-1] if len(mine) else None
        finished = last["finished_at"] if last is not None else None
        rows.append({
            "dataset": name, "label_zh": t("dataset_" + name, "zh"), "label_en": t("dataset_" + name, "en"),
            "grain_zh": t("grain_" + name, "zh"), "grain_en": t("grain_" + name, "en"),
            "fields": int(counts.get(name, 0)), "rows": int(conn.execute(q).scalar_one()),
            "systems": ", ".join(sorted({str(s) for s in mine["system"].dropna()})) or None,
            "mappings": ", ".join(sorted({str(m).replace("\\", "/").rsplit("/", 1)[-1] for m in mine["mapping"]}))
                        or None,
            "batches": len(mine),
            "last_batch": int(last["batch_id"]) if last is not None else None,
            "last_loaded": finished if finished is not None and pd.notna(finished) else None,
            "age_days": round((today - pd.Timestamp(finished).to_pydatetime()).total_seconds() / 86400, 1)
                        if finished is not None and pd.notna(finished) else None,
        })
    out = pd.DataFrame(rows, columns=DATASET_COLUMNS)
    out["last_batch"] = out["last_batch"].astype("Int64")
    out["last_loaded"] = pd.to_datetime(out["last_loaded"])
    out["age_days"] = out["age_days"].astype(float)
    return out


def _township_code(conn: Connection, township: str) -> str | None:
    """The region code of a township (by name, from regions, else from land use)."""
    from etl.schema import land_use, regions
    found = conn.execute(select(regions.c.region_code).where(regions.c.name == township).limit(1)).scalar()
    return found or conn.execute(select(land_use.c.region_code).where(land_use.c.region_name == township)
                                 .limit(1)).scalar()


def _in_township(name: str, table, township: str, code: str | None) -> list:
    """The conditions keeping a dataset's rows of one township: its township or region name, its cases' events,
    its region code (targets, survey parcels), itself and its villages (regions). The calendar is the bureau's,
    common to every township."""
    from etl.schema import cases
    c = table.c
    if "township" in c:
        return [c.township == township]
    if name == "case_events":
        own = select(cases.c.case_id).where(cases.c.township == township, cases.c.system == c.system,
                                            cases.c.case_id == c.case_id)
        return [own.exists()]
    if "region_name" in c:
        return [c.region_name == township]
    if name == "regions":
        return [(c.region_code == code) | (c.parent == code)]
    if "region_code" in c:
        return [c.region_code == code]
    return []


def dictionary() -> pd.DataFrame:
    """One row per dataset × field (the schema's, no store needed): label, type, unit, whether it is part of the
    natural key or may be empty, and its one-line meaning — the same `col_<field>_help` definitions the pages'
    column headers show."""
    f = schema_fields()
    out = pd.DataFrame({
        "dataset": f["dataset"], "field": f["field"],
        "label_zh": [t("col_" + x, "zh") for x in f["field"]], "label_en": [t("col_" + x, "en") for x in f["field"]],
        "type": f["type"], "unit_zh": [field_unit(x, "zh") for x in f["field"]],
        "unit_en": [field_unit(x, "en") for x in f["field"]], "key": f["key"], "nullable": f["nullable"],
        "meaning_zh": [t(f"col_{x}_help", "zh") for x in f["field"]],
        "meaning_en": [t(f"col_{x}_help", "en") for x in f["field"]]})
    return out[FIELD_COLUMNS]


def _datasets(conn, scope, cal, unit, by):
    return datasets(conn, scope)


def _fields(conn, scope, cal, unit, by):
    return dictionary()


EXPORTS = [
    Export("catalogue", "The data dictionary's datasets: grain, field count, rows, source systems and mappings, "
                        "loads and freshness (the period does not apply; a township scope counts its own rows); "
                        "one row per dataset", _datasets),
    Export("catalogue-fields", "The data dictionary's fields: label, type, unit, key, meaning in Chinese and "
                               "English (from the schema; the period does not apply); one row per dataset × field",
           _fields),
]


def docs_table() -> str:
    """docs/catalogue.md's field table, built from the schema and the catalogues (a test checks the document holds
    exactly this, so the document, the page and the export say the same)."""
    rows = ["| dataset | field | 名称 · name | type | 单位 · unit | key | 含义 · meaning |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in dictionary().itertuples(index=False):
        unit = f"{r.unit_zh} · {r.unit_en}" if isinstance(r.unit_zh, str) else ""
        rows.append(f"| `{r.dataset}` | `{r.field}` | {r.label_zh} · {r.label_en} | {r.type} | {unit} | "
                    f"{'✓' if r.key else ''} | {r.meaning_zh}<br>{r.meaning_en} |")
    return "\n".join(rows)
