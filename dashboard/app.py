"""LandDesk's Streamlit entry point: a router building st.navigation from the page scripts."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard.i18n import t  # noqa: E402
from dashboard.ui import lang, language_switch  # noqa: E402

PAGES = ROOT / "pages"


def main() -> None:
    st.set_page_config(page_title="LandDesk", page_icon="🗺️", layout="wide")
    language_switch()

    def page(script: str, key: str, icon: str, **kw):
        return st.Page(PAGES / f"{script}.py", title=t(key, lang()), icon=icon, url_path=script, **kw)

    sections = {
        t("nav_overview", lang()): [page("cockpit", "page_cockpit", ":material/dashboard:", default=True)],
        t("nav_service", lang()): [page("efficiency", "page_efficiency", ":material/timer:"),
                                   page("bottlenecks", "page_bottlenecks", ":material/account_tree:")],
        t("nav_petitions", lang()): [page("petitions", "page_petitions", ":material/forum:")],
        t("nav_land", lang()): [page("landuse", "page_landuse", ":material/map:")],
        t("nav_forecasts", lang()): [page("forecasts", "page_forecasts", ":material/trending_up:")],
        t("nav_data", lang()): [page("data", "page_data", ":material/database:"),
                                page("briefing", "page_briefing", ":material/description:")],
    }
    st.navigation(sections).run()


main()
