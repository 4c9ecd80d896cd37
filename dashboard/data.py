"""Cached data access for the pages: one engine per process, results keyed on the store's last batch.

Row-level scope is enforced here, not in the widgets: every export goes through `run_export` with the session's
principal (dashboard.session), and every cached result that depends on who is asking has the principal in its
cache key, so an officer's result is never served to another principal or the other way round."""
from __future__ import annotations

import datetime as dt
import logging
import threading

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from analytics.exports import run_export
from analytics.scope import Scope
from etl.schema import cases, etl_batches, petitions
from etl.store import last_batch_id, make_engine
from service.access import require, scoped
from landdesk.settings import database_url

log = logging.getLogger(__name__)
#: The name of the background thread that learns the integrity-risk reference (tests and benchmarks wait for it).
WARM_THREAD = "landdesk-warm-reference"


def _who():
    """(principal, client) of the session running this script."""
    from dashboard import session
    return session.require_principal(), session.client()


@st.cache_resource
def _engine(url: str):
    return make_engine(url)


def engine():
    """The store engine, one per URL and process (URL from LANDDESK_DATABASE_URL, set by `landdesk serve`)."""
    return _engine(database_url())


def batch_key() -> str:
    """Names the store and its newest batch, so cached results refresh after every ETL run. The first time a
    process sees a key it starts learning that state's integrity-risk reference in the background."""
    eng = engine()
    key = f"{eng.url.render_as_string(hide_password=True)}#{last_batch_id(eng)}"
    from dashboard.session import auth_mode
    if auth_mode() != "public":            # the public never sees warnings: nothing to learn for it
        _warm(key)
    return key


def wait_for_warm_up(timeout: float | None = None) -> None:
    """Until the background warm-ups running now have finished (tests, benchmarks)."""
    for thread in threading.enumerate():
        if thread.name == WARM_THREAD:
            thread.join(timeout)


@st.cache_resource(show_spinner=False)
def _warm(key: str) -> threading.Thread:
    """Learn the integrity-risk reference of this store state (analytics.integrity) in a background thread, once
    per key and process: 3–4 s at a million events, which the first visitor of the forecasts page would
    otherwise wait for. A page asking while it runs waits for this computation instead of starting another."""
    from analytics.integrity import warm_reference
    eng = engine()                           # resolved here, in the script's thread

    def run():
        try:
            warm_reference(eng)
        except Exception:  # noqa: BLE001 - only a head start: the page computes (and reports) it again
            log.warning("warming the integrity-risk reference failed", exc_info=True)

    thread = threading.Thread(target=run, name=WARM_THREAD, daemon=True)
    thread.start()
    return thread


def data_status(key: str) -> dict:
    """Data range and freshness: first/last case date, townships, and the last load's time. A township officer's
    township list holds only their township."""
    status = _data_status(key)
    principal, _ = _who()
    if principal.is_officer:
        status = dict(status, townships=[principal.township])
    return status


@st.cache_data(show_spinner=False)
def _data_status(key: str) -> dict:
    with engine().connect() as conn:
        first, last = conn.execute(select(func.min(cases.c.received_at), func.max(cases.c.received_at))).one()
        p_last = conn.execute(select(func.max(petitions.c.received_at))).scalar_one()
        def distinct(col):
            return [r for (r,) in conn.execute(select(col).distinct().order_by(col)) if r]
        towns = distinct(cases.c.township)
        case_types = distinct(cases.c.case_type)
        departments = distinct(cases.c.department)
        as_of = conn.execute(select(func.max(etl_batches.c.finished_at))
                             .where(etl_batches.c.status == "loaded")).scalar_one()
    last_any = max([d for d in (last, p_last) if d is not None], default=None)
    return {"first": first.date() if first else None, "last": last_any.date() if last_any else None,
            "townships": towns, "case_types": case_types, "departments": departments, "as_of": as_of}


def export(key: str, name: str, scope: Scope, unit: str = "workdays", by: str | None = None) -> pd.DataFrame:
    """The named export for the scope — the same function `landdesk export` calls, as the session's principal
    (an officer's township forced, the public's small cells suppressed)."""
    principal, client = _who()
    return _export(key, name, scope, unit, by, principal, _client=client)


@st.cache_data(show_spinner=False)
def _export(key: str, name: str, scope: Scope, unit: str, by: str | None, principal, _client=None) -> pd.DataFrame:
    return run_export(engine(), name, scope, unit, by, principal=principal, client=_client)


@st.cache_data(show_spinner=False)
def catalogue(key: str) -> pd.DataFrame:
    from etl.catalogue import catalogue as build
    return build(engine())


@st.cache_data(show_spinner=False)
def batches(key: str, limit: int = 200) -> pd.DataFrame:
    from etl.load import list_batches
    return list_batches(engine(), limit=limit)


@st.cache_data(show_spinner=False)
def rejects_by_reason(key: str) -> pd.DataFrame:
    try:
        from etl.quality import rejects_by_reason as build
    except ModuleNotFoundError as exc:
        if exc.name != "etl.quality":
            raise
        return _rejects_by_reason(engine())
    return build(engine())


def _rejects_by_reason(eng) -> pd.DataFrame:
    """Rejected records per batch and reason with their share of the batch's rejects and a few example rows
    (used until etl.quality provides it)."""
    from etl.schema import etl_rejects as r
    q = (select(r.c.batch_id, r.c.reason, func.count().label("records"), func.min(r.c.row_number).label("first"))
         .group_by(r.c.batch_id, r.c.reason).order_by(r.c.batch_id.desc(), func.count().desc()))
    with eng.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["batch_id", "reason", "records", "first"])
        examples = {}
        for batch_id, reason in df[["batch_id", "reason"]].itertuples(index=False):
            rows = conn.execute(select(r.c.row_number).where(r.c.batch_id == batch_id, r.c.reason == reason)
                                .order_by(r.c.row_number).limit(5)).scalars().all()
            examples[(batch_id, reason)] = ", ".join(str(x) for x in rows)
    if df.empty:
        return pd.DataFrame(columns=["batch_id", "reason", "records", "share", "example_rows"])
    df["share"] = df["records"] / df.groupby("batch_id")["records"].transform("sum")
    df["example_rows"] = [examples[k] for k in zip(df["batch_id"], df["reason"])]
    return df[["batch_id", "reason", "records", "share", "example_rows"]]


@st.cache_data(show_spinner=False)
def rejects(key: str, batch_id: int) -> pd.DataFrame:
    from etl.load import list_rejects
    return list_rejects(engine(), batch_id)


def mapping_files() -> dict[str, str]:
    """Mapping files a user may load an upload through: the sample county's and $LANDDESK_MAPPINGS_DIR's."""
    import os
    from pathlib import Path

    from landdesk.settings import SAMPLE_DIR
    dirs = [SAMPLE_DIR / "mappings"] + ([Path(os.environ["LANDDESK_MAPPINGS_DIR"])]
                                        if os.environ.get("LANDDESK_MAPPINGS_DIR") else [])
    return {str(p): p.name for d in dirs if d.is_dir() for p in sorted(d.glob("*.yaml"))}


def load_upload(mapping_path: str, filename: str, content: bytes):
    """Load an uploaded file through a mapping (analysts and admins only); audited with its outcome."""
    from etl.upload import load_upload as load
    from landdesk.errors import LandDeskError
    principal, client = _who()
    require(principal, "upload")
    detail = {"file": filename, "bytes": len(content), "mapping": mapping_path}
    try:
        result = load(engine(), mapping_path, filename, content)
    except LandDeskError as exc:
        _audit_safe("upload", principal, client, dict(detail, status="refused", error=str(exc)[:500]))
        raise
    _audit_safe("upload", principal, client, dict(detail, status=result.status,
                                                    batch=getattr(result, "batch_id", None)))
    return result


def _audit_safe(action: str, principal, client, detail) -> None:
    import logging

    from service import audit
    try:
        audit.record(engine(), action, principal.username, detail, client)
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("could not audit %s", action)


# --- pages (issue 6) --------------------------------------------------------------------------

DRILL_LIMIT = 500   # at most this many cases go to the browser in a drill-down list


def available(name: str) -> bool:
    """Whether the analytics export `name` exists yet (forecast and detection modules arrive separately)."""
    from analytics.exports import registry
    return name in registry()


def optional_export(key: str, name: str, scope: Scope, unit: str = "workdays", by: str | None = None):
    """An export from a module that may be missing or still maturing (forecasts, detection):
    (frame, None); (None, None) when no module declares it; (None, message) when it failed — the page then
    says so in one line instead of showing a traceback."""
    import logging
    if not available(name):
        return None, None
    try:
        return export(key, name, scope, unit, by), None
    except Exception as exc:  # noqa: BLE001 — an optional section must not take the page down
        logging.getLogger(__name__).exception("export %s failed", name)
        return None, f"{type(exc).__name__}: {exc}"


def throughput_stats(key: str, scope: Scope, unit: str, by: str) -> pd.DataFrame:
    principal, client = _who()
    return _throughput_stats(key, scope, unit, by, principal, _client=client)


@st.cache_data(show_spinner=False)
def _throughput_stats(key: str, scope: Scope, unit: str, by: str, principal, _client=None) -> pd.DataFrame:
    """Quartiles and whiskers of throughput time per group over the cases completed in the period — from the
    `cases` export, aggregated here so no per-case rows go to the browser."""
    from dashboard.charts import box_stats
    df = _export(key, "cases", scope, unit, None, principal, _client=_client)
    done = df[df["throughput"].notna() & df["closed_at"].notna()]
    done = done[(done["closed_at"] >= pd.Timestamp(scope.start_ts)) & (done["closed_at"] < pd.Timestamp(scope.end_ts))]
    return box_stats(done, by, "throughput")


def drill_cases(key: str, scope: Scope, unit: str, by: str | None, values: tuple, limit: int = DRILL_LIMIT):
    principal, client = _who()
    require(principal, "drilldown")
    return _drill_cases(key, scope, unit, by, values, limit, principal, _client=client)


@st.cache_data(show_spinner=False)
def _drill_cases(key: str, scope: Scope, unit: str, by: str | None, values: tuple, limit: int, principal,
                 _client=None):
    """The cases behind a chosen group (rows of the `cases` export), longest first, capped at `limit`;
    returns (frame, total matching)."""
    df = _export(key, "cases", scope, unit, None, principal, _client=_client)
    if by and values:
        df = df[df[by].astype(str).isin([str(v) for v in values])]
    order = df["throughput"].fillna(df["age"])
    df = df.assign(_o=order).sort_values("_o", ascending=False).drop(columns="_o")
    return df.head(limit).reset_index(drop=True), len(df)


def stage_cases(key: str, scope: Scope, unit: str, stage: str, limit: int = DRILL_LIMIT):
    principal, client = _who()
    require(principal, "drilldown")
    return _stage_cases(key, scope, unit, stage, limit, principal, _client=client)


@st.cache_data(show_spinner=False)
def _stage_cases(key: str, scope: Scope, unit: str, stage: str, limit: int, principal, _client=None):
    """Cases with an event of `stage` completed in the period: per case the number of such events and their total
    sojourn (the measure the bottleneck ranking uses), longest first, capped; returns (frame, total)."""
    from analytics.process import scoped_measured
    from analytics.workcal import load_calendar
    scope = scoped(scope, principal, engine=engine(), client=_client, what="stage-cases")
    with engine().connect() as conn:
        ev = scoped_measured(conn, scope, load_calendar(conn), unit)
    ev = ev[ev["stage"] == stage]
    per_case = (ev.groupby("case_id", sort=False)
                .agg(stage_events=("stage", "size"), stage_sojourn=("sojourn", "sum"),
                     last_completed=("completed_at", "max"))
                .reset_index().sort_values("stage_sojourn", ascending=False))
    info = _export(key, "cases", scope, unit, None, principal, _client=_client)[["case_id", "case_type", "department", "township", "status",
                                              "received_at", "closed_at", "throughput", "age"]]
    out = per_case.merge(info, on="case_id", how="left")
    return out.head(limit).reset_index(drop=True), len(out)


@st.cache_data(show_spinner=False)
def dataset_rows(key: str) -> dict[str, int]:
    """Row counts of the optional datasets, so a page can say which one is missing."""
    from etl.schema import case_events, land_supply, land_use
    with engine().connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (cases, case_events, petitions, land_use, land_supply)}


# briefing ---------------------------------------------------------------------------------------

def briefing_available() -> bool:
    try:
        import briefing  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "briefing":
            return False
        raise
    return True


def briefing_weeks(key: str) -> tuple[list[str], str | None]:
    require(_who()[0], "briefing")
    return _briefing_weeks(key)


@st.cache_data(show_spinner=False)
def _briefing_weeks(key: str) -> tuple[list[str], str | None]:
    """ISO weeks with data, newest first, and the default week (the last complete one)."""
    from briefing import default_week
    from briefing.weeks import week_of
    status = data_status(key)
    if status["first"] is None:
        return [], None
    weeks, day = [], status["last"]
    while day >= status["first"] - dt.timedelta(days=6):
        weeks.append(week_of(day))
        day -= dt.timedelta(days=7)
    weeks = list(dict.fromkeys(weeks))
    default = default_week(engine())
    if default not in weeks:
        weeks.insert(0, default)
    return weeks, default


def briefing_html(key: str, week: str, lang: str, charts: bool = True) -> str:
    require(_who()[0], "briefing")
    return _briefing_html(key, week, lang, charts)


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing_html(key: str, week: str, lang: str, charts: bool = True) -> str:
    """The briefing as HTML; without `charts` the static chart images (drawn by headless Chromium, the slow part)
    are left out, for a quick preview."""
    from briefing import build_briefing, render_html
    from briefing.render_html import ensure_charts
    b = build_briefing(engine(), week, lang)
    if charts and b.charts:
        ensure_charts(b)
    return render_html(b, charts=charts)


def briefing_download(key: str, week: str, lang: str, fmt: str):
    """A zero-argument callable for a deferred download button: builds the file when clicked and audits it
    (principal and client captured now, while the script runs)."""
    principal, client = _who()
    require(principal, "briefing")

    def build() -> bytes:
        payload = briefing_file(key, week, lang, fmt)
        audit_download(principal, client, f"briefing-{week}-{lang}.{fmt}", kind="briefing")
        return payload
    return build


def audit_download(principal, client, filename: str, kind: str = "table", rows: int | None = None) -> None:
    """Best effort: a download the store cannot log is still served (the failure is logged)."""
    import logging

    from service import audit
    try:
        audit.record(engine(), "download", principal.username if principal else None,
                     {"file": filename, "kind": kind, "rows": rows}, client)
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("could not audit the download of %s", filename)


@st.cache_data(show_spinner=False, max_entries=8)
def briefing_file(key: str, week: str, lang: str, fmt: str) -> bytes:
    from briefing import briefing_bytes, build_briefing
    from briefing.render_html import ensure_charts
    b = build_briefing(engine(), week, lang)
    if b.charts:
        ensure_charts(b)   # downloads always carry the charts
    return briefing_bytes(b, fmt)


def briefing_archive() -> list:
    from briefing import list_briefings
    return list_briefings()


def land_years(key: str, township: str | None) -> list[int]:
    """The surveyed years in the land-use table (of the township, when one is chosen; an officer's own always)."""
    principal, _ = _who()
    if principal.is_officer:
        township = principal.township
    return _land_years(key, township)


@st.cache_data(show_spinner=False)
def _land_years(key: str, township: str | None) -> list[int]:
    from analytics.landuse import available_years
    with engine().connect() as conn:
        return available_years(conn, Scope(dt.date(1900, 1, 1), dt.date(2999, 12, 31), township=township))


def land_scope(scope: Scope, year_a: int, year_b: int) -> Scope:
    """The scope a land-use question runs on: whole surveyed years year_a..year_b, same township."""
    return Scope(dt.date(year_a, 1, 1), dt.date(year_b, 12, 31), township=scope.township)
