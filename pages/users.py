"""用户与角色 — admins only: the accounts, their roles and townships (read-only; managed with `landdesk users`)."""
import streamlit as st

from dashboard import data, session
from dashboard.ui import cols, table, tr
from service.access import require
from service.auth import list_users

require(session.require_principal(), "user_admin")
st.title(tr("page_users"))
st.caption(tr("users_help"))
accounts = list_users(data.engine())
accounts["role"] = [tr("role_" + r) for r in accounts["role"]]
table(accounts, "users", cols("username", "display_name", "role", "township", "active", "created_at",
                              "password_changed_at", "oidc_only"))
