"""No raw text in a real browser (issue 15): Chromium walks every page and every tab of the sample store in Chinese
and in English and fails on a visible `nan`, `None`, `NaT`, `inf`, `trend_`, a catalogue key, a raw channel or
status code, or an exception box — in the page's text, the tables' cells, the charts' labels and the process
map's labels (its SVG is in a frame of its own)."""
from __future__ import annotations

import os

import pytest

from dashboard.params import tab_id
from dashboard.ui import page_views
from devtools import CHROMIUM, CHROMIUM_ARGS, LocalServer, ScriptRuns, settle
from devtools.synthlog import map_texts, wait_for_map
from landdesk.i18n import t
from plain_text import raw_cells, raw_tokens
from test_pages import PAGE_VIEWS

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
)
QUERY = {"from": "2026-08-01", "to": "2026-10-31"}


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


#: The grid's cells (its accessible table holds the values it draws), the charts' texts (titles, ticks, legends,
#: annotations), each one on its own.
CELLS_JS = "() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrame] td')].map(e => e.textContent)"
CHART_JS = "() => [...document.querySelectorAll('[data-testid=stMain] .js-plotly-plot text')].map(e => e.textContent)"


def _url(server: str, page: str, view: str | None, lang: str) -> str:
    from urllib.parse import urlencode
    params = dict(QUERY, lang=lang)
    if view:
        params[page_views(page)[0]] = tab_id(view)      # the tab's stable ASCII id
    return f"{server}/{'' if page == 'cockpit' else page}?{urlencode(params)}"


@pytest.mark.parametrize("page_name,view", PAGE_VIEWS, ids=[f"{p}-{v or 'page'}" for p, v in PAGE_VIEWS])
def test_no_raw_text_in_chromium(server, browser, page_name, view):
    for lang in ("zh", "en"):
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
        page.set_default_timeout(300_000)         # the big pages are slow on a busy machine; no timing is asserted
        runs = ScriptRuns(page)
        page.goto(_url(server, page_name, view, lang), wait_until="domcontentloaded")
        settle(page, runs, t("page_" + page_name, lang))   # the run over, charts and grids drawn, nothing changing
        if view:                                 # the tab asked for is the one open
            selected = page.locator('[data-testid="stMain"] [role=tab][aria-selected=true]')
            assert selected.first.inner_text().strip() == t(view, lang), (page_name, view, lang)
        boxes = page.locator('[data-testid="stException"]')
        assert boxes.count() == 0, (page_name, view, lang, boxes.first.inner_text())
        if view == "bn_tab_map":                 # the map's frame is drawn: its labels are read below
            wait_for_map(page, timeout=300)
        main = page.locator('[data-testid="stMain"]')
        lines = main.inner_text().splitlines() + page.evaluate(CHART_JS) + map_texts(page)   # the map: own frame
        bad = [(s[:120], raw_tokens(s, lang)) for s in lines if raw_tokens(s, lang)]
        assert not bad, (page_name, view, lang, bad[:5])
        cells = [c for c in page.evaluate(CELLS_JS) if c not in ("true", "false")]   # check boxes
        assert not raw_cells(cells, lang), (page_name, view, lang, raw_cells(cells, lang)[:5])
        page.close()
