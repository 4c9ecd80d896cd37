"""A query's rows as a pandas frame, fast: plain DBAPI tuples, timestamps parsed in one vectorised pass.

`conn.execute(q).all()` builds one SQLAlchemy Row per record and runs SQLAlchemy's per-value result
processors (on SQLite every DateTime is parsed from its ISO string one value at a time); a DataFrame
built from those Rows then infers datetime columns object by object. On a year of cases that was
most of the cockpit's time. `fetch_frame` reads the cursor's tuples directly and converts the
columns by their declared SQL type instead — the values are the same as through the Rows:

- DateTime columns → datetime64 (pd.to_datetime, ISO8601: SQLite's strings, PostgreSQL's datetimes);
- Boolean columns → True / False / None objects (SQLite hands back 1 / 0);
- everything else as the driver gives it.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Boolean, DateTime
from sqlalchemy.engine import Connection


def fetch_frame(conn: Connection, query, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of `query` (a Core select) as a frame with `columns` (default: the select's column names)."""
    selected = list(query.selected_columns)
    names = list(columns) if columns is not None else [c.key for c in selected]
    result = conn.execute(query)
    try:
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=False) if rows \
        else pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    for name, col in zip(names, selected):
        sql_type = getattr(col, "type", None)
        if isinstance(sql_type, DateTime):
            frame[name] = pd.to_datetime(frame[name], format="ISO8601")
        elif isinstance(sql_type, Boolean) and len(frame) and frame[name].dtype != bool:
            frame[name] = pd.Series([None if v is None or v != v else bool(v) for v in frame[name].tolist()],
                                    index=frame.index, dtype=object)
    return frame
