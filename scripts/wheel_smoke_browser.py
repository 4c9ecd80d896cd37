"""Open every page of a served LandDesk (the wheel's `landdesk serve`) in Debian's headless Chromium and fail
on any Streamlit exception or error box. Run by scripts/wheel-smoke.sh with the REPOSITORY's dev virtualenv
(Playwright drives /usr/bin/chromium; it never downloads a browser): the server under test is the wheel's.

usage: python wheel_smoke_browser.py NO_AUTH_URL PUBLIC_URL
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # devtools: test support, not in the wheel

from devtools import CHROMIUM, CHROMIUM_ARGS, ScriptRuns  # noqa: E402
from service.auth import DEVELOPER, PUBLIC  # noqa: E402


def check(browser, url: str, key: str, default: bool = False) -> str | None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    runs = ScriptRuns(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"javascript: {exc}"))
    try:
        page.goto(f"{url}/{key}?from=2026-08-01&to=2026-10-31")
        runs.wait(page, 0, timeout_ms=90_000)
        page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=30_000)
        found = page.locator('[data-testid="stException"]')
        errors += [f"exception: {found.nth(i).inner_text()[:300]}" for i in range(found.count())]
        boxes = page.locator('[data-testid="stAlertContentError"]')
        errors += [f"error box: {boxes.nth(i).inner_text()[:300]}" for i in range(boxes.count())]
        from urllib.parse import urlsplit
        if urlsplit(page.url).path.rstrip("/") not in (f"/{key}",) + (("",) if default else ()):
            errors.append(f"redirected to {page.url}")
    except Exception as exc:  # noqa: BLE001 - a timeout is a failure with its message
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        page.close()
    return "; ".join(errors) or None


def main(no_auth_url: str, public_url: str) -> int:
    from playwright.sync_api import sync_playwright
    if not CHROMIUM:
        print("wheel-smoke: no chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    failed = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        for url, principal in ((no_auth_url, DEVELOPER), (public_url, PUBLIC)):
            for i, key in enumerate(principal.pages):
                started = time.perf_counter()
                problem = check(browser, url, key, default=i == 0)
                took = time.perf_counter() - started
                print(f"  browser {key:12} {'FAILED' if problem else 'ok'} in {took:4.1f} s", flush=True)
                if problem:
                    failed.append(f"{key}: {problem}")
        browser.close()
    if failed:
        print("wheel-smoke: pages failed in the browser:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
