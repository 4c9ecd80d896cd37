"""Extract: read a mapping's source (csv, xlsx, xes / xes.gz, sql; vector files through etl.geoextract) into a frame of strings.

Every frame carries `_row`, the 1-based record number in the source that reject reports cite:
the line (csv) or sheet row (xlsx) a person sees in an editor, the event's ordinal (xes), the
result row (sql).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from etl.mapping import Mapping, Source
from etl.rows import ROW
from landdesk.errors import LandDeskError

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


SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
MAX_FIELD_CHARS = 100 * 1024 * 1024


def _is_gzip(path: Path) -> bool:
    return _head(path, 2) == b"\x1f\x8b"


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _read_block(path: Path, n: int) -> bytes:
    try:
        with _open_bytes(path) as fh:
            return fh.read(n)
    except (EOFError, OSError, zlib.error):
        raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None


def _looks_binary(block: bytes) -> bool:
    """NUL bytes, or many control characters, in the first block: not a text file."""
    if not block:
        return False
    if b"\x00" in block:
        return True
    controls = sum(block.count(bytes([c])) for c in range(32) if c not in (9, 10, 13, 12, 27))
    return controls > max(8, len(block) // 100)


def detect_encoding(path: Path, encoding: str = "auto") -> str:
    """The text encoding of a CSV: the named one (checked), else UTF-8 (with or without BOM), else GB18030.

    The whole file is decoded incrementally (no copy kept), so a bad byte anywhere is found
    before loading starts, with its offset.
    """
    import codecs

    block = _read_block(path, 4096)
    if _looks_binary(block):
        raise LandDeskError(f"Source {path} is binary, not a CSV text file.")
    candidates = [encoding] if encoding.lower() != "auto" else ["utf-8-sig", "gb18030"]
    if encoding.lower() == "auto" and block.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]                  # a BOM promises UTF-8: GB18030 would decode it as garbage
    for enc in candidates:
        try:
            decoder = codecs.getincrementaldecoder(enc)()
        except LookupError:
            raise LandDeskError(f"Source {path}: unknown encoding {encoding!r}.") from None
        offset = 0
        try:
            with _open_bytes(path) as fh:
                for block in iter(lambda: fh.read(CHUNK), b""):
                    decoder.decode(block)
                    offset += len(block)
                decoder.decode(b"", final=True)
            return enc
        except UnicodeDecodeError as exc:
            if encoding.lower() != "auto":
                raise LandDeskError(f"Source {path} cannot be decoded as {encoding} (byte {offset + exc.start}).") from None
        except (EOFError, OSError, zlib.error):
            raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None
    if block.startswith(b"\xef\xbb\xbf"):
        raise LandDeskError(f"Source {path} starts with a UTF-8 byte-order mark but is not UTF-8 text "
                            "(mixed encodings?); re-export it as UTF-8 or GB18030.")
    raise LandDeskError(f"Source {path} is neither UTF-8 nor GB18030 text; set `source.encoding`.")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; tab | that splits the first lines most consistently (default ,)."""
    import csv

    lines = [ln for ln in sample.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:50] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]          # the last line of a sample may be cut
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    best, score = ",", 0
    for d in DELIMITERS:
        counts = [ln.count(d) for ln in lines]
        if counts[0] and all(c == counts[0] for c in counts) and counts[0] > score:
            best, score = d, counts[0]
    return best


def _csv_options(src: Source) -> tuple[Path, dict, int]:
    """Checks a CSV source (magic bytes, encoding, emptiness) and returns (path, read_csv options, header_row)."""
    path = src.path
    err = _wrong(path, "csv", _head(path))
    if err:
        raise err
    encoding = detect_encoding(path, src.encoding)
    sample = _read_block(path, SNIFF_BYTES).decode(encoding, errors="ignore")
    if not sample.strip():
        raise LandDeskError(f"Source {path} is empty.")
    header_row = src.header_row or 0
    delimiter = src.delimiter
    if delimiter == "auto":
        lines = sample.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        delimiter = sniff_delimiter("\n".join(lines[header_row:]))
    options = dict(dtype=str, keep_default_na=False, na_values=[""], sep=delimiter,
                   skiprows=header_row, skip_blank_lines=False, encoding=encoding,
                   compression="gzip" if _is_gzip(path) else None, engine="c", encoding_errors="strict")
    return path, options, header_row


def _csv_errors(path: Path, frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The frames of a pandas CSV read, with its failures (also those of a late chunk) as one LandDeskError."""
    try:
        yield from frames
    except pd.errors.EmptyDataError:
        raise LandDeskError(f"Source {path} is empty.") from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandDeskError(f"Source {path} is not a well-formed CSV file ({msg[:160]}).") from None
    except MemoryError:
        raise LandDeskError(f"Source {path} has a field too large to read.") from None


def iter_csv(src: Source, want: set[str] | None = None, chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """A CSV (optionally gzipped) as frames of strings of at most `chunk_rows` records (all of it when None);
    encoding auto-detected (UTF-8-SIG, UTF-8, GB18030).

    CR, LF and CRLF line endings and quoted fields (with embedded delimiters and newlines) are
    read; the delimiter is sniffed unless set. `_row` counts records, not physical lines: the
    header is record 1 (after `header_row` skipped lines), the first data record 2.
    """
    path, options, header_row = _csv_options(src)

    def frames():
        if chunk_rows is None:
            yield pd.read_csv(path, **options)
        else:
            with pd.read_csv(path, chunksize=chunk_rows, **options) as reader:
                yield from reader
    first = header_row + 2
    for frame in _csv_errors(path, frames()):
        frame.columns = [str(c).strip() for c in frame.columns]
        if first == header_row + 2:
            _check_header(path, frame.columns, want)
        n = len(frame)
        frame[ROW] = np.arange(first, first + n, dtype=np.int64)
        first += n
        yield _drop_blank(frame)


def read_csv(src: Source, want: set[str] | None = None) -> pd.DataFrame:
    """A whole CSV as one frame of strings (see iter_csv)."""
    return next(iter_csv(src, want))


def _check_header(path: Path, columns, want: set[str] | None = None) -> None:
    """A mapped column name that occurs twice in the header is ambiguous: an error.
    (pandas renames a repeated CSV header 'X' to 'X.1', so that counts as a repeat of 'X'.)"""
    import re

    cols = [str(c) for c in columns if c]
    seen = {}
    for c in cols:
        m = re.fullmatch(r"(.*)\.(\d+)", c)
        base = m.group(1) if m and m.group(1) in cols else c
        seen[base] = seen.get(base, 0) + 1
    dupes = sorted(c for c, n in seen.items() if n > 1 and not c.startswith("Unnamed") and (want is None or c in want))
    if dupes:
        raise LandDeskError(f"Source {path} has duplicate column header(s) {', '.join(map(repr, dupes[:5]))}; "
                            "the mapping cannot tell them apart.")


def _cell_text(value) -> str | None:
    """An xlsx cell as the text a person sees: integral floats without '.0', dates as ISO."""
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def read_xlsx(src: Source, want: set[str] | None = None) -> pd.DataFrame:
    """One sheet (by name or 0-based index) of an xlsx workbook as strings.

    The header is row `header_row` (0-based) or, when unset, the first of the top 30 rows that
    holds every mapped source column (`want`), else row 0. Merged cells are filled with their
    top-left value (a merged header spans all its columns; a two-row header whose top row is
    merged reads as 'top/bottom' when the bottom cell alone is not a mapped name). Formula cells
    give the value Excel cached when it saved the file; nothing is ever evaluated here.
    `_row` is the sheet row number a person sees in Excel.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    path = src.path
    err = _wrong(path, "xlsx", _head(path))
    if err:
        raise err
    try:
        wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, InvalidFileException, ValueError, TypeError, EOFError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandDeskError(f"Source {path} is not a readable xlsx workbook ({msg[:120]}).") from None
    try:
        names = wb.sheetnames
        sheet = src.sheet
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(names):
                raise LandDeskError(f"Source {path} has no sheet {sheet} (it has {len(names)}: {', '.join(names)}).")
            ws = wb[names[sheet]]
        elif str(sheet) in names:
            ws = wb[str(sheet)]
        else:
            raise LandDeskError(f"Source {path} has no sheet {sheet!r} (sheets: {', '.join(names)}).")
        rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        merged = [(r.min_row - 1, r.max_row - 1, r.min_col - 1, r.max_col - 1) for r in ws.merged_cells.ranges]
    finally:
        wb.close()
    return _sheet_frame(path, src, rows, merged, ws.title, want)


def read_xls(src: Source, want: set[str] | None = None) -> pd.DataFrame:
    """One sheet of an old binary Excel workbook (.xls, BIFF) as strings, read by python-calamine;
    header detection, merged cells and `_row` exactly as for xlsx (see read_xlsx)."""
    from python_calamine import CalamineWorkbook

    path = src.path
    head = _head(path)
    if not head.startswith(b"\xd0\xcf\x11\xe0") and not head.startswith(b"PK\x03\x04"):
        err = _wrong(path, "xls", head)
        raise err or LandDeskError(f"Source {path} is not an .xls workbook; fix `source.format` or the path.")
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for corrupt workbooks
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandDeskError(f"Source {path} is not a readable .xls workbook ({msg[:120]}).") from None
    names = wb.sheet_names
    sheet = src.sheet
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise LandDeskError(f"Source {path} has no sheet {sheet} (it has {len(names)}: {', '.join(names)}).")
        title = names[sheet]
    elif str(sheet) in names:
        title = str(sheet)
    else:
        raise LandDeskError(f"Source {path} has no sheet {sheet!r} (sheets: {', '.join(names)}).")
    try:
        ws = wb.get_sheet_by_name(title)
        rows = [[None if v == "" else _cell_text(float(v) if type(v) is int else v) for v in row]
                for row in ws.to_python(skip_empty_area=False)]
        merged = [(r0, r1, c0, c1) for (r0, c0), (r1, c1) in (getattr(ws, "merged_cell_ranges", None) or [])]
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandDeskError(f"Source {path}: sheet {title!r} cannot be read ({msg[:120]}).") from None
    return _sheet_frame(path, src, rows, merged, title, want)


def _sheet_frame(path: Path, src: Source, rows: list[list], merged: list[tuple], title: str,
                 want: set[str] | None) -> pd.DataFrame:
    """A sheet's cell texts (and merged ranges, 0-based) as a frame: find the header, fill merges."""
    width = max((len(r) for r in rows), default=0)
    rows = [r + [None] * (width - len(r)) for r in rows]
    for r0, r1, c0, c1 in merged:
        if r0 >= len(rows):
            continue
        top = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, width - 1) + 1):
                rows[r][c] = top
    while rows and all(v is None or not str(v).strip() for v in rows[-1]):
        rows.pop()
    if not rows:
        raise LandDeskError(f"Source {path}: sheet {title!r} is empty.")
    header_row = src.header_row
    if header_row is None:
        header_row = 0
        if want:
            for i, row in enumerate(rows[:30]):
                cells = {str(v).strip() for v in row if v is not None}
                if want <= cells or want <= _two_row_header(rows, i, width, merged, want):
                    header_row = i
                    break
    if header_row >= len(rows):
        raise LandDeskError(f"Source {path}: sheet {title!r} has no row {header_row} for the header.")
    header = [str(v).strip() if v is not None else "" for v in rows[header_row]]
    body_start = header_row + 1
    if want and not want <= set(header):
        two = _two_row_names(rows, header_row, width, merged)
        if two is not None and want <= set(two) | set(header):
            header = [h if h in want else t for h, t in zip(header, two)]
            body_start = header_row + 2
    header = [h or f"Unnamed: {i}" for i, h in enumerate(header)]
    _check_header(path, header, want)
    body = rows[body_start:]
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    frame[ROW] = np.arange(body_start + 1, body_start + 1 + len(frame), dtype=np.int64)
    return _drop_blank(frame)


def _two_row_names(rows, i: int, width: int, merged) -> list[str] | None:
    """Names of a two-row header at rows i, i+1 whose top cells are merged across: 'top/bottom'."""
    if i + 1 >= len(rows):
        return None
    spans = [(c0, c1) for r0, r1, c0, c1 in merged if r0 == i and r1 == i and c1 > c0]
    if not spans:
        return None
    top = [str(v).strip() if v is not None else "" for v in rows[i]]
    bottom = [str(v).strip() if v is not None else "" for v in rows[i + 1]]
    names = []
    for c in range(width):
        in_span = any(c0 <= c <= c1 for c0, c1 in spans)
        names.append(f"{top[c]}/{bottom[c]}" if in_span and bottom[c] else (bottom[c] or top[c]))
    return names


def _two_row_header(rows, i: int, width: int, merged, want: set[str]) -> set[str]:
    names = _two_row_names(rows, i, width, merged)
    if names is None:
        return set()
    top = {str(v).strip() for v in rows[i] if v is not None}
    return set(names) | top


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop records whose every cell is empty or blank (row numbers of the others are kept)."""
    data = [c for c in frame.columns if c != ROW]
    if frame.empty or not data:
        return frame.reset_index(drop=True)
    blank = np.ones(len(frame), dtype=bool)
    for c in data:
        col = frame[c]
        empty = col.isna().to_numpy(dtype=bool, copy=True)
        if not empty.all():
            text = col.astype("string").str.strip()
            empty |= text.eq("").fillna(True).to_numpy(dtype=bool)
        blank &= empty
        if not blank.any():
            return frame.reset_index(drop=True)
    return frame.loc[~blank].reset_index(drop=True)


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


_XES_NS = "{http://www.xes-standard.org/}"
_EVENT_TAGS = frozenset(("event", _XES_NS + "event"))


def _xes_traces(path: Path, keep: set[str] | None = None) -> Iterator[tuple[dict[str, str], list[dict[str, str]]]]:
    """Stream (trace attributes as `case:<key>`, [event attributes]) per trace of an XES (.gz) log.

    lxml iterparse reports only <trace> ends (tag filter); each trace is read, then cleared
    together with its preceding siblings, so memory stays flat however big the log is.
    `keep` limits the attributes returned (the source columns a mapping uses).
    """
    from lxml import etree

    opener = gzip.open if _head(path, 2) == b"\x1f\x8b" else open
    event_keep = None if keep is None else set(keep)
    try:
        with opener(path, "rb") as fh:
            parser = etree.iterparse(fh, events=("end",), tag=("trace", _XES_NS + "trace"), huge_tree=True,
                                     resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True)
            for _, el in parser:
                case: dict[str, str] = {}
                events: list[dict[str, str]] = []
                for child in el:
                    if child.tag in _EVENT_TAGS:
                        ev = {}
                        for att in child:
                            key = att.get("key")
                            if key is not None and (event_keep is None or key in event_keep):
                                ev[key] = att.get("value")
                        events.append(ev)
                    else:
                        key = child.get("key")
                        if key is not None:
                            name = "case:" + key
                            if keep is None or name in keep:
                                case[name] = child.get("value")
                yield case, events
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
        if "Document is empty" in msg:
            raise LandDeskError(f"Source {path} is empty or not XML text.") from None
        raise LandDeskError(f"Source {path} is not well-formed XML ({msg[:120]}).") from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise LandDeskError(f"Source {path} is a truncated or corrupt gzip file.") from None


def iter_xes(path: Path, keep: set[str] | None = None) -> Iterator[dict[str, str]]:
    """Stream events of an XES (or .xes.gz) log: trace attributes as `case:<key>`, event attributes by key."""
    for case, events in _xes_traces(path, keep):
        for ev in events:
            yield {**case, **ev}


def iter_xes_frames(src: Source, progress: bool = False, keep: set[str] | None = None,
                    chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """An XES log as frames of one row per event (strings) of whole traces, each frame at least `chunk_rows`
    events but for the last (the whole log in one frame when None); `_row` is the event's ordinal in the file.

    Columns are built as lists (no per-event dict survives the trace), and repeated values share
    one string object, so the full road-fines log (561k events) reads in a few seconds. A column
    that first appears in a later chunk is absent from the earlier ones.
    """
    path = src.path
    head = _head(path, 64)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"%PDF"):
        raise _wrong(path, "xes", head)
    if not head.strip():
        raise LandDeskError(f"Source {path} is empty.")
    columns: dict[str, list] = {}
    interned: dict[str, dict] = {}
    n = 0
    total = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(desc=f"read {path.name}", unit=" events", unit_scale=True, leave=False, disable=None)
    pending = 0

    def frame_of() -> pd.DataFrame:
        frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})
        frame[ROW] = np.arange(total - n + 1, total + 1, dtype=np.int64)
        return frame
    for case, events in _xes_traces(path, keep):
        names = set(case)
        for ev in events:
            names.update(ev)
        for name in names:
            if name not in columns:
                columns[name] = [None] * n
                interned[name] = {}
        for name, values in columns.items():
            cache = interned[name]
            if name in case:
                v = case[name]
                v = cache.setdefault(v, v)
                for ev in events:
                    x = ev.get(name, v)
                    values.append(x if x is v else cache.setdefault(x, x))
            else:
                for ev in events:
                    x = ev.get(name)
                    values.append(None if x is None else cache.setdefault(x, x))
        n += len(events)
        total += len(events)
        if bar is not None:
            pending += len(events)
            if pending >= 20_000:
                bar.update(pending)
                pending = 0
        if chunk_rows is not None and n >= chunk_rows:
            yield frame_of()
            columns, interned, n = {}, {}, 0
    if bar is not None:
        bar.update(pending)
        bar.close()
    interned.clear()
    if total == 0:
        raise LandDeskError(f"Source {path} has no records (no <trace> with <event>s).")
    if n or chunk_rows is None:
        yield frame_of()
    columns.clear()


def read_xes(src: Source, progress: bool = False, keep: set[str] | None = None) -> pd.DataFrame:
    """A whole XES log as one frame (see iter_xes_frames)."""
    return next(iter_xes_frames(src, progress, keep))


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


def check_source_file(path: Path, mapping_name: str) -> None:
    """One sentence for a source that is not a readable regular file: missing, a directory, a FIFO or
    other special file (never opened, so a pipe cannot hang the load), or unreadable (permission)."""
    import stat

    where = f"Source {path} (from mapping {mapping_name})"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise LandDeskError(f"Source file {path} (from mapping {mapping_name}) does not exist.") from None
    except PermissionError:
        raise LandDeskError(f"{where} cannot be read: permission denied on its folder.") from None
    except OSError as exc:
        raise LandDeskError(f"{where} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    if stat.S_ISDIR(mode):
        raise LandDeskError(f"{where} is a directory, not a file; point `source.path` at a file in it.")
    if stat.S_ISFIFO(mode):
        raise LandDeskError(f"{where} is a named pipe (FIFO), not a regular file; save the export to a file first.")
    if not stat.S_ISREG(mode):
        raise LandDeskError(f"{where} is a device or socket, not a regular file.")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise LandDeskError(f"{where} cannot be read: permission denied.") from None
    except OSError as exc:
        raise LandDeskError(f"{where} cannot be read ({exc.strerror or type(exc).__name__}).") from None


def extract(mapping: Mapping, progress: bool = False) -> pd.DataFrame:
    """Read the mapping's source into a frame of strings plus `_row`."""
    return next(iter_extract(mapping, progress))


def iter_extract(mapping: Mapping, progress: bool = False, chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Read the mapping's source as frames of strings plus `_row`: CSV in chunks of `chunk_rows` records, XES in
    chunks of whole traces of at least `chunk_rows` events; xlsx, xls and SQL sources are read whole (one frame).
    With `chunk_rows` None every source is one frame."""
    src = mapping.source
    if src.format == "sql":
        yield read_sql(src)
        return
    check_source_file(src.path, mapping.path.name)
    want = mapping.source_columns()
    if mapping.unpivot:
        want |= set(mapping.unpivot["columns"])
    if src.format == "csv":
        yield from iter_csv(src, want, chunk_rows)
    elif src.format == "xlsx":
        yield read_xlsx(src, want)
    elif src.format == "xls":
        yield read_xls(src, want)
    elif src.format in ("geojson", "shp", "gpkg"):
        from etl.geoextract import read_vector
        yield read_vector(src.path, src.format, src.layer, src.encoding)
    else:
        yield from iter_xes_frames(src, progress=progress, keep=want, chunk_rows=chunk_rows)


def source_sha256(mapping: Mapping, frame: pd.DataFrame | None = None) -> str | None:
    """The file's SHA-256 (or, for SQL, the extracted records')."""
    if mapping.source.path is not None:
        if mapping.source.format == "shp":     # a shapefile's attributes and CRS live in its sidecar files
            parts = [mapping.source.path.with_suffix(s) for s in (".shp", ".dbf", ".shx", ".prj", ".cpg")]
            return hashlib.sha256("".join(file_sha256(p) for p in parts if p.is_file()).encode()).hexdigest()
        return file_sha256(mapping.source.path)
    return frame_sha256(frame) if frame is not None else None
