"""Sessions that last (issue 15): the token lifecycle of service/sessions.py on SQLite and PostgreSQL — issue,
claim, validate, resume from the cookie's token, expiry by inactivity, sign-out and disabling ending every
session, forged, altered and other-secret tokens refused, only hashes stored — and the dashboard resuming a
sign-in from the cookie in a new Streamlit session (AppTest)."""
import datetime as dt
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from etl.schema import sessions as sessions_table
from landdesk.i18n import t
from service import audit, auth, sessions
from service.auth import Principal

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PASSWORD = "青山-correct horse 42"
T0 = dt.datetime(2026, 11, 2, 9, 0, 0)


@pytest.fixture
def store(engine, monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.delenv("LANDDESK_SESSION_IDLE_HOURS", raising=False)
    monkeypatch.setenv("LANDDESK_SECRET", "store-secret-one")
    for name, role in (("lead", "leader"), ("ana", "analyst")):
        auth.add_user(engine, name, role, PASSWORD)
    return engine


def _signed_in(engine, username="lead", role="leader", at=T0):
    issued = sessions.issue(engine, Principal(username, role), "10.0.0.7", now=at)
    token = sessions.claim(engine, issued.grant, now=at)
    assert token is not None
    return issued, token


def _row(engine, session_id):
    with engine.connect() as conn:
        return conn.execute(select(sessions_table).where(sessions_table.c.session_id == session_id)).one()


def test_issue_claim_validate_resume(store):
    issued, token = _signed_in(store)
    assert sessions.validate(store, issued.session_id, now=T0) == Principal("lead", "leader")
    sid, who, method = sessions.resume(store, token, now=T0 + dt.timedelta(minutes=5))
    assert (sid, who, method) == (issued.session_id, Principal("lead", "leader"), "password")
    row = _row(store, issued.session_id)
    assert row.token_hash == sessions.token_hash(token) and token not in str(tuple(row))   # only the hash
    assert row.grant_hash is None and issued.grant not in str(tuple(row))
    assert sessions.claim(store, issued.grant, now=T0) is None           # a grant is spent once


def test_a_grant_expires_unclaimed(store):
    issued = sessions.issue(store, Principal("lead", "leader"), now=T0)
    late = T0 + dt.timedelta(seconds=sessions.GRANT_SECONDS + 1)
    assert sessions.claim(store, issued.grant, now=late) is None
    assert sessions.claim(store, "not-a-grant", now=T0) is None


def test_inactivity_ends_a_session_and_activity_keeps_it(store, monkeypatch):
    monkeypatch.setenv("LANDDESK_SESSION_IDLE_HOURS", "2")
    issued, token = _signed_in(store)
    step = T0
    for _ in range(5):                                   # active every 90 minutes for 7.5 hours: still live
        step += dt.timedelta(minutes=90)
        assert sessions.resume(store, token, now=step) is not None
    idle = step + dt.timedelta(hours=2, minutes=1)
    assert sessions.resume(store, token, now=idle) is None
    assert sessions.validate(store, issued.session_id, now=idle) is None
    row = _row(store, issued.session_id)
    assert row.end_reason == "expired" and row.ended_at == idle
    log = audit.recent(store, 10, username="lead")
    assert (log["action"] == "session_expired").sum() == 1              # audited once
    assert sessions.resume(store, token, now=idle + dt.timedelta(minutes=1)) is None   # and stays ended


def test_default_idle_limit_is_eight_hours(store):
    issued, token = _signed_in(store)
    assert sessions.resume(store, token, now=T0 + dt.timedelta(hours=7, minutes=59)) is not None
    assert sessions.resume(store, token, now=T0 + dt.timedelta(hours=16)) is None


def test_sign_out_ends_every_session_of_the_user(store):
    a, token_a = _signed_in(store)
    b, token_b = _signed_in(store, at=T0 + dt.timedelta(minutes=1))
    other, token_other = _signed_in(store, "ana", "analyst")
    assert sessions.sign_out(store, "lead", "10.0.0.7", now=T0 + dt.timedelta(minutes=2)) == 2
    later = T0 + dt.timedelta(minutes=3)
    assert sessions.resume(store, token_a, now=later) is None and sessions.resume(store, token_b, now=later) is None
    assert sessions.validate(store, a.session_id, now=later) is None
    assert sessions.resume(store, token_other, now=later) is not None  # another user's session is untouched
    out = audit.recent(store, 5, username="lead", action="sign_out")
    assert len(out) == 1 and '"sessions": 2' in out["detail"].iloc[0]


def test_disabling_ends_every_session_of_the_user(store):
    a, token_a = _signed_in(store)
    b, _ = _signed_in(store)
    auth.set_active(store, "lead", False, by="root")
    assert sessions.resume(store, token_a, now=T0) is None and sessions.validate(store, b.session_id, now=T0) is None
    assert _row(store, a.session_id).end_reason == "disabled"
    auth.set_active(store, "lead", True, by="root")                     # re-enabling does not revive them
    assert sessions.resume(store, token_a, now=T0) is None
    assert '"sessions_ended": 2' in audit.recent(store, 5, action="user_disabled")["detail"].iloc[0]


def test_forged_and_altered_tokens_are_refused(store):
    _, token = _signed_in(store)
    body, sig = token.split(".")
    flipped = ("A" if body[0] != "A" else "B") + body[1:]
    for bad in (flipped + "." + sig, body + "." + sig[:-1] + ("A" if sig[-1] != "A" else "B"), body, "",
                sessions.make_token(b"guessed-secret"), "x" * 500, token + "."):
        assert sessions.resume(store, bad, now=T0) is None, bad
    assert sessions.signed(sessions.make_token()) and not sessions.signed(flipped + "." + sig)
    refused = audit.recent(store, 20, action="session_refused")
    assert len(refused) >= 5 and set(refused["detail"].str.contains("bad_signature"))
    # a well-signed token that the store never issued
    assert sessions.resume(store, sessions.make_token(), now=T0) is None
    assert audit.recent(store, 1, action="session_refused")["detail"].iloc[0].count("unknown_token") == 1
    assert sessions.resume(store, token, now=T0) is not None            # the real one still works


def test_a_token_from_another_store_secret_is_refused(store, monkeypatch):
    _, token = _signed_in(store)
    monkeypatch.setenv("LANDDESK_SECRET", "store-secret-two")
    assert sessions.resume(store, token, now=T0) is None
    monkeypatch.setenv("LANDDESK_SECRET", "store-secret-one")
    assert sessions.resume(store, token, now=T0) is not None


def test_idle_hours_setting_is_checked(monkeypatch):
    from landdesk.errors import LandDeskError
    from landdesk.settings import settings
    monkeypatch.setenv("LANDDESK_SESSION_IDLE_HOURS", "0.5")
    assert settings().session_idle_hours == 0.5
    for bad in ("0", "-1", "eight", "10000"):
        monkeypatch.setenv("LANDDESK_SESSION_IDLE_HOURS", bad)
        with pytest.raises(LandDeskError, match="LANDDESK_SESSION_IDLE_HOURS"):
            settings()


# --- the dashboard: a new Streamlit session resumes from the cookie (AppTest) --------------------------------

@pytest.fixture
def dashboard(sqlite_engine, monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LANDDESK_AUTH", "signin")
    monkeypatch.setenv("LANDDESK_SECRET", "store-secret-one")
    auth.add_user(sqlite_engine, "lead", "leader", PASSWORD)
    return sqlite_engine


def _browser_cookie(monkeypatch, token):
    """What st.context.cookies would hold in a browser that has the session cookie."""
    from dashboard import session
    monkeypatch.setattr(session, "_cookie_token", lambda: token)


def _title(at) -> str:
    return at.title[0].value if len(at.title) else ""


def test_a_new_streamlit_session_resumes_from_the_cookie_and_sign_out_ends_it(dashboard, monkeypatch):
    from dashboard import session
    first = AppTest.from_file(APP, default_timeout=120)
    first.run()
    first.text_input(key="signin_user").input("lead")
    first.text_input(key="signin_password").input(PASSWORD)
    first.button[0].click().run()
    assert first.session_state["principal"] == Principal("lead", "leader")
    sid = first.session_state[session.SESSION_ID]
    # the sign-in run handed its one-time grant to the page's script (drawn once, then dropped from the state);
    # claiming it (what the page's POST to /_landdesk/session does) gives the cookie's token
    assert session.GRANT not in first.session_state
    scripts = [e.proto.body for e in first.get("html") if "grant=" in e.proto.body]
    assert len(scripts) == 1
    grant = scripts[0].split("grant=")[1].split('"')[0]
    token = sessions.claim(dashboard, grant)
    assert token is not None and _row(dashboard, sid).token_hash == sessions.token_hash(token)
    _browser_cookie(monkeypatch, token)
    reload = AppTest.from_file(APP, default_timeout=120)             # a reload: a new session, only the cookie
    reload.run()
    assert not reload.exception
    assert reload.session_state["principal"] == Principal("lead", "leader")
    assert _title(reload) != t("signin_title", "zh")
    # sign out in the first tab: every session ends, the reloaded tab is signed out at its next run
    first.sidebar.button(key="sign_out").click().run()
    assert _title(first) == t("signin_title", "zh")
    reload.run()
    assert "principal" not in reload.session_state and _title(reload) == t("signin_title", "zh")
    again = AppTest.from_file(APP, default_timeout=120)               # and the cookie opens nothing any more
    again.run()
    assert _title(again) == t("signin_title", "zh") and "principal" not in again.session_state


def test_a_forged_cookie_shows_the_sign_in_form(dashboard, monkeypatch):
    _browser_cookie(monkeypatch, sessions.make_token(b"someone-elses-secret"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception and _title(at) == t("signin_title", "zh") and "principal" not in at.session_state
