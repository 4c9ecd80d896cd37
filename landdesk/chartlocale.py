"""Charts that read in the user's language: date ticks and hovers as 10月5日 / 2026年10月 (5 Oct / Oct 2026) and a
Chinese value axis from ten thousand up in 万/亿. Below dashboard/ and briefing/, so the pages (dashboard.ui.chart)
and the briefing's PDF/DOCX/HTML charts follow the same rules. Works on any Plotly figure (duck-typed: no plotly
import here)."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from landdesk.fmt import DATE_TICKS, fmt_axis_number

#: Below this tick spacing the date axis ticks in days (10月5日), from it in months (2026年10月).
MONTH_MS = 28 * 86_400_000


def is_dates(values) -> bool:
    """True when a trace's x values are days or times (datetime, date, Timestamp or an ISO date string)."""
    first = next((v for v in (values if values is not None else ()) if v is not None), None)
    if isinstance(first, (dt.date, np.datetime64, pd.Timestamp)):
        return True
    return isinstance(first, str) and len(first) >= 10 and first[4] == "-" and first[7] == "-" and first[:4].isdigit()


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """About `n` round tick values from 0 to `top`."""
    if not top or top <= 0 or not math.isfinite(top):
        return []
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(top // step) + 2)]


def date_formats(lang: str) -> dict[str, str]:
    """The day / month / hover strftime formats of `lang` (Plotly's d3 directives)."""
    return DATE_TICKS.get(lang, DATE_TICKS["en"])


def localize(fig, lang: str):
    """Make a Plotly figure read in `lang`: date axes ticked and hovered as 10月5日 / 2026年10月 (5 Oct / Oct 2026),
    a Chinese value axis from ten thousand up ticked in 万/亿 (precomputed tick text), and the number separators of
    the language. The one place the pages and the briefing localize their charts."""
    formats = date_formats(lang)
    fig.update_layout(separators=".,")
    if any(is_dates(getattr(tr, "x", None)) for tr in fig.data if getattr(tr, "orientation", None) != "h"):
        fig.update_xaxes(tickformat=None,
                         tickformatstops=[dict(dtickrange=[None, MONTH_MS], value=formats["day"]),
                                          dict(dtickrange=[MONTH_MS, None], value=formats["month"])],
                         hoverformat=formats["hover"])
    if lang == "zh":
        ys = [v for tr in fig.data if getattr(tr, "orientation", None) != "h" and getattr(tr, "y", None) is not None
              and tr.type in ("scatter", "bar") for v in tr.y if isinstance(v, (int, float, np.number))
              and math.isfinite(v)]
        top = max(ys, default=0)
        if top >= 1e4 and fig.layout.yaxis.tickformat not in (".0%", ".1%") and fig.layout.barmode != "stack":
            ticks = nice_ticks(top)
            fig.update_yaxes(tickmode="array", tickvals=ticks, ticktext=[fmt_axis_number(v, lang) for v in ticks])
        xs = [v for tr in fig.data if getattr(tr, "orientation", None) == "h" and getattr(tr, "x", None) is not None
              and tr.type == "bar" for v in tr.x if isinstance(v, (int, float, np.number)) and math.isfinite(v)]
        top = max(xs, default=0)
        if top >= 1e4 and fig.layout.xaxis.tickformat not in (".0%", ".1%") and fig.layout.barmode != "stack":
            ticks = nice_ticks(top)
            fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=[fmt_axis_number(v, lang) for v in ticks])
    return fig
