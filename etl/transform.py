"""Map: rename source columns to canonical ones, apply code maps and defaults, protect PII,
convert types; for event logs pair lifecycle transitions, order events and derive cases.

Conversion failures are not raised: they are collected per row in the `_bad` column, which
validation turns into rejects with the row's source number.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, Float, Integer

from etl.extract import ROW
from etl.mapping import Mapping
from etl.privacy import protect
from etl.schema import DATASETS
from landdesk.config import LandDeskError

BAD = "_bad"
CASE_PREFIX = "case."
NA_TOKENS = {"", "na", "n/a", "n.a.", "nan", "nat", "null", "none", "-", "--", "—", "#n/a"}
TRUE_TOKENS = {"1", "true", "t", "yes", "y", "是", "工作日", "上班", "班"}
FALSE_TOKENS = {"0", "false", "f", "no", "n", "否", "休息日", "休", "假", "节假日"}
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _clean(series: pd.Series) -> pd.Series:
    """Strings stripped, with empty and NA tokens as nulls (object dtype with None)."""
    text = series.astype("string").str.strip()
    text = text.mask(text.str.lower().isin(NA_TOKENS))
    return text


def parse_datetime(series: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Parse mixed date/time strings to naive wall-clock time in `tz`; also return a failure mask.

    ISO 8601 (with or without offset), `2024/3/5 14:02`, `2024年3月5日` and day-only dates;
    naive values are taken as `tz` wall-clock time, aware ones are converted to `tz`.
    """
    text = _clean(series)
    present = text.notna()
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    if not present.any():
        return out, present & False
    text = text.str.replace(_CN_DATE, r"\1-\2-\3 ", regex=True).str.replace("/", "-", regex=False).str.strip()
    aware = present & text.str.contains(_OFFSET, na=False)
    naive = present & ~aware
    if aware.any():
        part = text[aware]
        val = pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce")
        retry = val.isna()
        if retry.any():
            val[retry] = pd.to_datetime(part[retry], format="mixed", utc=True, errors="coerce")
        out[aware] = val.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")
    if naive.any():
        part = text[naive]
        val = pd.to_datetime(part, format="ISO8601", errors="coerce")
        retry = val.isna()
        if retry.any():
            padded = part[retry].str.replace(r"^(\d{4})-(\d{1,2})-(\d{1,2})", lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", regex=True)
            val[retry] = pd.to_datetime(padded, format="mixed", errors="coerce")
        out[naive] = val.astype("datetime64[us]")
    failed = present & out.isna()
    return out, failed


def _to_number(series: pd.Series, integer: bool) -> tuple[pd.Series, pd.Series]:
    text = _clean(series).str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    num = pd.to_numeric(text, errors="coerce")
    failed = text.notna() & num.isna()
    if integer:
        frac = num.notna() & (num % 1 != 0)
        failed |= frac
        num = num.mask(frac).astype("Int64")
    return num.astype("Int64") if integer else num.astype("float64"), failed


def _to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = _clean(series).str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(TRUE_TOKENS)] = True
    out[text.isin(FALSE_TOKENS)] = False
    failed = text.notna() & out.isna()
    return out, failed


def convert(frame: pd.DataFrame, table_name: str, tz: str, prefix: str = "") -> pd.DataFrame:
    """Convert the frame's columns of `table_name` to their SQL types; failures go to `_bad`."""
    table = DATASETS[table_name]
    for col in table.columns:
        name = prefix + col.name
        if name not in frame.columns:
            continue
        kind = col.type
        if isinstance(kind, (DateTime, Date)):
            value, failed = parse_datetime(frame[name], tz)
            if isinstance(kind, Date):
                value = value.dt.normalize()
            what = "a date" if isinstance(kind, Date) else "a date/time"
        elif isinstance(kind, Integer):
            value, failed = _to_number(frame[name], integer=True)
            what = "a whole number"
        elif isinstance(kind, Float):
            value, failed = _to_number(frame[name], integer=False)
            what = "a number"
        elif isinstance(kind, Boolean):
            value, failed = _to_bool(frame[name])
            what = "yes/no"
        else:
            value = _clean(frame[name])
            frame[name] = value.astype(object).where(value.notna(), None)
            continue
        if failed.any():
            note = name + " " + frame[name].astype("string").str.slice(0, 40).map(repr, na_action="ignore") + f" is not {what}"
            frame[BAD] = frame[BAD].where(~failed, frame[BAD].fillna("").str.cat(note.where(failed, ""), sep="; ").str.lstrip("; "))
        frame[name] = value
    return frame


def _apply_values(column: pd.Series, codes: dict) -> pd.Series:
    table = {str(k).strip(): v for k, v in codes.items()}
    text = column.astype("string").str.strip()
    mapped = text.map(table)
    return mapped.where(text.isin(table.keys()), column).astype(object)


def to_canonical(raw: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """Rename, code-map, default, pseudonymise and type-convert a raw frame for the mapping's dataset."""
    where = mapping.source.describe()
    wanted = {**mapping.columns, **{CASE_PREFIX + k: v for k, v in mapping.case_columns.items()}}
    missing = sorted({src for src in wanted.values() if src not in raw.columns})
    if missing:
        have = ", ".join(c for c in raw.columns if c != ROW)
        raise LandDeskError(
            f"Source {where} has no column {', '.join(map(repr, missing))} that mapping {mapping.name} "
            f"maps (columns: {have[:300]})."
        )
    frame = pd.DataFrame({name: raw[src] for name, src in wanted.items()}, index=raw.index)
    frame[ROW] = raw[ROW].to_numpy()
    for name, codes in mapping.values.items():
        for target in (name, CASE_PREFIX + name):
            if target in frame.columns:
                frame[target] = _apply_values(frame[target], codes)
    for name, value in mapping.defaults.items():
        const = None if value is None else str(value)
        if name in frame.columns:
            frame[name] = frame[name].where(_clean(frame[name]).notna(), const)
        else:
            frame[name] = const
        if name in mapping.values and name not in mapping.columns:
            frame[name] = _apply_values(frame[name], mapping.values[name])
    protect(frame)
    frame[BAD] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if mapping.dataset == "case_events" and "lifecycle" in frame.columns:
        frame = pair_lifecycle(frame)
    convert(frame, mapping.dataset, mapping.timezone)
    if mapping.case_columns:
        convert(frame, "cases", mapping.timezone, prefix=CASE_PREFIX)
    derive_status(frame, mapping.dataset)
    return frame


def derive_status(frame: pd.DataFrame, dataset: str) -> None:
    """Fill an unmapped status: cases closed/open by closed_at; petitions by their latest step."""
    if dataset == "cases":
        derived = np.where(frame["closed_at"].notna(), "closed", "open") if "closed_at" in frame else "open"
        if "status" not in frame:
            frame["status"] = derived
        else:
            frame["status"] = frame["status"].where(frame["status"].notna(), pd.Series(derived, index=frame.index))
    elif dataset == "petitions":
        step = pd.Series("open", index=frame.index, dtype=object)
        for col, name in (("accepted_at", "accepted"), ("replied_at", "replied"), ("closed_at", "closed")):
            if col in frame:
                step = step.mask(frame[col].notna(), name)
        frame["status"] = frame["status"].where(frame["status"].notna(), step) if "status" in frame else step


def pair_lifecycle(frame: pd.DataFrame) -> pd.DataFrame:
    """Merge start/complete transitions of the same stage in a case into one event.

    A `complete` whose previous transition of that stage in that case is a `start` takes the
    start's time as started_at; a `complete` alone keeps started_at null; other transitions
    (start without complete, schedule, suspend …) are dropped.
    """
    life = frame["lifecycle"].astype("string").str.strip().str.lower().fillna("complete")
    keep = life.isin(["start", "complete"])
    part = frame.loc[keep].assign(_life=life[keep])
    part = part.sort_values(["case_id", "stage", ROW], kind="stable")
    same = (part["case_id"].eq(part["case_id"].shift())) & (part["stage"].eq(part["stage"].shift()))
    prev_start = same & part["_life"].shift().eq("start")
    is_complete = part["_life"].eq("complete")
    if "started_at" not in part.columns:
        part["started_at"] = None
    start_time = part["completed_at"].shift()
    pair = is_complete & prev_start
    part["started_at"] = part["started_at"].astype(object).where(~pair, start_time)
    out = part.loc[is_complete].drop(columns=["_life", "lifecycle"]).sort_values(ROW, kind="stable")
    return out


def assign_seq(events: pd.DataFrame) -> pd.DataFrame:
    """Order each case's events by completed_at, ties by source order, and number them 1..n."""
    events = events.sort_values(["case_id", "completed_at", ROW], kind="stable")
    events["seq"] = events.groupby("case_id", sort=False).cumcount() + 1
    return events


def derive_cases(events: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """One cases row per case in an (ordered) event frame: first event, last or end-stage event, case_columns."""
    g = events.groupby("case_id", sort=False)
    first = events["started_at"].where(events["started_at"].notna(), events["completed_at"]) \
        if "started_at" in events else events["completed_at"]
    cases = pd.DataFrame({"received_at": first.groupby(events["case_id"], sort=False).min()})
    if mapping.end_stages:
        ends = events.loc[events["stage"].isin(mapping.end_stages)]
        cases["closed_at"] = ends.groupby("case_id", sort=False)["completed_at"].first().reindex(cases.index)
    else:
        cases["closed_at"] = g["completed_at"].last()
    for name in mapping.case_columns:
        col = CASE_PREFIX + name
        value = events.groupby("case_id", sort=False)[col].first().reindex(cases.index)
        cases[name] = value.fillna(cases["received_at"]) if name == "received_at" else value
    if "status" not in mapping.case_columns:
        cases["status"] = np.where(cases["closed_at"].notna(), "closed", "open")
    else:
        cases["status"] = cases["status"].where(cases["status"].notna(),
                                                pd.Series(np.where(cases["closed_at"].notna(), "closed", "open"), index=cases.index))
    return cases.rename_axis("case_id").reset_index()
