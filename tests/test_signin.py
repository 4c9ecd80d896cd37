"""Sign-in and per-role navigation through Streamlit's AppTest on (a copy of) the sample store: wrong passwords,
pages per role, a township officer's forced scope (also against a forged ?township=), the public mode, and the
data page's upload only for the roles that may upload."""
import datetime as dt
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from analytics.exports import run_export
from service import results
from analytics.scope import Scope
from landdesk.i18n import t
from landdesk.fmt import fmt_count, fmt_rate
from etl.store import make_engine
from service import audit, auth
from service.auth import ROLE_PAGES, Principal

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PASSWORD = "青山-correct horse 42"
FROM, TO = "2026-08-01", "2026-10-31"
SCOPE = Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
TITLES = {p: t("page_" + p, "zh") for p in ("cockpit", "efficiency", "bottlenecks", "petitions", "landuse",
                                            "forecasts", "data", "briefing", "audit", "users", "public")}
ACCOUNTS = {"lead": ("leader", None), "plan": ("planner", None), "ana": ("analyst", None),
            "dongping": ("township_officer", "东坪镇"), "root": ("admin", None)}


@pytest.fixture(scope="module")
def store(sample_store_url, tmp_path_factory):
    """A copy of the sample store with one account per role (cheap argon2 parameters)."""
    src = Path(sample_store_url.removeprefix("sqlite:///"))
    dst = tmp_path_factory.mktemp("signin") / "store.db"
    shutil.copy(src, dst)
    url = f"sqlite:///{dst.as_posix()}"
    engine = make_engine(url)
    saved = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        for name, (role, town) in ACCOUNTS.items():
            auth.add_user(engine, name, role, PASSWORD, township=town)
    finally:
        auth._hasher = saved
    yield url, engine
    engine.dispose()


@pytest.fixture
def signin_mode(store, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", store[0])
    monkeypatch.setenv("LANDDESK_AUTH", "signin")
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))
    return store[1]


def new_app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in {"from": FROM, "to": TO, **(params or {})}.items():
        at.query_params[k] = v
    return at


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.run()
    at.text_input(key="signin_user").input(username)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    return at


def as_user(username: str, page: str, params: dict | None = None) -> AppTest:
    """A session already signed in as `username` (its principal in session state) opening `page`."""
    role, town = ACCOUNTS[username]
    at = new_app(params)
    at.session_state["principal"] = Principal(username, role, town)
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    at.run()
    return at


def title(at) -> str:
    return at.title[0].value if len(at.title) else ""


def test_wrong_password_shows_a_generic_message_and_no_pages(signin_mode):
    at = sign_in(new_app(), "lead", "not the password")
    assert not at.exception
    assert [e.value for e in at.error] == [t("signin_failed", "zh")]
    assert title(at) == t("signin_title", "zh") and not at.metric
    assert "principal" not in at.session_state
    # an unknown account gets the very same message
    at = sign_in(new_app(), "nobody-here", "whatever123")
    assert [e.value for e in at.error] == [t("signin_failed", "zh")]
    # a URL naming a page while signed out still shows the sign-in form, never the page
    at = new_app()
    at.switch_page(str(ROOT / "pages" / "cockpit.py"))
    at.run()
    assert title(at) == t("signin_title", "zh") and not at.metric
    acts = audit.recent(signin_mode, 10)["action"].tolist()
    assert acts.count("sign_in_failed") >= 2


def test_locked_account_gets_the_lockout_message(signin_mode):
    for _ in range(auth.MAX_FAILURES_PER_USER):
        sign_in(new_app(), "plan", "wrong-password")
    at = sign_in(new_app(), "plan", PASSWORD)   # even the right password is refused now
    assert "principal" not in at.session_state
    assert at.error and ("分钟后再试" in at.error[0].value)


def test_right_password_signs_in_and_out(signin_mode):
    at = sign_in(new_app(), "lead", PASSWORD)
    assert not at.exception
    assert at.session_state["principal"] == Principal("lead", "leader")
    assert title(at) == TITLES["cockpit"] and at.metric
    at.sidebar.button(key="sign_out").click().run()
    assert "principal" not in at.session_state
    assert title(at) == t("signin_title", "zh")
    assert {"sign_in", "sign_out"} <= set(audit.recent(signin_mode, 20, username="lead")["action"])


@pytest.mark.parametrize("username", ["lead", "plan", "ana", "dongping", "root"])
def test_each_role_reaches_its_pages_and_no_other(signin_mode, username):
    role = ACCOUNTS[username][0]
    default = ROLE_PAGES[role][0]
    for page in ("data", "audit", "users", "public", "landuse", "briefing"):
        at = as_user(username, page)
        assert not at.exception, at.exception
        expected = page if page in ROLE_PAGES[role] else default
        assert title(at) == TITLES[expected], (username, page, title(at))


def _kpi_values(engine, scope):
    k = run_export(engine, "kpis", scope).set_index("kpi")["value"]
    return {t("kpi_cases_received", "zh"): fmt_count(k["cases_received"], "zh"),
            t("kpi_on_time_rate", "zh"): fmt_rate(k["on_time_rate"])}


def test_officer_sees_only_their_township(signin_mode):
    at = as_user("dongping", "cockpit")
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    own = _kpi_values(signin_mode, Scope(SCOPE.start, SCOPE.end, township="东坪镇"))
    county = _kpi_values(signin_mode, SCOPE)
    assert {k: shown[k] for k in own} == own != county
    assert at.selectbox(key="township").options == ["东坪镇"]
    # the overdue list on the cockpit holds no other township's case
    for df in at.dataframe:
        if "乡镇" in df.value.columns:
            assert set(df.value["乡镇"].dropna()) <= {"东坪镇"}


def test_forged_township_parameter_is_narrowed_to_the_officers_own(signin_mode):
    for page in ("cockpit", "efficiency"):
        at = as_user("dongping", page, {"township": "城关镇"})
        assert not at.exception
        shown = {m.label: m.value for m in at.metric}
        own = _kpi_values(signin_mode, Scope(SCOPE.start, SCOPE.end, township="东坪镇"))
        if page == "cockpit":
            assert {k: shown[k] for k in own} == own
        assert at.selectbox(key="township").value == "东坪镇"
        q = at.query_params.get("township")
        assert q in ("东坪镇", ["东坪镇"])


def test_public_mode_shows_only_the_disclosure_page(store, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", store[0])
    monkeypatch.setenv("LANDDESK_AUTH", "public")
    for page in ("public", "cockpit", "efficiency", "data", "audit"):
        at = new_app()
        at.switch_page(str(ROOT / "pages" / f"{page}.py"))
        at.run()
        assert not at.exception, at.exception
        assert title(at) == TITLES["public"], page
        assert not at.text_input   # no sign-in form in public mode
    # aggregates only: no identifier column, and every shown count is 0 or at least the minimum cell
    from service.access import MIN_CELL
    assert len(at.dataframe) >= 3
    for df in at.dataframe:
        assert not {"案件编号", "信访编号", "case_id", "petition_id"} & set(df.value.columns)
        for col in ("收件量", "办结量"):
            if col in df.value.columns:
                v = df.value[col].dropna().astype(float)
                assert ((v == 0) | (v >= MIN_CELL)).all()


def test_upload_is_hidden_for_a_leader_and_shown_for_an_analyst(signin_mode):
    monkey_data = as_user("root", "data")
    assert title(monkey_data) == TITLES["data"]
    assert len(monkey_data.get("file_uploader")) == 1
    at = as_user("ana", "data")
    assert title(at) == TITLES["data"] and len(at.get("file_uploader")) == 1
    at = as_user("lead", "data")         # the leader has no data page: the cockpit instead, no uploader
    assert title(at) == TITLES["cockpit"] and not at.get("file_uploader")


def test_upload_is_refused_in_the_data_layer_without_the_capability(signin_mode, monkeypatch):
    from dashboard import data, session
    from service.access import AccessDenied
    monkeypatch.setattr(session, "principal", lambda: Principal("lead", "leader"))
    monkeypatch.setattr(session, "client", lambda: None)
    with pytest.raises(AccessDenied):
        data.load_upload("x.yaml", "x.csv", b"a,b\n")


def test_public_page_shows_the_suppressed_export_values(store, monkeypatch):
    """The disclosure tables are the public exports themselves: the same rows, the same suppression."""
    import pandas as pd

    from service.auth import PUBLIC
    monkeypatch.setenv("LANDDESK_DATABASE_URL", store[0])
    monkeypatch.setenv("LANDDESK_AUTH", "public")
    at = new_app()
    at.run()
    assert not at.exception and title(at) == TITLES["public"]
    start, end = (dt.date.fromisoformat(x.strip()) for x in
                  next(c.value for c in at.caption if " – " in c.value and c.value[:4].isdigit()).split(" – "))
    engine = make_engine(store[0])
    items = results.read(engine, "case-efficiency", Scope(start, end), by="service_item", principal=PUBLIC)
    topics = results.read(engine, "petitions", Scope(start, end), by="topic", principal=PUBLIC)
    engine.dispose()
    assert items["suppressed"].any(), "the default month should have small cells to suppress"
    shown = next(df.value for df in at.dataframe if t("col_service_item", "zh") in df.value.columns)
    assert list(shown[t("col_service_item", "zh")]) == list(items["service_item"])
    for col in ("received", "completed", "on_time_rate"):      # a suppressed cell shows as the dash
        pd.testing.assert_series_equal(_numbers(shown[t("col_" + col, "zh")]),
                                       items[col].reset_index(drop=True).astype(float), check_names=False,
                                       atol=0.0006)           # rates are shown to 0.1 %
    shown_topics = next(df.value for df in at.dataframe if t("col_topic", "zh") in df.value.columns)
    assert list(_numbers(shown_topics[t("col_received", "zh")]).fillna(-1)) == \
        list(topics["received"].astype(float).fillna(-1))


def _numbers(column):
    """A table column as numbers: a column with an empty (suppressed) cell reaches the grid as formatted text —
    "—" for the empty cell, "85.7%" for a rate, "1,234" for a count (dashboard.ui.table)."""
    import pandas as pd

    def one(v):
        if v is None or (isinstance(v, float) and v != v):
            return float("nan")
        if isinstance(v, str):
            text = v.strip().replace(",", "")
            if text in ("", "—"):
                return float("nan")
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        return float(v)
    return pd.Series([one(v) for v in column], dtype=float)


# ---- OIDC through st.login (the provider itself is outside the test: its answer is stood in for) ----------

@pytest.fixture
def oidc(signin_mode, monkeypatch):
    """Sign-in mode with an identity provider configured; returns a setter for the identity it vouches for."""
    from dashboard import session
    monkeypatch.setattr(session, "oidc_configured", lambda: True)
    who = {"identity": None}
    monkeypatch.setattr(session, "oidc_identity", lambda: who["identity"])
    if auth.lookup(signin_mode, "ops@bureau.example") is None:
        auth.add_user(signin_mode, "ops@bureau.example", "analyst", None)
    return who


def test_sign_in_page_offers_the_identity_provider(oidc):
    at = new_app()
    at.run()
    assert not at.exception and title(at) == t("signin_title", "zh")
    assert any(b.label == t("signin_oidc", "zh") for b in at.button)
    assert at.text_input(key="signin_user")            # the password form stays for local accounts


def test_an_identity_with_an_account_is_signed_in_with_its_role(oidc, signin_mode):
    oidc["identity"] = "ops@bureau.example"
    at = new_app()
    at.run()
    assert not at.exception
    assert title(at) == TITLES["cockpit"]                # the analyst's first page, no sign-in form
    assert at.session_state["principal"].role == "analyst"
    with signin_mode.connect() as conn:
        from sqlalchemy import select

        from etl.schema import audit_log
        last = conn.execute(select(audit_log.c.action, audit_log.c.username, audit_log.c.detail)
                            .order_by(audit_log.c.id.desc())).first()
    assert last.action == "sign_in" and last.username == "ops@bureau.example" and "oidc" in last.detail


def test_an_identity_without_an_account_stays_signed_out(oidc, signin_mode):
    from sqlalchemy import func, select

    from etl.schema import audit_log
    oidc["identity"] = "stranger@elsewhere.example"
    at = new_app()
    at.run()
    assert not at.exception and title(at) == t("signin_title", "zh")
    assert any("stranger@elsewhere.example" in e.value for e in at.error)
    assert "principal" not in at.session_state
    at.run()                                           # a rerun neither lets it in nor audits it again
    assert title(at) == t("signin_title", "zh") and "principal" not in at.session_state
    with signin_mode.connect() as conn:
        failed = conn.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "sign_in_failed", audit_log.c.username == "stranger@elsewhere.example")).scalar()
    assert failed == 1


def _audit_count(engine, action: str, **detail) -> int:
    log = audit.recent(engine, 100000, action=action)
    if not detail:
        return len(log)
    import json
    rows = [json.loads(d) if isinstance(d, str) else (d or {}) for d in log["detail"]]
    return sum(all(r.get(k) == v for k, v in detail.items()) for r in rows)


def test_a_forged_township_is_audited_once_per_session_not_per_export(signin_mode):
    """Finding 9: the filter bar narrows ?township=城关镇 for an officer — and writes it to the audit log as
    scope_forced, once for the session (not once per export of the page, nor again on a rerun)."""
    before = _audit_count(signin_mode, "scope_forced", asked="城关镇", forced="东坪镇")
    at = as_user("dongping", "cockpit", {"township": "城关镇"})
    assert not at.exception
    assert _audit_count(signin_mode, "scope_forced", asked="城关镇", forced="东坪镇") == before + 1
    at.run()
    assert _audit_count(signin_mode, "scope_forced", asked="城关镇", forced="东坪镇") == before + 1
    as_user("dongping", "efficiency", {"township": "城关镇"})     # another session: its own probe
    assert _audit_count(signin_mode, "scope_forced", asked="城关镇", forced="东坪镇") == before + 2
    as_user("dongping", "cockpit", {"township": "东坪镇"})         # the officer's own: nothing to audit
    assert _audit_count(signin_mode, "scope_forced", asked="城关镇", forced="东坪镇") == before + 2


def test_a_disabled_user_cannot_download_the_tables_already_on_screen(signin_mode, monkeypatch):
    """Finding 6: downloads check the session's account when clicked. A leader's cockpit is drawn (its download
    buttons carry deferred builders); the account is then disabled; a click gets no file, only a refusal, and the
    refusal is audited."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    from service.access import AccessDenied
    captured = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        captured[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    engine = signin_mode
    saved = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        auth.add_user(engine, "lead2", "leader", PASSWORD)
    finally:
        auth._hasher = saved
    at = new_app()
    at.session_state["principal"] = Principal("lead2", "leader", None)
    at.switch_page(str(ROOT / "pages" / "cockpit.py"))
    at.run()
    assert not at.exception
    csv = next(f for f in captured if f.endswith(".csv"))
    downloads = _audit_count(engine, "download")
    assert captured[csv]()                                     # still active: the file, audited
    assert _audit_count(engine, "download") == downloads + 1
    auth.set_active(engine, "lead2", False)
    denied = _audit_count(engine, "access_denied")
    for name, build in captured.items():
        with pytest.raises(AccessDenied):
            build()
    assert _audit_count(engine, "download") == downloads + 1
    assert _audit_count(engine, "access_denied") == denied + len(captured)
