"""Number, area and date formatting for screen and paper: 万/亿 for Chinese counts, 公顷 and 亩, Chinese dates.

The dashboard, the briefing and the exports' readers all format through these, so a figure reads the same on a
page and in the weekly briefing.
"""
from __future__ import annotations

import datetime as dt
import math

MU_PER_HA = 15.0
DASH = "—"


def missing(v) -> bool:
    """None or NaN: shown as a dash."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_number(v: float, digits: int = 1) -> str:
    """A plain number: integers without decimals, others with `digits` decimals, thousands separated."""
    if missing(v):
        return DASH
    v = float(v)
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.{digits}f}"


def fmt_count(n: float, lang: str = "zh") -> str:
    """Counts: Chinese uses 万 and 亿 above ten thousand, English thousands separators."""
    if missing(n):
        return DASH
    if lang == "zh":
        if abs(n) >= 1e8:
            return f"{n / 1e8:.2f}亿"
        if abs(n) >= 1e4:
            return f"{n / 1e4:.2f}万"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def fmt_rate(x: float) -> str:
    """A share as a percentage with one decimal."""
    return DASH if missing(x) else f"{x * 100:.1f}%"


def fmt_area(ha: float, lang: str = "zh", with_mu: bool = True) -> str:
    """Area in 公顷, with 亩 beside it for Chinese readers unless `with_mu` is off."""
    if missing(ha):
        return DASH
    if lang == "zh":
        text = f"{fmt_count(round(ha, 1), lang)}公顷"
        return f"{text}（{fmt_count(round(ha * MU_PER_HA), lang)}亩）" if with_mu else text
    return f"{ha:,.1f} ha"


def to_area_unit(ha: float, area_unit: str) -> float:
    """An area in hectares expressed in `area_unit` ('ha' or 'mu')."""
    return ha * (MU_PER_HA if area_unit == "mu" else 1.0)


def fmt_day(d: dt.date, lang: str = "zh") -> str:
    """Month and day: 11月30日 / 30 Nov."""
    return f"{d.month}月{d.day}日" if lang == "zh" else d.strftime("%d %b").lstrip("0")


def fmt_date(d: dt.date, lang: str = "zh") -> str:
    """A whole date: 2026年11月30日 / 30 Nov 2026."""
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{fmt_day(d, lang)} {d.year}"


def chart_text(values):
    """Data values (stage names, townships, topics …) as Plotly-safe label text: Plotly draws a subset of HTML in
    tick labels, hover text, legends and annotations (<b>, <br>, <a href>), so & < > become entities and a value
    always shows as the literal text it is. The one escaper of data in charts (dashboard.charts imports it as
    `label_text`, briefing.charts for its rankings); numbers and dates pass unchanged. A string, a pandas Series
    (→ Series) or a sequence (→ list). `dashboard.ui.selected_points` undoes it for values picked in a chart."""
    import html

    def one(v):
        return html.escape(v, quote=False) if isinstance(v, str) else v
    if isinstance(values, str):
        return one(values)
    if hasattr(values, "map") and hasattr(values, "index") and not isinstance(values, (list, tuple)):
        return values.map(one)
    return [one(v) for v in values]
