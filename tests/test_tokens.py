"""The exchange interface's tokens: made once and stored hashed, listed with their state, revoked and expired
tokens refused, every change audited; and the `landdesk tokens` commands."""
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from etl.schema import api_tokens
from landdesk.errors import LandDeskError
from service import audit, tokens

ROOT = Path(__file__).resolve().parent.parent


def test_a_token_is_shown_once_stored_hashed_and_authenticates_as_its_role(engine):
    token = tokens.add_token(engine, "yiwangtongban", "leader", by="tester")
    assert token.startswith(tokens.PREFIX) and len(token) > 40
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens)).one()
    assert stored.token_hash == tokens.token_hash(token) and token not in str(tuple(stored))
    p = tokens.authenticate(engine, token)
    assert (p.username, p.role, p.township) == ("api:yiwangtongban", "leader", None)
    assert tokens.authenticate(engine, token + "x") is None
    assert tokens.authenticate(engine, "") is None and tokens.authenticate(engine, None) is None
    assert "token_added" in set(audit.recent(engine, 5)["action"])


def test_officer_tokens_carry_their_township_and_bad_requests_are_one_sentence(engine):
    token = tokens.add_token(engine, "dongping", "township_officer", township="东坪镇")
    assert tokens.authenticate(engine, token).township == "东坪镇"
    with pytest.raises(LandDeskError, match="needs --township"):
        tokens.add_token(engine, "t2", "township_officer")
    with pytest.raises(LandDeskError, match="not a role"):
        tokens.add_token(engine, "t3", "superuser")
    with pytest.raises(LandDeskError, match="whole county"):
        tokens.add_token(engine, "t4", "leader", township="东坪镇")
    with pytest.raises(LandDeskError, match="already a token"):
        tokens.add_token(engine, "dongping", "leader")
    with pytest.raises(LandDeskError, match="not a valid token name"):
        tokens.add_token(engine, "has space", "leader")


def test_revoked_and_expired_tokens_are_refused_and_listed_so(engine):
    now = audit.now()
    live = tokens.add_token(engine, "live", "analyst", expires_days=30)
    old = tokens.add_token(engine, "old", "analyst", expires_days=1, now=now - dt.timedelta(days=2))
    gone = tokens.add_token(engine, "gone", "public")
    tokens.revoke_token(engine, "gone", by="tester")
    assert tokens.authenticate(engine, live) is not None
    assert tokens.authenticate(engine, old) is None
    assert tokens.authenticate(engine, gone) is None
    listed = tokens.list_tokens(engine).set_index("name")
    assert listed["state"].to_dict() == {"gone": "revoked", "live": "active", "old": "expired"}
    assert "token_hash" not in listed.columns
    with pytest.raises(LandDeskError, match="no token named"):
        tokens.revoke_token(engine, "nope")
    assert "token_revoked" in set(audit.recent(engine, 10)["action"])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_tokens_commands(sqlite_engine):
    db = sqlite_engine.url.render_as_string(hide_password=False)
    add = _cli("tokens", "add", "zhengwu", "--role", "public", "--expires", "90", "--db", db)
    assert add.returncode == 0, add.stderr
    token = add.stdout.strip()
    assert token.startswith(tokens.PREFIX) and "shown only now" in add.stderr
    assert tokens.authenticate(sqlite_engine, token).role == "public"
    listing = _cli("tokens", "list", "--db", db)
    assert "zhengwu" in listing.stdout and "active" in listing.stdout and token not in listing.stdout
    assert _cli("tokens", "revoke", "zhengwu", "--db", db).returncode == 0
    assert tokens.authenticate(sqlite_engine, token) is None
    bad = _cli("tokens", "add", "x", "--role", "township_officer", "--db", db)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
