"""Dashboard load (issue 8): N concurrent browser sessions (one headless Chromium, one context each, asyncio)
against `landdesk serve --no-auth` on the sample store, each browsing every page.

    .venv/bin/python bench/bench_load.py [--sessions 10] [--ramp 3] [--think 5 10] [--stress] [--db URL | --url URL]

A session opens a shared link (a page with a period in its address; sessions start on different pages), reads it
for a few seconds and goes on to the next page by the sidebar, as a visitor does, until it has seen all eight.
Visitors arrive one after another (`--ramp` seconds apart), so that with the defaults all ten sessions are open
together for most of the run. `--stress` adds a run with every session arriving at once and no reading time:
the machine's limit, not a usage pattern. `--reload` loads every page from its address instead (a new Streamlit
session per page: the browser starts the whole app again each time).

Page-ready time: from the click (or navigation) until Streamlit has finished the page's run (its
`script_finished` message), the page title is drawn and its charts are on screen. Prints per page and overall
p50/p95, and how long all sessions were open at once; target p95 ≤ 6 s on a 2-core machine, where the ten
Chromium renderers share the two cores with the server. Without --url a server is started on a free loopback
port (on --db, default: the sample county built with `landdesk demo --no-serve` into a temporary directory).
Errors (exception boxes, page errors, time-outs) are listed; the exit code is 1 when there were any.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import CHROMIUM, CHROMIUM_ARGS, LocalServer, ScriptRuns  # noqa: E402

from landdesk.pages import STAFF_PAGES as PAGES  # noqa: E402
QUERY = "from=2026-08-01&to=2026-10-31"
P95_TARGET = 6.0
#: Visitors arrive one every RAMP_S seconds and read each page THINK_S seconds (uniform) before the next.
RAMP_S = 3.0
THINK_S = (5.0, 10.0)


@dataclass
class Result:
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    errors: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)   # each session's (opened, closed) clock times

    def overlap(self) -> tuple[int, float]:
        """(most sessions open at once, seconds for which that many were open)."""
        edges = sorted([(a, 1) for a, _ in self.spans] + [(b, -1) for _, b in self.spans])
        most, open_now, since, held = 0, 0, 0.0, 0.0
        for t, step in edges:
            if open_now == most and most:
                held += t - since
            open_now += step
            if open_now > most:
                most, held = open_now, 0.0
            since = t
        return most, held

    def all_times(self) -> list[float]:
        return [x for v in self.times.values() for x in v]


def pct(values: list[float], q: float) -> float:
    """The nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def _path(name: str) -> str:
    return "" if name == "cockpit" else name


CHARTLESS = {"data", "catalogue"}                            # pages that draw tables only


async def _drawn(page, name: str, timeout_ms: int) -> None:
    """The page's title and, where it has any, its charts (and the briefing's preview) are on screen."""
    await page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    if name not in CHARTLESS:
        await page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout_ms)
    if name == "briefing":
        await page.wait_for_selector('[data-testid="stMain"] iframe', timeout=timeout_ms)


async def _session(browser, base: str, n: int, result: Result, timeout_ms: int, reload: bool,
                   ramp: float = 0.0, think: tuple[float, float] = (0.0, 0.0)) -> None:
    await asyncio.sleep(n * ramp)                             # visitors arrive one after another
    rng = random.Random(n)
    opened = time.perf_counter()
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    runs = ScriptRuns(page)
    page.on("pageerror", lambda exc: result.errors.append(f"session {n}: page error: {exc}"))
    order = PAGES[n % len(PAGES):] + PAGES[:n % len(PAGES)]   # sessions start on different pages
    try:
        for i, name in enumerate(order):
            if i:
                await asyncio.sleep(rng.uniform(*think))     # the visitor reads the page before moving on
            before = runs.count
            t0 = time.perf_counter()
            try:
                if i == 0 or reload:
                    await page.goto(f"{base}/{_path(name)}?{QUERY}", timeout=timeout_ms)
                else:
                    await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{_path(name)}"]').first.click(
                        timeout=timeout_ms)
                await runs.wait_async(page, before, timeout_ms)
                await _drawn(page, name, timeout_ms)
            except Exception as exc:  # noqa: BLE001 - a time-out is an error of the run, not of the bench
                result.errors.append(f"session {n} {name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                continue
            result.times[name].append(time.perf_counter() - t0)
            if f"/{_path(name)}" not in page.url.split("?")[0][len(base):] + "/":
                result.errors.append(f"session {n} {name}: landed on {page.url}")
            boxes = page.locator('[data-testid="stException"]')
            if await boxes.count():
                result.errors.append(f"session {n} {name}: exception box: {(await boxes.first.inner_text())[:300]}")
    finally:
        await ctx.close()
        result.spans.append((opened, time.perf_counter()))


async def _run(base: str, sessions: int, timeout_ms: int, reload: bool, ramp: float = 0.0,
               think: tuple[float, float] = (0.0, 0.0)) -> Result:
    from playwright.async_api import async_playwright
    result = Result()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        try:
            await asyncio.gather(*(_session(browser, base, i, result, timeout_ms, reload, ramp, think)
                                   for i in range(sessions)))
        finally:
            await browser.close()
    return result


def run_load(base: str, sessions: int = 10, timeout_ms: int = 60_000, reload: bool = False, ramp: float = RAMP_S,
             think: tuple[float, float] = THINK_S) -> Result:
    return asyncio.run(_run(base, sessions, timeout_ms, reload, ramp, think))


def warm_up(base: str, timeout_ms: int = 120_000) -> Result:
    """One session through every page first, so the concurrent run measures the steady state (results cached
    per store batch, as after the first visitor of the day) rather than ten sessions computing the same cold
    exports at once."""
    return asyncio.run(_run(base, 1, timeout_ms, reload=False))   # no reading time: as fast as it goes


def report(result: Result, sessions: int, wall: float) -> str:
    most, held = result.overlap()
    lines = [f"{sessions} sessions × {len(PAGES)} pages in {wall:.1f} s (cpus: {os.cpu_count()}); "
             f"{most} sessions open at once for {held:.1f} s",
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
    ap.add_argument("--ramp", type=float, default=RAMP_S, help=f"seconds between two sessions' arrivals ({RAMP_S:g})")
    ap.add_argument("--think", type=float, nargs=2, default=THINK_S, metavar=("MIN", "MAX"),
                    help=f"seconds a visitor reads a page before the next, uniform in [MIN, MAX] ({THINK_S})")
    ap.add_argument("--stress", action="store_true", help="also run with every session arriving at once and no "
                                                          "reading time (the machine's limit, not a usage pattern)")
    ap.add_argument("--cold", action="store_true", help="no warm-up session: all sessions start on empty caches")
    ap.add_argument("--reload", action="store_true", help="load every page from its address instead of the sidebar")
    args = ap.parse_args()
    if CHROMIUM is None:
        print("Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    tmp = server = None
    try:
        base = args.url
        if base is None:
            db = args.db
            if db is None:
                tmp = tempfile.mkdtemp(prefix="landdesk-load-")
                db = f"sqlite:///{tmp}/sample.db"
                subprocess.run([sys.executable, "-m", "cli.main", "demo", "--no-serve", "--db", db], cwd=ROOT,
                               check=True, stdout=subprocess.DEVNULL)
            server = LocalServer(db).start()
            base = server.url
        print(f"navigation: {'every page loaded from its address' if args.reload else 'sidebar'}; "
              f"load average {os.getloadavg()[0]:.2f}")
        if not args.cold:
            t0 = time.perf_counter()
            warm = warm_up(base)
            print("warm-up: " + report(warm, 1, time.perf_counter() - t0).splitlines()[0])
        runs = [("usage", args.ramp, tuple(args.think))] + ([("stress", 0.0, (0.0, 0.0))] if args.stress else [])
        errors = 0
        for label, ramp, think in runs:
            print(f"\n{label}: a session arrives every {ramp:g} s, reads each page {think[0]:g}–{think[1]:g} s")
            t0 = time.perf_counter()
            result = run_load(base, args.sessions, reload=args.reload, ramp=ramp, think=think)
            print(report(result, args.sessions, time.perf_counter() - t0))
            errors += len(result.errors)
        return 1 if errors else 0
    finally:
        if server is not None:
            server.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
