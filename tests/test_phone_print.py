"""Phone and paper in a real browser (Debian's Chromium): the cockpit at 390 × 844 shows the four headline KPIs
first and the filters one labelled tap away; the print view and Ctrl+P give A4 pages without the sidebar, with
tables' rows and charts' text alternatives."""
import os
import re
import shutil
import subprocess

import pytest

from devtools import CHROMIUM, CHROMIUM_ARGS, NOT_RUNNING_JS, LocalServer
from landdesk.i18n import t
from landdesk.kpispec import HEADLINE_KPIS

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
)
QUERY = "from=2026-10-01&to=2026-10-31"


@pytest.fixture(scope="module")
def server(sample_store_url):
    with LocalServer(sample_store_url) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


def _settled(page):
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_function(NOT_RUNNING_JS, timeout=120_000)
    page.wait_for_timeout(500)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cockpit_on_a_phone(server, browser, lang):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.goto(f"{server}/?{QUERY}&lang={lang}")
    _settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    metrics = page.locator('[data-testid="stMetric"]')
    visible = [m for m in metrics.all() if m.is_visible()]
    labels = [m.locator('[data-testid="stMetricLabel"]').inner_text().strip() for m in visible]
    assert labels == [t("kpi_" + code, lang) for code in HEADLINE_KPIS]        # the rest stay folded
    page.screenshot(path=f"tests/screenshots/cockpit-phone-{lang}.png", full_page=False)
    toggle = page.locator('[data-testid="stExpandSidebarButton"]')
    assert toggle.is_visible()
    label = page.evaluate("() => getComputedStyle(document.querySelector("
                          "'[data-testid=stExpandSidebarButton]'), '::after').content")
    assert t("filters", lang) in label
    toggle.click()                                                           # one tap: the filters
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stDateInput"]', state="visible", timeout=10_000)
    page.close()


def _pdf_text(pdf: bytes, tmp_path) -> tuple[int, str]:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    pages = int(re.search(rb"/Type\s*/Pages[^>]*?/Count\s+(\d+)", pdf).group(1)) if b"/Count" in pdf else 0
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout \
        if shutil.which("pdftotext") else ""
    return pages, text


def test_print_view_fits_a4_without_the_sidebar(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/?{QUERY}&print=1")
    _settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert page.locator('[data-testid="stTable"]').count() >= 1                # tables as tables, rows and all
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    visible = [m for m in page.locator('[data-testid="stMetric"]').all() if m.is_visible()]
    assert len(visible) == 11                                                  # every KPI, nothing folded
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    (tmp_path / "shot").mkdir()
    pages, text = _pdf_text(pdf, tmp_path)
    assert 1 <= pages <= 4, pages
    if text:
        assert "领导驾驶舱" in text and "按期办结率" in text
        assert "图表「" in text                                                # the charts' text alternatives
        assert "打印视图" not in text.split("领导驾驶舱")[0]                   # no sidebar before the title
        assert t("sign_out", "zh") not in text and "语言" not in text
    page.close()


def test_ctrl_p_of_the_normal_page_leaves_out_the_sidebar(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/?{QUERY}")
    _settled(page)
    page.emulate_media(media="print")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    _, text = _pdf_text(page.pdf(format="A4"), tmp_path)
    if text:
        assert "领导驾驶舱" in text and t("print_view", "zh") not in text
    page.close()
