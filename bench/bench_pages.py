"""Page speed: each dashboard page's first render and cached re-render (AppTest), and the cockpit's ready time in
Chromium against `landdesk serve`.

    python bench/bench_pages.py                      # the sample county, built through the real ETL in a temp dir
    python bench/bench_pages.py --scale 30           # the same county ×30 (about a million events), generated first
    python bench/bench_pages.py --db sqlite:////tmp/big.db [--no-browser]

Pages with tabs are timed per tab (the first tab is what a visit to the page draws; the others run only once
opened). "Cold" is a server process just started: Streamlit's caches and the analytics' in-process caches
(analytics.memo) emptied, so the page also waits for the integrity-risk reference the process learns in the
background on its first visit (dashboard.data._warm). "First" is the first visit of the page on a server that has
been up: its background warm-up done, but no export of the page cached (every export computed); "cached" is a
second session on the same process (exports served from st.cache_data, keyed on the store's last batch).
Targets (issue 6): first ≤ 3 s, cached ≤ 1 s per page; cockpit ready in the browser ≤ 5 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from landdesk.pages import STAFF_PAGES as PAGES  # noqa: E402  (the one page list: a new page is timed too)
PERIOD = {"from": "2026-08-01", "to": "2026-10-31"}


def build_store(workdir: Path, scale: float) -> str:
    from etl.load import run_sources
    from etl.store import make_engine, upgrade
    from landdesk.settings import SAMPLE_DIR

    sources = SAMPLE_DIR / "sources.yaml"
    if scale != 1.0:
        from sample_data.generator import generate
        copy = workdir / "sample"
        shutil.copytree(SAMPLE_DIR / "mappings", copy / "mappings")
        shutil.copy(sources, copy / "sources.yaml")
        t0 = time.perf_counter()
        counts = generate(copy / "exports", scale=scale)
        print(f"generated the county ×{scale:g} in {time.perf_counter() - t0:.1f} s: {counts}", flush=True)
        sources = copy / "sources.yaml"
    url = f"sqlite:///{(workdir / 'bench.db').as_posix()}"
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    results = run_sources(engine, sources)
    print(f"loaded {sum(r.rows_loaded for r in results):,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    engine.dispose()
    return url


def apptest_timings(url: str) -> list[tuple[str, float, float, float]]:
    """Per page: (cold, first, cached) render seconds."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from analytics import memo
    from analytics.integrity import warm_reference
    from dashboard.data import wait_for_warm_up
    from etl.store import make_engine

    from landdesk.i18n import t
    from dashboard.ui import page_views

    os.environ["LANDDESK_DATABASE_URL"] = url
    os.environ["LANDDESK_AUTH"] = "none"     # time the pages, not the sign-in gate
    rows = []
    for page, view in [(p, v) for p in PAGES for v in (page_views(p)[1] or [None])]:
        label = page if view is None else f"{page} · {t(view, 'en')}"
        times = []
        for attempt in ("cold", "first", "cached"):
            wait_for_warm_up()
            if attempt == "cold":             # a server process just started: nothing cached, nothing learnt
                st.cache_data.clear()
                st.cache_resource.clear()
                memo.clear_all()
            elif attempt == "first":          # a server that has been up: its warm-up done, no result cached
                st.cache_data.clear()
                memo.clear_all()
                eng = make_engine(url)
                warm_reference(eng)
                eng.dispose()
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
            for k, v in PERIOD.items():
                at.query_params[k] = v
            if view is not None:
                at.query_params[page_views(page)[0]] = t(view, "zh")
            at.switch_page(str(ROOT / "pages" / f"{page}.py"))
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            if at.exception:
                raise SystemExit(f"{page}: {at.exception[0].message}")
        rows.append((label, *times))
        print(f"  {label:36s} cold {times[0]:6.2f} s   first {times[1]:6.2f} s   cached {times[2]:6.2f} s",
              flush=True)
    return rows


def browser_timing(url: str) -> tuple[float, float] | None:
    """The cockpit ready in Chromium: a fresh server's first visitor, then a second visitor."""
    from devtools import CHROMIUM, CHROMIUM_ARGS, LocalServer, ScriptRuns
    if CHROMIUM is None:
        print("  chromium not found: browser timing skipped")
        return None
    from playwright.sync_api import sync_playwright

    out = []
    with LocalServer(url) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        for _ in ("cold", "warm"):
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
            runs = ScriptRuns(page)
            t0 = time.perf_counter()
            page.goto(f"{server.url}/?from={PERIOD['from']}&to={PERIOD['to']}")
            runs.wait(page, 0, timeout_ms=120_000)
            page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
            out.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    return out[0], out[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", help="an existing store (default: build the sample county in a temp dir)")
    ap.add_argument("--scale", type=float, default=1.0, help="generate the county at this scale first (with no --db)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="landdesk-bench-") as tmp:
        os.environ.setdefault("LANDDESK_BRIEFING_DIR", str(Path(tmp) / "briefings"))
        url = args.db or build_store(Path(tmp), args.scale)
        from sqlalchemy import func, select

        from etl.schema import case_events
        from etl.store import make_engine
        eng = make_engine(url)
        with eng.connect() as conn:
            events = conn.execute(select(func.count()).select_from(case_events)).scalar_one()
        eng.dispose()
        print(f"store {url}: {events:,} events; period {PERIOD['from']} .. {PERIOD['to']}")
        print("AppTest render times:")
        rows = apptest_timings(url)
        chrome = None if args.no_browser else browser_timing(url)
    print()
    print(f"{'page · tab':36s} {'cold (s)':>9s} {'first (s)':>10s} {'cached (s)':>11s}   targets: first <= 3 s, "
          "cached <= 1 s")
    for label, cold, first, cached in rows:
        flag = "" if first <= 3 and cached <= 1 else "   over target"
        print(f"{label:36s} {cold:9.2f} {first:10.2f} {cached:11.2f}{flag}")
    if chrome:
        print(f"cockpit ready in Chromium: {chrome[0]:.2f} s (cold server), {chrome[1]:.2f} s (warm)   target <= 5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
