"""Beyond one machine: two `landdesk serve --no-auth` processes on one PostgreSQL store. An ETL batch loads
while both serve; once it commits, both show it (the petitions KPI and the "data as of" badge change)."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools import CHROMIUM, CHROMIUM_ARGS, NOT_RUNNING_JS, LocalServer

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "sample_data" / "mappings"

pytestmark = [pytest.mark.pg, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


def _ready(page):
    page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
    page.wait_for_timeout(300)
    page.wait_for_function(NOT_RUNNING_JS, timeout=90_000)


def _petitions_kpi(page, label) -> str:
    """The KPI card's text; a card folded under the cockpit's headline four is unfolded first."""
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    if not metric.is_visible():
        page.locator('[data-testid="stExpander"]', has=metric).locator("summary").first.click()
        metric.wait_for(state="visible", timeout=15_000)
    return metric.inner_text()


def test_two_servers_both_show_a_batch_loaded_while_they_serve(pg_engine):
    from playwright.sync_api import sync_playwright

    from landdesk.i18n import t
    from etl.load import load_mapping
    url = pg_engine.url.render_as_string(hide_password=False)
    load_mapping(pg_engine, MAPPINGS / "approval_cases.yaml", progress=False)
    label = t("kpi_petitions_received", "zh")
    servers = []
    try:
        for _ in range(2):
            server = LocalServer(url)
            servers.append(server)
            server.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
            pages = [browser.new_context(locale="zh-CN").new_page() for _ in servers]
            query = "?from=2026-08-01&to=2026-10-31"
            before = []
            for page, base in zip(pages, [s.url for s in servers]):
                page.goto(base + "/" + query)
                _ready(page)
                before.append(_petitions_kpi(page, label))
                assert page.locator('[data-testid="stException"]').count() == 0
            assert before[0] == before[1]

            etl = subprocess.Popen([sys.executable, "-m", "cli.main", "etl", "load",
                                    str(MAPPINGS / "petitions.yaml"), "--quiet", "--db", url], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # both keep serving while the batch loads
            for page, base in zip(pages, [s.url for s in servers]):
                page.goto(base + "/efficiency" + query)
                page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
                assert page.locator('[data-testid="stException"]').count() == 0
            out, err = etl.communicate(timeout=300)
            assert etl.returncode == 0, err
            assert "loaded" in out

            deadline = time.time() + 60
            after = before
            while time.time() < deadline:
                after = []
                for page, base in zip(pages, [s.url for s in servers]):
                    page.goto(base + "/" + query)
                    _ready(page)
                    assert page.locator('[data-testid="stException"]').count() == 0
                    after.append(_petitions_kpi(page, label))
                if all(a != b for a, b in zip(after, before)):
                    break
                time.sleep(1)
            assert after[0] == after[1] and after[0] != before[0], (before, after)
            browser.close()
    finally:
        for server in servers:
            server.stop()
