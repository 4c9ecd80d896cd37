"""The dashboard's pages, in navigation order: the one list the router, the roles, the tab sets, the tests and
the benchmarks read. A page's script is `pages/<key>.py`; its title is the translation `page_<key>`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page: its key (script name and URL path), icon, navigation section (translation key) and, for the
    analysis pages drawn as lazy tabs, the prefix of its tab set (URL parameter PREFIX_view, tab labels
    PREFIX_tab_* in the translation catalogue)."""

    key: str
    icon: str
    section: str
    tabs: str | None = None

    @property
    def title(self) -> str:
        return "page_" + self.key


PAGES: dict[str, Page] = {p.key: p for p in (
    Page("cockpit", ":material/dashboard:", "nav_overview"),
    Page("efficiency", ":material/timer:", "nav_service", "eff"),
    Page("bottlenecks", ":material/account_tree:", "nav_service", "bn"),
    Page("petitions", ":material/forum:", "nav_petitions", "pet"),
    Page("landuse", ":material/map:", "nav_land", "land"),
    Page("forecasts", ":material/trending_up:", "nav_forecasts", "fc"),
    Page("catalogue", ":material/menu_book:", "nav_data"),
    Page("data", ":material/database:", "nav_data"),
    Page("briefing", ":material/description:", "nav_data"),
    Page("audit", ":material/policy:", "nav_admin"),
    Page("users", ":material/group:", "nav_admin"),
    Page("public", ":material/public:", "nav_public"),
)}
#: The analysis pages every analytics role sees (a township officer limited to their township).
ANALYTICS_PAGES = ("cockpit", "efficiency", "bottlenecks", "petitions", "landuse", "forecasts")
#: The pages of a signed-in staff session that the tests and the load benchmark browse.
STAFF_PAGES = ANALYTICS_PAGES + ("catalogue", "data", "briefing")
