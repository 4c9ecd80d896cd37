"""The base tables' write mark (issue 20): what caches and marts compare to notice any write to cases, case_events
or petitions, in one small read instead of counting ten million rows per request.

The database keeps it itself (migration 0015), so writes that bypass the ETL (a hand fix, a test, another tool)
show too, updates included, which row counts never caught:
- PostgreSQL: a statement-level trigger on each table bumps `write_marks.mark` once per INSERT, UPDATE, DELETE,
  TRUNCATE or COPY statement. The bump is part of the writer's transaction, so a reader never sees a new mark
  before the rows it stands for, and a rolled-back write leaves it as it was.
- SQLite has only row-level triggers, and one per inserted row would add about 7 µs a row to a load (measured:
  3.0 → 9.9 s per million inserts). So updates and deletes bump the counter, and inserts show as the tables'
  max(rowid), which only grows when rows are added (a VACUUM that renumbers rowids changes it too, which only
  costs a recomputation).
"""
from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from etl import schema as S

#: The tables the mark covers, in the order SQLite's mark lists their max(rowid).
TABLES = ("cases", "petitions", "case_events")


def has_marks(conn: Connection) -> bool:
    """Whether the store keeps a write mark (migration 0015)."""
    return inspect(conn).has_table(S.write_marks.name)


def read(conn: Connection) -> str | None:
    """The write mark now ("17" on PostgreSQL, "17.2297751.883773.10219337" on SQLite), or None for a store
    before migration 0015. Equal marks, no write between them."""
    if not has_marks(conn):
        return None
    mark = select(S.write_marks.c.mark).where(S.write_marks.c.name == "base").scalar_subquery()
    if conn.dialect.name != "sqlite":
        return str(conn.execute(select(mark)).scalar_one())
    row = conn.exec_driver_sql(
        "SELECT (SELECT mark FROM write_marks WHERE name = 'base'), "
        + ", ".join(f"(SELECT max(rowid) FROM {t})" for t in TABLES)).one()
    return ".".join(str(v or 0) for v in row)
