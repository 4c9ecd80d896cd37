"""The exchange interface's tokens (`landdesk tokens add|list|revoke`): one per system that reads LandDesk's
results over HTTP (一网通办, the provincial supervision system, the 政务公开 website …).

A token is shown once, when it is made; the store keeps only its SHA-256 (a token is 256 random bits, so a
fast hash is safe and lets the API find it by its hash). Each token carries a role — a dashboard role or
`public` — and, for a township officer's role, the township it may see; `authenticate` turns a presented token
into the same `Principal` the dashboard uses, so service.results.read applies one scope and one access rule to
both. Made, revoked and refused tokens are written to the audit log."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from etl.schema import TOKEN_ROLES, api_tokens
from landdesk.errors import LandDeskError
from service import audit
from service.auth import Principal

#: Every token starts so, which lets a secret scanner recognise a leaked one.
PREFIX = "ldt_"
#: The audit identity of a token's reads: "api:NAME" (never confused with a dashboard account).
AUDIT_PREFIX = "api:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _store_error(engine: Engine, exc: SQLAlchemyError) -> LandDeskError:
    msg = str(getattr(exc, "orig", exc)).lower()
    url = engine.url.render_as_string(hide_password=True)
    if "api_tokens" in msg and ("no such table" in msg or "does not exist" in msg):
        return LandDeskError(f"The store at {url} has no API tokens table yet; run `landdesk db upgrade` first.")
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return LandDeskError(f"Cannot reach the API tokens in the store at {url}: {reason}")


def add_token(engine: Engine, name: str, role: str, *, township: str | None = None, expires_days: int | None = None,
              by: str | None = None, client: str | None = None, now: dt.datetime | None = None) -> str:
    """Make token `name` and return it (the only time it is seen). Officers need a township; others have none."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise LandDeskError(f"{name!r} is not a valid token name (letters, digits, '.', '_' or '-', at most 100).")
    if role not in TOKEN_ROLES:
        raise LandDeskError(f"{role!r} is not a role; use one of {', '.join(TOKEN_ROLES)}.")
    township = (township or "").strip() or None
    if role == "township_officer" and not township:
        raise LandDeskError("A township_officer token needs --township (the township it may see).")
    if role != "township_officer" and township:
        raise LandDeskError(f"Only township_officer tokens are limited to a township; a {role} token sees "
                            "the whole county.")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise LandDeskError(f"--expires {expires_days} is not between 1 and 3650 days.")
    now = now or audit.now()
    token = PREFIX + secrets.token_urlsafe(32)
    row = dict(name=name, token_hash=token_hash(token), role=role, township=township, created_at=now,
               expires_at=now + dt.timedelta(days=expires_days) if expires_days else None, revoked_at=None)
    try:
        with engine.begin() as conn:
            if conn.execute(select(api_tokens.c.name).where(api_tokens.c.name == name)).first():
                raise LandDeskError(f"There is already a token named {name!r} (revoked names stay taken).")
            conn.execute(insert(api_tokens).values(**row))
            audit.record(conn, "token_added", by, {"token": name, "role": role, "township": township,
                                                   "expires_at": row["expires_at"]}, client)
    except IntegrityError:
        raise LandDeskError(f"There is already a token named {name!r} (revoked names stay taken).") from None
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    return token


def revoke_token(engine: Engine, name: str, *, by: str | None = None, client: str | None = None) -> None:
    """Revoke token `name` at once (its row stays: the audit log names it)."""
    try:
        with engine.begin() as conn:
            row = conn.execute(select(api_tokens.c.revoked_at).where(api_tokens.c.name == name)).first()
            if row is None:
                raise LandDeskError(f"There is no token named {name!r}; `landdesk tokens list` shows them.")
            if row.revoked_at is None:
                conn.execute(update(api_tokens).where(api_tokens.c.name == name).values(revoked_at=audit.now()))
            audit.record(conn, "token_revoked", by, {"token": name}, client)
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None


def list_tokens(engine: Engine, now: dt.datetime | None = None) -> pd.DataFrame:
    """Grain: one row per token (never its hash), with its state: active, expired or revoked."""
    now = now or audit.now()
    q = select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.township, api_tokens.c.created_at,
               api_tokens.c.expires_at, api_tokens.c.revoked_at).order_by(api_tokens.c.name)
    try:
        with engine.connect() as conn:
            rows = conn.execute(q).all()
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    df = pd.DataFrame(rows, columns=["name", "role", "township", "created_at", "expires_at", "revoked_at"])
    df["state"] = [_state(r.expires_at, r.revoked_at, now) for r in df.itertuples()]
    return df


def _state(expires_at, revoked_at, now: dt.datetime) -> str:
    if revoked_at is not None and not pd.isna(revoked_at):
        return "revoked"
    if expires_at is not None and not pd.isna(expires_at) and expires_at <= now:
        return "expired"
    return "active"


def authenticate(engine: Engine, token: str | None, now: dt.datetime | None = None) -> Principal | None:
    """The Principal of an active token ("api:NAME" in its role and township), else None (unknown, revoked or
    expired: the caller answers all three alike, 401)."""
    token = (token or "").strip()
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    try:
        with engine.connect() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash(token))).first()
    except SQLAlchemyError as exc:
        raise _store_error(engine, exc) from None
    if row is None or _state(row.expires_at, row.revoked_at, now or audit.now()) != "active":
        return None
    return Principal(AUDIT_PREFIX + row.name, row.role, row.township, display_name=row.name)
