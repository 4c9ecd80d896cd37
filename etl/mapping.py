"""Source mappings: read and check the YAML that describes one load, so a new export needs no code."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from etl.schema import DATASETS, DEFAULT_SYSTEM, NATURAL_KEYS, SYSTEM_DATASETS
from landdesk import resources
from landdesk.errors import LandDeskError
from landdesk.settings import DEFAULT_TIMEZONE, bureau_timezone

#: `date_formats` values that are not strftime patterns.
SPECIAL_FORMATS = ("auto", "iso", "excel")

#: Where the shared real data lives when LANDDESK_REALDATA is unset (a source checkout only; None in a wheel).
DEFAULT_REALDATA = resources.default_realdata()
FORMATS = ("csv", "xlsx", "xls", "xes", "sql", "geojson", "shp", "gpkg")
#: Vector formats: features with a geometry (etl.geoextract reads them).
VECTOR_FORMATS = ("geojson", "shp", "gpkg")
DEFAULT_REJECT_THRESHOLD = 0.05
#: Extra canonical names a mapping may use beside the table's columns, per dataset.
EXTRA_COLUMNS = {"case_events": ("lifecycle",)}
#: Columns filled by the ETL itself, never required from the source.
DERIVED = {"case_events": ("seq",), "cases": ("status",), "petitions": ("status",)}
_TOP_KEYS = {"dataset", "source", "columns", "case_columns", "values", "defaults", "timezone",
             "end_stages", "reject_threshold", "derive_cases", "description", "date_formats", "dayfirst",
             "category_codes", "unpivot", "multiply", "earliest_year", "supplement_stages", "system"}
#: Longest source-system name (the `system` column's width).
SYSTEM_MAX = 100
#: Dates and years before this are rejected unless a mapping sets `earliest_year` (PRC records start in 1949).
DEFAULT_EARLIEST_YEAR = 1949
#: How land_use.category_code is checked: GB/T 21010 codes (default) or any code (`free`).
CATEGORY_CODE_RULES = ("gbt21010", "free")
#: How the values of several source columns mapped to one canonical column are joined ("Review+complete").
JOINER = "+"
_SOURCE_KEYS = {"path", "url", "query", "format", "encoding", "sheet", "header_row", "delimiter", "crs", "layer"}
_UNSET_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass
class Source:
    """Where the records come from: a file (path, format, encoding, sheet…) or a SQL query."""
    format: str
    path: Path | None = None
    url: str | None = None
    query: str | None = None
    encoding: str = "auto"
    sheet: int | str = 0
    header_row: int | None = None   # None: row 0 for csv; for xlsx the first row holding the mapped headers
    delimiter: str = "auto"
    crs: str | None = None          # the geometries' CRS when the file has none (or to override it); csv: WKT's CRS
    layer: str | int | None = None  # gpkg: the layer to read (default: the first)

    def describe(self) -> str:
        """The file path, or the SQL URL with its password hidden."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:
            return "sql source"


@dataclass
class Mapping:
    """One parsed, checked mapping file."""
    path: Path
    dataset: str
    source: Source
    columns: dict[str, str]
    case_columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    timezone: str = DEFAULT_TIMEZONE
    end_stages: list[str] = field(default_factory=list)
    reject_threshold: float = DEFAULT_REJECT_THRESHOLD
    derive_cases: bool = True
    date_formats: dict[str, str] = field(default_factory=dict)
    dayfirst: bool | None = None
    category_codes: str = "gbt21010"
    unpivot: dict[str, Any] | None = None
    multiply: dict[str, float] = field(default_factory=dict)
    earliest_year: int = DEFAULT_EARLIEST_YEAR
    supplement_stages: list[str] = field(default_factory=list)
    joined: dict[str, list[str]] = field(default_factory=dict)
    system: str = DEFAULT_SYSTEM     # the source system whose ids these are (cases, events, petitions, supply)

    def source_columns(self) -> set[str]:
        """Every source column the mapping reads (the parts of joined columns, not their synthetic names)."""
        cols = set(self.columns.values()) | set(self.case_columns.values())
        for name, parts in self.joined.items():
            cols.discard(self.columns[name])
            cols |= set(parts)
        return cols

    @property
    def name(self) -> str:
        return self.path.name


def expand(text: str, where: Path) -> str:
    """Expand $VARS (LANDDESK_REALDATA defaults to <repo>/../shared/realdata); unset ones are an error."""
    env = dict(os.environ)
    if DEFAULT_REALDATA is not None:
        env.setdefault("LANDDESK_REALDATA", str(DEFAULT_REALDATA))
    out = _UNSET_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), text)
    missing = _UNSET_VAR.search(out)
    if missing:
        raise LandDeskError(f"Mapping {where}: environment variable {missing.group(1)} is not set.")
    return out


def _fail(path: Path, problem: str) -> LandDeskError:
    return LandDeskError(f"Mapping {path}: {problem}")


def _str_map(path: Path, obj: Any, what: str) -> dict[str, str]:
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not all(isinstance(v, (str, int)) for v in obj.values()):
        raise _fail(path, f"`{what}` must map canonical column names to source column names.")
    return {str(k): str(v) for k, v in obj.items()}


def _joined_columns(path: Path, raw: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`columns`, where a canonical column may name a list of source columns (an event log's classifier,
    `stage: ["concept:name", "lifecycle:transition"]`): their non-empty values are joined with JOINER.
    Such a column is mapped to the synthetic name 'a+b'; `joined` keeps its parts."""
    joined: dict[str, list[str]] = {}
    if isinstance(raw, dict):
        raw = dict(raw)
        for name, value in raw.items():
            if isinstance(value, list):
                if len(value) < 2 or not all(isinstance(v, (str, int)) and str(v) for v in value):
                    raise _fail(path, f"`columns.{name}` lists source columns to join: give two or more names.")
                joined[str(name)] = [str(v) for v in value]
                raw[name] = JOINER.join(str(v) for v in value)
    return _str_map(path, raw, "columns"), joined


def _format_for(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in ((".xes.gz", "xes"), (".xes", "xes"), (".csv", "csv"), (".txt", "csv"),
                        (".tsv", "csv"), (".csv.gz", "csv"), (".xlsx", "xlsx"), (".xlsm", "xlsx"), (".xls", "xls"),
                        (".geojson", "geojson"), (".json", "geojson"), (".shp", "shp"), (".gpkg", "gpkg")):
        if name.endswith(suffix):
            return fmt
    return None


def _source(path: Path, raw: Any) -> Source:
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict):
        raise _fail(path, "`source` must be a mapping with `path` (or `url` and `query`).")
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise _fail(path, f"unknown key(s) under `source`: {', '.join(sorted(unknown))}.")
    header_row = raw.get("header_row")
    if header_row == "auto":
        header_row = None
    if header_row is not None and (not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 0):
        raise _fail(path, "`source.header_row` must be a whole number ≥ 0 (the 0-based header row) or auto.")
    delimiter = str(raw.get("delimiter", "auto"))
    delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter.lower(), delimiter)
    if delimiter != "auto" and len(delimiter) != 1:
        raise _fail(path, "`source.delimiter` must be one character (or tab, or auto).")
    crs = raw.get("crs")
    if crs is not None:
        from etl.geoextract import parse_crs
        crs = parse_crs(crs, f"Mapping {path}").to_wkt()
    layer = raw.get("layer")
    common = dict(encoding=str(raw.get("encoding", "auto")), sheet=raw.get("sheet", 0),
                  header_row=header_row, delimiter=delimiter, crs=crs, layer=layer)
    if "url" in raw or "query" in raw:
        if not raw.get("url") or not raw.get("query"):
            raise _fail(path, "a SQL source needs both `url` and `query`.")
        if raw.get("format", "sql") != "sql":
            raise _fail(path, "a source with `url` and `query` must have format sql.")
        return Source(format="sql", url=expand(str(raw["url"]), path), query=str(raw["query"]), **common)
    if not raw.get("path"):
        raise _fail(path, "`source` needs a `path` (or `url` and `query`).")
    file = Path(expand(str(raw["path"]), path)).expanduser()
    if not file.is_absolute():
        file = path.parent / file
    file = file.resolve()
    fmt = raw.get("format") or _format_for(file)
    if fmt is None:
        raise _fail(path, f"cannot tell the format of {file.name}; set `source.format` to one of {', '.join(FORMATS)}.")
    if fmt not in FORMATS:
        raise _fail(path, f"unknown source format {fmt!r}; use one of {', '.join(FORMATS)}.")
    return Source(format=fmt, path=file, **common)


def read_mapping(mapping_path: str | os.PathLike) -> Mapping:
    """Parse and check a mapping YAML file; any problem is one LandDeskError sentence."""
    path = Path(mapping_path).expanduser().resolve()
    if not path.is_file():
        raise LandDeskError(f"Mapping file {path} does not exist.")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise _fail(path, "the file is not UTF-8 text.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise _fail(path, f"the YAML is malformed{where} ({getattr(exc, 'problem', None) or exc}).") from None
    if not isinstance(doc, dict):
        raise _fail(path, "the file must be a YAML mapping with `dataset`, `source` and `columns`.")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise _fail(path, f"unknown key(s): {', '.join(sorted(map(str, unknown)))}.")
    dataset = doc.get("dataset")
    if dataset not in DATASETS:
        raise _fail(path, f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}.")
    if "source" not in doc:
        raise _fail(path, "`source` is missing.")
    source = _source(path, doc["source"])
    columns, joined = _joined_columns(path, doc.get("columns"))
    table = DATASETS[dataset]
    if source.format in VECTOR_FORMATS and "geometry" in table.c and "geometry" not in columns:
        from etl.geoextract import GEOMETRY_SOURCE
        columns["geometry"] = GEOMETRY_SOURCE     # a vector file's own geometry, unless another column is mapped
    case_columns = _str_map(path, doc.get("case_columns"), "case_columns")
    defaults = doc.get("defaults") or {}
    values = doc.get("values") or {}
    if not isinstance(defaults, dict):
        raise _fail(path, "`defaults` must map canonical column names to constants.")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise _fail(path, "`values` must map canonical column names to {source value: canonical value} maps.")
    table = DATASETS[dataset]
    known = set(table.c.keys()) - {"batch_id", "system"} | set(EXTRA_COLUMNS.get(dataset, ()))
    for name in list(columns) + list(defaults):
        if name == "system" and "system" in table.c:
            raise _fail(path, "the source system is the mapping's own top-level `system:` key, not a column.")
        if name not in known:
            raise _fail(path, f"{name!r} is not a column of dataset {dataset} (columns: {', '.join(sorted(known))}).")
    if case_columns and dataset != "case_events":
        raise _fail(path, "`case_columns` is only allowed for dataset case_events.")
    case_known = set(DATASETS["cases"].c.keys()) - {"case_id", "batch_id", "system"}
    for name in case_columns:
        if name not in case_known:
            raise _fail(path, f"{name!r} in `case_columns` is not a column of cases.")
    unpivot_cols = set()
    if isinstance(doc.get("unpivot"), dict):
        unpivot_cols = {str(doc["unpivot"].get("into", "category_code")), str(doc["unpivot"].get("value", "area_ha"))}
    for name in values:
        if name not in columns and name not in case_columns and name not in defaults and name not in unpivot_cols:
            raise _fail(path, f"`values` has a code map for {name!r}, which the mapping does not map.")
    derived = set(DERIVED.get(dataset, ()))
    required = [c.name for c in table.columns
                if not c.nullable and c.name not in derived and c.name not in ("batch_id", "system")]
    unpivoted = set()
    if isinstance(doc.get("unpivot"), dict):
        unpivoted = {str(doc["unpivot"].get("into", "category_code")), str(doc["unpivot"].get("value", "area_ha"))}
    missing = [c for c in required if c not in columns and c not in defaults and c not in unpivoted]
    if missing:
        raise _fail(path, f"required column(s) {', '.join(missing)} of dataset {dataset} are not mapped.")
    timezone = str(doc.get("timezone") or bureau_timezone())
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(timezone)
    except Exception:
        raise _fail(path, f"unknown timezone {timezone!r}.") from None
    end_stages = doc.get("end_stages") or []
    if isinstance(end_stages, str):
        end_stages = [end_stages]
    threshold = doc.get("reject_threshold", DEFAULT_REJECT_THRESHOLD)
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise _fail(path, "`reject_threshold` must be a fraction between 0 and 1.")
    date_formats = _date_formats(path, doc.get("date_formats"), dataset, set(columns) | set(case_columns))
    dayfirst = doc.get("dayfirst")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise _fail(path, "`dayfirst` must be true or false (leave it out to detect it from the data).")
    category_codes = str(doc.get("category_codes") or "gbt21010").lower()
    if category_codes not in CATEGORY_CODE_RULES:
        raise _fail(path, f"`category_codes` must be one of {', '.join(CATEGORY_CODE_RULES)}.")
    unpivot = _unpivot(path, doc.get("unpivot"), columns)
    earliest = doc.get("earliest_year", DEFAULT_EARLIEST_YEAR)
    if not isinstance(earliest, int) or isinstance(earliest, bool) or not 1800 <= earliest <= 2100:
        raise _fail(path, "`earliest_year` must be a year such as 1949.")
    supplement = doc.get("supplement_stages") or []
    if isinstance(supplement, str):
        supplement = [supplement]
    if dataset != "case_events" and supplement:
        raise _fail(path, "`supplement_stages` is only allowed for dataset case_events.")
    if not isinstance(supplement, list) or not all(isinstance(x, (str, int)) and str(x).strip() for x in supplement):
        raise _fail(path, "`supplement_stages` must be a list of stage names (after `values:` and the stage joiner).")
    system = _system(path, doc.get("system", DEFAULT_SYSTEM), dataset)
    return Mapping(system=system, supplement_stages=[str(x).strip() for x in supplement], joined=joined, path=path, dataset=dataset, source=source, columns=columns, case_columns=case_columns,
                   values={k: dict(v) for k, v in values.items()}, defaults=dict(defaults), timezone=timezone,
                   end_stages=[str(s) for s in end_stages], reject_threshold=float(threshold),
                   derive_cases=bool(doc.get("derive_cases", True)), date_formats=date_formats, dayfirst=dayfirst,
                   category_codes=category_codes, unpivot=unpivot, earliest_year=earliest,
                   multiply=_multiply(path, doc.get("multiply"), set(columns) | unpivoted, dataset))


def _system(path: Path, raw: Any, dataset: str) -> str:
    """`system: 不动产登记`: the source system whose ids the records carry (one shared default)."""
    if raw is None:
        raw = DEFAULT_SYSTEM
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not str(raw).strip():
        raise _fail(path, "`system` must be the name of a source system, such as 不动产登记.")
    name = str(raw).strip()
    if len(name) > SYSTEM_MAX:
        raise _fail(path, f"`system` must be at most {SYSTEM_MAX} characters long.")
    if name != DEFAULT_SYSTEM and dataset not in SYSTEM_DATASETS:
        raise _fail(path, f"`system` applies to datasets {', '.join(SYSTEM_DATASETS)} (whose ids a source system "
                          f"numbers), not to {dataset}.")
    return name


def _multiply(path: Path, raw: Any, mapped: set[str], dataset: str) -> dict[str, float]:
    """`multiply: {area_ha: 0.0666667}`: unit conversion of numeric columns (e.g. 亩 → ha, 1000 acres → ha)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(path, "`multiply` must map numeric column names to factors.")
    from sqlalchemy import Float, Integer
    out = {}
    for name, factor in raw.items():
        if name not in mapped:
            raise _fail(path, f"`multiply` names {name!r}, which the mapping does not map.")
        if not isinstance(DATASETS[dataset].c[name].type, (Float, Integer)):
            raise _fail(path, f"`multiply` names {name!r}, which is not a numeric column.")
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
            raise _fail(path, f"the factor for {name} under `multiply` must be a positive number.")
        out[str(name)] = float(factor)
    return out


def _date_formats(path: Path, raw: Any, dataset: str, mapped: set[str]) -> dict[str, str]:
    """`date_formats: {column: "%m/%d/%Y %I:%M:%S %p" | iso | excel | auto, "*": …}` checked."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        raw = {"*": raw}
    if not isinstance(raw, dict):
        raise _fail(path, "`date_formats` must map column names (or *) to a strftime format, iso, excel or auto.")
    out = {}
    for name, fmt in raw.items():
        name, fmt = str(name), str(fmt)
        if name != "*" and name not in mapped:
            raise _fail(path, f"`date_formats` names {name!r}, which the mapping does not map.")
        if fmt.lower() not in SPECIAL_FORMATS and "%" not in fmt:
            raise _fail(path, f"date format {fmt!r} for {name} is neither a strftime pattern (like %Y-%m-%d) "
                              "nor one of auto, iso, excel.")
        out[name] = fmt.lower() if fmt.lower() in SPECIAL_FORMATS else fmt
    return out


def _unpivot(path: Path, raw: Any, columns: dict[str, str]) -> dict[str, Any] | None:
    """`unpivot: {columns: [source headers…] | {header: code}, into: category_code, value: area_ha}`:
    a wide table (one column per category) read as one record per row × column."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or "columns" not in raw:
        raise _fail(path, "`unpivot` needs `columns` (the wide source columns) and optionally `into` and `value`.")
    cols = raw["columns"]
    if isinstance(cols, list):
        cols = {str(c): str(c) for c in cols}
    if not isinstance(cols, dict) or not cols:
        raise _fail(path, "`unpivot.columns` must be a list of source headers or a {header: code} map.")
    into, value = str(raw.get("into", "category_code")), str(raw.get("value", "area_ha"))
    for name in (into, value):
        if name in columns:
            raise _fail(path, f"{name!r} is filled by `unpivot`; do not map it under `columns` too.")
    return {"columns": {str(k): str(v) for k, v in cols.items()}, "into": into, "value": value}


def natural_key(dataset: str) -> tuple[str, ...]:
    """The natural key columns of a dataset (see etl.schema.NATURAL_KEYS)."""
    return NATURAL_KEYS[dataset]
