"""Accounts, roles and sign-in for the dashboard.

Accounts live in the store's `users` table (so every app server sees the same accounts) with an
argon2id password hash (argon2-cffi). `authenticate` checks a password, rate-limits failures and
writes every attempt to the audit log; it returns a `Principal` — who is asking and in which role
— which the data-access layer (`service.access`, `analytics.exports.run_export`) and the
dashboard's navigation use.

Rate limit: at most MAX_FAILURES_PER_USER failed sign-ins per username and MAX_FAILURES_PER_CLIENT
per client (IP address) in any FAILURE_WINDOW. The failures are counted from the audit log, so the
limit holds across processes and servers sharing the store. A locked username or client is refused
even with the right password (`SignInLocked`, with the minutes to wait); a successful sign-in
resets the username's count. Unknown usernames are locked the same way (no account enumeration),
and their password is checked against a dummy hash so the reply takes as long as for a real account.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from etl.schema import ROLES, audit_log, users
from service import audit
from service.principal import DEVELOPER, PUBLIC, ROLE_CAPABILITIES, ROLE_PAGES, Principal  # noqa: F401
from landdesk.errors import LandDeskError

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20          # a client is an IP; a bureau's office may share one behind NAT
FAILURE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
#: The hash stored for accounts that sign in only through the identity provider (OIDC, st.login).
NO_PASSWORD = "!oidc-only"

# --- roles and pages: service.principal (re-exported here, where callers have always found them) ---------------

class SignInLocked(LandDeskError):
    """Too many failed sign-ins for this username or client; `minutes` until the next try."""

    def __init__(self, message: str, minutes: int):
        super().__init__(message)
        self.minutes = minutes


# --- passwords -------------------------------------------------------------------------------

_hasher = PasswordHasher()   # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=4)
def _dummy_hash(_params: tuple) -> str:
    return _hasher.hash("landdesk-no-such-account")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check (argon2 compares digests in constant time); a missing or unusable hash
    costs the same as a real one and fails."""
    real = bool(password_hash) and password_hash.startswith("$argon2")
    target = password_hash if real else _dummy_hash((_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism))
    try:
        ok = _hasher.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    return ok and real


def check_password_policy(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise LandDeskError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == username.strip().lower() or len(set(password)) < 3:
        raise LandDeskError("The password is too easy to guess (the username, or fewer than 3 distinct characters).")


# --- accounts --------------------------------------------------------------------------------

_USERNAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,100}$")


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not _USERNAME.match(username):
        raise LandDeskError(f"{username!r} is not a valid username (1–100 characters, no spaces).")
    return username


def _store_error(engine: Engine, exc: SQLAlchemyError) -> LandDeskError:
    msg = str(getattr(exc, "orig", exc)).lower()
    url = engine.url.render_as_string(hide_password=True)
    if "users" in msg and ("no such table" in msg or "does not exist" in msg):
        return LandDeskError(f"The store at {url} has no accounts table yet; run `landdesk db upgrade` first.")
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return LandDeskError(f"Cannot reach the accounts in the store at {url}: {reason}")


def add_user(engine: Engine, username: str, role: str, password: str | None, *, township: str | None = None,
             display_name: str | None = None, by: str | None = None, client: str | None = None) -> Principal:
    """Create an account. `password=None` makes an identity-provider-only account (OIDC)."""
    username = _check_username(username)
    if role not in ROLES:
        raise LandDeskError(f"{role!r} is not a role; use one of {', '.join(ROLES)}.")
    township = (township or "").strip() or None
    if role == "township_officer" and not township:
        raise LandDeskError("A township officer needs --township (the township they may see).")
    if role != "township_officer" and township:
        raise LandDeskError(f"Only township officers are limited to a township; a {role} sees the whole county.")
    if password is not None:
        check_password_policy(username, password)
    at = audit.now()
    row = dict(username=username, display_name=display_name, role=role, township=township,
               password_hash=hash_password(password) if password is not None else NO_PASSWORD, active=True,
               created_at=at, password_changed_at=at if password is not None else None)
    try:
        with engine.begin() as conn:
            exists = conn.execute(select(users.c.username).where(users.c.username == username)).first()
            if exists:
                raise LandDeskError(f"There is already an account named {username!r}.")
            conn.execute(insert(users).values(**row))
            audit.record(conn, "user_added", by, {"user": username, "role": role, "township": township}, client)
    except IntegrityError:
        raise LandDeskError(f"There is already an account named {username!r}.") from None
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return Principal(username, role, township, display_name)


def _set(engine: Engine, username: str, values: dict, action: str, by: str | None, client: str | None) -> None:
    try:
        with engine.begin() as conn:
            n = conn.execute(update(users).where(users.c.username == username).values(**values)).rowcount
            if not n:
                raise LandDeskError(f"There is no account named {username!r}.")
            audit.record(conn, action, by, {"user": username}, client)
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None


def set_active(engine: Engine, username: str, active: bool, *, by: str | None = None,
               client: str | None = None) -> None:
    """Disable (or re-enable) an account; a disabled account cannot sign in, and every session it has ends at
    once (service.sessions.end_all, in the same transaction; each open tab notices at its next run). Accounts are
    never deleted: the audit log names them."""
    from service.sessions import end_all
    try:
        with engine.begin() as conn:
            n = conn.execute(update(users).where(users.c.username == username).values(active=bool(active))).rowcount
            if not n:
                raise LandDeskError(f"There is no account named {username!r}.")
            detail = {"user": username}
            if not active:
                detail["sessions_ended"] = end_all(conn, username, "disabled")
            audit.record(conn, "user_enabled" if active else "user_disabled", by, detail, client)
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None


def set_password(engine: Engine, username: str, password: str, *, by: str | None = None,
                 client: str | None = None) -> None:
    check_password_policy(username, password)
    _set(engine, username, {"password_hash": hash_password(password), "password_changed_at": audit.now()},
         "password_changed", by, client)


def list_users(engine: Engine) -> pd.DataFrame:
    """Grain: one row per account (never the hash)."""
    q = select(users.c.username, users.c.display_name, users.c.role, users.c.township, users.c.active,
               users.c.created_at, users.c.password_changed_at,
               (users.c.password_hash == NO_PASSWORD).label("oidc_only")).order_by(users.c.username)
    try:
        with engine.connect() as conn:
            rows = conn.execute(q).all()
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return pd.DataFrame(rows, columns=["username", "display_name", "role", "township", "active", "created_at",
                                       "password_changed_at", "oidc_only"])


def _principal(row) -> Principal:
    return Principal(row.username, row.role, row.township, row.display_name)


def refresh(engine: Engine, principal: Principal) -> Principal | None:
    """The account as it is now (role or township may have changed), or None when it was disabled or
    removed. The dashboard calls this on each page load so a disabled account loses access at once."""
    if principal.role == "public" or principal == DEVELOPER:
        return principal
    return lookup(engine, principal.username)


def lookup(engine: Engine, username: str) -> Principal | None:
    """The active account named `username` (e.g. the e-mail an identity provider vouched for)."""
    try:
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return _principal(row) if row is not None and row.active else None


# --- sign-in ---------------------------------------------------------------------------------

def authenticate_external(engine: Engine, username: str, client: str | None = None, *, method: str = "oidc",
                          now: dt.datetime | None = None) -> Principal | None:
    """The active account named `username` for a visitor the identity provider has already authenticated
    (OIDC through st.login: `username` is the e-mail it vouches for), else None. No password and no rate
    limit (the provider checked the person); every attempt is written to the audit log with the method."""
    name = (username or "").strip()[:100]
    now = now or audit.now()
    client = (client or None) and str(client)[:100]
    try:
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == name)).first() if name else None
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    if row is not None and row.active:
        audit.record(engine, "sign_in", name, {"role": row.role, "method": method}, client, at=now)
        return _principal(row)
    reason = "unknown_user" if row is None else "disabled"
    audit.record(engine, "sign_in_failed", name or None, {"reason": reason, "method": method}, client, at=now)
    return None


def _lock_minutes(conn, now: dt.datetime, limit: int, **who) -> int:
    """Minutes until fewer than `limit` failures remain in the window (0: not locked)."""
    since = now - FAILURE_WINDOW
    if who.get("username") is not None:
        last_ok = conn.execute(select(func.max(audit_log.c.at)).where(
            audit_log.c.action == "sign_in", audit_log.c.username == who["username"])).scalar()
        if last_ok is not None and last_ok > since:
            since = last_ok
    if audit.count_since(conn, "sign_in_failed", since, **who) < limit:
        return 0
    col = audit_log.c.username if "username" in who else audit_log.c.client
    key = who.get("username", who.get("client"))
    times = conn.execute(select(audit_log.c.at).where(audit_log.c.action == "sign_in_failed", col == key,
                                                      audit_log.c.at >= since)
                         .order_by(audit_log.c.at.desc()).limit(limit)).scalars().all()
    lifts = times[-1] + FAILURE_WINDOW
    return max(1, math.ceil((lifts - now).total_seconds() / 60))


def authenticate(engine: Engine, username: str, password: str, client: str | None = None, *,
                 now: dt.datetime | None = None) -> Principal | None:
    """The account's Principal when `password` is right and the account active, else None.

    Raises SignInLocked (a LandDeskError whose message says how long to wait) when the username or
    the client has too many recent failures. Every attempt is written to the audit log."""
    name = (username or "").strip()[:100]
    password = password or ""
    now = now or audit.now()
    client = (client or None) and str(client)[:100]
    try:
        with engine.connect() as conn:
            wait, what = _lock_minutes(conn, now, MAX_FAILURES_PER_USER, username=name), "account"
            if client and not wait:
                wait, what = _lock_minutes(conn, now, MAX_FAILURES_PER_CLIENT, client=client), "client"
            row = None if wait else conn.execute(select(users).where(users.c.username == name)).first()
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    if wait:
        audit.record(engine, "sign_in_blocked", name, {"minutes": wait, "locked": what}, client, at=now)
        plural = "s" if wait != 1 else ""
        if what == "account":
            msg = (f"Too many failed sign-ins: this account is locked for {wait} more minute{plural}. "
                   f"登录失败次数过多，该账号已锁定，请 {wait} 分钟后再试。")
        else:
            msg = (f"Too many failed sign-ins from this computer: try again in {wait} minute{plural}. "
                   f"本机登录失败次数过多，请 {wait} 分钟后再试。")
        raise SignInLocked(msg, wait)
    ok = verify_password(row.password_hash if row is not None else None, password)
    if ok and row.active:
        audit.record(engine, "sign_in", name, {"role": row.role}, client, at=now)
        if _hasher.check_needs_rehash(row.password_hash):
            set_password_hash = hash_password(password)
            with engine.begin() as conn:
                conn.execute(update(users).where(users.c.username == name).values(password_hash=set_password_hash))
        return _principal(row)
    reason = "unknown_user" if row is None else ("disabled" if not row.active else "wrong_password")
    audit.record(engine, "sign_in_failed", name, {"reason": reason}, client, at=now)
    return None
