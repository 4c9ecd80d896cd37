"""The cockpit's KPI set: each KPI's kind (rate, count, area, duration), which direction is better, and the
`targets` indicator it is held against, the store tables it is computed from; one formatter for its value and one
for its change, used by the KPI cards and the briefing alike. The formulas live in analytics.kpis; each KPI's
one-line definition (formula, unit, period, source) is `kpidef_<code>` in the catalogues, which the cards' help and
docs/kpis.md's KPI table (checked by tests/test_kpispec.py) are built from.
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
    sources: tuple[str, ...] = ("cases",)   # the store tables it is computed from


#: The cockpit KPIs, in display order.
KPI_SPEC: dict[str, KPI] = {k.code: k for k in (
    KPI("cases_received", "count", 0),
    KPI("cases_closed", "count", +1),
    KPI("on_time_rate", "rate", +1, "on_time_rate", ("cases", "calendar", "targets")),
    KPI("median_throughput", "duration", -1, "median_throughput_workdays", ("cases", "calendar", "targets")),
    KPI("backlog", "count", -1),
    KPI("overdue", "count", -1, sources=("cases", "calendar")),
    KPI("online_rate", "rate", +1, "online_rate", ("cases", "targets")),
    KPI("good_rating_rate", "rate", +1, "good_rating_rate", ("cases", "targets")),
    KPI("petitions_received", "count", 0, sources=("petitions",)),
    KPI("petition_reply_on_time_rate", "rate", +1, "petition_reply_on_time_rate", ("petitions",)),
    KPI("cultivated_land_ha", "area", +1, "cultivated_land_ha", ("land_use", "targets")),
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


def fmt_change_pct(code: str, change, change_pct, lang: str = DEFAULT_LANG) -> str | None:
    """A change with its rate beside it, as 同比/环比 are written: "+12（+15.0%）" for counts, areas and durations
    (`change_pct` is the kpis export's change ÷ |previous| × 100); rates keep their percentage points alone (a
    percentage of a percentage misleads). None when there is nothing to compare."""
    text = fmt_change(code, change, lang)
    if text is None or kind(code) == "rate" or missing(change_pct):
        return text
    return t("change_with_pct", lang, change=text, pct=f"{change_pct:+.1f}%")


# --- issue 15: help on every number -----------------------------------------------------------------------------

#: The unit of each kind as a catalogue key (durations: the chosen unit).
KIND_UNITS = {"rate": "unit_percent", "count": "unit_items", "area": "unit_ha"}
DIRECTIONS = {+1: "kpi_direction_up", -1: "kpi_direction_down", 0: "kpi_direction_none"}


def unit_text(code: str, lang: str = DEFAULT_LANG, unit: str = "workdays") -> str:
    k = kind(code)
    return t("unit_name_" + unit, lang) if k == "duration" else t(KIND_UNITS[k], lang)


def sources_text(code: str, lang: str = DEFAULT_LANG) -> str:
    return t("list_sep", lang).join(t("dataset_" + s, lang) for s in KPI_SPEC[code].sources)


def kpi_help(code: str, lang: str = DEFAULT_LANG, unit: str = "workdays") -> str:
    """A KPI's one-line help: definition (its formula), unit, period and source tables — the cards' tooltip,
    the briefing's definitions and docs/kpis.md say the same."""
    return t("kpi_help_line", lang, definition=t("kpidef_" + code, lang), unit=unit_text(code, lang, unit),
             sources=sources_text(code, lang))


def docs_table() -> str:
    """docs/kpis.md's table of the cockpit KPIs, built from this specification and the catalogues (a test checks
    the document holds exactly this)."""
    rows = ["| code | 指标 · KPI | 定义 · definition | 单位 · unit | 来源 · source tables | direction |",
            "| --- | --- | --- | --- | --- | --- |"]
    for code, k in KPI_SPEC.items():
        rows.append(f"| `{code}` | {t('kpi_' + code, 'zh')} · {t('kpi_' + code, 'en')} | "
                    f"{t('kpidef_' + code, 'zh')}<br>{t('kpidef_' + code, 'en')} | "
                    f"{unit_text(code, 'zh')} · {unit_text(code, 'en')} | {', '.join(f'`{s}`' for s in k.sources)} | "
                    f"{t(DIRECTIONS[k.direction], 'en')} |")
    return "\n".join(rows)
