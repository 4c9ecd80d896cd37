"""Dashboard load (issue 8): N concurrent browser sessions (one headless Chromium, one context each, asyncio)
against `landdesk serve --no-auth` on the sample store, each opening every page in turn.

    .venv/bin/python bench/bench_load.py [--sessions 10] [--db URL] [--url http://127.0.0.1:8501]

Without --url a server is started on a free loopback port (on --db, default: the sample county built with
`landdesk demo --no-serve` into a temporary directory) and stopped afterwards. Prints per page and overall the
p50/p95 page-ready time (navigation until the page's title is drawn, its charts are on screen and Streamlit's
status widget no longer says "Running"); target p95 ≤ 6 s on a 2-core machine. Errors (exception boxes, page
errors, time-outs) are listed; the exit code is 1 when there were any.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("cockpit", "efficiency", "bottlenecks", "petitions", "landuse", "forecasts", "data", "briefing")
QUERY = "from=2026-08-01&to=2026-10-31"
P95_TARGET = 6.0


@dataclass
class Result:
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    errors: list[str] = field(default_factory=list)

    def all_times(self) -> list[float]:
        return [x for v in self.times.values() for x in v]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str, port: int, extra: tuple[str, ...] = ("--no-auth",)) -> subprocess.Popen:
    """`landdesk serve` on loopback; returns once the port accepts connections."""
    proc = subprocess.Popen([sys.executable, "-m", "landdesk.cli", "serve", "--db", db, "--port", str(port),
                             "--headless", *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"landdesk serve exited: {proc.stdout.read().decode()}")
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("landdesk serve did not start within 60 s")


READY_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
            " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')")


async def _session(browser, base: str, n: int, result: Result, timeout_ms: int) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    page.on("pageerror", lambda exc: result.errors.append(f"session {n}: page error: {exc}"))
    order = PAGES[n % len(PAGES):] + PAGES[:n % len(PAGES)]   # sessions start on different pages
    try:
        for name in order:
            t0 = time.perf_counter()
            try:
                await page.goto(f"{base}/{'' if name == 'cockpit' else name}?{QUERY}", timeout=timeout_ms)
                await page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
                if name != "data":
                    await page.wait_for_selector(".js-plotly-plot", timeout=timeout_ms)
                if name == "briefing":
                    await page.wait_for_selector('[data-testid="stMain"] iframe', timeout=timeout_ms)
                await page.wait_for_timeout(300)   # let a rerun start before the status check
                await page.wait_for_function(READY_JS, timeout=timeout_ms)
            except Exception as exc:  # noqa: BLE001 - a time-out is an error of the run, not of the bench
                result.errors.append(f"session {n} {name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                continue
            result.times[name].append(time.perf_counter() - t0 - 0.3)
            boxes = page.locator('[data-testid="stException"]')
            if await boxes.count():
                result.errors.append(f"session {n} {name}: exception box: {(await boxes.first.inner_text())[:300]}")
    finally:
        await ctx.close()


async def _run(base: str, sessions: int, timeout_ms: int) -> Result:
    from playwright.async_api import async_playwright
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    result = Result()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            await asyncio.gather(*(_session(browser, base, i, result, timeout_ms) for i in range(sessions)))
        finally:
            await browser.close()
    return result


def run_load(base: str, sessions: int = 10, timeout_ms: int = 60_000) -> Result:
    return asyncio.run(_run(base, sessions, timeout_ms))


def warm_up(base: str, timeout_ms: int = 120_000) -> Result:
    """One session through every page first, so the concurrent run measures the steady state (results cached
    per store batch, as after the first visitor of the day) rather than ten sessions computing the same cold
    exports at once."""
    return asyncio.run(_run(base, 1, timeout_ms))


def report(result: Result, sessions: int, wall: float) -> str:
    lines = [f"{sessions} concurrent sessions × {len(PAGES)} pages in {wall:.1f} s (cpus: {os.cpu_count()})",
             f"{'page':12} {'n':>3} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"]
    for name, v in result.times.items():
        lines.append(f"{name:12} {len(v):3d} {pct(v, 50):7.2f} {pct(v, 95):7.2f} {max(v, default=float('nan')):7.2f}")
    allt = result.all_times()
    p95 = pct(allt, 95)
    lines.append(f"{'all':12} {len(allt):3d} {pct(allt, 50):7.2f} {p95:7.2f} {max(allt, default=float('nan')):7.2f}"
                 f"   target p95 ≤ {P95_TARGET:.0f} s: {'met' if p95 <= P95_TARGET else 'MISSED'}")
    lines.append(f"errors: {len(result.errors)}")
    lines += ["  " + e for e in result.errors[:20]]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--db", help="store URL (default: a fresh sample county)")
    ap.add_argument("--url", help="an already running dashboard (no server is started)")
    ap.add_argument("--cold", action="store_true", help="no warm-up session: all sessions start on empty caches")
    args = ap.parse_args()
    tmp = proc = None
    try:
        base = args.url
        if base is None:
            db = args.db
            if db is None:
                tmp = tempfile.mkdtemp(prefix="landdesk-load-")
                db = f"sqlite:///{tmp}/sample.db"
                subprocess.run([sys.executable, "-m", "landdesk.cli", "demo", "--no-serve", "--db", db], cwd=ROOT,
                               check=True, stdout=subprocess.DEVNULL)
            port = free_port()
            proc = start_server(db, port)
            base = f"http://127.0.0.1:{port}"
        if not args.cold:
            t0 = time.perf_counter()
            warm = warm_up(base)
            print("warm-up: " + report(warm, 1, time.perf_counter() - t0).splitlines()[0])
        t0 = time.perf_counter()
        result = run_load(base, args.sessions)
        print(report(result, args.sessions, time.perf_counter() - t0))
        return 1 if result.errors else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
