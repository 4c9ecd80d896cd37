"""Sessions that last and deep links that survive sign-in, in a real browser (Debian's Chromium through Playwright)
against `landdesk serve` (sign-in required) on loopback: a shared link opened signed out shows the sign-in form,
signing in lands on that page with its tab and filters, a reload and a new tab stay signed in, and after signing
out a reload shows the sign-in form again (issue 15)."""
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from argon2 import PasswordHasher

from devtools import CHROMIUM, CHROMIUM_ARGS, NOT_RUNNING_JS, LocalServer
from landdesk.i18n import t

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
)
PASSWORD = "青山-correct horse 42"
QUERY = "from=2026-08-01&to=2026-10-31&township=东坪镇&pet_view=timeliness"


@pytest.fixture(scope="module")
def server(sample_store_url, tmp_path_factory):
    from etl.store import make_engine
    from service import auth
    db = tmp_path_factory.mktemp("sessions") / "store.db"
    shutil.copy(Path(sample_store_url.removeprefix("sqlite:///")), db)
    url = f"sqlite:///{db.as_posix()}"
    engine = make_engine(url)
    saved, auth._hasher = auth._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        auth.add_user(engine, "lead", "leader", PASSWORD, display_name="张局长")
    finally:
        auth._hasher = saved
    engine.dispose()
    with LocalServer(url, "--host", "127.0.0.1") as running:      # sign-in required (no --no-auth)
        yield running.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


def _settled(page):
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=120_000)
    page.wait_for_function(NOT_RUNNING_JS, timeout=120_000)
    page.wait_for_timeout(800)


def _heading(page) -> str:
    return page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text(timeout=120_000).strip()


def _wait_heading(page, text: str) -> None:
    """Until the page's title says `text` (a heavy first run may redraw it once)."""
    page.wait_for_function("t => [...document.querySelectorAll('[data-testid=stMainBlockContainer] h1')]"
                           ".some(h => h.innerText.trim() === t)", arg=text, timeout=120_000)
    _settled(page)


def _signed_in_as(page) -> bool:
    return t("signed_in_as", "zh", user="张局长", role=t("role_leader", "zh")) in page.inner_text(
        '[data-testid="stSidebar"]')


def test_deep_link_sign_in_reload_new_tab_and_sign_out(server, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/petitions?{QUERY}")
    page.wait_for_selector('[data-testid="stForm"]', timeout=120_000)
    _settled(page)
    body = page.inner_text("body")
    assert _heading(page) == t("signin_title", "zh") and "Page not found" not in body
    form = page.locator('[data-testid="stForm"] input')
    form.nth(0).fill("lead")
    form.nth(1).fill(PASSWORD)
    page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    _wait_heading(page, t("page_petitions", "zh"))
    # the linked page, with its filters and its tab
    assert _heading(page) == t("page_petitions", "zh")
    query = parse_qs(urlparse(page.url).query)
    assert urlparse(page.url).path.endswith("/petitions")
    assert query.get("from") == ["2026-08-01"] and query.get("to") == ["2026-10-31"]
    assert query.get("township") == ["东坪镇"] and query.get("pet_view") == ["timeliness"]
    selected = page.locator('[role="tab"][aria-selected="true"]').first.inner_text()
    assert selected.strip() == t("pet_tab_timeliness", "zh")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies.get("landdesk_session", {}).get("httpOnly") is True, cookies.keys()

    # a reload keeps the user signed in, on the same page
    page.reload()
    _wait_heading(page, t("page_petitions", "zh"))
    assert _signed_in_as(page)

    # a new tab in the same browser is signed in too
    other = context.new_page()
    other.goto(f"{server}/")
    _wait_heading(other, t("page_cockpit", "zh"))
    assert _signed_in_as(other)

    # sign out: the form; a reload shows the form again, and so does the other tab at its next run
    page.locator('.st-key-sign_out button').click()
    page.wait_for_selector('[data-testid="stForm"]', timeout=60_000)
    _settled(page)
    page.reload()
    page.wait_for_selector('[data-testid="stForm"]', timeout=60_000)
    _wait_heading(page, t("signin_title", "zh"))
    other.reload()
    other.wait_for_selector('[data-testid="stForm"]', timeout=60_000)
    assert "landdesk_session" not in {c["name"] for c in context.cookies()}
    context.close()


def test_tabs_carry_stable_ascii_ids_in_the_url(server, browser):
    """The tab in the URL is an ASCII id, the same in both languages; an old link naming the label still works."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/bottlenecks?from=2026-08-01&to=2026-10-31&bn_view={t('bn_tab_variants', 'zh')}")
    page.wait_for_selector('[data-testid="stForm"]', timeout=120_000)
    form = page.locator('[data-testid="stForm"] input')
    form.nth(0).fill("lead")
    form.nth(1).fill(PASSWORD)
    page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("bn_view") == ["variants"], timeout=120_000)
    _settled(page)
    assert page.locator('[role="tab"][aria-selected="true"]').first.inner_text().strip() == \
        t("bn_tab_variants", "zh")
    page.get_by_role("tab", name=t("bn_tab_map", "zh")).click()
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("bn_view") == ["map"], timeout=60_000)
    _settled(page)
    page.get_by_text("English", exact=True).click()              # the language switch: same tab, same id
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("lang") == ["en"], timeout=60_000)
    _settled(page)
    assert parse_qs(urlparse(page.url).query).get("bn_view") == ["map"]
    assert page.locator('[role="tab"][aria-selected="true"]').first.inner_text().strip() == t("bn_tab_map", "en")
    context.close()
