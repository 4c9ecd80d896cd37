"""Cached data access for the pages: one engine per process, results keyed on the store's state and the principal.

A page holds a `Page` (its store key, scope, units and language, from `ui.page_header`) and asks it for exports by
name: `page.export("bottlenecks", by="township")`. Every read goes through the service layer
(service.results.read) as the session's principal — scope applied once and enforced on the frame, the public's
small cells suppressed — and every cached result has the principal in its key, so an officer's result is never
served to anyone else."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analytics.scope import Scope
from etl.store import last_batch_id, make_engine
from landdesk.settings import database_url, settings
from service import results
from service.access import require

log = logging.getLogger(__name__)
#: The name of the background thread that learns the integrity-risk reference (tests and benchmarks wait for it).
WARM_THREAD = "landdesk-warm-reference"
DRILL_LIMIT = 500   # at most this many cases go to the browser in a drill-down list


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


@dataclass(frozen=True)
class Page:
    """What a page asks about: the store state (`key`), the filter bar's scope, the duration unit and the area
    unit. Its methods read through the service layer as the session's principal, cached per principal."""

    key: str
    status: dict
    scope: Scope
    unit: str = "workdays"
    area_unit: str = "ha"

    def export(self, name: str, by: str | None = None, scope: Scope | None = None,
               unit: str | None = None, options: dict | None = None) -> pd.DataFrame:
        """Export `name` (as `landdesk export NAME` computes it) for the page's scope, or `scope`; `options`: the
        export's own options (the process map's activities / paths shares)."""
        principal, client = _who()
        opts = tuple(sorted((options or {}).items()))
        return _read(self.key, name, scope or self.scope, unit or self.unit, by, principal, opts, _client=client)

    def try_export(self, name: str, by: str | None = None, scope: Scope | None = None):
        """(frame, None), or (None, one-line reason) when the export failed: a section that cannot be computed
        says so in its place instead of taking the page down (the error is logged)."""
        try:
            return self.export(name, by=by, scope=scope), None
        except Exception as exc:  # noqa: BLE001 - the section's error boundary
            log.exception("export %s failed", name)
            return None, f"{type(exc).__name__}: {exc}"

    def drill_cases(self, by: str | None, values: tuple, limit: int = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
        """The cases behind the chosen groups, longest first, capped (analytics.efficiency.drill_cases)."""
        from analytics.efficiency import drill_cases
        require(_who()[0], "drilldown")
        return drill_cases(self.export("cases"), by, values, limit)

    def throughput_distribution(self, by: str) -> pd.DataFrame:
        """Throughput quartiles per group over the period's completed cases (no per-case rows to the browser)."""
        from analytics.efficiency import throughput_distribution
        return throughput_distribution(self.export("cases"), self.scope, by)

    def stage_cases(self, stage: str, limit: int = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
        principal, client = _who()
        return _stage_cases(self.key, self.scope, self.unit, stage, limit, principal, _client=client)

    def map_cases(self, activity: str | None, edge: tuple[str, str] | None, activities: float,
                  limit: int = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
        """The cases behind one activity or edge of the process map (service.results.map_cases)."""
        principal, client = _who()
        return _map_cases(self.key, self.scope, self.unit, activity, edge, activities, limit, principal,
                          _client=client)


@st.cache_data(show_spinner=False)
def _read(key: str, name: str, scope: Scope, unit: str, by: str | None, principal, options: tuple = (),
          _client=None) -> pd.DataFrame:
    return results.read(engine(), name, scope, unit, by, principal=principal, client=_client, audited=False,
                        options=dict(options) or None)


@st.cache_data(show_spinner=False)
def _map_cases(key: str, scope: Scope, unit: str, activity, edge, activities: float, limit: int, principal,
               _client=None):
    return results.map_cases(engine(), scope, unit, activity, edge, activities, limit, principal=principal,
                             client=_client)


@st.cache_data(show_spinner=False)
def _stage_cases(key: str, scope: Scope, unit: str, stage: str, limit: int, principal, _client=None):
    return results.stage_cases(engine(), scope, unit, stage, limit, principal=principal, client=_client)


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
    from analytics.coverage import status
    with engine().connect() as conn:
        return status(conn)


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
    from etl.quality import rejects_by_reason as build
    return build(engine())


@st.cache_data(show_spinner=False)
def rejects(key: str, batch_id: int) -> pd.DataFrame:
    from etl.load import list_rejects
    return list_rejects(engine(), batch_id)


def mapping_files() -> dict[str, str]:
    """Mapping files a user may load an upload through: the sample county's and LANDDESK_MAPPINGS_DIR's."""
    from landdesk.settings import SAMPLE_DIR
    extra = settings().mappings_dir
    dirs = [SAMPLE_DIR / "mappings"] + ([extra] if extra else [])
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


def _audit_safe(action: str, principal, client, detail, eng=None) -> None:
    import logging

    from service import audit
    try:
        audit.record(eng if eng is not None else engine(), action, principal.username, detail, client)
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("could not audit %s", action)


@st.cache_data(show_spinner=False)
def dataset_rows(key: str) -> dict[str, int]:
    """Row counts of the optional datasets, so a page can say which one is missing."""
    from analytics.coverage import dataset_rows as count
    with engine().connect() as conn:
        return count(conn)


# briefing ---------------------------------------------------------------------------------------

def briefing_weeks(key: str) -> tuple[list[str], str | None]:
    require(_who()[0], "briefing")
    return _briefing_weeks(key)


@st.cache_data(show_spinner=False)
def _briefing_weeks(key: str) -> tuple[list[str], str | None]:
    """ISO weeks with data, newest first, and the default week (the last complete one)."""
    from briefing.weeks import choosable_weeks
    status = data_status(key)
    return choosable_weeks(engine(), status["first"], status["last"])


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
    """A zero-argument callable for a deferred download button: builds the file when clicked and audits it."""
    require(_who()[0], "briefing")
    return deferred_download(lambda: briefing_file(key, week, lang, fmt), f"briefing-{week}-{lang}.{fmt}",
                             kind="briefing")


#: The capability a download of each kind needs at click time.
DOWNLOAD_CAPABILITY = {"table": "download", "briefing": "briefing", "map": "download"}


def deferred_download(build, filename: str, kind: str = "table", rows: int | None = None):
    """The one output path of every dashboard download: a zero-argument callable for a deferred download
    button (st.download_button(data=...)) that, when clicked, first checks that the session's account is still
    there, active and allowed (`service.auth.refresh`: a user disabled after the table was drawn gets no file, an
    `access_denied` audit row and one sentence), then builds the file and audits it as `download`. Principal,
    client and engine are captured now, while the script runs; the click runs on another thread."""
    principal, client = _who()
    eng = engine()
    from dashboard.session import auth_mode
    signin = auth_mode() == "signin"
    capability = DOWNLOAD_CAPABILITY[kind]

    def payload():
        from service import auth
        from service.access import AccessDenied
        now = auth.refresh(eng, principal) if signin else principal
        if now is None or not now.can(capability):
            _audit_safe("access_denied", principal, client, {"file": filename, "kind": kind,
                                                            "reason": "session no longer valid"}, eng)
            raise AccessDenied.say("access_session_ended")
        out = build()
        audit_download(now, client, filename, kind=kind, rows=rows, eng=eng)
        return out
    return payload


def audit_download(principal, client, filename: str, kind: str = "table", rows: int | None = None,
                   eng=None) -> None:
    """Best effort: a download the store cannot log is still served (the failure is logged)."""
    import logging

    from service import audit
    try:
        audit.record(eng if eng is not None else engine(), "download", principal.username if principal else None,
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


def dictionary(key: str, name: str) -> pd.DataFrame:
    """A data-dictionary export (`catalogue`: datasets; `catalogue-fields`: fields) through the service layer as
    the session's principal; the period does not apply (a township officer's row counts are their township's)."""
    principal, client = _who()
    today = dt.date.today()
    return _read(key, name, Scope(today, today), "workdays", None, principal, _client=client)
