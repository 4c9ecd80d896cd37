"""Staging for loads bigger than one chunk: the raw records of a source are written, chunk by chunk, into a
temporary table of the batch's own transaction, then read back in slices that each hold every record of
their keys (all events of a case; all records of a natural key), so that what needs the whole file's view —
pairing lifecycle transitions, ordering a case's events, deriving its cases row, rejecting duplicate keys —
sees all it needs in one bounded frame.

The slice key `_k` is the record's id as text the way the mapping reads it (code map, default, stripped; a
number key as its number), so records that map to the same key share a slice. Memory is bounded by the chunk
size, not the file size; the staging table lives on the store's disk and goes with the transaction.
"""
from __future__ import annotations

import pickle
import tempfile
from typing import Iterator

import pandas as pd
from sqlalchemy import Float, Integer
from sqlalchemy.engine import Connection

from etl import schema as S
from etl.mapping import Mapping
from etl.rows import ROW
from etl.transform import _apply_values, clean_text, join_columns, ID_COLUMNS

#: The staging table of a chunked load of DATASET (the one-frame upsert's is _landdesk_stage_TABLE).
STAGE_NAME = "_landdesk_stage_{dataset}_raw"
KEY = "_k"
SEP = "\x1f"


def key_columns(mapping: Mapping) -> list[str]:
    """The canonical columns whose values group a dataset's records: the case of an event, else the natural key
    (without `system`, one per batch) as far as the mapping reads it from the source."""
    if mapping.dataset == "case_events":
        names = ["case_id"]
    else:
        names = [k for k in S.NATURAL_KEYS.get(mapping.dataset, ()) if k != "system"]
    return [n for n in names if n in mapping.columns]


def slice_keys(raw: pd.DataFrame, mapping: Mapping) -> pd.Series:
    """The slice key of each raw record (text; '' when the mapping reads no key)."""
    names = key_columns(mapping)
    if not names:
        return pd.Series("", index=raw.index, dtype=object)
    if any(n in mapping.joined for n in names):
        raw = join_columns(raw, mapping, mapping.source.describe())
    table = S.DATASETS[mapping.dataset]
    parts = []
    for name in names:
        src = raw[mapping.columns[name]] if mapping.columns[name] in raw.columns \
            else pd.Series(None, index=raw.index, dtype=object)
        if name in mapping.values:
            src = _apply_values(src, mapping.values[name])
        text = clean_text(src, identifier=name in ID_COLUMNS)
        if name in mapping.defaults and mapping.defaults[name] is not None:
            text = text.where(text.notna(), str(mapping.defaults[name]))
        if name in table.c and isinstance(table.c[name].type, (Integer, Float)):
            num = pd.to_numeric(text.astype("string").str.replace(",", "", regex=False), errors="coerce")
            text = num.map(lambda v: repr(float(v)), na_action="ignore").where(num.notna(), text)
        parts.append(text.astype(object).where(text.notna(), "").astype(str))
    out = parts[0]
    for p in parts[1:]:
        out = out + SEP + p
    return out


class Stage:
    """The staging table of one load: `add` chunks of raw records, then `slices` them back by key."""

    def __init__(self, conn: Connection, mapping: Mapping, columns: list[str]):
        self.conn, self.mapping, self.columns = conn, mapping, list(columns)
        self.rows = 0
        self.seen: set[str] = set()       # the columns some chunk had (an XES attribute may appear late)
        self.pg = conn.dialect.name == "postgresql"
        self.name = STAGE_NAME.format(dataset=mapping.dataset)
        cols = ", ".join(f"c{i} TEXT" for i in range(len(self.columns)))
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {self.name} ({ROW} BIGINT, {KEY} TEXT{', ' if cols else ''}{cols})"
                             + (" ON COMMIT DROP" if self.pg else ""))

    def add(self, raw: pd.DataFrame) -> None:
        """Stage one chunk of raw records (only the source columns the mapping reads)."""
        if raw.empty:
            return
        keys = slice_keys(raw, self.mapping).tolist()
        self.seen.update(c for c in self.columns if c in raw.columns)
        values = []
        for name in self.columns:
            if name in raw.columns:
                obj = raw[name].astype(object)
                values.append(obj.where(obj.notna(), None).tolist())
            else:
                values.append([None] * len(raw))
        rows = zip(raw[ROW].astype("int64").tolist(), keys, *values)
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            names = ", ".join([ROW, KEY] + [f"c{i}" for i in range(len(self.columns))])
            if self.pg:
                with cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * (len(self.columns) + 2))
                cursor.executemany(f"INSERT INTO {self.name} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()
        self.rows += len(raw)

    def slices(self, size: int) -> Iterator[pd.DataFrame]:
        """The staged records in frames of about `size` records (more when one key has more), each holding every
        record of its keys, in source order within the frame; columns and nulls as the extractor gave them."""
        conn = self.conn
        conn.exec_driver_sql(f"CREATE INDEX {self.name}_k ON {self.name} ({KEY}, {ROW})")
        mark = "%s" if self.pg else "?"
        names = ", ".join([ROW] + [f"c{i}" for i in range(len(self.columns))])
        cursor = conn.connection.driver_connection.cursor()
        try:
            last = None
            while True:
                where = "" if last is None else f"WHERE {KEY} > {mark} "
                args = () if last is None else (last,)
                cursor.execute(f"SELECT {KEY} FROM {self.name} {where}ORDER BY {KEY} LIMIT 1 OFFSET {max(size, 1) - 1}",
                               args)
                row = cursor.fetchone()
                upto = None if row is None else row[0]
                cond = [] if last is None else [f"{KEY} > {mark}"]
                if upto is not None:
                    cond.append(f"{KEY} <= {mark}")
                where = ("WHERE " + " AND ".join(cond) + " ") if cond else ""
                args = tuple(v for v in (last, upto) if v is not None)
                cursor.execute(f"SELECT {names} FROM {self.name} {where}ORDER BY {ROW}", args)
                data = cursor.fetchall()
                if data:
                    frame = pd.DataFrame.from_records(data, columns=[ROW] + self.columns)
                    frame[ROW] = frame[ROW].astype("int64")
                    frame = frame[[c for c in self.columns if c in self.seen] + [ROW]]
                    for c in frame.columns[:-1]:
                        frame[c] = frame[c].astype(object)
                    yield frame
                    del frame, data
                if upto is None:
                    return
                last = upto
        finally:
            cursor.close()

    def drop(self) -> None:
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.name}")


class Spool:
    """Rejects of a chunked load kept on disk until the load knows whether it stores or refuses the batch."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.count = 0
        self.first: pd.Series | None = None       # the reject of the lowest source row
        self.kinds: dict[str, int] = {}

    def add(self, rejects: pd.DataFrame, kind) -> None:
        if rejects.empty:
            return
        pickle.dump(rejects, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += len(rejects)
        low = rejects.loc[rejects[ROW].idxmin()]
        if self.first is None or low[ROW] < self.first[ROW]:
            self.first = low
        for k, n in rejects["reason"].map(kind).value_counts().items():
            self.kinds[k] = self.kinds.get(k, 0) + int(n)

    def __len__(self) -> int:
        return self.count

    def frames(self) -> Iterator[pd.DataFrame]:
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return

    def close(self) -> None:
        self.file.close()
