"""The delivery history: one `deliveries` row per recipient or robot and attempt series, plus one audit row
(action `delivery`) per run; the briefing page shows the rows of a week."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from etl.schema import deliveries
from landdesk.settings import utc_now

COLUMNS = ["at", "subject", "week", "channel", "target", "lang", "township", "formats", "status", "attempts", "error"]


def record(engine: Engine, rows: list[dict]) -> None:
    """Append delivery rows (keys of `deliveries`; `at` defaults to now, UTC)."""
    if not rows:
        return
    now = utc_now().replace(microsecond=0)
    # every row names every column: an executemany takes its parameters from the first row, so an e-mail row
    # (township, formats) followed by a robot row (neither) would fail
    keys = [c for c in COLUMNS if c != "at"] + sorted({k for r in rows for k in r} - set(COLUMNS))
    with engine.begin() as conn:
        conn.execute(insert(deliveries), [{"at": now, **{k: r.get(k) for k in keys}} for r in rows])


def history(engine: Engine, week: str | None = None, subject: str | None = None, limit: int = 200) -> pd.DataFrame:
    """Deliveries newest first (of one week / subject when given); times are stored UTC instants."""
    q = select(*[deliveries.c[c] for c in COLUMNS]).order_by(deliveries.c.at.desc(), deliveries.c.id.desc())
    if week:
        q = q.where(deliveries.c.week == week)
    if subject:
        q = q.where(deliveries.c.subject == subject)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q.limit(limit)).mappings().all(), columns=COLUMNS)
