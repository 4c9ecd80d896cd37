"""Extract: read a mapping's source (csv, xlsx, xes / xes.gz, sql) into a frame of strings.

Every frame carries `_row`, the 1-based record number in the source that reject reports cite:
the line (csv) or sheet row (xlsx) a person sees in an editor, the event's ordinal (xes), the
result row (sql).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import pandas as pd

from etl.mapping import Mapping, Source
from landdesk.config import LandDeskError

ROW = "_row"
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 of a source file, the identity used to skip a load already done."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of extracted records (SQL sources have no file to hash)."""
    h = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).values.tobytes())
    return h.hexdigest()


def _head(path: Path, n: int = 8) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _wrong(path: Path, expected: str, head: bytes) -> LandDeskError | None:
    """A LandDeskError when the file's magic bytes show it is not `expected`."""
    kinds = [(b"PK\x03\x04", "an xlsx/zip file"), (b"\x1f\x8b", "a gzip file"),
             (b"\xd0\xcf\x11\xe0", "an old binary .xls file"), (b"%PDF", "a PDF file")]
    for magic, kind in kinds:
        if head.startswith(magic):
            if (expected == "xlsx" and magic == b"PK\x03\x04") or (expected in ("xes", "csv") and magic == b"\x1f\x8b"):
                return None
            return LandDeskError(f"Source {path} is {kind}, not {expected}; fix `source.format` or the path.")
    if expected == "xlsx":
        return LandDeskError(f"Source {path} is not an xlsx workbook; fix `source.format` or the path.")
    return None


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    if b"\x00" in raw[:4096]:
        raise LandDeskError(f"Source {path} is binary, not a CSV text file.")
    if encoding.lower() != "auto":
        try:
            return raw.decode(encoding)
        except LookupError:
            raise LandDeskError(f"Source {path}: unknown encoding {encoding!r}.") from None
        except UnicodeDecodeError as exc:
            raise LandDeskError(f"Source {path} cannot be decoded as {encoding} (byte {exc.start}).") from None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise LandDeskError(f"Source {path} is neither UTF-8 nor GB18030 text; set `source.encoding`.")


def read_csv(src: Source) -> pd.DataFrame:
    """A CSV (optionally gzipped) as strings; encoding auto-detected (UTF-8-SIG, UTF-8, GB18030)."""
    path = src.path
    err = _wrong(path, "csv", _head(path))
    if err:
        raise err
    try:
        raw = gzip.decompress(path.read_bytes()) if _head(path, 2) == b"\x1f\x8b" else path.read_bytes()
    except (EOFError, OSError, zlib.error):
        raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None
    text = _decode(path, raw, src.encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                            sep=src.delimiter, skiprows=src.header_row, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise LandDeskError(f"Source {path} is empty.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0]
        raise LandDeskError(f"Source {path} is not a well-formed CSV file ({msg}).") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[ROW] = range(src.header_row + 2, src.header_row + 2 + len(frame))
    return _drop_blank(frame)


def read_xlsx(src: Source) -> pd.DataFrame:
    """One sheet (by name or 0-based index) of an xlsx workbook as strings, header at `header_row`."""
    path = src.path
    err = _wrong(path, "xlsx", _head(path))
    if err:
        raise err
    try:
        frame = pd.read_excel(path, sheet_name=src.sheet, header=src.header_row, dtype=str, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise LandDeskError(f"Source {path} is not a readable xlsx workbook ({exc}).") from None
    except (ValueError, IndexError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandDeskError(f"Source {path}: cannot read sheet {src.sheet!r} ({msg}).") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[ROW] = range(src.header_row + 2, src.header_row + 2 + len(frame))
    return _drop_blank(frame)


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.drop(columns=[ROW])
    blank = data.isna().all(axis=1) | data.astype("string").apply(lambda s: s.str.strip().eq("")).fillna(True).all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def iter_xes(path: Path, keep: set[str] | None = None) -> Iterator[dict[str, str]]:
    """Stream events of an XES (or .xes.gz) log: trace attributes as `case:<key>`, event attributes by key.

    lxml iterparse yields only <event> and <trace> ends, and every element is cleared once read,
    so memory stays flat on big logs; `keep` limits the attributes returned (source columns used).
    """
    from lxml import etree

    ns = "{http://www.xes-standard.org/}"
    opener = gzip.open if _head(path, 2) == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            parser = etree.iterparse(fh, events=("end",), tag=("event", "trace", ns + "event", ns + "trace"),
                                     huge_tree=True, resolve_entities=False, no_network=True)
            pending: list[dict[str, str]] = []
            for _, el in parser:
                if el.tag.endswith("event"):
                    parent = el.getparent()
                    if parent is not None and parent.tag.endswith("trace"):
                        ev = {}
                        for child in el:
                            key = child.get("key")
                            if key is not None and (keep is None or key in keep):
                                ev[key] = child.get("value", "")
                        pending.append(ev)
                    el.clear()
                    continue
                case = {}
                for child in el:
                    key = child.get("key")
                    if key is not None and not child.tag.endswith("event"):
                        name = "case:" + key
                        if keep is None or name in keep:
                            case[name] = child.get("value", "")
                for ev in pending:
                    yield {**case, **ev}
                pending = []
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
            root = parser.root
            if root is None:
                raise LandDeskError(f"Source {path} is empty.")
            if _local(root.tag) != "log":
                raise LandDeskError(f"Source {path} is XML but not an XES event log (root element <{_local(root.tag)}>).")
    except etree.XMLSyntaxError as exc:
        if isinstance(exc.__context__, (EOFError, zlib.error, gzip.BadGzipFile)):
            raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise LandDeskError(f"Source {path} is not well-formed XML ({msg}).") from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None


def read_xes(src: Source, progress: bool = False, keep: set[str] | None = None) -> pd.DataFrame:
    """An XES log as one row per event (strings), with `_row` the event's ordinal in the file."""
    path = src.path
    head = _head(path, 64)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"%PDF"):
        raise _wrong(path, "xes", head)
    records = iter_xes(path, keep)
    if progress:
        from tqdm import tqdm
        records = tqdm(records, desc=f"read {path.name}", unit=" events", unit_scale=True, leave=False, disable=None)
    rows = list(records)
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    frame = frame.astype(object).where(frame.notna(), None) if len(frame) else frame
    frame[ROW] = range(1, len(frame) + 1)
    return frame


def read_sql(src: Source, chunksize: int = 50_000) -> pd.DataFrame:
    """The rows of `query` at `url`, read in chunks, every value as a string."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from etl.store import normalise_url

    try:
        engine = create_engine(normalise_url(src.url))
        with engine.connect() as conn:
            parts = list(pd.read_sql_query(text(src.query), conn, chunksize=chunksize))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise LandDeskError(f"SQL source {src.describe()} failed: {reason}") from None
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for col in frame.columns:
        frame[col] = frame[col].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    frame[ROW] = range(1, len(frame) + 1)
    return frame


def extract(mapping: Mapping, progress: bool = False) -> pd.DataFrame:
    """Read the mapping's source into a frame of strings plus `_row`."""
    src = mapping.source
    if src.format == "sql":
        return read_sql(src)
    if not src.path.is_file():
        raise LandDeskError(f"Source file {src.path} (from mapping {mapping.path.name}) does not exist.")
    if src.format == "csv":
        return read_csv(src)
    if src.format == "xlsx":
        return read_xlsx(src)
    keep = set(mapping.columns.values()) | set(mapping.case_columns.values())
    return read_xes(src, progress=progress, keep=keep)


def source_sha256(mapping: Mapping, frame: pd.DataFrame | None = None) -> str | None:
    """The file's SHA-256 (or, for SQL, the extracted records')."""
    if mapping.source.path is not None:
        return file_sha256(mapping.source.path)
    return frame_sha256(frame) if frame is not None else None
