"""The briefing's charts: Plotly figures (as the dashboard draws them) turned into PNG by kaleido.

kaleido 1.x drives the machine's Chromium (Debian's `chromium` package): we point it at
$BROWSER_PATH, else `chromium`/`chromium-browser`/`google-chrome` on PATH, and never let it
download a browser. All charts of a briefing are drawn in one browser session (about 2–3 s to start,
a fraction of a second per chart). When no browser or no kaleido is available, the charts are left
out with a note and the briefing is still written.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading

import pandas as pd

from briefing.model import Chart
from landdesk.chartlocale import localize
from landdesk.fmt import chart_text

#: The dashboard's font stack (dashboard/ui.py CJK_FONT); Noto Sans CJK comes from fonts-noto-cjk.
CJK_FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PNG_SCALE = 2
COLOURS = {"received": "#1f77b4", "closed": "#2ca02c", "forecast": "#d62728", "band": "rgba(214,39,40,0.15)",
           "bar": "#4c78a8", "bar_top": "#e45756"}


def browser_path() -> str | None:
    """The Chromium kaleido should use: $BROWSER_PATH, else the first browser on PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _layout(fig, title: str, width: int, height: int, lang: str):
    """The briefing's look, and the language's date ticks and 万/亿 numbers (landdesk.chartlocale, as on the pages)."""
    fig.update_layout(title=title, font_family=CJK_FONT, margin=dict(l=10, r=10, t=50, b=10),
                      legend_title_text="", width=width, height=height, template="plotly_white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return localize(fig, lang)


def trend_figure(flow: pd.DataFrame, labels: dict[str, str], title: str, width=900, height=380, *, lang: str = "zh"):
    """每周收件与办结 — the cockpit page's trend figure (received and completed per ISO week)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=flow["week"], y=flow["received"], name=labels["received"], mode="lines+markers",
                    line_color=COLOURS["received"])
    fig.add_scatter(x=flow["week"], y=flow["closed"], name=labels["closed"], mode="lines+markers",
                    line_color=COLOURS["closed"])
    fig.update_xaxes(title=labels["week"])
    fig.update_yaxes(title=labels["count"], rangemode="tozero")
    return _layout(fig, title, width, height, lang)


def bar_figure(categories: list[str], values: list[float], title: str, value_title: str,
               width=900, height=380, highlight_first=True, *, lang: str = "zh"):
    """A horizontal ranking bar chart, largest at the top (bottleneck impact, petitions by topic)."""
    import plotly.graph_objects as go

    colours = [COLOURS["bar_top"] if (i == 0 and highlight_first) else COLOURS["bar"] for i in range(len(values))]
    fig = go.Figure(go.Bar(x=values[::-1], y=chart_text(list(categories))[::-1], orientation="h", marker_color=colours[::-1],
                           text=[f"{v:,.1f}" if not float(v).is_integer() else f"{v:,.0f}" for v in values[::-1]],
                           textposition="outside", cliponaxis=False))
    fig.update_xaxes(title=value_title, rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, width, height, lang)


def forecast_figure(history: pd.DataFrame, fc: pd.DataFrame, labels: dict[str, str], title: str,
                    width=900, height=380, *, lang: str = "zh"):
    """History of weekly arrivals and the forecast with its 80 % interval."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=history["week"], y=history["received"], name=labels["actual"], mode="lines+markers",
                    line_color=COLOURS["received"])
    band_x = list(fc["ds"]) + list(fc["ds"])[::-1]
    band_y = list(fc["lower"]) + list(fc["upper"])[::-1]
    fig.add_scatter(x=band_x, y=band_y, mode="lines", fill="toself", fillcolor=COLOURS["band"], line=dict(width=0),
                    name=labels["band"], hoverinfo="skip")
    fig.add_scatter(x=fc["ds"], y=fc["yhat"], name=labels["forecast"], mode="lines+markers",
                    line=dict(color=COLOURS["forecast"], dash="dash"))
    fig.update_xaxes(title=labels["week"])
    fig.update_yaxes(title=labels["count"], rangemode="tozero")
    return _layout(fig, title, width, height, lang)


# ---------- rendering ----------

async def _render_all(charts: list[Chart]) -> None:
    import kaleido

    async with kaleido.Kaleido(n=1) as k:
        for chart in charts:
            chart.png = await k.calc_fig(chart.figure, opts=dict(format="png", width=chart.width,
                                                                 height=chart.height, scale=PNG_SCALE))


def render_charts(charts: list[Chart], unavailable_note: str = "") -> list[str]:
    """Fill `png` for every chart with a figure, in one browser session; returns warnings (none when fine).

    Runs in its own thread with its own event loop, so it works under a running loop (Streamlit,
    Jupyter) too. On failure the charts keep png=None and get `unavailable_note` + the reason.
    """
    todo = [c for c in charts if c.figure is not None and c.png is None]
    if not todo:
        return []
    reason = None
    path = browser_path()
    if path is None:
        reason = "no Chromium found (install Debian's chromium or set BROWSER_PATH)"
    else:
        try:
            import kaleido  # noqa: F401
        except ImportError:
            reason = "the kaleido package is not installed"
    if reason is None:
        os.environ.setdefault("BROWSER_PATH", path)
        errors: list[BaseException] = []

        def work():
            try:
                asyncio.run(_render_all(todo))
            except BaseException as exc:   # reported below; the briefing goes on without charts
                errors.append(exc)

        thread = threading.Thread(target=work, name="briefing-charts")
        thread.start()
        thread.join()
        if errors:
            reason = f"{type(errors[0]).__name__}: {str(errors[0]).strip().splitlines()[0] if str(errors[0]).strip() else ''}"
    if reason is None:
        return []
    for chart in todo:
        if chart.png is not None:
            continue
        chart.note = f"{unavailable_note}{reason}" if unavailable_note else reason
    print(f"landdesk briefing: charts left out: {reason}", file=sys.stderr)
    return [reason]
