"""Number, area and date formatting for screen and paper: 万/亿 for Chinese counts, 公顷 and 亩, Chinese dates.

The dashboard, the briefing and the exports' readers all format through these, so a figure reads the same on a
page and in the weekly briefing.
"""
from __future__ import annotations

import datetime as dt
import math
import re

MU_PER_HA = 15.0
DASH = "—"


def missing(v) -> bool:
    """None, NaN, NaT, pandas' NA, ±inf or a blank string: shown as a dash. The one empty-value rule of the pages,
    the tables and the briefing, so no `nan`, `None`, `NaT` or `inf` ever reaches a reader."""
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(v != v) or v in (math.inf, -math.inf)
    except (TypeError, ValueError):
        return False


def fmt_text(v) -> str:
    """A data value as plain text: the dash when it is empty (`missing`), else the value itself."""
    return DASH if missing(v) else str(v)


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


def fmt_day_range(start: dt.date, end: dt.date, lang: str = "zh") -> str:
    """A span of days as official documents write it: 2026年5月11日—17日, 2026年4月27日—5月3日,
    2025年12月29日—2026年1月4日 / 11–17 May 2026, 27 Apr – 3 May 2026."""
    if lang == "zh":
        if start.year != end.year:
            return f"{fmt_date(start, lang)}—{fmt_date(end, lang)}"
        tail = f"{end.day}日" if start.month == end.month else f"{end.month}月{end.day}日"
        return f"{fmt_date(start, lang)}—{tail}"
    if start.year != end.year:
        return f"{fmt_date(start, lang)} – {fmt_date(end, lang)}"
    if start.month == end.month:
        return f"{start.day}–{end.day} {end:%b} {end.year}"
    return f"{fmt_day(start, lang)} – {fmt_day(end, lang)} {end.year}"


def fmt_date(d: dt.date, lang: str = "zh") -> str:
    """A whole date: 2026年11月30日 / 30 Nov 2026."""
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{fmt_day(d, lang)} {d.year}"


# --- issue 15: forecast models in plain words ---------------------------------------------------------------

#: A forecasting model's family (the technical name before its parameters) -> its plain-words catalogue key.
MODEL_FAMILIES = {"Naive": "model_naive", "Mean": "model_mean", "Drift": "model_drift",
                  "SeasonalNaive": "model_snaive", "ETS(A,N": "model_ses", "ETS(A,Ad": "model_holt_damped",
                  "Theta": "model_theta", "SARIMA": "model_sarima", "ARIMA": "model_arima",
                  "HoltWinters": "model_holt_winters"}


def _split_top(text: str) -> list[str]:
    """`a+b(c+d)+e` -> ['a', 'b(c+d)', 'e']: split on `+` outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def fmt_model(label: str, lang: str = "zh") -> str:
    """A model's technical name (`Ensemble(Theta+ETS(A,N,M))`, as analytics.forecast names it) in plain words:
    季节性指数平滑 + Theta 组合 / seasonal exponential smoothing + Theta blend. An unknown name is kept."""
    from landdesk.i18n import t
    if missing(label):
        return DASH
    label = str(label)
    holiday = label.endswith("+SpringFestival")         # analytics.forecast's Spring Festival adjustment
    label = label.removesuffix("+SpringFestival")
    blend = label.startswith("Ensemble(") and label.endswith(")")
    parts = [p for p in _split_top(label[len("Ensemble("):-1] if blend else label) if p]
    names = []
    for part in parts:
        if part == "drift" and names:        # ARIMA(0,1,1)+drift is one model
            continue
        family = next((k for f, k in MODEL_FAMILIES.items() if part.startswith(f)), None)
        if family is None:
            names.append(part)
            continue
        seasonal = part.startswith("ETS(") and not part.endswith(",N)")
        names.append(t("model_seasonal", lang, model=t(family, lang)) if seasonal else t(family, lang))
    joined = " + ".join(dict.fromkeys(names))
    plain = t("model_blend", lang, models=joined) if blend and len(names) > 1 else joined
    return t("model_with_holiday", lang, model=plain) if holiday else plain


# --- issue 15: charts follow the language -----------------------------------------------------------------------

#: Plotly (d3) date formats per language: ticks of days and of months, and the hover label.
DATE_TICKS = {"zh": {"day": "%-m月%-d日", "month": "%Y年%-m月", "hover": "%Y年%-m月%-d日"},
              "en": {"day": "%-d %b", "month": "%b %Y", "hover": "%-d %b %Y"}}


def fmt_axis_number(v: float, lang: str = "zh") -> str:
    """A value-axis tick: 1.5万 / 2亿 in Chinese (no needless decimals), thousands separators in English."""
    if missing(v):
        return DASH
    if lang == "zh" and abs(v) >= 1e4:
        unit, scale = ("亿", 1e8) if abs(v) >= 1e8 else ("万", 1e4)
        return f"{v / scale:.2f}".rstrip("0").rstrip(".") + unit
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")


#: Characters XML 1.0 forbids: Graphviz would copy them into its SVG, which then does not parse at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def dot_text(value) -> str:
    """A data value as a DOT double-quoted string drawn as its own characters — the one DOT escaper (the process
    map, dashboard.dotmap; the handover network, analytics.resources): backslashes and quotes escaped, `&` as
    `&amp;` (Graphviz decodes entities in labels: `&lt;b&gt;` would be drawn as `<b>`), characters XML forbids as
    U+FFFD, line breaks flattened."""
    flat = _NOT_XML.sub("\ufffd", " ".join(str(value).split()))
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;") + '"'


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
