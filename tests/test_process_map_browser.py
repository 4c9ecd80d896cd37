"""The process map in a real browser (Debian's Chromium through Playwright) against `landdesk serve` on loopback,
on a synthetic log with hundreds of activities (devtools/synthlog.py: 300 activities, 2,000 edges): the default
view's SVG (laid out on the server by Graphviz, in its frame) settles with a readable number of nodes, the closed
process filter bar draws no pickers until it is opened, and the slider shares in the URL give a larger map."""
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from dashboard import dotmap
from devtools import CHROMIUM, CHROMIUM_ARGS, LocalServer
from devtools.synthlog import fill, map_edges, wait_for_map
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
