"""Source mappings: read and check the YAML that describes one load, so a new export needs no code."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from etl.schema import DATASETS, NATURAL_KEYS
from landdesk.config import DEFAULT_TIMEZONE, LandDeskError

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where the shared real data lives when LANDDESK_REALDATA is unset.
DEFAULT_REALDATA = REPO_ROOT.parent / "shared" / "realdata"
FORMATS = ("csv", "xlsx", "xes", "sql")
DEFAULT_REJECT_THRESHOLD = 0.05
#: Extra canonical names a mapping may use beside the table's columns, per dataset.
EXTRA_COLUMNS = {"case_events": ("lifecycle",)}
#: Columns filled by the ETL itself, never required from the source.
DERIVED = {"case_events": ("seq",), "cases": ("status",), "petitions": ("status",)}
_TOP_KEYS = {"dataset", "source", "columns", "case_columns", "values", "defaults", "timezone",
             "end_stages", "reject_threshold", "derive_cases", "description"}
_SOURCE_KEYS = {"path", "url", "query", "format", "encoding", "sheet", "header_row", "delimiter"}
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
    header_row: int = 0
    delimiter: str = ","

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

    @property
    def name(self) -> str:
        return self.path.name


def expand(text: str, where: Path) -> str:
    """Expand $VARS (LANDDESK_REALDATA defaults to <repo>/../shared/realdata); unset ones are an error."""
    env = dict(os.environ)
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


def _format_for(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in ((".xes.gz", "xes"), (".xes", "xes"), (".csv", "csv"), (".txt", "csv"),
                        (".tsv", "csv"), (".csv.gz", "csv"), (".xlsx", "xlsx"), (".xlsm", "xlsx")):
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
    header_row = raw.get("header_row", 0)
    if not isinstance(header_row, int) or header_row < 0:
        raise _fail(path, "`source.header_row` must be a whole number ≥ 0 (the 0-based header row).")
    delimiter = str(raw.get("delimiter", ","))
    delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter.lower(), delimiter)
    common = dict(encoding=str(raw.get("encoding", "auto")), sheet=raw.get("sheet", 0),
                  header_row=header_row, delimiter=delimiter)
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
    columns = _str_map(path, doc.get("columns"), "columns")
    case_columns = _str_map(path, doc.get("case_columns"), "case_columns")
    defaults = doc.get("defaults") or {}
    values = doc.get("values") or {}
    if not isinstance(defaults, dict):
        raise _fail(path, "`defaults` must map canonical column names to constants.")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise _fail(path, "`values` must map canonical column names to {source value: canonical value} maps.")
    table = DATASETS[dataset]
    known = set(table.c.keys()) - {"batch_id"} | set(EXTRA_COLUMNS.get(dataset, ()))
    for name in list(columns) + list(defaults):
        if name not in known:
            raise _fail(path, f"{name!r} is not a column of dataset {dataset} (columns: {', '.join(sorted(known))}).")
    if case_columns and dataset != "case_events":
        raise _fail(path, "`case_columns` is only allowed for dataset case_events.")
    case_known = set(DATASETS["cases"].c.keys()) - {"case_id", "batch_id"}
    for name in case_columns:
        if name not in case_known:
            raise _fail(path, f"{name!r} in `case_columns` is not a column of cases.")
    for name in values:
        if name not in columns and name not in case_columns and name not in defaults:
            raise _fail(path, f"`values` has a code map for {name!r}, which the mapping does not map.")
    derived = set(DERIVED.get(dataset, ()))
    required = [c.name for c in table.columns if not c.nullable and c.name not in derived and c.name != "batch_id"]
    missing = [c for c in required if c not in columns and c not in defaults]
    if missing:
        raise _fail(path, f"required column(s) {', '.join(missing)} of dataset {dataset} are not mapped.")
    timezone = str(doc.get("timezone") or DEFAULT_TIMEZONE)
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
    return Mapping(path=path, dataset=dataset, source=source, columns=columns, case_columns=case_columns,
                   values={k: dict(v) for k, v in values.items()}, defaults=dict(defaults), timezone=timezone,
                   end_stages=[str(s) for s in end_stages], reject_threshold=float(threshold),
                   derive_cases=bool(doc.get("derive_cases", True)))


def natural_key(dataset: str) -> tuple[str, ...]:
    """The natural key columns of a dataset (see etl.schema.NATURAL_KEYS)."""
    return NATURAL_KEYS[dataset]
