"""A clean start (issue 15): `landdesk serve` on a machine that never ran Streamlit — a fresh HOME, no
~/.streamlit, no credentials, stdin closed — serves its page, prints only LandDesk's own lines, and the page
fetches nothing from outside the server."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from devtools import CHROMIUM, CHROMIUM_ARGS, NOT_RUNNING_JS, free_port

ROOT = Path(__file__).resolve().parent.parent
#: What Streamlit prints when it is not configured the LandDesk way (onboarding, telemetry, adverts, its URL).
STREAMLIT_NOTICES = ("Welcome to Streamlit", "Email:", "usage statistics", "gatherUsageStats", "skills",
                     "You can now view", "Local URL", "Network URL", "External URL", "Stopping", "Uvicorn")


def test_the_flags_are_the_packaged_config():
    """Every served dashboard is headless, without telemetry, prompt or welcome text, whatever HOME says: the
    packaged config.toml is handed to Streamlit as flags (which win over files and STREAMLIT_* variables)."""
    import tomllib

    from cli.main import serve_command, streamlit_flags
    from landdesk.resources import SERVER_PATH, streamlit_config
    doc = tomllib.loads(streamlit_config().read_text(encoding="utf-8"))
    assert doc["server"]["headless"] is True and doc["browser"]["gatherUsageStats"] is False
    assert doc["server"]["showEmailPrompt"] is False and doc["logger"]["hideWelcomeMessage"] is True
    flags = streamlit_flags()
    pairs = dict(zip(flags[::2], flags[1::2]))
    assert pairs["--server.headless"] == "true" and pairs["--browser.gatherUsageStats"] == "false"
    assert pairs["--logger.hideWelcomeMessage"] == "true" and pairs["--server.showEmailPrompt"] == "false"
    for headless in (True, False):      # --headless only decides whether the demo opens a browser
        cmd, _ = serve_command(None, "127.0.0.1", 8501, headless)
        assert cmd[cmd.index("--server.headless") + 1] == "true"
        assert str(SERVER_PATH) in cmd
    assert streamlit_config().parent.parent == SERVER_PATH.parent   # script-level config: read beside the app


def test_a_browser_is_opened_only_on_a_desktop(monkeypatch):
    from cli import main
    monkeypatch.setattr(main.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not main._has_browser()
    monkeypatch.setenv("DISPLAY", ":0")
    assert main._has_browser()


def test_version():
    out = subprocess.run([sys.executable, "-m", "cli.main", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("landdesk ") and out.stdout.split()[1][0].isdigit()


@pytest.fixture
def fresh_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def _wait_health(url: str, proc, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"landdesk serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("no health answer")


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true", reason="Debian's chromium is not installed")
def test_fresh_home_closed_stdin_serves_a_page_and_prints_only_landdesk(fresh_home, tmp_path):
    from etl.store import make_engine, upgrade
    from playwright.sync_api import sync_playwright
    db = f"sqlite:///{(tmp_path / 'store.db').as_posix()}"
    upgrade(make_engine(db))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(HOME=str(fresh_home), XDG_CONFIG_HOME=str(fresh_home / ".config"))
    env.pop("DISPLAY", None)
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(out, "wb") as so, open(err, "wb") as se:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--db", db, "--port", str(port)],
                                stdin=subprocess.DEVNULL, stdout=so, stderr=se, cwd=tmp_path, env=env)
        try:
            _wait_health(url, proc)
            requests: list[str] = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
                page = browser.new_page(locale="zh-CN")
                page.on("request", lambda r: requests.append(r.url))
                page.goto(url + "/")
                page.wait_for_selector('[data-testid="stForm"]', timeout=90_000)
                page.wait_for_function(NOT_RUNNING_JS, timeout=60_000)
                page.wait_for_timeout(1500)
                body = page.inner_text("body")
                toasts = page.locator('[data-testid="stToast"]').count()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert "登录" in body                                    # the sign-in page, in Chinese
    assert toasts == 0, "a toast (advert) was shown"
    outside = sorted({u for u in requests if urlparse(u).hostname not in ("127.0.0.1", "localhost")
                      and not u.startswith(("data:", "blob:"))})
    assert not outside, f"the page fetched from outside the server: {outside}"
    printed = out.read_text(encoding="utf-8", errors="replace") + err.read_text(encoding="utf-8", errors="replace")
    for notice in STREAMLIT_NOTICES:
        assert notice not in printed, f"Streamlit printed {notice!r}:\n{printed}"
    lines = [ln for ln in printed.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("LandDesk on ") for ln in lines), printed
    assert not (fresh_home / ".streamlit" / "credentials.toml").exists()
