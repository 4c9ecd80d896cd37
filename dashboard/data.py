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
        towns = [r for (r,) in conn.execute(select(cases.c.township).distinct().order_by(cases.c.township)) if r]
        as_of = conn.execute(select(func.max(etl_batches.c.finished_at))
                             .where(etl_batches.c.status == "loaded")).scalar_one()
    last_any = max([d for d in (last, p_last) if d is not None], default=None)
    return {"first": first.date() if first else None, "last": last_any.date() if last_any else None,
            "townships": towns, "as_of": as_of}


@st.cache_data(show_spinner=False)
def export(key: str, name: str, start: dt.date, end: dt.date, township: str | None,
           unit: str = "workdays") -> pd.DataFrame:
    """The named export for the scope — the same function `landdesk export` calls."""
    return run_export(engine(), name, Scope(start, end, township=township), unit)
