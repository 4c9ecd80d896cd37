"""A real browser (Debian's Chromium through Playwright) against `landdesk serve` on loopback."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(sample_store_url):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "landdesk.cli", "serve", "--db", sample_store_url, "--port", str(port), "--headless"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"landdesk serve exited: {proc.stdout.read().decode()}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    assert CHROMIUM, "chromium must be installed in CI"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _ready(page):
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=60_000)


def test_cockpit_in_chromium(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page.goto(f"{server}/?from=2026-10-01&to=2026-10-31")
    _ready(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "领导驾驶舱" in body and "按期办结率" in body and "收件量" in body
    received_all = page.locator('[data-testid="stMetric"]').first.inner_text()
    page.screenshot(path=str(SHOTS / "cockpit.png"), full_page=True)

    # a township filter changes a KPI
    page.goto(f"{server}/?from=2026-10-01&to=2026-10-31&township=东坪镇")
    _ready(page)
    received_town = page.locator('[data-testid="stMetric"]').first.inner_text()
    assert received_town != received_all

    # English at run time
    page.goto(f"{server}/?from=2026-10-01&to=2026-10-31&lang=en")
    _ready(page)
    assert "On-time rate" in page.inner_text("body")
    page.close()
