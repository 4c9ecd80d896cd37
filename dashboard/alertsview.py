"""The delivery and alert panels: the cockpit's active alerts with their history, and the briefing page's delivery
history of a week. Each is one function a page calls with one line (pages only choose and lay out)."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import data, session
from dashboard.ui import lang, table, tr
from landdesk.settings import to_local

ALERT_ROWS = 100


def _local(values) -> list:
    return [to_local(v) if v is not None and not pd.isna(v) else None for v in values]


def alerts_panel() -> None:
    """Active alerts (what `landdesk alerts check` raised) and the recent history, for the viewer's scope: a
    township officer sees their township's and the county-wide alerts only."""
    from delivery.alerts import message, recent_alerts

    st.subheader(tr("alerts_title"))
    who = session.principal()
    township = getattr(who, "township", None) if who is not None and who.role == "township_officer" else None
    try:
        df = recent_alerts(data.engine(), township=township, limit=ALERT_ROWS)
    except SQLAlchemyError:          # a store not yet upgraded to the alerts table: nothing raised yet
        df = pd.DataFrame()
    if df.empty or not (df["status"] == "active").any():
        st.success(tr("alerts_none"))
    if df.empty:
        return
    shown = pd.DataFrame({
        "rule": [tr(f"alert_rule_{r}") for r in df["rule"]],
        "alert": [message(r, lang()) for _, r in df.iterrows()],
        "state": df["status"].map({"active": tr("alerts_state_active"), "resolved": tr("alerts_state_resolved")}),
        "first_seen": _local(df["first_seen"]),
        "last_seen": _local(df["last_seen"]),
        "sent": _local(df["sent_at"]),
    })
    labels = {"rule": tr("alerts_col_rule"), "alert": tr("alerts_col_alert"), "state": tr("alerts_col_state"),
              "first_seen": tr("alerts_col_first_seen"), "last_seen": tr("alerts_col_last_seen"),
              "sent": tr("alerts_col_sent")}
    active = df["status"] == "active"
    if active.any():
        table(shown[active.to_numpy()].reset_index(drop=True), "alerts-active", labels, height=200)
    with st.expander(tr("alerts_history")):
        table(shown, "alerts-history", labels, height=240)


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
