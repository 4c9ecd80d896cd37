"""Dashboard sessions that last: a sign-in survives a reload, a new tab and a reconnect, until sign-out, a
disabled account or inactivity (LANDDESK_SESSION_IDLE_HOURS, default 8 h) ends it.

Each sign-in is one row of the store's `sessions` table (every app server sees it). The browser carries a
signed token in an HttpOnly cookie; the store keeps only a keyed hash of it (HMAC-SHA256 with the store's secret,
LANDDESK_SECRET), so neither a copy of the store nor a token made under another secret opens a session. The token
never reaches the page's JavaScript: the tab that signed in gets a one-time grant (valid GRANT_SECONDS), which
the page posts to the server's /_landdesk/session endpoint (dashboard/server.py); the endpoint claims it
(`claim`) and answers with the cookie. Signing out or disabling the account ends every session of that user at
once; every start, end and expiry is audited (service.audit).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl.schema import sessions, users
from landdesk.errors import LandDeskError
from landdesk.settings import secret as store_secret
from landdesk.settings import settings
from service import audit
from service.principal import Principal

#: The cookie that carries the token (HttpOnly, SameSite=Strict, Secure over HTTPS).
COOKIE = "landdesk_session"
#: How long the one-time grant of a new sign-in may wait for the page to claim its cookie.
GRANT_SECONDS = 120
#: The last-seen time is written at most this often per session (each page run reads it).
TOUCH_EVERY = dt.timedelta(seconds=60)
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class Issued:
    """A new sign-in: its session id (kept in the tab's session state) and the one-time grant for the cookie."""

    session_id: str
    grant: str


def idle_limit() -> dt.timedelta:
    return dt.timedelta(hours=settings().session_idle_hours)


def _mac(key: bytes, purpose: str, value: str) -> bytes:
    return hmac.new(key, f"landdesk-{purpose}:{value}".encode("utf-8"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_token(key: bytes | None = None) -> str:
    """A new token: 32 random bytes and their signature under the store's secret (`random.signature`)."""
    key = key or store_secret()
    body = _b64(secrets.token_bytes(_TOKEN_BYTES))
    return f"{body}.{_b64(_mac(key, 'session-token', body))}"


def signed(token: str | None, key: bytes | None = None) -> bool:
    """The token is well formed and signed with the store's secret (checked before the store is asked)."""
    if not token or not isinstance(token, str) or len(token) > 200 or token.count(".") != 1:
        return False
    body, sig = token.split(".")
    return hmac.compare_digest(sig, _b64(_mac(key or store_secret(), "session-token", body)))


def token_hash(token: str, key: bytes | None = None) -> str:
    """What the store keeps of a token or grant: its HMAC-SHA256 under the store's secret, hex."""
    return _mac(key or store_secret(), "session-hash", token).hex()


def _store_error(engine, exc: SQLAlchemyError) -> LandDeskError:
    url = engine.url.render_as_string(hide_password=True) if hasattr(engine, "url") else "the store"
    msg = str(getattr(exc, "orig", exc)).lower()
    if "sessions" in msg and ("no such table" in msg or "does not exist" in msg):
        return LandDeskError(f"The store at {url} has no sessions table yet; run `landdesk db upgrade` first.")
    return LandDeskError(f"Cannot reach the sessions in the store at {url}: {str(getattr(exc, 'orig', exc))[:200]}")


def issue(engine: Engine, principal: Principal, client: str | None = None, *, method: str = "password",
          now: dt.datetime | None = None) -> Issued:
    """Start a session for a principal who has just signed in; returns its id and the one-time grant."""
    now = now or audit.now()
    grant = secrets.token_urlsafe(_TOKEN_BYTES)
    row = dict(session_id=uuid.uuid4().hex, username=principal.username, token_hash=None,
               grant_hash=token_hash(grant), grant_expires_at=now + dt.timedelta(seconds=GRANT_SECONDS),
               method=method[:20], client=(client or None) and str(client)[:100], created_at=now, last_seen_at=now)
    try:
        with engine.begin() as conn:
            conn.execute(insert(sessions).values(**row))
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return Issued(row["session_id"], grant)


def claim(engine: Engine, grant: str | None, *, now: dt.datetime | None = None) -> str | None:
    """Exchange a session's one-time grant for its cookie token (the endpoint's work); None when the grant is
    unknown, used, expired, or its session already ended. The grant is spent either way."""
    if not grant or len(grant) > 100:
        return None
    now = now or audit.now()
    token = make_token()
    try:
        with engine.begin() as conn:
            row = conn.execute(select(sessions).where(sessions.c.grant_hash == token_hash(grant))).first()
            if row is None:
                return None
            conn.execute(update(sessions).where(sessions.c.session_id == row.session_id)
                         .values(grant_hash=None, grant_expires_at=None))
            if row.ended_at is not None or row.token_hash is not None or row.grant_expires_at < now:
                return None
            conn.execute(update(sessions).where(sessions.c.session_id == row.session_id)
                         .values(token_hash=token_hash(token), last_seen_at=now))
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return token


def _end(conn: Connection, where, reason: str, now: dt.datetime) -> int:
    return conn.execute(update(sessions).where(and_(where, sessions.c.ended_at.is_(None)))
                        .values(ended_at=now, end_reason=reason, grant_hash=None)).rowcount


def _check(engine: Engine, row, client: str | None, now: dt.datetime) -> Principal | None:
    """The principal of a live session row (touched), else None (an idle one is ended and audited)."""
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > idle_limit():
        with engine.begin() as conn:
            if _end(conn, sessions.c.session_id == row.session_id, "expired", now):
                audit.record(conn, "session_expired", row.username,
                             {"idle_hours": settings().session_idle_hours, "method": row.method}, client, at=now)
        return None
    with engine.connect() as conn:
        account = conn.execute(select(users).where(users.c.username == row.username)).first()
    if account is None or not account.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.session_id == row.session_id).values(last_seen_at=now))
    return Principal(account.username, account.role, account.township, account.display_name)


def validate(engine: Engine, session_id: str | None, *, client: str | None = None,
             now: dt.datetime | None = None) -> Principal | None:
    """The principal of the tab's session `session_id` when it is still live (and its account active), else None.
    Each call counts as activity."""
    if not session_id:
        return None
    now = now or audit.now()
    try:
        with engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.session_id == str(session_id)[:64])).first()
        return _check(engine, row, client, now)
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None


def resume(engine: Engine, token: str | None, *, client: str | None = None,
           now: dt.datetime | None = None) -> tuple[str, Principal, str] | None:
    """(session id, principal, sign-in method) of the session a cookie's token belongs to, when it is signed with this store's
    secret and still live; else None. A token that is not signed with the secret (forged, altered, another
    store's) is refused before the store is asked, and audited as session_refused."""
    if not token:
        return None
    now = now or audit.now()
    if not signed(token):
        audit.record(engine, "session_refused", None, {"reason": "bad_signature"}, client, at=now)
        return None
    try:
        with engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.token_hash == token_hash(token))).first()
        if row is None:
            audit.record(engine, "session_refused", None, {"reason": "unknown_token"}, client, at=now)
            return None
        principal = _check(engine, row, client, now)
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return (row.session_id, principal, row.method) if principal is not None else None


def end_all(bind: Engine | Connection, username: str, reason: str, *, now: dt.datetime | None = None) -> int:
    """End every live session of `username` (sign-out in any tab, a disabled account); the number ended."""
    now = now or audit.now()
    try:
        if isinstance(bind, Connection):
            return _end(bind, sessions.c.username == username, reason, now)
        with bind.begin() as conn:
            return _end(conn, sessions.c.username == username, reason, now)
    except SQLAlchemyError as exc:
        raise _store_error(bind if isinstance(bind, Engine) else bind.engine, exc) from None


def sign_out(engine: Engine, username: str, client: str | None = None, *, now: dt.datetime | None = None) -> int:
    """Sign `username` out everywhere: every session ends, one sign_out audit row says how many."""
    now = now or audit.now()
    with engine.begin() as conn:
        n = end_all(conn, username, "signed_out", now=now)
        audit.record(conn, "sign_out", username, {"sessions": n}, client, at=now)
    return n
