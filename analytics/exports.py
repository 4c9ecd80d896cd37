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
from sqlalchemy.exc import InterfaceError, OperationalError

from analytics.scope import Scope
from landdesk.errors import LandDeskError

#: Modules that may declare exports (a module not written yet is simply absent).
MODULES = ("analytics.kpis", "analytics.efficiency", "analytics.bottlenecks", "analytics.petitions",
           "analytics.landuse", "analytics.projections", "analytics.integrity", "analytics.spikes",
           "analytics.topics", "analytics.geo", "analytics.dfg", "analytics.resources", "analytics.timeviews",
           "analytics.conformance", "analytics.catalogue")
DIMENSIONS = ("case_type", "service_item", "department", "township", "channel", "system", "period")


class StoreUnavailable(LandDeskError):
    """The store cannot be reached (server down, network, unreadable file): one sentence saying so.
    The next call tries again (PostgreSQL connections are pre-pinged), so a page recovers by itself
    once the store is back."""

    @classmethod
    def from_exc(cls, engine: Engine, exc: Exception) -> "StoreUnavailable":
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return cls(f"The store at {engine.url.render_as_string(hide_password=True)} cannot be reached right now "
                   f"({reason}); the data will be shown again as soon as it is back.")


@dataclass(frozen=True)
class Export:
    """A named result: compute(conn, scope, cal, unit, by) -> frame whose grain the description states."""

    name: str
    description: str
    compute: Callable[..., pd.DataFrame]
    by: tuple[str, ...] = field(default=())   # the --by dimensions it accepts
    #: keyword options compute takes beyond the five (e.g. the process map's activities / paths shares), each
    #: (name, type, default, help); `landdesk export` offers them as --NAME.
    options: tuple[tuple[str, type, object, str], ...] = field(default=())
    #: whether the result honours the scope's case filter (analytics.casefilter: variants, activities, …)
    filters_cases: bool = False


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


def get(name: str) -> Export:
    """The export called `name` (LandDeskError naming the way to list them when there is none)."""
    export = registry().get(name)
    if export is None:
        raise LandDeskError(f"There is no export named {name!r}; `landdesk export --list` shows the names.")
    return export


def check_by(export: Export, by: str | None) -> None:
    """Refuse a breakdown the export does not accept (one sentence listing those it does)."""
    if by is not None and by not in export.by:
        accepted = ", ".join(export.by) or "none"
        raise LandDeskError(f"The export {export.name!r} cannot be broken down by {by!r} (accepted: {accepted}).")


def grain(export: Export) -> str:
    """The grain an export's description states after its semicolon ("…; one row per KPI")."""
    return export.description.rsplit(";", 1)[1].strip() if ";" in export.description else ""


def run_export(engine: Engine, name: str, scope: Scope, unit: str = "workdays", by: str | None = None,
               options: dict | None = None) -> pd.DataFrame:
    """Compute export `name` for `scope` on the store behind `engine`: pure computation, no access control.
    Instants come out as wall-clock times in the bureau's zone (`shown_local`).
    Every caller on behalf of a person goes through the service layer (service.results.read), which checks the
    principal, applies and enforces the scope and audits the read."""
    from analytics.workcal import load_calendar

    export = get(name)
    check_by(export, by)
    options = check_options(export, options)
    if scope.cases is not None and not scope.cases.is_empty() and not export.filters_cases:
        raise LandDeskError(f"The export {name!r} does not take the process filters (variant, activity, endpoints, "
                            f"case duration, handler); only the process exports do: "
                            f"{', '.join(n for n, e in registry().items() if e.filters_cases)}.")
    try:
        with engine.connect() as conn:
            cal = load_calendar(conn)
            df = export.compute(conn, scope, cal, unit, by, **options)
    except (OperationalError, InterfaceError) as exc:
        if "no such" in str(exc.orig).lower():      # SQLite reports a missing table/column this way: a bug
            raise
        raise StoreUnavailable.from_exc(engine, exc) from None
    return shown_local(df, scope.tz)


def check_options(export: Export, options: dict | None) -> dict:
    """`options` checked against what the export takes (LandDeskError naming them otherwise), with defaults."""
    known = {o[0]: o for o in export.options}
    unknown = sorted(set(options or {}) - set(known))
    if unknown:
        accepted = ", ".join(known) or "none"
        raise LandDeskError(f"The export {export.name!r} has no option {unknown[0]!r} (accepted: {accepted}).")
    return {name: (options or {}).get(name, default) for name, _, default, _ in export.options}


def _instant_columns() -> frozenset[str]:
    from sqlalchemy import DateTime

    from etl.schema import metadata
    return frozenset(c.name for t in metadata.tables.values() for c in t.columns if isinstance(c.type, DateTime))


#: Columns that hold instants: every DateTime column name of the schema (received_at, closed_at, completed_at …)
#: and the instants analytics derives under other names.
INSTANT_COLUMNS = _instant_columns() | {"last_completed"}


def shown_local(df: pd.DataFrame, tz: str | None = None) -> pd.DataFrame:
    """An export's frame as people read it: the store keeps instants in UTC, every export shows them as
    wall-clock times in the bureau's zone (naive), so a CSV, a page and the API agree with the office clock.
    Calendar days (week, month, dates) are local already and left alone."""
    from analytics.workcal import local_times

    cols = [c for c in df.columns if c in INSTANT_COLUMNS and pd.api.types.is_datetime64_any_dtype(df[c])]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = local_times(out[c], tz).to_numpy()
    out.attrs = dict(df.attrs)
    return out
