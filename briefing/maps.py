"""The choropleth figure of a by-township result (plain Plotly, no streamlit): the dashboard's maps
(dashboard/maps.py) and the weekly briefing's map draw the same figure. Offline by default: boundaries on a
plain background, Plotly's geo projection fitted to them; a tile URL (LANDDESK_MAP_TILES) adds a basemap.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.geo import classify, diverging_limit, feature_collection, natural_breaks, quantile_breaks

CJK_FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def layout(fig: go.Figure, title: str, height: int | None = None) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=16)), font_family=CJK_FONT,
                      margin=dict(l=10, r=10, t=56, b=10))
    if height:
        fig.update_layout(height=height)
    return fig


#: sequential classes (light → dark) and the diverging scale for changes (loss red, gain blue)
SEQUENTIAL = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
DIVERGING = "RdBu"
NO_DATA = "#e8e8e8"


DARK_INK, LIGHT_INK = "#333333", "#ffffff"


def ink(fill: str) -> str:
    """The label colour readable on `fill` ("#rrggbb" or "rgb(r, g, b)"): white on a dark class, dark grey on a
    light one (WCAG relative luminance below 0.3 counts as dark)."""
    text = fill.strip()
    if text.startswith("#") and len(text) == 7:
        rgb = [int(text[i:i + 2], 16) for i in (1, 3, 5)]
    elif text.startswith("rgb"):
        rgb = [float(x) for x in text[text.index("(") + 1:text.index(")")].split(",")[:3]]
    else:
        return DARK_INK
    lin = [(c / 255) / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return LIGHT_INK if 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] < 0.3 else DARK_INK


def _fmt(value: float, percent: bool) -> str:
    if not np.isfinite(value):
        return "—"
    if percent:
        return f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _outline_xy(geometry_json: dict) -> tuple[list, list]:
    """The exterior rings of a (multi)polygon as one x/y path, parts separated by None (Plotly's fill paths)."""
    import shapely
    xs, ys = [], []
    for part in shapely.get_parts(shapely.from_geojson(json.dumps(geometry_json))):
        if part.geom_type != "Polygon":
            continue
        x, y = part.exterior.xy
        xs += list(x) + [None]
        ys += list(y) + [None]
    return xs, ys


def choropleth(shapes: pd.DataFrame, frame: pd.DataFrame, key: str, value: str, title: str, value_title: str, *,
               percent: bool = False, diverging: bool = False, classes: str = "quantile", k: int = 5,
               tiles: str | None = None, height: int = 460, no_data: str = "no data") -> go.Figure:
    """A choropleth of `frame[value]` by `frame[key]` (township names) over the `shapes` (region-shapes export).

    Drawn as filled outlines on plain axes in longitude/latitude (equirectangular, scaled by cos latitude), so
    it needs no base map, no topojson and no network, in the browser and in the briefing's PNG alike; with a
    tile URL it is a MapLibre choropleth over that basemap instead. Classes: quantiles (default) or natural
    breaks, at most k, in the legend; `diverging` colours a change on a red–blue scale centred on 0.
    Townships without a value are grey. layout.meta holds the names, values and classes drawn."""
    from plotly.colors import sample_colorscale
    gj = feature_collection(shapes, "name")
    names = [f["id"] for f in gj["features"]]
    vals = (pd.to_numeric(frame.set_index(key)[value], errors="coerce").groupby(level=0).first()
            if len(frame) else pd.Series(dtype=float))
    v = np.array([vals.get(n, np.nan) for n in names], dtype=float)
    text = [_fmt(x, percent) if np.isfinite(x) else no_data for x in v]
    finite = np.isfinite(v)
    k = min(k, len(np.unique(v[finite]))) if finite.any() else k
    legend: list[tuple[str, str]] = []
    if diverging:
        lim = diverging_limit(v)
        pos = np.clip((np.where(finite, v, 0) + lim) / (2 * lim), 0, 1)
        colours = [c if ok else NO_DATA for c, ok in zip(sample_colorscale(DIVERGING, list(pos)), finite)]
        labels = []
    else:
        edges = natural_breaks(v, k) if classes == "natural" else quantile_breaks(v, k)
        n = max(1, len(edges) - 1)
        palette = [SEQUENTIAL[int(round(i))] for i in np.linspace(0, len(SEQUENTIAL) - 1, n)] if n > 1 \
            else [SEQUENTIAL[2]]
        cls = classify(v, edges)
        colours = [palette[c] if c >= 0 else NO_DATA for c in cls]
        labels = [f"{_fmt(edges[i], percent)} – {_fmt(edges[i + 1], percent)}" for i in range(len(edges) - 1)] \
            or ([_fmt(float(np.nanmax(v)), percent)] if finite.any() else [])
        legend = list(zip(labels, palette))
    if not finite.all():
        legend.append((no_data, NO_DATA))
    meta = {"kind": "township-map", "names": names, "values": [None if not ok else float(x) for x, ok in zip(v, finite)],
            "classes": labels}
    if tiles:
        fig = _tile_map(gj, names, v, text, value_title, tiles, diverging, colours)
    else:
        fig = go.Figure()
        for feat, colour in zip(gj["features"], colours):
            xs, ys = _outline_xy(feat["geometry"])
            fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", fillcolor=colour, mode="lines", name=feat["id"],
                                     line=dict(color="#ffffff", width=1.2), hoverinfo="skip", showlegend=False))
        import shapely
        centres = [shapely.from_geojson(json.dumps(f["geometry"])).representative_point() for f in gj["features"]]
        fig.add_trace(go.Scatter(x=[c.x for c in centres], y=[c.y for c in centres], mode="markers+text",
                                 text=names, textfont=dict(size=11, color=[ink(c) for c in colours]),
                                 customdata=text,
                                 marker=dict(size=8, color="rgba(0,0,0,0.15)"), showlegend=False,
                                 hovertemplate=f"%{{text}}<br>{value_title}: %{{customdata}}<extra></extra>"))
        for label, colour in legend:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, hoverinfo="skip",
                                     marker=dict(size=14, symbol="square", color=colour)))
        if diverging:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                                     marker=dict(colorscale=DIVERGING, cmin=-lim, cmax=lim, color=[0], showscale=True,
                                                 colorbar=dict(title=value_title,
                                                               tickformat=".0%" if percent else None))))
        lat = float(np.mean([c.y for c in centres])) if centres else 30.0
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / np.cos(np.radians(lat)))
        fig.update_layout(plot_bgcolor="rgba(0,0,0,0)", legend=dict(title=dict(text=value_title)),
                          clickmode="event+select", dragmode=False)
    fig.update_layout(font_family=CJK_FONT, meta=meta)
    return layout(fig, title, height)


def _tile_map(gj, names, v, text, value_title, tiles, diverging, colours) -> go.Figure:
    """The choropleth over an XYZ raster basemap (MapLibre: no Mapbox token, no topojson)."""
    z = list(range(len(names)))
    scale = [[i / max(1, len(colours) - 1), c] for i, c in enumerate(colours)] if len(colours) > 1 \
        else [[0, colours[0] if colours else NO_DATA], [1, colours[0] if colours else NO_DATA]]
    fig = go.Figure(go.Choroplethmap(geojson=gj, locations=names, featureidkey="id", z=z, colorscale=scale,
                                     showscale=False, text=text, marker_opacity=0.75,
                                     hovertemplate=f"%{{location}}<br>{value_title}: %{{text}}<extra></extra>"))
    lon, lat = _centre(gj)
    fig.update_layout(map=dict(style={"version": 8, "sources": {"base": {"type": "raster", "tiles": [tiles],
                                                                         "tileSize": 256}},
                                      "layers": [{"id": "base", "type": "raster", "source": "base"}]},
                               center=dict(lon=lon, lat=lat), zoom=8.5))
    return fig


def _centre(gj: dict) -> tuple[float, float]:
    import shapely
    geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in gj["features"]]
    if not geoms:
        return 120.0, 30.0
    c = shapely.union_all(geoms).centroid
    return c.x, c.y


