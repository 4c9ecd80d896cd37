"""Shared chart builders: Plotly figures from aggregated export frames (no streamlit import).

Every builder takes the already-translated title and axis titles, so the pages and the weekly
briefing can both use them; `layout` sets the CJK font, margins and the title on each figure.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from landdesk.chartlocale import localize as _localize
from landdesk.fmt import chart_text as label_text

CJK_FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
HEAT = "YlOrRd"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"]


def layout(fig: go.Figure, title: str, height: int | None = None, hovermode: str | bool = "closest") -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=16)), font_family=CJK_FONT,
                      margin=dict(l=10, r=10, t=56, b=10), legend_title_text="", hovermode=hovermode)
    if height:
        fig.update_layout(height=height)
    return fig


def _number_format(values: pd.Series) -> str:
    """Whole numbers with separators from 1,000 up (Plotly's ~g would print 8.157e+4), else 4 significant digits."""
    largest = pd.to_numeric(values, errors="coerce").abs().max()
    return ",.0f" if pd.notna(largest) and largest >= 1000 else ",.4~g"


def bar(df: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str, *, horizontal: bool = False,
        percent: bool = False, color: str | None = None, text: bool = True, height: int | None = None,
        hover_name: str | None = None) -> go.Figure:
    """One bar per row; `percent` formats a 0–1 value axis as %. Selection events return `x`/`y` points."""
    values = df[y]
    fmt = ".1%" if percent else _number_format(values)
    cats = label_text(df[x])
    kw = dict(x=values, y=cats, orientation="h") if horizontal else dict(x=cats, y=values)
    fig = go.Figure(go.Bar(**kw, marker_color=color or PALETTE[0], name=hover_name or y_title,
                           text=values if text else None, texttemplate=f"%{{{'x' if horizontal else 'y'}:{fmt}}}",
                           textposition="auto",
                           hovertemplate=(f"%{{y}}<br>{y_title}: %{{x:{fmt}}}<extra></extra>" if horizontal else
                                          f"%{{x}}<br>{y_title}: %{{y:{fmt}}}<extra></extra>")))
    value_axis = dict(title=y_title, tickformat=".0%" if percent else None)
    if horizontal:
        fig.update_xaxes(**value_axis)
        fig.update_yaxes(title=x_title, autorange="reversed", type="category")
    else:
        fig.update_yaxes(**value_axis)
        fig.update_xaxes(title=x_title, type="category")
    return layout(fig, title, height)


def grouped_bars(df: pd.DataFrame, x: str, series: dict[str, str], title: str, x_title: str, y_title: str, *,
                 percent: bool = False, barmode: str = "group", height: int | None = None,
                 target: float | None = None, target_label: str = "") -> go.Figure:
    """Several value columns (`series`: column -> legend label) side by side (or stacked) per `x`."""
    fig = go.Figure()
    fmt = ".1%" if percent else _number_format(df[list(series)].stack())
    for i, (col, label) in enumerate(series.items()):
        fig.add_bar(x=label_text(df[x]), y=df[col], name=label, marker_color=PALETTE[i % len(PALETTE)],
                    hovertemplate=f"%{{x}}<br>{label}: %{{y:{fmt}}}<extra></extra>")
    if target is not None and not (isinstance(target, float) and math.isnan(target)):
        fig.add_hline(y=target, line_dash="dash", line_color="#d62728",
                      annotation_text=target_label, annotation_position="top left")
    fig.update_layout(barmode=barmode)
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else None)
    return layout(fig, title, height)


def lines(df: pd.DataFrame, x: str, series: dict[str, str], title: str, x_title: str, y_title: str, *,
          percent: bool = False, height: int | None = None) -> go.Figure:
    fig = go.Figure()
    for i, (col, label) in enumerate(series.items()):
        fig.add_scatter(x=label_text(df[x]), y=df[col], name=label, mode="lines+markers",
                        line_color=PALETTE[i % len(PALETTE)])
    fig.update_xaxes(title=x_title, type="category" if df[x].dtype == object and isinstance(
        next(iter(df[x]), None), str) else None)
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else None, rangemode="tozero")
    return layout(fig, title, height, hovermode="x unified")


def long_lines(df: pd.DataFrame, x: str, y: str, group: str, title: str, x_title: str, y_title: str, *,
               height: int | None = None, stacked: bool = False) -> go.Figure:
    """One line (or stacked area) per value of `group` in a long frame."""
    fig = go.Figure()
    for i, (name, part) in enumerate(df.groupby(group, sort=True)):
        fig.add_scatter(x=part[x], y=part[y], name=label_text(str(name)), mode="lines",
                        line_color=PALETTE[i % len(PALETTE)], stackgroup="one" if stacked else None)
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, rangemode="tozero")
    return layout(fig, title, height, hovermode="x unified")


def box(stats: pd.DataFrame, group: str, title: str, x_title: str, y_title: str,
        height: int | None = None) -> go.Figure:
    """A box plot drawn from precomputed quartiles (analytics.efficiency.box_stats), one box per group."""
    fig = go.Figure(go.Box(x=label_text(stats[group].astype(str)), q1=stats["q1"], median=stats["median"], q3=stats["q3"],
                           lowerfence=stats["lower_fence"], upperfence=stats["upper_fence"], mean=stats["mean"],
                           boxpoints=False, marker_color=PALETTE[0], name=y_title))
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title=y_title, rangemode="tozero")
    return layout(fig, title, height)


def heatmap(df: pd.DataFrame, x: str, y: str, z: str, title: str, x_title: str, y_title: str, z_title: str,
            height: int | None = None) -> go.Figure:
    grid = df.pivot_table(index=y, columns=x, values=z, aggfunc="first").sort_index(axis=1)
    fig = go.Figure(go.Heatmap(z=grid.values, x=label_text([str(c) for c in grid.columns]),
                               y=label_text([str(i) for i in grid.index]),
                               colorscale=HEAT, colorbar=dict(title=z_title), hoverongaps=False,
                               hovertemplate=f"%{{y}} · %{{x}}<br>{z_title}: %{{z:.1f}}<extra></extra>"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, type="category")
    return layout(fig, title, height or max(300, 60 + 28 * len(grid.index)))


def sankey(df: pd.DataFrame, source: str, target: str, value: str, title: str, value_label: str,
           height: int = 520, suffix_source: str = "", suffix_target: str = "") -> go.Figure:
    """Flows from `source` to `target` (e.g. a land-use transfer matrix: from-class → to-class, area)."""
    left = [f"{s}{suffix_source}" for s in df[source]]
    right = [f"{t}{suffix_target}" for t in df[target]]
    labels = list(dict.fromkeys(left + right))
    idx = {n: i for i, n in enumerate(labels)}
    fig = go.Figure(go.Sankey(
        node=dict(label=label_text(labels), pad=12, thickness=14, color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))]),
        link=dict(source=[idx[s] for s in left], target=[idx[t] for t in right], value=df[value],
                  hovertemplate=f"%{{source.label}} → %{{target.label}}<br>{value_label}: "
                                f"%{{value:,.2f}}<extra></extra>")))
    return layout(fig, title, height)


def dotted(points: pd.DataFrame, title: str, x_title: str, y_title: str, height: int | None = None) -> go.Figure:
    """Dotted chart: one WebGL dot per event at (completion time, case rank), one colour per stage (hover: case)."""
    fig = go.Figure()
    for i, (stage, part) in enumerate(points.groupby("stage", sort=True)):
        fig.add_trace(go.Scattergl(x=part["completed_at"], y=part["case_rank"], mode="markers", name=str(stage),
                                   marker=dict(size=5, color=PALETTE[i % len(PALETTE)]),
                                   customdata=part[["case_id"]].astype(str).to_numpy(),
                                   hovertemplate="%{customdata[0]} · %{x}<br>" + str(stage) + "<extra></extra>"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, autorange="reversed")
    return layout(fig, title, height or 480)


#: Performance-spectrum duration classes, fastest to slowest.
SPECTRUM_COLORS = {"q1": "#2ca02c", "q2": "#bcbd22", "q3": "#ff7f0e", "q4": "#d62728"}


def spectrum(segments: pd.DataFrame, source: str, target: str, labels: dict[str, str], title: str,
             x_title: str, height: int | None = None) -> go.Figure:
    """Performance spectrum of one edge: a WebGL line per occurrence from the source's time (top) to the target's
    (bottom), coloured by duration class (`labels`: class → legend text)."""
    fig = go.Figure()
    for cls, color in SPECTRUM_COLORS.items():
        part = segments[segments["duration_class"] == cls]
        if part.empty:
            continue
        n = len(part)
        x = np.empty(3 * n, dtype=object)
        x[0::3], x[1::3], x[2::3] = part["source_time"].to_numpy(), part["target_time"].to_numpy(), None
        y = np.tile(np.array([1.0, 0.0, np.nan]), n)
        fig.add_trace(go.Scattergl(x=x, y=y, mode="lines", name=labels.get(cls, cls),
                                   line=dict(color=color, width=1), hoverinfo="skip"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(tickvals=[1, 0], ticktext=[source, target], range=[-0.1, 1.1])
    return layout(fig, title, height or 360)


def forecast(history: pd.DataFrame, fc: pd.DataFrame, title: str, x_title: str, y_title: str, labels: dict,
             x: str = "ds", y: str = "y", lower: str = "yhat_lower_80", upper: str = "yhat_upper_80",
             height: int | None = None) -> go.Figure:
    """Actuals, then the forecast with its interval as a shaded band."""
    fig = go.Figure()
    fig.add_scatter(x=list(fc[x]) + list(fc[x])[::-1], y=list(fc[upper]) + list(fc[lower])[::-1],
                    fill="toself", fillcolor="rgba(255,127,14,0.2)", line=dict(width=0), name=labels["band"],
                    mode="lines",
                    hoverinfo="skip")
    fig.add_scatter(x=history[x], y=history[y], name=labels["actual"], mode="lines+markers", line_color=PALETTE[0])
    fig.add_scatter(x=fc[x], y=fc["yhat"], name=labels["forecast"], mode="lines+markers",
                    line=dict(color=PALETTE[1], dash="dash"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, rangemode="tozero")
    return layout(fig, title, height, hovermode="x unified")


def target_series(series: pd.DataFrame, x: str, y: str, target: float | None, title: str, x_title: str,
                  y_title: str, labels: dict, slope: float | None = None, until: int | None = None,
                  height: int | None = None) -> go.Figure:
    """A yearly series against a flat target, with the linear trend extended to `until` (the projection)."""
    fig = go.Figure()
    fig.add_scatter(x=series[x], y=series[y], name=labels["actual"], mode="lines+markers", line_color=PALETTE[2])
    if slope is not None and not (isinstance(slope, float) and math.isnan(slope)) and len(series):
        x0, y0 = int(series[x].iloc[-1]), float(series[y].iloc[-1])
        x1 = max(until or x0 + 5, x0 + 1)
        fig.add_scatter(x=[x0, x1], y=[y0, y0 + slope * (x1 - x0)], name=labels["projection"], mode="lines",
                        line=dict(color=PALETTE[2], dash="dot"))
    if target is not None and not (isinstance(target, float) and math.isnan(target)):
        fig.add_hline(y=target, line_dash="dash", line_color="#d62728", annotation_text=labels["target"],
                      annotation_position="bottom right")
    fig.update_xaxes(title=x_title, dtick=1)
    fig.update_yaxes(title=y_title)
    return layout(fig, title, height, hovermode="x unified")


def stacked_share(df: pd.DataFrame, x: str, group: str, value: str, title: str, x_title: str, y_title: str,
                  height: int | None = None, horizontal: bool = True) -> go.Figure:
    """Composition: one stacked bar per `x` split by `group`."""
    fig = go.Figure()
    for i, (name, part) in enumerate(df.groupby(group, sort=False)):
        cats = label_text(part[x].astype(str))
        kw = dict(x=part[value], y=cats, orientation="h") if horizontal else dict(x=cats, y=part[value])
        fig.add_bar(**kw, name=label_text(str(name)), marker_color=PALETTE[i % len(PALETTE)],
                    hovertemplate=f"%{{fullData.name}}<br>%{{{'y' if horizontal else 'x'}}}: "
                                  f"%{{{'x' if horizontal else 'y'}:,.1f}}<extra></extra>")
    fig.update_layout(barmode="stack")
    if horizontal:
        fig.update_xaxes(title=y_title)
        fig.update_yaxes(title=x_title, type="category", autorange="reversed")
    else:
        fig.update_xaxes(title=x_title, type="category")
        fig.update_yaxes(title=y_title)
    return layout(fig, title, height)


def localize(fig: go.Figure, lang: str) -> go.Figure:
    """The figure in `lang` (landdesk.chartlocale.localize: the rules the briefing's charts follow too)."""
    return _localize(fig, lang)


__all__ = ["CJK_FONT", "localize", "bar", "box", "box_stats", "forecast", "grouped_bars", "heatmap", "layout", "lines",
           "long_lines", "sankey", "stacked_share", "target_series"]
