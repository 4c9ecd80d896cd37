"""A KPI value as a reader of the briefing sees it, formatted here independently of briefing.build (the tests'
oracle: the briefing must show the kpis export's values, so its own formatting is not what checks it)."""
from __future__ import annotations

import math

from landdesk.fmt import fmt_area, fmt_count, fmt_rate

RATES = ("on_time_rate", "online_rate", "good_rating_rate", "petition_reply_on_time_rate")


def expected_kpi_text(code: str, value, lang: str = "zh") -> str:
    """The export's value as text: rates as percentages, the area in hectares, the duration to one decimal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if code in RATES:
        return fmt_rate(value)
    if code == "cultivated_land_ha":
        return fmt_area(value, lang, with_mu=False)
    if code == "median_throughput":
        return f"{value:.1f}"
    return fmt_count(value, lang)
