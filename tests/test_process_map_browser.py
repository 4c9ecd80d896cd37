"""The process map in a real browser (Debian's Chromium through Playwright) against `landdesk serve` on loopback,
on a synthetic log with hundreds of activities (devtools/synthlog.py: 300 activities, 2,000 edges): the default
view's SVG (laid out on the server by Graphviz, drawn in the page) settles with a readable number of nodes, a
click on a stage and Enter on a link list their cases, the closed process filter bar draws no pickers until it is
opened, and the slider shares in the URL give a larger map."""
import os
import re
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
    """A click on a stage of the map lists its cases (the picker shows it, the map outlines it); Enter on a link
    focused from the keyboard lists the link's. The map is in the component's shadow root: Playwright's CSS locators
    pierce it, as a user's click does."""
    if not dotmap.dot_available():
        return                                                    # the browser-laid-out map is not clickable
    stages = page.locator("svg.ld-process-map g.node")
    names = [stages.nth(i).locator("text").first.text_content() for i in range(stages.count())]
    by_id = {stages.nth(i).get_attribute("data-id"): names[i] for i in range(stages.count())}
    ends = {t("pm_start", "en"), t("pm_end", "en")}
    k = next(i for i, name in enumerate(names) if name not in ends)
    assert stages.nth(k).locator("title").first.text_content().startswith(names[k])   # the tooltip names it
    stages.nth(k).click()
    page.get_by_text(re.compile(rf"^{re.escape(names[k])}: \d+ of \d+ cases")).first.wait_for(timeout=120_000)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text=t("pm_drill_pick", "en"))
    assert picker.locator("input").first.input_value() == names[k]
    assert "ld-selected" in (stages.nth(k).get_attribute("class") or "")     # the map outlines what it lists
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)   # the case list is drawn
    link = page.locator("svg.ld-process-map g.edge").first
    a, b = (by_id[x.strip()] for x in link.get_attribute("data-ends").split("->"))
    assert link.locator("title").first.text_content().startswith(f"{a} → {b}: ")
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(rf"^{re.escape(f'{a} → {b}')}: \d+ of \d+ cases")).first.wait_for(timeout=120_000)
    assert picker.locator("input").first.input_value() == f"{a} → {b}"
    assert "ld-selected" in (link.get_attribute("class") or "")
    assert "ld-selected" not in (stages.nth(k).get_attribute("class") or "")
    start = stages.filter(has=page.locator("text", has_text=t("pm_start", "en"))).first
    start.click()                                                 # the start circle lists nothing and stays plain
    page.wait_for_timeout(1500)
    assert "ld-selected" not in (start.get_attribute("class") or "")
    assert picker.locator("input").first.input_value() == f"{a} → {b}"


HOSTILE = ['<script>window.__ldPwned = 1</script>', '<img src=x onerror="window.__ldPwned = 2">',
           '"/><svg onload="window.__ldPwned = 3"><a href="javascript:alert(1)">x</a>', "a&amp;b &lt;i&gt;",
           "x\x01y"]


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
    traces = {c: [(HOSTILE[0], 10), (HOSTILE[i + 1], 12), (HOSTILE[i + 2], 13), ("审查", 15)]
              for i, c in enumerate("ABC")}
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
        for name in HOSTILE:                                     # the characters, as the analyst's data has them
            assert name.replace("\x01", "\ufffd") in texts, (name, texts)   # (XML has no U+0001: U+FFFD)
        box = page.locator("div.ld-map-box").first
        assert box.evaluate("b => b.querySelectorAll('script, img, foreignObject, a[href], [onload], [onerror]')"
                            ".length") == 0
        page.locator("svg.ld-process-map g.node").filter(has_text="审查").first.click()
        page.get_by_text("“审查”", exact=False).first.wait_for(timeout=120_000)
        assert page.evaluate("() => window.__ldPwned") is None and not dialogs
        browser.close()


HOSTILE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
 xmlns:h="http://www.w3.org/1999/xhtml" width="200pt" height="100pt" viewBox="0 0 200 100" onload="window.__ldP=1">
<script>window.__ldP = 2</script><style>@import url(http://127.0.0.1:9/x.css);</style>
<g id="node1" class="node" onclick="window.__ldP = 3" style="fill:url(http://127.0.0.1:9/y)"><title>n1</title>
<a xlink:href="javascript:window.__ldP = 4"><text x="5" y="20">gone</text></a>
<set attributeName="onmouseover" to="window.__ldP = 6"/><animate attributeName="href" to="javascript:1"/>
<foreignObject><h:img src="x" onerror="window.__ldP = 7"/></foreignObject><h:iframe src="javascript:window.__ldP=8"/>
<use xlink:href="http://127.0.0.1:9/z.svg#a"/>
<polygon fill="#ffffff" stroke="#555555" points="0,0 60,0 60,30" src="x" formaction="y"/>
<text x="10" y="20" font-size="11">审查</text></g>
<g id="edge1" class="edge"><title>n1&#45;&gt;n1</title><path fill="none" d="M0,0 L1,1" onmouseover="window.__ldP=9"/>
<text x="1" y="1">5</text></g></svg>"""


def test_the_component_keeps_only_graphvizs_vocabulary():
    """The component's own clean-up, on an SVG Graphviz would never write (scripts, styles, handlers, links, HTML
    and foreign elements, animation): only Graphviz's elements and presentation attributes reach the page, nothing
    runs, a click still names the stage — and an SVG that does not parse is one sentence."""
    import json
    from playwright.sync_api import sync_playwright
    from dashboard.mapview import _JS
    assert CHROMIUM, "chromium must be installed in CI"
    mount = """async ([js, svg]) => {
      const m = await import('data:text/javascript;charset=utf-8,' + encodeURIComponent(js));
      const root = document.getElementById('root'); window.__ldClicks = [];
      m.default({data: {svg, digest: 'd1', height: 300, label: 'map', broken: 'cannot draw', selected: null,
                        focus: null, ends: []}, parentElement: root,
                 setTriggerValue: (k, v) => window.__ldClicks.push([k, v])});
      const drawn = root.querySelector('svg'); return drawn ? drawn.outerHTML : root.innerHTML; }"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        page = browser.new_page()
        page.set_content("<div id='root'></div>")
        html = page.evaluate(mount, [_JS, HOSTILE_SVG])
        for bad in ("script", "style", "foreignObject", "iframe", "img", "<use", "<set", "animate", "javascript",
                    "onload", "onclick", "onerror", "onmouseover", "url(", "src=", "formaction", "gone", "<a"):
            assert bad not in html, (bad, html)
        assert 'points="0,0 60,0 60,30"' in html and 'fill="#ffffff"' in html and "审查" in html
        page.locator("g.node").first.click()
        page.locator("g.edge path").first.dispatch_event("mouseover")
        assert page.evaluate("() => window.__ldClicks") == [["click", "d1|node:n1"]]
        assert page.evaluate("() => window.__ldP") is None
        assert page.locator("g.node title").first.text_content() == "审查"          # the tooltip names the stage
        page.set_content("<div id='root'></div>")
        assert "cannot draw" in page.evaluate(mount, [_JS, "<svg xmlns='http://www.w3.org/2000/svg'><g></svg>"])
        browser.close()
