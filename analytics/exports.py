"""Every analytics result a page shows, by export name (`landdesk export NAME`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd
from sqlalchemy.engine import Engine

from analytics import kpis
from analytics.scope import Scope
from analytics.workcal import load_calendar


@dataclass(frozen=True)
class Export:
    name: str
    description: str
    compute: Callable[..., pd.DataFrame]   # (conn, scope, cal, unit) -> frame


EXPORTS: dict[str, Export] = {e.name: e for e in [
    Export("kpis", "cockpit KPI set for the period vs the previous period and target (one row per KPI)",
           lambda conn, scope, cal, unit: kpis.kpi_table(conn, scope, cal, unit)),
    Export("weekly-flow", "cases received and completed per ISO week (one row per week)",
           lambda conn, scope, cal, unit: kpis.weekly_flow(conn, scope)),
]}


def run_export(engine: Engine, name: str, scope: Scope, unit: str = "workdays") -> pd.DataFrame:
    """Compute export `name` for `scope` on the store behind `engine`."""
    export = EXPORTS[name]
    with engine.connect() as conn:
        cal = load_calendar(conn)
        return export.compute(conn, scope, cal, unit)
