"""审计日志 — admins only: sign-ins, failed sign-ins, exports, downloads, uploads and ETL runs, newest first."""
import streamlit as st

from dashboard import data, session
from dashboard.ui import cols, table, tr
from service import audit
from service.access import require

require(session.require_principal(), "audit")
st.title(tr("page_audit"))
st.caption(tr("audit_help"))
left, right, _ = st.columns([2, 1, 3])
action = left.selectbox(tr("audit_action"), [""] + list(audit.ACTIONS), key="audit_action",
                        format_func=lambda a: a or tr("audit_all_actions"))
limit = right.number_input(tr("audit_limit"), min_value=10, max_value=5000, value=200, step=50, key="audit_limit")
log = audit.recent(data.engine(), int(limit), action=action or None)
table(log, "audit-log", cols("id", "at", "username", "action", "client", "detail"), height=600)
