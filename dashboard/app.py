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
    sections = {
        t("nav_overview", lang()): [
            st.Page(PAGES / "cockpit.py", title=t("page_cockpit", lang()), icon="🧭", default=True,
                    url_path="cockpit"),
        ],
        t("nav_data", lang()): [
            st.Page(PAGES / "data.py", title=t("page_data", lang()), icon="🗄️", url_path="data"),
        ],
    }
    st.navigation(sections).run()


main()
