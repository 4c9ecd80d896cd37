"""The maps in a real browser (Debian's Chromium): the land-use change map and the petitions map render their
township polygons, in Chinese and in English, offline (no tile request leaves the machine)."""
from urllib.parse import quote

import pytest

from landdesk.i18n import t
from landdesk.pages import PAGES
from tests.test_browser import SHOTS, _full_screenshot, _settled, browser, pytestmark, server  # noqa: F401

QUERY = "from=2026-08-01&to=2026-10-31"


def _polygons(page) -> int:
    """Filled township outlines Plotly drew in the page's charts."""
    page.wait_for_selector(".js-plotly-plot path.js-fill", timeout=120_000)
    return page.locator(".js-plotly-plot path.js-fill").count()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_maps_render_in_both_languages(server, browser, lang):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) and
            not r.url.startswith(("data:", "blob:", "about:")) else None)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    tab = quote(t("land_tab_change", lang))
    page.goto(f"{server}/landuse?{QUERY}&lang={lang}&{PAGES['landuse'].tabs}_view={tab}")
    _settled(page)
    assert _polygons(page) >= 12
    titles = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].map(e => e.textContent)")
    assert t("map_cultivated_change", lang, a=2024, b=2025) in titles, titles
    _full_screenshot(page, SHOTS / f"landuse_map_{lang}.png")
    page.goto(f"{server}/petitions?{QUERY}&lang={lang}")
    _settled(page)
    assert _polygons(page) >= 12
    assert not page.locator('[data-testid="stException"]').count()
    assert not errors, errors
    assert not outside, outside[:3]
    page.close()
