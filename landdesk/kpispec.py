"""The cockpit's KPI set: each KPI's kind (rate, count, area, duration), which direction is better, and the
`targets` indicator it is held against; one formatter for its value and one for its change, used by the KPI
cards and the briefing alike. The formulas live in analytics.kpis; the definitions in docs/kpis.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from landdesk.fmt import fmt_area, fmt_count, fmt_rate, missing
from landdesk.i18n import DEFAULT_LANG, t

KINDS = ("rate", "count", "area", "duration")


@dataclass(frozen=True)
class KPI:
    """One cockpit KPI. direction: +1 higher is better, -1 lower is better, 0 neither (volumes)."""

    code: str
    kind: str
    direction: int
    target: str | None = None      # the indicator in the `targets` table, when the KPI has a target


#: The cockpit KPIs, in display order.
KPI_SPEC: dict[str, KPI] = {k.code: k for k in (
    KPI("cases_received", "count", 0),
    KPI("cases_closed", "count", +1),
    KPI("on_time_rate", "rate", +1, "on_time_rate"),
    KPI("median_throughput", "duration", -1, "median_throughput_workdays"),
    KPI("backlog", "count", -1),
    KPI("overdue", "count", -1),
    KPI("online_rate", "rate", +1, "online_rate"),
    KPI("good_rating_rate", "rate", +1, "good_rating_rate"),
    KPI("petitions_received", "count", 0),
    KPI("petition_reply_on_time_rate", "rate", +1, "petition_reply_on_time_rate"),
    KPI("cultivated_land_ha", "area", +1, "cultivated_land_ha"),
)}
#: The cockpit's first row (and all a phone shows before the rest is opened): on time, late, in hand, petitions.
HEADLINE_KPIS = ("on_time_rate", "overdue", "backlog", "petition_reply_on_time_rate")


def kind(code: str) -> str:
    return KPI_SPEC[code].kind


def fmt_kpi(code: str, value, lang: str = DEFAULT_LANG, unit: str = "workdays", card: bool = False) -> str:
    """A KPI's value as the dashboard and the briefing show it; `card`: the short duration unit a quarter-width
    KPI card has room for."""
    if missing(value):
        return "—"
    k = kind(code)
    if k == "rate":
        return fmt_rate(value)
    if k == "area":
        return fmt_area(value, lang, with_mu=False)
    if k == "duration":
        return f"{value:.1f} {t(('unit_card_' if card else 'unit_') + unit, lang)}"
    return fmt_count(value, lang)


def fmt_change(code: str, change, lang: str = DEFAULT_LANG) -> str | None:
    """A KPI's change against a comparison period: rates in percentage points, areas in hectares, durations with
    one decimal, counts whole; None when there is nothing to compare."""
    if missing(change):
        return None
    k = kind(code)
    if k == "rate":
        return f"{change * 100:+.1f} {t('unit_pp', lang)}"
    if k == "area":
        return f"{change:+,.1f} {t('unit_ha', lang)}"
    if k == "duration":
        return f"{change:+.1f}"
    return f"{change:+,.0f}"
