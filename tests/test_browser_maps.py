"""The maps in a real browser (Debian's Chromium): every township map (land-use change, cultivated land against
its target, 批而未供 and idle land, petitions per 10k, cases and on-time rate by township) renders its township
polygons with its title, in Chinese and in English, offline (no tile request leaves the machine)."""
import re
from urllib.parse import quote

import pytest

from landdesk.i18n import t
from landdesk.pages import PAGES
from test_browser import SHOTS, _full_screenshot, _settled, browser, pytestmark, server  # noqa: F401

QUERY = "from=2026-08-01&to=2026-10-31"


def _polygons(page) -> int:
    """Filled township outlines Plotly drew in the page's charts."""
    page.wait_for_selector(".js-plotly-plot path.js-fill", timeout=120_000)
    return page.locator(".js-plotly-plot path.js-fill").count()


def _has_titles(page, keys: list[str], lang: str) -> None:
    """Each map's title (in `lang`) is among the drawn charts' titles; the supply maps carry the period's end."""
    drawn = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].map(e => e.textContent)")
    for key in keys:
        want = t(key, lang, end="2026-10-31") if key in ("map_unsupplied", "map_idle") else t(key, lang)
        assert want in drawn, (key, drawn)


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
    tabs = PAGES["landuse"].tabs
    for path, titles in ((f"landuse?{tabs}_view={quote(t('land_tab_cultivated', lang))}", ["map_cultivated_target"]),
                         (f"landuse?{tabs}_view={quote(t('land_tab_supply', lang))}", ["map_unsupplied", "map_idle"]),
                         ("petitions?", ["map_petitions"])):
        page.goto(f"{server}/{path}&{QUERY}&lang={lang}")
        _settled(page)
        assert _polygons(page) >= 12 * len(titles)
        _has_titles(page, titles, lang)
        assert not page.locator('[data-testid="stException"]').count()
    # the efficiency page draws its maps once it is grouped by township
    page.goto(f"{server}/efficiency?{QUERY}&lang={lang}")
    _settled(page)
    page.locator("button").filter(
        has_text=re.compile(rf"^{re.escape(t('township', lang))}$")).first.click()
    page.wait_for_timeout(500)
    _settled(page)
    assert _polygons(page) >= 24
    _has_titles(page, ["map_cases", "map_on_time"], lang)
    assert not page.locator('[data-testid="stException"]').count()
    assert not errors, errors
    assert not outside, outside[:3]
    page.close()
