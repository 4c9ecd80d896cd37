"""Geometry at scale: the sample county with many parcels (generator --parcel-scale), loaded through the real ETL,
then the land-use page's geometry work timed: the transfer matrix (persisting ids joined in SQL), the parcel
areas per township (SQL), the township shapes simplified for display, and the land-use page's change tab
rendered (AppTest, first render, with its Sankey and change map).

    python bench/bench_geo.py --parcel-scale 42      # ≈ 100,000 parcels a year, 200,000 parcel rows

Target (issue 18): the land-use page with 200,000 parcels renders in ≤ 3 s. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcel-scale", type=float, default=42.0)
    args = ap.parse_args()
    from analytics import transfer
    from analytics.exports import run_export
    from analytics.scope import Scope
    from etl.load import load_mapping
    from etl.store import make_engine, upgrade
    from sample_data.generator import generate
    from landdesk.settings import SAMPLE_DIR

    work = Path(tempfile.mkdtemp(prefix="ldgeo"))
    t0 = time.perf_counter()
    counts = generate(work / "exports", parcel_scale=args.parcel_scale)
    print(f"generate: {counts['land_parcels.gpkg']:,} parcel rows in {time.perf_counter() - t0:.1f} s")
    maps = work / "mappings"
    maps.mkdir()
    for p in (SAMPLE_DIR / "mappings").glob("*.yaml"):
        (maps / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    url = f"sqlite:///{work / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    for name in ("land_use", "targets", "land_supply", "regions", "land_parcels"):
        t0 = time.perf_counter()
        r = load_mapping(engine, maps / f"{name}.yaml")
        print(f"load {name}: {r.rows_loaded:,} rows in {time.perf_counter() - t0:.1f} s")
    scope = Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    for label, fn in (("transfer matrix (export)", lambda: run_export(engine, "transfer-matrix", scope)),
                      ("parcel areas per township (SQL)",
                       lambda: transfer.parcel_areas(engine.connect(), scope, [2019, 2025])),
                      ("township shapes (simplified)", lambda: run_export(engine, "region-shapes", scope))):
        t0 = time.perf_counter()
        fn()
        print(f"{label}: {time.perf_counter() - t0:.2f} s")
    os.environ["LANDDESK_DATABASE_URL"] = url
    os.environ["LANDDESK_AUTH"] = "none"
    from streamlit.testing.v1 import AppTest
    from landdesk.i18n import t
    from landdesk.pages import PAGES
    for view in ("land_tab_change", "land_tab_composition"):
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
        at.query_params.update({"from": "2026-08-01", "to": "2026-10-31", f"{PAGES['landuse'].tabs}_view": t(view, "zh")})
        at.switch_page(str(ROOT / "pages" / "landuse.py"))
        t0 = time.perf_counter()
        at.run()
        print(f"land-use page, tab {view}: first render {time.perf_counter() - t0:.2f} s "
              f"({'exception' if at.exception else 'ok'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
