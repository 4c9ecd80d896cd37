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

from etl.mapping import Mapping
from etl.privacy import protect
from etl.rows import ROW
from etl.schema import DATASETS
from landdesk.errors import LandDeskError

BAD = "_bad"
CASE_PREFIX = "case."
NA_TOKENS = {"", "na", "n/a", "n.a.", "nan", "nat", "null", "none", "-", "--", "—", "#n/a"}
#: The transitions of the XES standard lifecycle model; a `lifecycle` value outside them is rejected.
XES_TRANSITIONS = ("start", "complete", "schedule", "assign", "reassign", "withdraw", "suspend", "resume",
                   "ate_abort", "pi_abort", "autoskip", "manualskip", "unknown")
#: Identifier columns: a value such as `NA` or `null` there is a real id (only an empty cell is missing).
ID_COLUMNS = frozenset({"case_id", "petition_id", "supply_id", "parcel_id"})
TRUE_TOKENS = {"1", "true", "t", "yes", "y", "是", "工作日", "上班", "班"}
FALSE_TOKENS = {"0", "false", "f", "no", "n", "否", "休息日", "休", "假", "节假日"}
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_CN_TIME = re.compile(r"(\d{1,2})\s*[时時点]\s*(?:(\d{1,2})\s*分)?\s*(?:(\d{1,2})\s*秒)?")
#: A UTC offset after a time of day: Z, +08, +0800, +08:00 (a date's own "-02" never counts).
_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_HOURS_OFFSET = re.compile(r"([+-]\d{2})$")
_YEAR_LAST = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{4})(?=$|[\sT])")
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?=$|[\sT])")
_AMPM = re.compile(r"\s*(?:([AaPp])\.?\s?[Mm]\.?|(上午|下午|晚上|中午|凌晨))\s*$")
_AMPM_LEAD = re.compile(r"^(\S+)\s+(上午|下午|晚上|中午|凌晨)\s*(.+)$")
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _factorized(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, unique values as strings): conversions run once per distinct value, not per row."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, pd.Series(uniques, dtype=object).astype(str)


def _take(values: pd.Series, codes: np.ndarray, fill, index) -> pd.Series:
    """Spread per-unique results back to rows (code -1, a null, becomes `fill`)."""
    arr = values.to_numpy()
    if len(arr) == 0:
        return pd.Series(fill, index=index, dtype=values.dtype)
    out = arr.take(np.where(codes < 0, 0, codes))
    if (codes < 0).any():
        out = out.copy()
        out[codes < 0] = fill
    return pd.Series(out, index=index, dtype=values.dtype)


def _clean(series: pd.Series) -> pd.Series:
    """Strings stripped, with empty and NA tokens as nulls (string dtype with <NA>)."""
    text = series.astype("string").str.strip()
    text = text.mask(text.str.lower().isin(NA_TOKENS))
    return text


def _clean_id(series: pd.Series) -> pd.Series:
    """Identifiers stripped; only empty ones are null (`NA`, `null`, `-` are ids like any other)."""
    text = series.astype("string").str.strip()
    return text.mask(text.eq(""))


def clean_text(series: pd.Series, identifier: bool = False) -> pd.Series:
    """`_clean` as an object column with None for nulls, computed once per distinct value
    (repeated strings stay one shared object: fast and small on big logs). `identifier`: only
    empty values are null, the empty-value words (NA, null …) are kept as ids."""
    codes, uniques = _factorized(series)
    cleaned = _clean_id(uniques) if identifier else _clean(uniques)
    cleaned = cleaned.astype(object).where(cleaned.notna(), None)
    return _take(cleaned, codes, None, series.index)


def _excel_serial(num: pd.Series) -> pd.Series:
    """Excel serial day numbers (1900 date system, as Excel counts them since 1900-03-01) to datetimes."""
    return (EXCEL_EPOCH + pd.to_timedelta(num.astype("float64"), unit="D")).dt.round("s")


def _localise(val: pd.Series, tz: str) -> pd.Series:
    """Aware values (UTC after `utc=True`) as naive UTC instants, the store's form."""
    return val.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def _wall(val: pd.Series, tz: str) -> pd.Series:
    """Naive wall-clock times in `tz` as naive UTC instants. In a zone with daylight saving a time in the
    repeated autumn hour is taken as its first (summer-time) occurrence, and a time in the skipped spring
    hour moves forward to the first valid instant."""
    val = pd.Series(val).astype("datetime64[us]")
    if tz.upper() == "UTC" or val.empty:
        return val
    aware = val.dt.tz_localize(tz, ambiguous=np.ones(len(val), dtype=bool), nonexistent="shift_forward")
    return aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def _local_wall(val: pd.Series, tz: str) -> pd.Series:
    """Naive UTC instants as naive wall-clock times in `tz` (the inverse of `_wall`)."""
    if tz.upper() == "UTC" or val.empty:
        return val
    return val.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")


def _ampm(text: pd.Series) -> pd.Series:
    """'… 2:14:00 PM' / '下午 2:14' → 24-hour '… 14:14:00'; other strings unchanged."""
    def fix(s: str) -> str:
        lead = _AMPM_LEAD.match(s)
        if lead:
            s = f"{lead[1]} {lead[3]} {lead[2]}"
        m = _AMPM.search(s)
        if not m:
            return s
        pm = (m[1] or "").lower() == "p" or m[2] in ("下午", "晚上")
        am = (m[1] or "").lower() == "a" or m[2] in ("上午", "凌晨")
        head = s[:m.start()].rstrip()
        t = re.search(r"(\d{1,2})(:\d{2}(?::\d{2}(?:\.\d+)?)?)?$", head)
        if not t:
            return s
        hour = int(t[1])
        if hour > 12 or hour == 0 and pm:
            return s + " ?"          # 13 PM: not a time; make it fail
        if pm and hour != 12:
            hour += 12
        elif am and hour == 12:
            hour = 0
        elif m[2] == "中午" and hour < 11:
            hour += 12
        return f"{head[:t.start()]}{hour:02d}{t[2] or ':00'}"
    return text.map(fix)


def _parse_text(text: pd.Series, tz: str, fmt: str | None, dayfirst: bool | None) -> pd.Series:
    """Parse stripped, non-null date strings (one per distinct value) to naive UTC instants: naive values are
    `tz` wall-clock times, aware ones are converted."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if text.empty:
        return out
    if fmt == "auto-slow":
        return _parse_slow(text, tz, dayfirst)
    if fmt and fmt != "auto":
        if fmt == "excel":
            num = pd.to_numeric(text, errors="coerce")
            return _wall(_excel_serial(num), tz)
        if fmt == "iso":
            aware = text.str.contains(_OFFSET, na=False)
            if aware.any():
                out[aware] = _localise(pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce"), tz)
            if (~aware).any():
                out[~aware] = _wall(pd.to_datetime(text[~aware], format="ISO8601", errors="coerce"), tz).to_numpy()
            return out
        if "%z" in fmt or "%Z" in fmt:
            return _localise(pd.to_datetime(text, format=fmt, utc=True, errors="coerce"), tz)
        return _wall(pd.to_datetime(text, format=fmt, errors="coerce"), tz)

    # 0. fast path: ISO 8601 (with or without an offset), parsed in C; only the rest goes on
    aware = text.str.contains(_OFFSET.pattern, case=False, regex=True, na=False)
    iso = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if aware.any():
        iso[aware] = _localise(pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce"), tz)
    if (~aware).any():
        plain = ~aware & text.str.match(r"^\d{4}-\d{2}-\d{2}", na=False)
        if plain.any():
            iso[plain] = _wall(pd.to_datetime(text[plain], format="ISO8601", errors="coerce"), tz).to_numpy()
    done = iso.notna()
    if done.all():
        return iso
    if done.any():
        out = iso
        rest_out = _parse_text(text[~done], tz, "auto-slow", dayfirst)
        out[~done] = rest_out.to_numpy()
        return out
    return _parse_text(text, tz, "auto-slow", dayfirst)


def _parse_slow(text: pd.Series, tz: str, dayfirst: bool | None) -> pd.Series:
    """Formats other than ISO 8601: each value normalised by pattern, then parsed (naive UTC instants)."""
    out, aware = _parse_slow_wall(text, dayfirst)
    naive = ~aware & out.notna()
    if naive.any():
        out[naive] = _wall(out[naive], tz).to_numpy()
    return out


def _parse_slow_wall(text: pd.Series, dayfirst: bool | None) -> tuple[pd.Series, pd.Series]:
    """`_parse_slow` before naive values are placed in their zone: (values, which were aware and are UTC)."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    was_aware = pd.Series(False, index=text.index)
    # 1. Excel serial day numbers (a number of five digits, optionally with a day fraction)
    serial = text.str.fullmatch(_EXCEL_SERIAL.pattern)
    if serial.any():
        out[serial] = _excel_serial(pd.to_numeric(text[serial])).astype("datetime64[us]")
    # 2. compact 20240305 / 20240305140200
    compact8 = text.str.fullmatch(r"\d{8}")
    if compact8.any():
        out[compact8] = pd.to_datetime(text[compact8], format="%Y%m%d", errors="coerce")
    compact14 = text.str.fullmatch(r"\d{14}")
    if compact14.any():
        out[compact14] = pd.to_datetime(text[compact14], format="%Y%m%d%H%M%S", errors="coerce")
    rest = ~(serial | compact8 | compact14)
    if not rest.any():
        return out, was_aware
    t = text[rest]
    # 3. Chinese 2024年3月5日 14时02分; 上午/下午; AM/PM
    cn = t.str.contains("年", regex=False)
    if cn.any():
        t = t.where(~cn, t.str.replace(_CN_DATE, r"\1-\2-\3 ", regex=True)
                    .str.replace(_CN_TIME, lambda m: f"{m[1]}:{m[2] or '00'}" + (f":{m[3]}" if m[3] else ""), regex=True)
                    .str.strip())
    # 4. day/month/year or month/day/year (year last): dayfirst, else decided by the data (a field > 12), else m/d/y
    yl = t.str.match(_YEAR_LAST)
    if yl.any():
        parts = t[yl].str.extract(_YEAR_LAST)
        first, second = parts[0].astype(int), parts[2].astype(int)
        dfirst = dayfirst
        if dfirst is None:
            if (first > 12).any() and not (second > 12).any():
                dfirst = True
            elif (second > 12).any():
                dfirst = False
            else:
                dfirst = bool((parts[1] == ".").all())   # 05.03.2024 is European; 3/5/2024 American
        day, month = (first, second) if dfirst else (second, first)
        head = parts[3] + "-" + month.map("{:02d}".format) + "-" + day.map("{:02d}".format)
        t = t.copy()
        t[yl] = head + t[yl].str.replace(_YEAR_LAST, "", regex=True)
    # 5. 2024/3/5 and 2024.3.5 → ISO order with dashes
    t = t.str.replace(_YEAR_FIRST, lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", regex=True)
    ampm = t.map(lambda v: bool(_AMPM.search(v) or _AMPM_LEAD.match(v))).astype(bool)
    if ampm.any():
        t = t.where(~ampm, _ampm(t[ampm]))
    t = t.str.replace(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[\sT])",
                      lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", regex=True).str.strip()
    # 6. ISO 8601 with offset (converted to tz) or naive (taken as tz wall-clock); then anything pandas reads
    aware = t.str.contains(_OFFSET, na=False)
    if aware.any():
        part = t[aware]
        val = pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce")
        retry = val.isna()
        if retry.any():
            val[retry] = pd.to_datetime(part[retry], format="mixed", utc=True, errors="coerce",
                                        dayfirst=bool(dayfirst))
        out.loc[part.index] = _localise(val, "UTC")
        was_aware.loc[part.index] = True
    naive = ~aware
    datelike = t.str.contains(r"\d{4}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}\b", regex=True, na=False)
    naive &= datelike          # a bare time ("12:00 AM") is not a date: pandas would give it today's date
    if naive.any():
        part = t[naive]
        val = pd.to_datetime(part, format="ISO8601", errors="coerce")
        retry = val.isna()
        if retry.any():
            val[retry] = pd.to_datetime(part[retry], format="mixed", errors="coerce", dayfirst=bool(dayfirst))
        out.loc[part.index] = val.astype("datetime64[us]")
    return out, was_aware


def _parse_guarded(text: pd.Series, tz: str, fmt: str | None, dayfirst: bool | None) -> pd.Series:
    """`_parse_text`, but a value pandas chokes on (mixed zones, an odd offset, an overflow) fails on
    its own row instead of ending the load in a traceback: on an exception, parse value by value."""
    try:
        return _parse_text(text, tz, fmt, dayfirst)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        pass
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for i, value in zip(text.index, text.tolist()):
        try:
            out[i] = _parse_text(pd.Series([value], index=[i], dtype=object), tz, fmt, dayfirst).iloc[0]
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            pass
    return out


def parse_datetime(series: pd.Series, tz: str, fmt: str | None = None,
                   dayfirst: bool | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse mixed date/time strings to absolute instants (naive UTC, the store's form); also return a failure mask.

    With `fmt` (a strftime pattern such as "%m/%d/%Y %I:%M:%S %p", or "iso" / "excel") every value
    must match it. Otherwise the format is detected per value: ISO 8601 with or without offset,
    `2024/3/5 14:02`, `2024.3.5`, `2024年3月5日 14时02分`, `3/5/2024 2:02:00 PM` (month first unless
    `dayfirst` or a day > 12 in the column says otherwise), `05.03.2024` (day first), Excel serial
    day numbers (`45356`, `45356.5`), `20240305`, and day-only dates. Naive values are taken as `tz`
    wall-clock time (see `_wall` for the hours daylight saving repeats or skips), aware ones are converted.
    Each distinct string is parsed once.
    """
    codes, uniques = _factorized(series)
    text = _clean(uniques)
    present = text.notna()
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[us]")
    if present.any():
        parsed[present] = _parse_guarded(text[present].astype(str), tz, fmt, dayfirst).to_numpy()
    failed_u = present & parsed.isna()
    value = _take(parsed, codes, np.datetime64("NaT"), series.index)
    failed = _take(failed_u, codes, False, series.index).astype(bool)
    return value, failed


def _to_number(series: pd.Series, integer: bool) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(numbers, failed to convert, non-finite: inf / -inf / 1e309), computed once per distinct value."""
    codes, uniques = _factorized(series)
    text = _clean(uniques).str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    infinite = pd.Series(np.isinf(num.to_numpy()), index=num.index)
    num = num.mask(infinite)
    failed = text.notna() & num.isna() & ~infinite
    if integer:
        frac = num.notna() & (num % 1 != 0)
        failed |= frac
        num = num.mask(frac)
    value = _take(num, codes, np.nan, series.index)
    failed = _take(failed.astype(bool), codes, False, series.index).astype(bool)
    infinite = _take(infinite, codes, False, series.index).astype(bool)
    return (value.astype("Int64") if integer else value), failed, infinite


def _to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = _clean(series).str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(TRUE_TOKENS)] = True
    out[text.isin(FALSE_TOKENS)] = False
    failed = text.notna() & out.isna()
    return out, failed


def _format_for(formats: dict | None, name: str) -> str | None:
    if not formats:
        return None
    base = name[len(CASE_PREFIX):] if name.startswith(CASE_PREFIX) else name
    return formats.get(name) or formats.get(base) or formats.get("*")


def convert(frame: pd.DataFrame, table_name: str, tz: str, prefix: str = "",
            date_formats: dict | None = None, dayfirst: bool | None = None) -> pd.DataFrame:
    """Convert the frame's columns of `table_name` to their SQL types; failures go to `_bad`."""
    table = DATASETS[table_name]
    for col in table.columns:
        name = prefix + col.name
        if name not in frame.columns:
            continue
        kind = col.type
        if isinstance(kind, (DateTime, Date)):
            value, failed = parse_datetime(frame[name], tz, _format_for(date_formats, name), dayfirst)
            if isinstance(kind, Date):      # a date is a local calendar day, not an instant
                value = _local_wall(value, tz).dt.normalize()
            fmt = _format_for(date_formats, name)
            what = ("a date" if isinstance(kind, Date) else "a date/time") + (f" in format {fmt}" if fmt else "")
        elif isinstance(kind, (Integer, Float)):
            value, failed, infinite = _to_number(frame[name], integer=isinstance(kind, Integer))
            what = "a whole number" if isinstance(kind, Integer) else "a number"
            if infinite.any():
                _note(frame, infinite, name + " " + _quoted(frame[name]) + " is not a finite number")
        elif isinstance(kind, Boolean):
            value, failed = _to_bool(frame[name])
            what = "yes/no"
        else:
            frame[name] = clean_text(frame[name], identifier=col.name in ID_COLUMNS)
            continue
        if failed.any():
            _note(frame, failed, name + " " + _quoted(frame[name]) + f" is not {what}")
        frame[name] = value
    return frame


def _quoted(column: pd.Series) -> pd.Series:
    return column.astype("string").str.slice(0, 40).map(repr, na_action="ignore")


def _note(frame: pd.DataFrame, mask: pd.Series, note: pd.Series) -> None:
    """Append `note` (text per row, or one text) to the `_bad` text of the rows in `mask`."""
    if isinstance(note, str):
        note = pd.Series(note, index=frame.index, dtype="string")
    frame[BAD] = frame[BAD].where(~mask, frame[BAD].fillna("").str.cat(note.where(mask, ""), sep="; ").str.lstrip("; "))


def _apply_values(column: pd.Series, codes: dict) -> pd.Series:
    table = {str(k).strip(): v for k, v in codes.items()}
    text = column.astype("string").str.strip()
    mapped = text.map(table)
    return mapped.where(text.isin(table.keys()), column).astype(object)


def missing_columns(raw: pd.DataFrame, where: str, mapping: Mapping, missing: list[str], wanted: set[str],
                    verb: str = "maps") -> LandDeskError:
    """The error for mapped columns the source lacks. The source's own header is listed only when it
    is recognisably that source's header (it holds at least one mapped column); otherwise the file is
    probably not the export the mapping describes, and nothing of its content is echoed."""
    names = ", ".join(map(repr, missing[:8])) + (", …" if len(missing) > 8 else "")
    have = [str(c) for c in raw.columns if c != ROW]
    if wanted & set(have):
        listed = ", ".join(have)
        return LandDeskError(f"Source {where} has no column {names} that mapping {mapping.name} {verb} "
                             f"(columns: {listed[:300]}).")
    return LandDeskError(f"Source {where} has no column {names} that mapping {mapping.name} {verb}, nor any other "
                         "mapped column: is it the right file (check `source.path`, `header_row`, `delimiter`)?")


UNPIVOT_KEY, UNPIVOT_VALUE = "_unpivot_key", "_unpivot_value"


def unpivot(raw: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """A wide table (one column per category) as one record per source row × listed column.

    The records of one source row keep its `_row`, in column order; `unpivot.columns` may map
    each header to the code stored (e.g. USDA "Total cropland" → CROP).
    """
    spec = mapping.unpivot
    cols = spec["columns"]
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise missing_columns(raw, mapping.source.describe(), mapping, missing, set(cols), "unpivots")
    ids = [c for c in raw.columns if c not in cols]
    long = raw.melt(id_vars=ids, value_vars=list(cols), var_name=UNPIVOT_KEY, value_name=UNPIVOT_VALUE)
    order = {c: i for i, c in enumerate(cols)}
    long["_order"] = long[UNPIVOT_KEY].map(order)
    long = long.sort_values([ROW, "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    long[UNPIVOT_KEY] = long[UNPIVOT_KEY].map(cols)
    return long


def join_columns(raw: pd.DataFrame, mapping: Mapping, where: str) -> pd.DataFrame:
    """Add each joined column (`stage: [a, b]`) to the raw frame: the parts' non-empty values, stripped,
    joined with JOINER ('Review' + 'complete' → 'Review+complete'; 'Decide' + '' → 'Decide')."""
    from etl.mapping import JOINER
    raw = raw.copy(deep=False)
    for name, parts in mapping.joined.items():
        missing = [p for p in parts if p not in raw.columns]
        if missing:
            raise missing_columns(raw, where, mapping, missing, mapping.source_columns())
        out = None
        for part in parts:
            text = raw[part].astype("string").str.strip()
            text = text.mask(text.eq(""))
            if out is None:
                out = text
                continue
            both = out.notna() & text.notna()
            out = out.where(text.isna(), text).where(~both, out + JOINER + text)
        raw[mapping.columns[name]] = out.astype(object).where(out.notna(), None)
    return raw


def to_canonical(raw: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """Rename, code-map, default, pseudonymise and type-convert a raw frame for the mapping's dataset."""
    where = mapping.source.describe()
    file_crs = raw.attrs.get("crs")
    if mapping.unpivot:
        raw = unpivot(raw, mapping)
    if mapping.joined:
        raw = join_columns(raw, mapping, where)
    wanted = {**mapping.columns, **{CASE_PREFIX + k: v for k, v in mapping.case_columns.items()}}
    if mapping.unpivot:
        wanted.update({mapping.unpivot["into"]: UNPIVOT_KEY, mapping.unpivot["value"]: UNPIVOT_VALUE})
    missing = sorted({src for src in wanted.values() if src not in raw.columns})
    if missing:
        raise missing_columns(raw, where, mapping, missing, set(wanted.values()))
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
    convert(frame, mapping.dataset, mapping.timezone, date_formats=mapping.date_formats, dayfirst=mapping.dayfirst)
    if mapping.case_columns:
        convert(frame, "cases", mapping.timezone, prefix=CASE_PREFIX, date_formats=mapping.date_formats,
                dayfirst=mapping.dayfirst)
    for name, factor in mapping.multiply.items():
        if name in frame:
            frame[name] = frame[name] * factor
            overflow = pd.Series(np.isinf(frame[name].to_numpy(dtype="float64", na_value=np.nan)), index=frame.index)
            if overflow.any():
                _note(frame, overflow, f"{name} × {factor:g} is not a finite number")
                frame[name] = frame[name].mask(overflow)
    if mapping.dataset in ("land_use", "land_parcels") and mapping.category_codes == "gbt21010" and "category_code" in frame:
        frame["category_code"] = pad_land_codes(frame["category_code"])
    if "geometry" in frame.columns:
        _geometry(frame, mapping, file_crs, where)
    derive_status(frame, mapping.dataset)
    return frame


def _geometry(frame: pd.DataFrame, mapping: Mapping, file_crs, where: str) -> None:
    """The geometry column as GeoJSON in the store CRS: from the mapping's `source.crs`, else the file's own
    CRS, else (text columns of a table) the store CRS itself; a vector file without any CRS is an error."""
    from etl.geoextract import geometry_column
    from etl.mapping import VECTOR_FORMATS
    from etl.schema import STORE_CRS
    crs = mapping.source.crs or file_crs
    if crs is None:
        if mapping.source.format in VECTOR_FORMATS:
            raise LandDeskError(f"Source {where} has no coordinate reference system (no .prj or CRS in the file); "
                                f"set `source.crs` in mapping {mapping.name}, e.g. EPSG:4490 or EPSG:4549.")
        crs = STORE_CRS
    texts, reasons = geometry_column(frame["geometry"], crs)
    _note(frame, reasons.notna(), reasons.fillna(""))
    frame["geometry"] = texts


def pad_land_codes(codes: pd.Series) -> pd.Series:
    """Restore the leading zero Excel strips from numeric GB/T 21010 codes: 1 → 01, 101 → 0101."""
    text = codes.astype("string")
    short = text.str.fullmatch(r"\d|\d{3}", na=False) & ~text.str.fullmatch(r"20[1-5]", na=False)
    return codes.where(~short, "0" + text).astype(object).where(codes.notna(), None)


def derive_status(frame: pd.DataFrame, dataset: str) -> None:
    """Fill an unmapped status: cases closed/open by closed_at; petitions by their latest step."""
    if dataset == "cases":
        derived = np.where(frame["closed_at"].notna(), "closed", "open") if "closed_at" in frame else "open"
        if "status" not in frame:
            frame["status"] = derived
        else:
            frame["status"] = frame["status"].where(frame["status"].notna(), pd.Series(derived, index=frame.index))
            if "closed_at" in frame:     # an open case is running, whatever date the export put beside it
                frame["closed_at"] = frame["closed_at"].mask(frame["status"].eq("open"))
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
    (start without complete, schedule, suspend … of the XES lifecycle model) are dropped. A value
    outside that model (e.g. an export's own 'Begin') is kept as a row marked bad, so it is rejected
    with the reason "unmapped lifecycle value" instead of vanishing. Vectorised with integer codes.
    """
    codes, uniques = _factorized(frame["lifecycle"])
    life_u = _clean(uniques).str.lower().fillna("complete").astype(object).to_numpy()
    life = life_u.take(np.where(codes < 0, 0, codes)) if len(life_u) else np.array([], dtype=object)
    if (codes < 0).any():
        life = life.copy()
        life[codes < 0] = "complete"
    is_start = life == "start"
    is_complete = life == "complete"
    unknown_u = ~np.isin(life_u, XES_TRANSITIONS)          # once per distinct value, not per event
    unknown = np.flatnonzero(unknown_u.take(np.where(codes < 0, 0, codes)) & (codes >= 0)) if unknown_u.any() \
        else np.array([], dtype=np.int64)
    keep = np.flatnonzero(is_start | is_complete)
    part = frame.iloc[keep]
    case_code = pd.factorize(part["case_id"])[0]
    stage_code = pd.factorize(part["stage"])[0]
    rows = part[ROW].to_numpy()
    order = np.lexsort((rows, stage_code, case_code))
    cs, ss = case_code[order], stage_code[order]
    start_s, complete_s = is_start[keep][order], is_complete[keep][order]
    prev_same = np.zeros(len(order), dtype=bool)
    prev_same[1:] = (cs[1:] == cs[:-1]) & (ss[1:] == ss[:-1])
    prev_start = np.zeros(len(order), dtype=bool)
    prev_start[1:] = start_s[:-1]
    pair = complete_s & prev_same & prev_start
    completed = part["completed_at"].to_numpy(dtype=object)
    started = part["started_at"].to_numpy(dtype=object).copy() if "started_at" in part.columns \
        else np.full(len(part), None, dtype=object)
    pos_complete = order[pair]
    pos_start = order[np.flatnonzero(pair) - 1]
    started[pos_complete] = completed[pos_start]
    sel = np.sort(order[complete_s])
    if not len(unknown):
        out = part.iloc[sel].drop(columns=["lifecycle"]).copy()
        out["started_at"] = started[sel]
        return out
    own = frame["started_at"].to_numpy(dtype=object)[unknown] if "started_at" in frame.columns \
        else np.full(len(unknown), None, dtype=object)
    pos = np.concatenate([keep[sel], unknown])
    start_all = np.concatenate([started[sel], own])
    o = np.argsort(pos, kind="stable")
    out = frame.iloc[pos[o]].copy()
    out["started_at"] = start_all[o]
    bad = pd.Series(False, index=out.index)
    bad.iloc[np.flatnonzero(np.isin(pos[o], unknown))] = True
    _note(out, bad, "unmapped lifecycle value " + _quoted(out["lifecycle"])
          + " (map it to start or complete under `values: lifecycle:`)")
    return out.drop(columns=["lifecycle"])


def assign_seq(events: pd.DataFrame) -> pd.DataFrame:
    """Order each case's events by completed_at, ties by source order, and number them 1..n."""
    events = events.sort_values(["case_id", "completed_at", ROW], kind="stable")
    events["seq"] = events.groupby("case_id", sort=False).cumcount() + 1
    return events


def derive_cases(events: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """One cases row per case in an (ordered) event frame: first event, last or end-stage event, case_columns.

    A case whose mapped status is open gets no closed_at, whatever its events say. A batch holds the events of
    one source system (its mapping's `system:`), so a case id here is one case; the loader writes the rows under
    that system (etl.load.write), and a case of the same id in another system is another case."""
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
        # a case the source system calls open is running: its last event is not its end
        cases["closed_at"] = cases["closed_at"].mask(cases["status"].eq("open"))
    return cases.rename_axis("case_id").reset_index()
