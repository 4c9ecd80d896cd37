"""Helpers shared by the ETL tests: write mappings, snapshot the store."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import select

from etl import schema as S

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA_TABLES = ("cases", "case_events", "petitions", "land_use", "land_supply", "targets", "calendar")
ID_OR_PHONE = re.compile(r"\d{17}[\dXx]|1[3-9]\d{9}|0\d{2,3}-\d{7,8}")


def write_mapping(directory: Path, name: str, doc: dict) -> Path:
    path = Path(directory) / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def table(engine, name: str, order: str | None = None) -> pd.DataFrame:
    t = S.metadata.tables[name]
    q = select(t)
    if order:
        q = q.order_by(*[t.c[c] for c in order.split(",")])
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in t.columns])


def snapshot(engine) -> dict[str, list]:
    """Every data table's rows, sorted: equal snapshots mean the store's data did not change."""
    out = {}
    for name in DATA_TABLES:
        frame = table(engine, name)
        out[name] = sorted(map(repr, frame.astype(object).itertuples(index=False)))
    return out


def all_text(engine) -> str:
    """Every value of every table (data, batches and rejects) as one string, to grep for PII."""
    parts = []
    for name in S.metadata.tables:
        parts.append(table(engine, name).to_csv(index=False))
    return "\n".join(parts)


def shanghai(*args) -> "dt.datetime":
    """The instant (naive UTC, as the store keeps it) of a wall-clock time in Asia/Shanghai, the sample bureau's
    zone: hand-made rows written straight into a store say when things happened in the bureau's day."""
    import datetime as dt
    from zoneinfo import ZoneInfo
    local = dt.datetime(*args).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def wall(values, tz: str = "Asia/Shanghai") -> pd.Series:
    """Stored instants (naive UTC) as naive wall-clock times in `tz`: what a test that wrote a local time reads back."""
    s = pd.Series(values)
    return s.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def local_table(engine, name: str, order: str | None = None, tz: str = "Asia/Shanghai") -> pd.DataFrame:
    """`table`, with its DateTime columns as wall-clock times in `tz`."""
    df = table(engine, name, order)
    for col in S.metadata.tables[name].columns:
        if col.type.__class__.__name__ == "DateTime" and col.name in df:
            df[col.name] = wall(pd.to_datetime(df[col.name]), tz)
    return df


def cli_load(tmp_path, mapping):
    """`landdesk etl load MAPPING --quiet` on a fresh upgraded SQLite store in `tmp_path`, as a subprocess:
    the CompletedProcess (text output)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "cli.main", "db", "upgrade", "--db", db], cwd=root, env=env,
                   check=True, capture_output=True)
    return subprocess.run([sys.executable, "-m", "cli.main", "etl", "load", str(mapping), "--db", db, "--quiet"],
                          cwd=root, env=env, capture_output=True, text=True)
