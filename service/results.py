"""The one door to results: every caller on a person's behalf (dashboard, command line, briefing, exchange API)
reads an export here. check the principal → apply the township scope once (a forced one audited) → compute
through the export registry → enforce the scope on the frame → audit the read."""
from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd
from sqlalchemy.engine import Engine

from analytics.exports import run_export
from analytics.scope import Scope
from service import access, audit
from service.auth import Principal

log = logging.getLogger(__name__)


def records(df: pd.DataFrame) -> list[dict]:
    """An export's rows as JSON records with typed values (numbers, booleans, ISO dates and times, null for a
    missing value): what `landdesk export --format json` prints and the API's `data` holds, value for value."""
    import json
    return json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))


def who(principal: Principal | None) -> str:
    """The audit identity: the account, else (the trusted command line) the operating-system user."""
    return principal.username if principal is not None else audit.os_user()


def read(engine: Engine, name: str, scope: Scope, unit: str = "workdays", by: str | None = None, *,
         principal: Principal | None = None, client: str | None = None, audited: bool = True,
         on_audit_error=None, options: dict | None = None) -> pd.DataFrame:
    """Export `name` for `scope` as `principal` may see it (None: the trusted command line, the whole county).

    A township officer's scope is forced to their township (another one asked for is narrowed and audited as
    scope_forced); the public may run only the disclosure exports, with small cells suppressed; a refusal is
    audited as access_denied and raised as AccessDenied. `audited`: write the read to the audit log (action
    export, with its parameters and row count); the dashboard's on-screen reads pass False — a page view is not
    an export — while its downloads, and every command-line, briefing and API read, are audited. Auditing is
    best effort: `on_audit_error(exc)` hears of a row that could not be written (default: logged). `options`: the
    export's own options (e.g. the process map's activities / paths shares); the scope's process filters
    (`scope.cases`) and the options are written to the audit row too."""
    try:
        access.check_export(principal, name, by)
        scope = access.scoped(scope, principal, engine=engine, client=client, what=name)
    except access.AccessDenied as exc:
        _audit(engine, "access_denied", principal, client, {"export": name, "by": by, "reason": str(exc)[:300]},
               on_audit_error)
        raise
    df = run_export(engine, name, scope, unit, by, options)
    df = access.enforce_frame(principal, name, df, scope)
    if audited:
        detail = {"export": name, "from": scope.start, "to": scope.end, "by": by, "unit": unit,
                  "township": scope.township, "case_type": scope.case_type, "department": scope.department,
                  "system": scope.system, "rows": len(df)}
        if scope.cases is not None and not scope.cases.is_empty():
            detail["filter"] = scope.cases.describe()
        if options:
            detail["options"] = dict(options)
        _audit(engine, "export", principal, client, detail, on_audit_error)
    return df


def _audit(engine: Engine, action: str, principal, client, detail, on_error=None) -> None:
    """Best effort: a read the store cannot log (a store not yet upgraded to the audit log) is still served."""
    try:
        audit.record(engine, action, who(principal), detail, client or ("cli" if principal is None else None))
    except Exception as exc:  # noqa: BLE001
        if on_error is not None:
            on_error(exc)
        else:
            log.warning("could not audit %s", action, exc_info=True)


def stage_cases(engine: Engine, scope: Scope, unit: str, stage: str, limit: int, *,
                principal: Principal | None = None, client: str | None = None) -> tuple[pd.DataFrame, int]:
    """The cases behind one stage of the bottleneck ranking (analytics.bottlenecks.stage_cases), through the same
    door as every export: drill-down right checked, scope applied once and enforced on the result."""
    from analytics.bottlenecks import STAGE_CASES_READS, stage_cases as build
    from analytics.process import scoped_measured
    from analytics.workcal import load_calendar

    access.require(principal, "drilldown")
    scope = access.scoped(scope, principal, engine=engine, client=client, what="stage-cases")
    with engine.connect() as conn:
        events = scoped_measured(conn, scope, load_calendar(conn), unit, columns=STAGE_CASES_READS)
    cases_frame = read(engine, "cases", replace(scope, cases=None), unit, principal=principal, client=client,
                       audited=False)
    out, total = build(events, cases_frame, stage, limit)
    return access.enforce_frame(principal, "stage-cases", out, scope), total


def map_cases(engine: Engine, scope: Scope, unit: str, activity: str | None, edge: tuple[str, str] | None,
              activities: float, limit: int, *, principal: Principal | None = None,
              client: str | None = None) -> tuple[pd.DataFrame, int]:
    """The cases behind one activity or edge of the process map (analytics.dfg.cases_through at the map's
    activity share), with their attributes from the `cases` export; same door as stage_cases."""
    from analytics.dfg import cases_through, kept_activities
    from analytics.process import scoped_measured
    from analytics.workcal import load_calendar

    access.require(principal, "drilldown")
    scope = access.scoped(scope, principal, engine=engine, client=client, what="map-cases")
    with engine.connect() as conn:
        cal = load_calendar(conn)
        events = scoped_measured(conn, scope, cal, unit)
    keep = set(kept_activities(events, activities))
    per_case = cases_through(events, cal, unit, activity=activity, edge=edge, keep=keep)
    cases_frame = read(engine, "cases", replace(scope, cases=None), unit, principal=principal, client=client,
                       audited=False)
    info = cases_frame[["system", "case_id", "case_type", "department", "township", "status", "received_at",
                        "closed_at", "throughput", "age"]]
    out = per_case.merge(info, on=["system", "case_id"], how="left")
    return access.enforce_frame(principal, "stage-cases", out.head(limit).reset_index(drop=True), scope), len(out)
