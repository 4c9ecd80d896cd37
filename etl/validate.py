"""Validate canonical frames with pandera (lazy, vectorised) and turn failures into reject rows.

Rules: required columns present, values converted to their types, code lists of etl.schema,
ranges (area ≥ 0, rating 1–5, visits ≥ 0 …), dates from 1949 and not in the future,
closed_at ≥ received_at, started_at ≤ completed_at, events of unknown cases, and duplicate
natural keys within a batch. Of duplicates the LAST record in source order is kept (a later
line of an export is the newer state) and the earlier ones are rejected.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pandera.pandas as pa
from sqlalchemy import Date, DateTime, Float, Integer, String, Text

from etl import schema as S
from etl.mapping import DERIVED, Mapping
from etl.rows import ROW
from etl.transform import BAD, CASE_PREFIX
from landdesk.settings import utc_now

EARLIEST = pd.Timestamp("1949-01-01")
#: Longest free text kept (a summary); longer values are rejected, and every value in a reject's raw record is cut to RAW_CHARS.
MAX_TEXT = 20_000
RAW_CHARS = 500
#: Columns that may legitimately lie in the future (plans, targets, calendar overrides).
FUTURE_OK = {"agreed_start", "date", "statutory_days"}
CODE_LISTS = {
    ("cases", "channel"): S.CHANNELS,
    ("cases", "status"): S.CASE_STATUSES,
    ("case_events", "result"): S.EVENT_RESULTS,
    ("petitions", "channel"): S.PETITION_CHANNELS,
    ("petitions", "satisfaction"): S.SATISFACTION,
    ("petitions", "status"): S.PETITION_STATUSES,
    ("regions", "level"): S.REGION_LEVELS,
}
#: GB/T 21010-2017 land-use codes: first level 00–12 (00 湿地 as in the third national land survey),
#: second level four digits under them (0101 水田 …), and the survey's 201–205 (A) built-up classes.
GBT21010 = r"(?:0\d|1[0-2])(?:\d{2})?|20[1-5]A?"
RANGES = {
    "area_ha": (0, None), "rating": (1, 5), "visits": (0, None), "statutory_days": (0, None),
    "promised_days": (0, None), "price": (0, None), "seq": (1, None),
}


def _column_checks(table: str, name: str, label: str, now: pd.Timestamp,
                   category_rule: str = "gbt21010", earliest: int = 1949) -> list[pa.Check]:
    col = S.DATASETS[table].c[name]
    checks: list[pa.Check] = []
    codes = CODE_LISTS.get((table, name))
    if codes:
        checks.append(pa.Check.isin(codes, error=f"{label} is not one of {'/'.join(codes)}"))
    if name == "geometry":          # GeoJSON of any size, checked when it was parsed (etl.geoextract)
        pass
    elif isinstance(col.type, Text) and not (isinstance(col.type, String) and col.type.length):
        checks.append(pa.Check(lambda s: s.astype("string").str.len().fillna(0) <= MAX_TEXT,
                               error=f"{label} is longer than {MAX_TEXT} characters"))
    elif isinstance(col.type, String) and col.type.length:
        n = col.type.length
        checks.append(pa.Check(lambda s, n=n: s.astype("string").str.len() <= n, error=f"{label} is longer than {n} characters"))
    if isinstance(col.type, (Integer, Float)) and name in RANGES:
        lo, hi = RANGES[name]
        if lo is not None:
            checks.append(pa.Check.ge(lo, error=f"{label} is below {lo}"))
        if hi is not None:
            checks.append(pa.Check.le(hi, error=f"{label} is above {hi}"))
    if table in ("land_use", "land_parcels") and name == "category_code" and category_rule == "gbt21010":
        checks.append(pa.Check.str_matches(f"^(?:{GBT21010})$",
                                           error=f"{label} is not a GB/T 21010 land-use code (set category_codes: free "
                                                 "for another classification)"))
    if name == "year":
        checks.append(pa.Check.in_range(earliest, now.year + 1, error=f"{label} is not a year from {earliest} to {now.year + 1}"))
    if isinstance(col.type, (DateTime, Date)):
        checks.append(pa.Check.ge(pd.Timestamp(year=earliest, month=1, day=1), error=f"{label} is before {earliest}"))
        if name not in FUTURE_OK:
            checks.append(pa.Check.le(now, error=f"{label} is in the future"))
    return checks


def build_schema(mapping: Mapping, columns: list[str], known_cases: set[str] | None = None) -> pa.DataFrameSchema:
    """The pandera schema for one mapping's canonical frame (only the columns it has)."""
    dataset = mapping.dataset
    table = S.DATASETS[dataset]
    now = pd.Timestamp(utc_now() + timedelta(days=1))     # instants are naive UTC
    cols: dict[str, pa.Column] = {
        BAD: pa.Column(None, nullable=True, checks=pa.Check(lambda s: s.isna(), error="unconvertible value")),
    }
    for c in table.columns:
        if c.name == "batch_id" or c.name not in columns:
            continue
        required = not c.nullable and c.name not in DERIVED.get(dataset, ()) or c.name in ("seq",)
        checks = _column_checks(dataset, c.name, c.name, now, mapping.category_codes, mapping.earliest_year)
        if c.name == "case_id" and known_cases is not None:
            checks.append(pa.Check(lambda s: s.isin(known_cases), error="case_id is not a known case (and derive_cases is off)"))
        cols[c.name] = pa.Column(None, nullable=not required, checks=checks)
    for name in mapping.case_columns:
        label = f"case {name}"
        cols[CASE_PREFIX + name] = pa.Column(None, nullable=True, checks=_column_checks("cases", name, label, now,
                                                                                        earliest=mapping.earliest_year))
    frame_checks = []
    if {"received_at", "closed_at"} <= set(columns):
        frame_checks.append(pa.Check(lambda d: d["closed_at"].isna() | d["received_at"].isna() | (d["closed_at"] >= d["received_at"]),
                                     error="closed_at is before received_at"))
    if {"started_at", "completed_at"} <= set(columns):
        frame_checks.append(pa.Check(lambda d: d["started_at"].isna() | d["completed_at"].isna() | (d["started_at"] <= d["completed_at"]),
                                     error="started_at is after completed_at"))
    key = [k for k in S.NATURAL_KEYS[dataset] if k in columns]
    if dataset != "case_events" and key:
        label = ", ".join(key)
        frame_checks.append(pa.Check(lambda d, key=key: ~d.duplicated(key, keep="last"),
                                     error=f"duplicate key ({label}); a later record with the same key is kept"))
    return pa.DataFrameSchema(cols, checks=frame_checks, strict=False, coerce=False)


def raw_record(frame: pd.DataFrame, index) -> str:
    """JSON of a mapped (already pseudonymised) record, for etl_rejects.raw; never the source row."""
    row = frame.loc[index].drop(labels=[c for c in (ROW, BAD) if c in frame.columns])
    out = {k: (None if pd.isna(v) else (v.isoformat() if hasattr(v, "isoformat") else v)) for k, v in row.items()}
    out = {k: (v[:RAW_CHARS] + "…" if isinstance(v, str) and len(v) > RAW_CHARS else v) for k, v in out.items()}
    return json.dumps(out, ensure_ascii=False, default=str)


def _describe(row) -> str:
    check = str(row["check"])
    if check == "not_nullable":
        return f"{row['column']} is missing"
    if check == "unconvertible value":
        return str(row["failure_case"])
    if row["schema_context"] == "DataFrameSchema":
        return check
    value = row["failure_case"]
    if isinstance(value, pd.Timestamp):
        value = value.isoformat(sep=" ")
    return f"{check} (got {str(value)[:60]!r})"


def validate(frame: pd.DataFrame, mapping: Mapping, known_cases: set[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a canonical frame into (valid rows, rejects[_row, reason, raw]) with pandera."""
    schema = build_schema(mapping, list(frame.columns), known_cases)
    try:
        schema.validate(frame, lazy=True)
        return frame.drop(columns=[BAD]), pd.DataFrame(columns=[ROW, "reason", "raw"])
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc[fc["index"].notna()]
    fc = fc[~fc["check"].astype(str).str.startswith("dtype(")]
    fc = fc.drop_duplicates(subset=["index", "check", "column"])
    if BAD in frame.columns:      # "x 'abc' is not a date" already says why x is empty: drop "x is missing"
        bad_text = frame[BAD].reindex(fc["index"]).fillna("").astype(str).to_numpy()
        redundant = [(chk == "not_nullable" and f"{col} '" in bad)
                     for chk, col, bad in zip(fc["check"].astype(str), fc["column"].astype(str), bad_text)]
        fc = fc[~pd.Series(redundant, index=fc.index, dtype=bool)]
    fc = fc.assign(reason=fc.apply(_describe, axis=1), idx=fc["index"])
    reasons = fc.groupby("idx", sort=False)["reason"].agg(lambda r: "; ".join(dict.fromkeys(r)))
    bad_index = pd.Index(reasons.index)
    rejects = pd.DataFrame({
        ROW: frame.loc[bad_index, ROW].to_numpy(),
        "reason": reasons.to_numpy(),
        "raw": [raw_record(frame, i) for i in bad_index],
    }).sort_values(ROW, kind="stable").reset_index(drop=True)
    good = frame.drop(index=bad_index).drop(columns=[BAD])
    return good, rejects
