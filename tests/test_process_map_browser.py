"""The process map in a real browser (Debian's Chromium through Playwright) against `landdesk serve` on loopback,
on a synthetic log with hundreds of activities (devtools/synthlog.py: 300 activities, 2,000 edges): the default
view's SVG (laid out on the server by Graphviz, drawn in the page) settles with a readable number of nodes, a
click on a stage and Enter on a link list their cases, the closed process filter bar draws no pickers until it is
opened, and the slider shares in the URL give a larger map."""
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from dashboard import dotmap
from devtools import CHROMIUM, CHROMIUM_ARGS, LocalServer
from devtools.synthlog import fill, map_edges, map_texts, wait_for_map
from landdesk.i18n import t

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    from cli.main import main as cli
    from etl.store import make_engine
    url = f"sqlite:///{(tmp_path_factory.mktemp('bigmap') / 'big.db').as_posix()}"
    assert cli(["db", "upgrade", "--db", url]) == 0
    info = fill(make_engine(url), activities=300, edges=2000)
    assert info["activities"] == 300
    return url


def test_the_map_of_hundreds_of_activities_settles(big_store):
    from playwright.sync_api import sync_playwright
    assert CHROMIUM, "chromium must be installed in CI"
    query = f"from=2025-01-01&to=2027-12-31&unit=hours&lang=en&bn_view={quote(t('bn_tab_map', 'en'))}"
    with LocalServer(big_store) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/bottlenecks?{query}", timeout=300_000)
        nodes, _ = wait_for_map(page, timeout=400)
        print(f"default view settled: {nodes} nodes", flush=True)
        assert 3 <= nodes <= 30 + 2, nodes                       # at most ~30 activities, with ▶ and ■
        assert map_edges(page) >= nodes - 1
        if dotmap.dot_available():                                   # laid out on the server, not in the browser
            assert page.locator('[data-testid="stGraphVizChart"]').count() == 0
        assert page.get_by_text("Showing 30 of 300 stages", exact=False).count() == 1
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "process-map-300.png"), full_page=False)
        _click_drills_down(page)
        pickers = page.locator('[data-testid="stMultiSelect"]')
        assert pickers.count() == 0                                 # the closed filter bar draws no widgets
        bar = page.locator('[data-testid="stExpander"]').filter(has_text=t("pf_title", "en"))
        bar.locator("summary").first.click()
        pickers.filter(has_text=t("pf_has", "en")).first.wait_for(timeout=60_000)
        assert pickers.count() >= 4
        bar.locator("summary").first.click()
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stMultiSelect\"]')", timeout=60_000)
        page.goto(f"{server.url}/bottlenecks?{query}&pm_act=15&pm_paths=0", timeout=300_000)
        more, _ = wait_for_map(page, timeout=400)
        assert more == 45 + 2, more                              # 15 % of 300 activities, backbone edges only
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not errors, errors
        browser.close()


def _click_drills_down(page) -> None:
    """A click on a stage of the map lists its cases (the picker shows it); Enter on a focused link lists the
    link's. The map is in the component's shadow root: Playwright's CSS locators pierce it, as a user's click does."""
    if not dotmap.dot_available():
        return                                                    # the browser-laid-out map is not clickable
    ends = {t("pm_start", "en"), t("pm_end", "en")}
    stages = page.locator("svg.ld-process-map g.node")
    names = [stages.nth(i).locator("text").first.text_content() for i in range(stages.count())]
    k = next(i for i, name in enumerate(names) if name not in ends)
    stages.nth(k).click()
    caption = page.get_by_text(f"{names[k]}: ", exact=False)
    caption.first.wait_for(timeout=120_000)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text=t("pm_drill_pick", "en"))
    assert picker.locator("input").first.input_value() == names[k]
    assert "ld-selected" in (stages.nth(k).get_attribute("class") or "")     # the map outlines what it lists
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)   # the case list is drawn
    link = page.locator("svg.ld-process-map g.edge").first
    ends_of = link.get_attribute("data-ends") or link.locator("title").first.text_content()
    a, b = (x.strip() for x in ends_of.split("->"))
    by_id = {stages.nth(i).locator("title").first.text_content(): names[i] for i in range(stages.count())}
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_text(f"{by_id[a]} → {by_id[b]}: ", exact=False).first.wait_for(timeout=120_000)
    assert picker.locator("input").first.input_value() == f"{by_id[a]} → {by_id[b]}"
    assert "ld-selected" in (link.get_attribute("class") or "")
    assert "ld-selected" not in (stages.nth(k).get_attribute("class") or "")


HOSTILE = ['<script>window.__ldPwned = 1</script>', '<img src=x onerror="window.__ldPwned = 2">',
           '"/><svg onload="window.__ldPwned = 3"><a href="javascript:alert(1)">x</a>']


def test_hostile_stage_names_are_drawn_as_text_on_the_map(tmp_path):
    """The map is drawn in the page (no frame, no CSP of its own): a stage named like markup is Graphviz's escaped
    text, the component strips anything active, and nothing runs — the names show as their characters."""
    from playwright.sync_api import sync_playwright
    from cli.main import main as cli
    from etl.store import make_engine
    from test_process_map_page import _store
    assert CHROMIUM, "chromium must be installed in CI"
    if not dotmap.dot_available():
        pytest.skip("Graphviz (dot) is not installed: the map is laid out by the browser")
    url = f"sqlite:///{(tmp_path / 'hostile.db').as_posix()}"
    assert cli(["db", "upgrade", "--db", url]) == 0
    traces = {c: [(HOSTILE[0], 10), (HOSTILE[i % 2 + 1], 12), ("审查", 15)] for i, c in enumerate("ABC")}
    _store(make_engine(url), traces, {"A": 2, "B": 3, "C": 4})
    query = f"from=2026-03-01&to=2026-03-31&unit=hours&lang=zh&bn_view={quote(t('bn_tab_map', 'zh'))}"
    with LocalServer(url) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{server.url}/bottlenecks?{query}&pm_act=100&pm_paths=100", timeout=300_000)
        wait_for_map(page, timeout=300)
        texts = map_texts(page)
        for name in HOSTILE:
            assert name in texts, (name, texts)                  # the characters, as the analyst's data has them
        box = page.locator("div.ld-map-box").first
        assert box.evaluate("b => b.querySelectorAll('script, img, foreignObject, a[href], [onload], [onerror]')"
                            ".length") == 0
        page.locator("svg.ld-process-map g.node").filter(has_text="审查").first.click()
        page.get_by_text("“审查”", exact=False).first.wait_for(timeout=120_000)
        assert page.evaluate("() => window.__ldPwned") is None and not dialogs
        browser.close()
