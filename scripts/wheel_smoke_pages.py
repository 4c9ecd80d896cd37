"""Render every dashboard page of an INSTALLED LandDesk through Streamlit's AppTest and fail on any exception
or error box. Run by scripts/wheel-smoke.sh with the fresh virtualenv's python, from outside the repository,
so the app script and the page scripts come from the wheel (landdesk.resources), not from a checkout.

usage: python wheel_smoke_pages.py STORE_URL
"""
from __future__ import annotations

import os
import sys
import time


def main(store_url: str) -> int:
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")   # no "missing ScriptRunContext" noise in bare mode
    from streamlit.testing.v1 import AppTest

    from landdesk import resources
    from landdesk.pages import PAGES

    app = resources.app_path()
    if resources.checkout_root() is not None or "site-packages" not in str(app):
        print(f"wheel-smoke: the app resolves to {app}, not to an installed wheel", file=sys.stderr)
        return 1
    os.environ["LANDDESK_DATABASE_URL"] = store_url
    failed = []
    for key in PAGES:
        script = resources.page_path(key)
        if not script.is_file():
            failed.append(f"{key}: no page script at {script}")
            continue
        os.environ["LANDDESK_AUTH"] = "public" if key == "public" else "none"
        started = time.perf_counter()
        at = AppTest.from_file(str(app), default_timeout=180)
        at.query_params["from"], at.query_params["to"] = "2026-08-01", "2026-10-31"
        at.switch_page(str(script))
        at.run()
        problems = [f"exception: {e.message}" for e in at.exception] + [f"error box: {e.value}" for e in at.error]
        took = time.perf_counter() - started
        shown = len(at.metric) + len(at.get("plotly_chart")) + len(at.dataframe) + len(at.markdown)
        if not problems and not shown:
            problems = ["nothing rendered"]
        if problems:
            failed.append(f"{key}: " + "; ".join(problems))
            print(f"  page {key:12} FAILED in {took:4.1f} s", flush=True)
        else:
            print(f"  page {key:12} ok in {took:4.1f} s ({shown} metrics, charts, tables and texts)", flush=True)
    if failed:
        print("wheel-smoke: pages failed in the installed wheel:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
