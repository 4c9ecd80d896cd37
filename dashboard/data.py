"""Cached data access for the pages: one engine per process, results keyed on the store's last batch."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from analytics import kpis
from analytics.exports import run_export
from analytics.scope import Scope
from etl.schema import cases, etl_batches, petitions
from etl.store import last_batch_id, make_engine
from landdesk.config import database_url


@st.cache_resource
def _engine(url: str):
    return make_engine(url)


def engine():
    """The store engine, one per URL and process (URL from LANDDESK_DATABASE_URL, set by `landdesk serve`)."""
    return _engine(database_url())


def batch_key() -> str:
    """Names the store and its newest batch, so cached results refresh after every ETL run."""
    eng = engine()
    return f"{eng.url.render_as_string(hide_password=True)}#{last_batch_id(eng)}"


@st.cache_data(show_spinner=False)
def data_status(key: str) -> dict:
    """Data range and freshness: first/last case date, townships, and the last load's time."""
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


@st.cache_data(show_spinner=False)
def export(key: str, name: str, scope: Scope, unit: str = "workdays", by: str | None = None) -> pd.DataFrame:
    """The named export for the scope — the same function `landdesk export` calls."""
    return run_export(engine(), name, scope, unit, by)


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
    """Mapping files a user may load an upload through: the sample county's and $LANDDESK_MAPPINGS_DIR's."""
    import os
    from pathlib import Path

    from landdesk.config import SAMPLE_DIR
    dirs = [SAMPLE_DIR / "mappings"] + ([Path(os.environ["LANDDESK_MAPPINGS_DIR"])]
                                        if os.environ.get("LANDDESK_MAPPINGS_DIR") else [])
    return {str(p): p.name for d in dirs if d.is_dir() for p in sorted(d.glob("*.yaml"))}


def load_upload(mapping_path: str, filename: str, content: bytes):
    from etl.upload import load_upload as load
    return load(engine(), mapping_path, filename, content)
