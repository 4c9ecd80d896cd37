"""Accounts, passwords and sign-in: wrong passwords, lock-out across processes, disabled accounts,
no clear passwords anywhere, the role → pages mapping, and the `landdesk users` / `landdesk audit` CLI."""
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from etl.schema import ROLES, audit_log, users
from landdesk import pages
from service import audit, auth
from service.auth import PUBLIC, Principal, SignInLocked
from landdesk.errors import LandDeskError

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "青山-correct horse 42"


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch):
    """Cheap argon2id parameters for the tests (the production default is t=3, m=64 MiB, p=4)."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def actions(engine, username=None):
    q = select(audit_log.c.action).order_by(audit_log.c.id)
    if username:
        q = q.where(audit_log.c.username == username)
    with engine.connect() as conn:
        return list(conn.execute(q).scalars())


def test_sign_in_right_and_wrong_passwords_are_audited(engine):
    auth.add_user(engine, "zhang", "leader", PASSWORD, display_name="张局长", by="root")
    p = auth.authenticate(engine, "zhang", PASSWORD, client="10.0.0.5")
    assert p == Principal("zhang", "leader", None, "张局长")
    assert auth.authenticate(engine, "zhang", PASSWORD + "x", client="10.0.0.5") is None
    assert auth.authenticate(engine, "zhang", "", client="10.0.0.5") is None
    assert auth.authenticate(engine, "nobody", PASSWORD, client="10.0.0.5") is None
    assert actions(engine) == ["user_added", "sign_in", "sign_in_failed", "sign_in_failed", "sign_in_failed"]
    log = audit.recent(engine, 10)
    assert log.iloc[0]["username"] == "nobody" and json.loads(log.iloc[0]["detail"]) == {"reason": "unknown_user"}
    assert set(log["client"].dropna()) == {"10.0.0.5"}
    # no clear password anywhere: not in the users row, not in the audit log
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
        texts = " ".join(str(v) for row in conn.execute(select(audit_log)).all() for v in row)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored and PASSWORD not in texts


def test_five_failures_lock_the_account_even_for_the_right_password(engine):
    auth.add_user(engine, "li", "planner", PASSWORD)
    t0 = dt.datetime(2026, 11, 2, 9, 0)
    for i in range(auth.MAX_FAILURES_PER_USER):
        assert auth.authenticate(engine, "li", f"guess-{i}", now=t0 + dt.timedelta(minutes=i)) is None
    with pytest.raises(SignInLocked) as exc:
        auth.authenticate(engine, "li", PASSWORD, now=t0 + dt.timedelta(minutes=5))
    assert "locked" in str(exc.value) and "10 more minutes" in str(exc.value) and exc.value.minutes == 10
    assert isinstance(exc.value, LandDeskError)
    assert actions(engine, "li")[-1] == "sign_in_blocked"
    # once the oldest failure leaves the 15-minute window, one more try is allowed
    assert auth.authenticate(engine, "li", PASSWORD, now=t0 + dt.timedelta(minutes=15, seconds=1)).role == "planner"
    # a successful sign-in resets the account's count
    for i in range(auth.MAX_FAILURES_PER_USER - 1):
        auth.authenticate(engine, "li", "nope", now=t0 + dt.timedelta(minutes=16 + i))
    assert auth.authenticate(engine, "li", PASSWORD, now=t0 + dt.timedelta(minutes=21)) is not None


def test_unknown_usernames_lock_like_real_ones(engine):
    t0 = dt.datetime(2026, 11, 2, 9, 0)
    for i in range(auth.MAX_FAILURES_PER_USER):
        auth.authenticate(engine, "ghost", "x", now=t0)
    with pytest.raises(SignInLocked):
        auth.authenticate(engine, "ghost", "x", now=t0)


def test_one_client_guessing_many_accounts_is_locked_per_client(engine):
    auth.add_user(engine, "wang", "analyst", PASSWORD)
    t0 = dt.datetime(2026, 11, 2, 9, 0)
    for i in range(auth.MAX_FAILURES_PER_CLIENT):
        assert auth.authenticate(engine, f"user{i}", "x", client="203.0.113.9", now=t0) is None
    with pytest.raises(SignInLocked, match="from this computer"):
        auth.authenticate(engine, "wang", PASSWORD, client="203.0.113.9", now=t0)
    assert auth.authenticate(engine, "wang", PASSWORD, client="10.0.0.7", now=t0) is not None


def test_lockout_holds_across_processes(sqlite_engine):
    """The failures are counted from the store, so a second process (another app server) sees them."""
    auth.add_user(sqlite_engine, "zhao", "leader", PASSWORD)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    code = ("import sys; from etl.store import make_engine; from service import auth\n"
            "e = make_engine(sys.argv[1])\n"
            "for i in range(5): assert auth.authenticate(e, 'zhao', 'wrong') is None\n")
    subprocess.run([sys.executable, "-c", code, url], cwd=ROOT, check=True, timeout=120)
    with pytest.raises(SignInLocked):
        auth.authenticate(sqlite_engine, "zhao", PASSWORD)


def test_disabled_account_cannot_sign_in_and_loses_its_session(engine):
    p = auth.add_user(engine, "chen", "township_officer", PASSWORD, township="东坪镇")
    assert auth.refresh(engine, p) == p
    auth.set_active(engine, "chen", False, by="admin")
    assert auth.authenticate(engine, "chen", PASSWORD) is None
    assert json.loads(audit.recent(engine, 1).iloc[0]["detail"]) == {"reason": "disabled"}
    assert auth.refresh(engine, p) is None and auth.lookup(engine, "chen") is None
    auth.set_active(engine, "chen", True)
    assert auth.authenticate(engine, "chen", PASSWORD).township == "东坪镇"


def test_account_rules(engine):
    with pytest.raises(LandDeskError, match="at least 8"):
        auth.add_user(engine, "a", "leader", "short")
    with pytest.raises(LandDeskError, match="too easy"):
        auth.add_user(engine, "aaaaaaaaaa", "leader", "aaaaaaaaaa")
    with pytest.raises(LandDeskError, match="--township"):
        auth.add_user(engine, "b", "township_officer", PASSWORD)
    with pytest.raises(LandDeskError, match="whole county"):
        auth.add_user(engine, "c", "leader", PASSWORD, township="东坪镇")
    with pytest.raises(LandDeskError, match="not a role"):
        auth.add_user(engine, "d", "superuser", PASSWORD)
    with pytest.raises(LandDeskError, match="valid username"):
        auth.add_user(engine, "e f", "leader", PASSWORD)
    auth.add_user(engine, "g", "leader", PASSWORD)
    with pytest.raises(LandDeskError, match="already"):
        auth.add_user(engine, "g", "admin", PASSWORD)
    with pytest.raises(LandDeskError, match="no account"):
        auth.set_active(engine, "nobody", False)
    auth.set_password(engine, "g", "another good one")
    assert auth.authenticate(engine, "g", PASSWORD) is None
    assert auth.authenticate(engine, "g", "another good one") is not None


def test_oidc_only_accounts_have_no_usable_password(engine):
    auth.add_user(engine, "ops@bureau.example", "admin", None)
    for guess in ("", auth.NO_PASSWORD, "anything at all"):
        assert auth.authenticate(engine, "ops@bureau.example", guess) is None
    assert auth.lookup(engine, "ops@bureau.example").role == "admin"
    assert bool(auth.list_users(engine).set_index("username").loc["ops@bureau.example", "oidc_only"])


def test_identity_provider_sign_in_maps_to_active_accounts_only(engine):
    """OIDC: the provider has checked the person; LandDesk only maps the identity to an account (and audits it)."""
    auth.add_user(engine, "ops@bureau.example", "analyst", None)
    auth.add_user(engine, "gone@bureau.example", "leader", None)
    auth.set_active(engine, "gone@bureau.example", False)
    p = auth.authenticate_external(engine, "ops@bureau.example", "10.0.0.7")
    assert p is not None and p.role == "analyst"
    assert auth.authenticate_external(engine, "gone@bureau.example", "10.0.0.7") is None
    assert auth.authenticate_external(engine, "stranger@elsewhere.example", "10.0.0.7") is None
    assert auth.authenticate_external(engine, "", "10.0.0.7") is None
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.username, audit_log.c.detail)
                            .order_by(audit_log.c.id)).all()
    details = [(a, u, json.loads(d) if isinstance(d, str) else d) for a, u, d in rows if a.startswith("sign_in")]
    assert [(a, u, d.get("reason"), d.get("method")) for a, u, d in details] == [
        ("sign_in", "ops@bureau.example", None, "oidc"),
        ("sign_in_failed", "gone@bureau.example", "disabled", "oidc"),
        ("sign_in_failed", "stranger@elsewhere.example", "unknown_user", "oidc"),
        ("sign_in_failed", None, "unknown_user", "oidc")]


def test_verification_time_does_not_reveal_whether_an_account_exists(sqlite_engine, monkeypatch):
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1))
    auth.add_user(sqlite_engine, "real", "leader", PASSWORD)
    with sqlite_engine.connect() as conn:
        real_hash = conn.execute(select(users.c.password_hash)).scalar_one()
    auth.verify_password(None, "warm the dummy hash up")

    def fastest(password_hash):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            assert auth.verify_password(password_hash, "wrong") is False
            times.append(time.perf_counter() - t)
        return min(times)

    real, missing, unusable = fastest(real_hash), fastest(None), fastest(auth.NO_PASSWORD)
    assert missing > 0.5 * real and unusable > 0.5 * real   # both still pay for an argon2 verification


def test_roles_pages_and_capabilities():
    assert set(auth.ROLE_PAGES) == set(ROLES) | {"public"}
    leader = set(auth.ROLE_PAGES["leader"])
    assert leader == set(pages.ANALYTICS_PAGES) | {"catalogue", "briefing"}
    assert set(auth.ROLE_PAGES["planner"]) == {"landuse", "forecasts", "cockpit", "catalogue"}
    assert set(auth.ROLE_PAGES["township_officer"]) == set(pages.ANALYTICS_PAGES) | {"catalogue"}
    assert all("catalogue" in p for role, p in auth.ROLE_PAGES.items() if role != "public")   # the data dictionary
    assert {"data", "briefing"} <= set(auth.ROLE_PAGES["analyst"])
    assert {"audit", "users", "data"} <= set(auth.ROLE_PAGES["admin"])
    assert auth.ROLE_PAGES["public"] == ("public",)
    assert all(set(role_pages) <= set(pages.PAGES) for role_pages in auth.ROLE_PAGES.values())
    upload = {r for r in auth.ROLE_PAGES if Principal("u", r, "东坪镇" if r == "township_officer" else None).can("upload")}
    assert upload == {"analyst", "admin"}
    assert not PUBLIC.can("drilldown") and not PUBLIC.can("cockpit") and PUBLIC.can("public")
    assert auth.DEVELOPER.can("user_admin")
    with pytest.raises(ValueError):
        Principal("x", "township_officer")
    with pytest.raises(ValueError):
        Principal("x", "root")


def landdesk(*args, db, stdin=None):
    cmd = [sys.executable, "-m", "cli.main", *args, "--db", db]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, input=stdin)


def test_users_and_audit_cli(tmp_path):
    db = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    assert landdesk("db", "upgrade", db=db).returncode == 0
    r = landdesk("users", "add", "dp", "--role", "township_officer", "--township", "东坪镇", "--password-stdin",
                 db=db, stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    r = landdesk("users", "add", "boss", "--role", "leader", "--password-stdin", db=db, stdin="short\n")
    assert r.returncode == 2 and "at least 8" in r.stderr and "Traceback" not in r.stderr
    r = landdesk("users", "add", "boss", "--role", "leader", db=db, stdin="")
    assert r.returncode == 2 and "--password-stdin" in r.stderr
    assert landdesk("users", "disable", "dp", db=db).returncode == 0
    rows = json.loads(landdesk("users", "list", "--format", "json", db=db).stdout)
    assert rows == [dict(rows[0], username="dp", role="township_officer", township="东坪镇", active=False)]
    assert "password_hash" not in rows[0] and PASSWORD not in json.dumps(rows)
    assert landdesk("users", "disable", "nobody", db=db).returncode == 2
    log = json.loads(landdesk("audit", "--limit", "5", "--format", "json", db=db).stdout)
    assert [e["action"] for e in log] == ["user_disabled", "user_added"]
    assert "dp" in log[0]["detail"] and PASSWORD not in json.dumps(log)
    only = json.loads(landdesk("audit", "--action", "user_added", "--format", "json", db=db).stdout)
    assert len(only) == 1
