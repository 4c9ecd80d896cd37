"""Who is asking: the roles, the pages and capabilities of each, and the `Principal` every read is checked against.

A module of its own below service.auth (accounts and sign-in) and service.sessions (lasting sign-ins), which both
hand out principals."""
from __future__ import annotations

from dataclasses import dataclass

from landdesk.pages import ANALYTICS_PAGES

# --- roles and pages -------------------------------------------------------------------------

#: The dashboard's page keys (url paths): the analytics pages, then the data/briefing pages, then
#: the admin pages and the public disclosure page.

#: The pages each role sees, in navigation order. A township officer sees the leader's analytics
#: pages limited to their township (row-level scope), but not the county-wide weekly briefing. Every staff role sees
#: the data dictionary (数据目录: datasets, fields, freshness; an officer's row counts are their township's).
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "leader": ANALYTICS_PAGES + ("catalogue", "briefing"),
    "planner": ("cockpit", "landuse", "forecasts", "catalogue"),
    "analyst": ANALYTICS_PAGES + ("catalogue", "data", "briefing"),
    "township_officer": ANALYTICS_PAGES + ("catalogue",),
    "admin": ANALYTICS_PAGES + ("catalogue", "data", "briefing", "audit", "users"),
    "public": ("public",),
}

#: What else a role may do. upload/settings: the data page's upload and source settings;
#: drilldown: case- and petition-level lists; download: CSV/Excel downloads of what a page shows;
#: briefing: write/download the weekly briefing; audit / user_admin: the admin pages.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "leader": frozenset({"drilldown", "download", "briefing"}),
    "planner": frozenset({"drilldown", "download"}),
    "analyst": frozenset({"drilldown", "download", "briefing", "upload", "settings"}),
    "township_officer": frozenset({"drilldown", "download"}),
    "admin": frozenset({"drilldown", "download", "briefing", "upload", "settings", "audit", "user_admin"}),
    "public": frozenset({"download"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in account, the public, or the explicit development mode."""

    username: str
    role: str
    township: str | None = None
    display_name: str | None = None

    def __post_init__(self):
        if self.role not in ROLE_PAGES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "township_officer" and not self.township:
            raise ValueError(f"township officer {self.username!r} has no township")

    @property
    def pages(self) -> tuple[str, ...]:
        return ROLE_PAGES[self.role]

    def can(self, capability: str) -> bool:
        """A page key (`can("data")`) or a capability (`can("upload")`)."""
        return capability in ROLE_PAGES[self.role] or capability in ROLE_CAPABILITIES[self.role]

    @property
    def is_public(self) -> bool:
        return self.role == "public"

    @property
    def is_officer(self) -> bool:
        return self.role == "township_officer"

    @property
    def label(self) -> str:
        return self.display_name or self.username


#: The open-government (政务公开) pseudo-principal: disclosure exports only, small cells suppressed.
PUBLIC = Principal("public", "public", display_name="政务公开 / public")
#: The explicit development mode (`landdesk serve --no-auth`, the demo): everything, as an admin.
DEVELOPER = Principal("developer", "admin", display_name="development mode (no sign-in)")
