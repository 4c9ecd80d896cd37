"""The audit log: who signed in (or failed to), exported, downloaded, uploaded or loaded what, when.

Rows live in the store's `audit_log` table, so every app server and the ETL host write to one log
and the failed-sign-in rate limit (service.auth) holds across processes and servers. The log is
append-only from LandDesk's side: nothing here updates or deletes a row.

`at` is naive wall-clock time in the bureau's timezone (Asia/Shanghai), like every timestamp in the
store, computed from UTC, so servers whose OS clocks are set to different zones agree.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl.schema import audit_log
from landdesk.errors import LandDeskError
from landdesk.settings import utc_now

#: The actions LandDesk records (detail says more). Others are accepted but these are the vocabulary.
ACTIONS = (
    "sign_in",           # a successful sign-in
    "sign_in_failed",    # wrong password, unknown or disabled account (counts toward the lock-out)
    "sign_in_blocked",   # an attempt refused because the account or client is locked out
    "sign_out",          # a user signed out: every session of theirs ended (detail: how many)
    "session_expired",   # a dashboard session ended after LANDDESK_SESSION_IDLE_HOURS without activity
    "session_refused",   # a session cookie refused: not signed with the store's secret, or unknown
    "export",            # `landdesk export` or an export run on a user's behalf
    "download",          # a CSV/Excel/briefing file downloaded from the dashboard
    "upload",            # a file uploaded through the data page
    "etl_run",           # `landdesk etl load` / `etl run` finished (batches and statuses in detail)
    "etl_undo",          # `landdesk etl undo BATCH` removed one batch's rows
    "briefing",          # a weekly briefing written or downloaded
    "scope_forced",      # a township officer's request for another township was narrowed to their own
    "access_denied",     # a request refused (e.g. a non-disclosure export in public mode)
    "delivery",          # a briefing delivered by e-mail / robots (outcomes in the deliveries table)
    "alert",             # `landdesk alerts check` ran (alerts raised, sent, resolved)
    "user_added", "user_disabled", "user_enabled", "password_changed",
    "token_added", "token_revoked",   # an exchange-interface token made or revoked (`landdesk tokens`)
    "api_refused",       # an API call without a valid token (missing, unknown, revoked, expired) or over its rate
    "api_read",          # an API call answered without an export (the catalogue, a 304 Not Modified)
)
MAX_DETAIL_CHARS = 4000


def now() -> dt.datetime:
    """Now as a naive UTC instant, to the second (the store's convention)."""
    return utc_now().replace(microsecond=0)


def os_user() -> str:
    """The operating-system user running a command-line action (the CLI's audit identity)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment (containers)
        return "unknown"


def _detail_text(detail) -> str | None:
    if detail is None:
        return None
    text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True)
    return text[:MAX_DETAIL_CHARS]


def _values(action: str, username: str | None, detail, client: str | None, at: dt.datetime | None) -> dict:
    if not action or len(action) > 40:
        raise ValueError(f"audit action {action!r} is empty or longer than 40 characters")
    return {"at": at or now(), "username": (username or None) and str(username)[:100], "action": action,
            "detail": _detail_text(detail), "client": (client or None) and str(client)[:100]}


def record(bind: Engine | Connection, action: str, username: str | None = None, detail=None,
           client: str | None = None, at: dt.datetime | None = None) -> None:
    """Append one row. `bind` is an engine (own transaction, committed at once) or a connection (the
    caller's transaction: the audit row commits or rolls back with the work it describes)."""
    values = _values(action, username, detail, client, at)
    try:
        if isinstance(bind, Connection):
            bind.execute(insert(audit_log).values(**values))
        else:
            with bind.begin() as conn:
                conn.execute(insert(audit_log).values(**values))
    except SQLAlchemyError as exc:
        raise _store_error(bind, exc) from None


def _store_error(bind, exc: SQLAlchemyError) -> LandDeskError:
    msg = str(getattr(exc, "orig", exc)).lower()
    url = (bind.engine if isinstance(bind, Connection) else bind).url.render_as_string(hide_password=True)
    if "audit_log" in msg and ("no such table" in msg or "does not exist" in msg):
        return LandDeskError(f"The store at {url} has no audit log yet; run `landdesk db upgrade` first.")
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return LandDeskError(f"Cannot write the audit log in the store at {url}: {reason}")


def count_since(conn: Connection, action: str, since: dt.datetime, *, username: str | None = None,
                client: str | None = None) -> int:
    """Rows of `action` at or after `since` for `username` and/or `client` (parameters only)."""
    q = select(func.count()).select_from(audit_log).where(audit_log.c.action == action, audit_log.c.at >= since)
    if username is not None:
        q = q.where(audit_log.c.username == username)
    if client is not None:
        q = q.where(audit_log.c.client == client)
    return int(conn.execute(q).scalar_one())


def recent(bind: Engine | Connection, limit: int = 100, *, action: str | None = None,
           username: str | None = None, since: dt.datetime | None = None) -> pd.DataFrame:
    """The newest `limit` rows, newest first. Grain: one row per audited event."""
    q = select(audit_log.c.id, audit_log.c.at, audit_log.c.username, audit_log.c.action, audit_log.c.client,
               audit_log.c.detail)
    if action:
        q = q.where(audit_log.c.action == action)
    if username:
        q = q.where(audit_log.c.username == username)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    q = q.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(max(int(limit), 0))
    try:
        if isinstance(bind, Connection):
            rows = bind.execute(q).all()
        else:
            with bind.connect() as conn:
                rows = conn.execute(q).all()
    except SQLAlchemyError as exc:
        raise _store_error(bind, exc) from None
    return pd.DataFrame(rows, columns=["id", "at", "username", "action", "client", "detail"])
