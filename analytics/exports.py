"""Every analytics result a page shows, by export name (`landdesk export NAME`).

Each analytics module declares its own `EXPORTS` list; this registry gathers them, so adding a
result never means editing a shared table.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import pandas as pd
from sqlalchemy.engine import Engine

from analytics.scope import Scope

#: Modules that may declare exports (a module not written yet is simply absent).
MODULES = ("analytics.kpis", "analytics.efficiency", "analytics.bottlenecks", "analytics.petitions",
           "analytics.landuse", "analytics.forecast", "analytics.detect")
DIMENSIONS = ("case_type", "service_item", "department", "township", "channel", "period")


@dataclass(frozen=True)
class Export:
    """A named result: compute(conn, scope, cal, unit, by) -> frame whose grain the description states."""

    name: str
    description: str
    compute: Callable[..., pd.DataFrame]
    by: tuple[str, ...] = field(default=())   # the --by dimensions it accepts


@lru_cache(maxsize=1)
def registry() -> dict[str, Export]:
    out: dict[str, Export] = {}
    for modname in MODULES:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        for export in getattr(module, "EXPORTS", []):
            out[export.name] = export
    return out


def run_export(engine: Engine, name: str, scope: Scope, unit: str = "workdays", by: str | None = None) -> pd.DataFrame:
    """Compute export `name` for `scope` on the store behind `engine`."""
    from analytics.workcal import load_calendar
    from landdesk.config import LandDeskError

    export = registry().get(name)
    if export is None:
        raise LandDeskError(f"There is no export named {name!r}; `landdesk export --list` shows the names.")
    if by is not None and by not in export.by:
        accepted = ", ".join(export.by) or "none"
        raise LandDeskError(f"The export {name!r} cannot be broken down by {by!r} (accepted: {accepted}).")
    with engine.connect() as conn:
        cal = load_calendar(conn)
        return export.compute(conn, scope, cal, unit, by)
