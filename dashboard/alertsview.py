"""The delivery panels: the briefing page's delivery
history of a week. Each is one function a page calls with one line (pages only choose and lay out)."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import data, session
from dashboard.ui import lang, table, tr
from landdesk.settings import to_local

def _local(values) -> list:
    return [to_local(v) if v is not None and not pd.isna(v) else None for v in values]


def delivery_history(week: str) -> None:
    """Who received the briefing of `week`, when, by which channel, and with what outcome."""
    from delivery.history import history

    st.subheader(tr("deliveries_title"))
    try:
        df = history(data.engine(), week=week, subject="briefing")
    except SQLAlchemyError:
        df = pd.DataFrame()
    if df.empty:
        st.info(tr("deliveries_none"))
        return
    shown = pd.DataFrame({
        "at": _local(df["at"]), "channel": df["channel"], "target": df["target"],
        "township": df["township"].fillna(""), "formats": df["formats"].fillna(""),
        "outcome": df["status"].map({"sent": tr("deliveries_sent"), "failed": tr("deliveries_failed")}), "attempts": df["attempts"],
        "error": df["error"].fillna(""),
    })
    table(shown, f"deliveries-{week}", {
        "at": tr("deliveries_col_at"), "channel": tr("deliveries_col_channel"), "target": tr("deliveries_col_target"),
        "township": tr("township"), "formats": tr("deliveries_col_formats"),
        "outcome": tr("deliveries_col_outcome"), "attempts": tr("deliveries_col_attempts"),
        "error": tr("deliveries_col_error")}, height=240)
