"""Geometry at scale: the sample county with many parcels (generator --parcel-scale), loaded through the real
ETL, then the land-use page's geometry work timed: the transfer matrix (persisting ids joined and summed in SQL;
no geometry is read when every id persists), the parcel areas per township (SQL group-by), the township shapes
(12 boundaries, simplified at a tolerance fitted to the view), and the land-use page rendered: AppTest (the
page's script with all its data calls) first and cached, and, with --browser, Debian's Chromium against
`landdesk serve` (navigation until the change map's township polygons are drawn and the run has finished).

    python bench/bench_geo.py                                  # --parcel-scale 44: ≈ 203,000 parcel rows
    python bench/bench_geo.py --keep /tmp/ldgeo --browser      # reuse a built store; also time Chromium
    python bench/bench_geo.py --pg postgresql://landdesk:landdesk@localhost/landdesk_bench   # + PostgreSQL

Target (issue 18): the land-use page with 200,000 parcels renders in ≤ 3 s. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FROM, TO = "2026-08-01", "2026-10-31"
VIEWS = ("land_tab_change", "land_tab_composition", "land_tab_cultivated", "land_tab_supply")


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def build(work: Path, url: str, scale: float) -> None:
    """The whole sample county (cases, petitions, land use, …: the pages need them) with `scale` × the parcels,
    loaded through the real ETL (`landdesk etl run` on a copy of sources.yaml and its mappings)."""
    import shutil
    from etl.load import run_sources
    from etl.store import make_engine, upgrade
    from landdesk.settings import SAMPLE_DIR
    from sample_data.generator import generate
    exports = work / "exports"
    if not (exports / "land_parcels.gpkg").exists():
        t0 = time.perf_counter()
        counts = generate(exports, parcel_scale=scale)
        print(f"generate: {counts['land_parcels.gpkg']:,} parcel rows in {time.perf_counter() - t0:.1f} s")
    for folder in ("mappings", "reference"):
        shutil.copytree(SAMPLE_DIR / folder, work / folder, dirs_exist_ok=True)
    shutil.copy(SAMPLE_DIR / "sources.yaml", work / "sources.yaml")
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    for r in run_sources(engine, work / "sources.yaml"):
        print("  " + r.summary())
    print(f"  etl run: {time.perf_counter() - t0:.1f} s")
    engine.dispose()


def data_calls(url: str) -> None:
    from analytics import transfer
    from analytics.exports import run_export
    from analytics.scope import Scope
    from etl import spatial
    from etl.store import make_engine
    engine = make_engine(url)
    scope = Scope(dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO))
    with engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM land_parcels").scalar_one()
        kind = "PostGIS geometry" if spatial.uses_postgis(conn, "land_parcels") else "GeoJSON text"
    print(f"  store: {n:,} parcel rows, geometry as {kind}")
    calls = (("transfer matrix (export)", lambda: run_export(engine, "transfer-matrix", scope)),
             ("parcel areas per township (SQL)", lambda: transfer.parcel_areas(engine.connect(), scope, [2019, 2025])),
             ("township shapes (simplified)", lambda: run_export(engine, "region-shapes", scope)),
             ("land-change by township", lambda: run_export(engine, "land-change", scope, by="township")))
    for label, fn in calls:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        print(f"  {label}: first {times[0]:.3f} s, median of 3 {statistics.median(times):.3f} s")
    engine.dispose()


def _time_component_scan() -> list:
    """AppTest scans every installed package's metadata for Streamlit components on each run (≈ 2–4 s here,
    the test harness's cost, not the page's): record it so that the page's own script time can be shown."""
    from streamlit.components.v2 import component_manager as cm
    spent: list[float] = []
    original = cm.BidiComponentManager.discover_and_register_components

    def timed(self, *a, **kw):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **kw)
        finally:
            spent.append(time.perf_counter() - t0)
    cm.BidiComponentManager.discover_and_register_components = timed
    return spent


def apptest(url: str) -> None:
    """Each tab of the land-use page through AppTest: a first render (cold caches) and a second (cached); the
    page's script time is AppTest's run minus its component scan."""
    os.environ["LANDDESK_DATABASE_URL"] = url
    os.environ["LANDDESK_AUTH"] = "none"
    from streamlit.testing.v1 import AppTest
    from landdesk.i18n import t
    from landdesk.pages import PAGES
    scans = _time_component_scan()
    warm = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)   # imports, not land data
    warm.query_params.update({"from": FROM, "to": TO})
    warm.switch_page(str(ROOT / "pages" / "petitions.py"))
    t0 = time.perf_counter()
    warm.run()
    print(f"  warm-up (the petitions page: the app's imports, no land-use data): {time.perf_counter() - t0:.2f} s")
    for view in VIEWS:
        figures = []
        for _ in range(2):
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
            at.query_params.update({"from": FROM, "to": TO, f"{PAGES['landuse'].tabs}_view": t(view, "zh")})
            at.switch_page(str(ROOT / "pages" / "landuse.py"))
            before = len(scans)
            t0 = time.perf_counter()
            at.run()
            total = time.perf_counter() - t0
            figures.append((total, total - sum(scans[before:])))
            ok = "exception" if at.exception else "ok"
        (f_all, f_page), (c_all, c_page) = figures
        print(f"  land-use page, {view}: first render {f_page:.2f} s (AppTest {f_all:.2f} s), "
              f"cached {c_page:.2f} s (AppTest {c_all:.2f} s) ({ok})")


def browser(url: str) -> None:
    """Chromium against `landdesk serve`: the change tab until its polygons are drawn, a new server (cold) and
    then a reload (cached)."""
    from urllib.parse import quote
    from playwright.sync_api import sync_playwright
    from devtools import CHROMIUM, CHROMIUM_ARGS, NOT_RUNNING_JS, LocalServer
    from landdesk.i18n import t
    from landdesk.pages import PAGES
    if CHROMIUM is None:
        print("  browser: skipped (Debian's chromium is not installed)")
        return
    with LocalServer(url, startup_timeout=120) as server, sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        for view in ("land_tab_change", "land_tab_composition"):
            target = f"{server.url}/landuse?from={FROM}&to={TO}&{PAGES['landuse'].tabs}_view={quote(t(view, 'zh'))}"
            shown = []
            for _ in range(2):
                page = b.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
                t0 = time.perf_counter()
                page.goto(target)
                page.wait_for_selector(".js-plotly-plot path.js-fill" if view == "land_tab_change"
                                       else ".js-plotly-plot", timeout=300_000)
                page.wait_for_function(NOT_RUNNING_JS, timeout=300_000)
                shown.append(time.perf_counter() - t0)
                page.close()
            print(f"  Chromium, land-use {view}: first {shown[0]:.2f} s, cached {shown[1]:.2f} s")
        b.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcel-scale", type=float, default=44.0)
    ap.add_argument("--keep", type=Path, help="work folder to build in or reuse (default: a new temp folder)")
    ap.add_argument("--pg", help="also load into and time this PostgreSQL store (PostGIS when it has it)")
    ap.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    ap.add_argument("--pages-only", action="store_true", help="with --keep: skip the data calls, time the pages")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ldgeo"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average {load_avg()}; work folder {work}")
    stores = [("SQLite", f"sqlite:///{work / 'store.db'}")] + ([("PostgreSQL", args.pg)] if args.pg else [])
    for label, url in stores:
        print(f"{label}:")
        build(work, url, args.parcel_scale)
        if not args.pages_only:
            data_calls(url)
    base = None
    if args.browser:                    # the same page on the plain sample county (4,768 parcels), for scale
        base = f"sqlite:///{work / 'base' / 'store.db'}"
        print("SQLite, the sample county at --parcel-scale 1 (browser baseline):")
        build(work / "base", base, 1.0)
    for label, url in stores:           # pages last: AppTest's caches live for the process
        print(f"{label} pages (load average {load_avg()}):")
        apptest(url)
        if args.browser:
            browser(url)
    if base:
        print(f"Baseline pages, 4,768 parcels (load average {load_avg()}):")
        browser(base)
    print(f"load average {load_avg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
