"""A real browser (Debian's Chromium through Playwright) against `landdesk serve` on loopback."""
import os
import re
from pathlib import Path

import pytest

from devtools import CHROMIUM, CHROMIUM_ARGS, NOT_RUNNING_JS, LocalServer

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
)


@pytest.fixture(scope="module")
def server(sample_store_url):
    with LocalServer(sample_store_url) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    assert CHROMIUM, "chromium must be installed in CI"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


def _ready(page):
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_function(NOT_RUNNING_JS, timeout=60_000)


def test_cockpit_in_chromium(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page.goto(f"{server}/?from=2026-10-01&to=2026-10-31")
    _ready(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "领导驾驶舱" in body and "按期办结率" in body and "收件量" in body
    page.get_by_text("更多指标").first.click()                     # the KPIs after the headline four
    received = page.locator('[data-testid="stMetric"]', has_text="收件量").first
    received_all = received.inner_text()
    page.screenshot(path=str(SHOTS / "cockpit.png"), full_page=True)

    # a township filter changes a KPI
    page.goto(f"{server}/?from=2026-10-01&to=2026-10-31&township=东坪镇")
    _ready(page)
    page.get_by_text("更多指标").first.click()
    received_town = page.locator('[data-testid="stMetric"]', has_text="收件量").first.inner_text()
    assert received_town != received_all

    # English at run time
    page.goto(f"{server}/?from=2026-10-01&to=2026-10-31&lang=en")
    _ready(page)
    assert "On-time rate" in page.inner_text("body")
    page.close()


def test_the_first_page_by_name_opens_it_with_its_filters(server, browser):
    """A link to the first page by its name (/cockpit, as the menu and shared links spell pages) opens the cockpit
    at / with the link's filters, and no "page not found" notice."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page.goto(f"{server}/cockpit?from=2026-10-01&to=2026-10-31&township=东坪镇&lang=en")
    _ready(page)
    page.wait_for_url(lambda u: "/cockpit" not in u, timeout=60_000)
    body = page.inner_text("body")
    assert "On-time rate" in body and "2026-10-01 to 2026-10-31" in body
    assert "Page not found" not in body and page.locator('[data-testid="stDialog"]').count() == 0
    assert "township=%E4%B8%9C%E5%9D%AA%E9%95%87" in page.url or "township=东坪镇" in page.url, page.url
    page.close()


from landdesk.pages import STAFF_PAGES as PAGES  # noqa: E402
QUERY = "from=2026-08-01&to=2026-10-31"


def _settled(page, chart: bool = True):
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=60_000)
    if chart:
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_function(NOT_RUNNING_JS, timeout=120_000)
    page.wait_for_timeout(800)


def _full_screenshot(page, path):
    """Streamlit scrolls inside its main container, so grow the viewport to the content before the screenshot."""
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1440, "height": min(max(1000, height + 60), 16_000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_in_chromium(server, browser, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/{'' if name == 'cockpit' else name}?{QUERY}")
    _settled(page, chart=name not in ("data", "catalogue"))   # the tables-only pages
    if name == "briefing":   # the preview is built on first view
        page.wait_for_selector('[data-testid="stMain"] iframe', timeout=120_000)
        _settled(page)
        page.wait_for_timeout(2000)
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()
    body = page.inner_text('[data-testid="stMain"]')
    assert re.search(r"[\u4e00-\u9fff]{4}", body), "no Chinese text on the page"
    if name not in ("data", "catalogue"):
        assert page.locator(".js-plotly-plot").first.is_visible()
    _full_screenshot(page, SHOTS / f"{name}.png")
    assert not errors, errors
    page.close()


def test_filters_follow_the_user_across_pages(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page.goto(f"{server}/efficiency?{QUERY}")
    _settled(page)
    first = page.locator('[data-testid="stMetric"]').first.inner_text()
    page.goto(f"{server}/efficiency?{QUERY}&township=东坪镇")
    _settled(page)
    assert page.locator('[data-testid="stMetric"]').first.inner_text() != first
    # navigate through the sidebar: the township stays chosen and in the URL
    page.get_by_role("link", name="信访分析").click()
    page.wait_for_url("**/petitions**", timeout=30_000)
    _settled(page)
    assert "township=" in page.url
    from landdesk.i18n import t
    town = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text=t("township", "zh")).first
    assert "东坪镇" in (town.inner_text() + " " + " ".join(
        i.input_value() for i in town.locator("input").all()) + " " + (town.get_attribute("aria-label") or "")), \
        town.inner_html()[:2000]
    page.close()


def test_a_tab_opens_on_click_and_is_kept_in_the_url(server, browser):
    """Sections are lazy tabs: the process map is drawn only once its tab is clicked, and the URL names the tab."""
    from urllib.parse import parse_qs, urlparse

    from landdesk.i18n import t
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page.goto(f"{server}/bottlenecks?{QUERY}")
    _settled(page)
    label = t("bn_tab_map", "zh")
    assert page.get_by_text(t("bn_process_map", "zh")).count() == 0          # not drawn before it is opened
    page.get_by_role("tab", name=label).click()
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("bn_view") == ["map"], timeout=30_000)  # its id
    page.get_by_text(t("bn_process_map", "zh"), exact=True).wait_for(timeout=60_000)
    from devtools.synthlog import wait_for_map
    assert wait_for_map(page, timeout=120)[0] > 2                               # a Graphviz map now
    _settled(page, chart=False)
    assert page.locator('[data-testid="stException"]').count() == 0
    _full_screenshot(page, SHOTS / "bottlenecks-process-map.png")
    page.close()
