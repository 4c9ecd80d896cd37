"""Maps on the pages: township choropleths for any by-township result (the figure: briefing.maps.choropleth,
offline by default, over a basemap when LANDDESK_MAP_TILES names a tile server). `township_map` is the one
line a page calls: it reads the boundaries, draws the map with its legend classes and, on a click, narrows
the filter bar to the township (drill-down); the functions after it are each page's maps.
"""
from __future__ import annotations

import pandas as pd

from briefing.maps import choropleth as figure  # noqa: F401 - the figure builder, shared with the briefing


def township_map(page, frame: pd.DataFrame, key: str, value: str, title: str, value_title: str, caption: str,
                 chart_key: str, **kw) -> bool:
    """Draw the by-township map of `frame` on a page (nothing when the store holds no township boundaries);
    a click on a township sets the filter bar's township. Returns whether a map was drawn."""
    import streamlit as st
    from dashboard.ui import tr
    from landdesk.settings import settings

    if page.scope.township:                          # one township chosen: a map of one area says nothing
        return False
    shapes = page.export("region-shapes")
    if shapes.empty or shapes["geometry"].isna().all():
        return False
    fig = figure(shapes, frame, key, value, title, value_title, tiles=settings().map_tiles,
                 no_data=tr("map_no_data"), **kw)
    names = fig.layout.meta["names"]
    centres = len(names)            # the trace of township labels, after one outline trace per township

    def drill() -> None:
        event = st.session_state.get(chart_key)
        try:
            points = event["selection"]["points"]
        except (TypeError, KeyError):
            return
        picked = [names[p["point_index"]] for p in points
                  if p.get("curve_number") == centres and 0 <= p.get("point_index", -1) < len(names)]
        if picked and "township" in st.session_state:
            st.session_state["township"] = picked[0]

    st.plotly_chart(fig, width="stretch", config={"displaylogo": False}, key=chart_key, on_select=drill,
                    selection_mode=("points",))
    st.caption(caption + " " + tr("map_click_hint"))
    return True


# ---------- the pages' maps: one call each ----------

def _tr(key: str, **fmt) -> str:
    from dashboard.ui import tr
    return tr(key, **fmt)


def cultivated_change_map(page, lscope) -> bool:
    """土地利用变化图: the change of cultivated land (01) per township between the two years, % of the first
    year's area, on a diverging scale (loss red, gain blue)."""
    change = page.export("land-change", by="township", scope=lscope)
    change = change[change["category_code"] == "01"]
    if change.empty:
        return False
    a, b = int(change["year_a"].iloc[0]), int(change["year_b"].iloc[0])
    return township_map(page, change.assign(change=change["change_pct"] / 100), "region_name", "change",
                        _tr("map_cultivated_change", a=a, b=b), _tr("col_change_pct"),
                        _tr("map_cultivated_change_help"), "map_land_change", percent=True, diverging=True)


def cultivated_target_map(page, target: pd.DataFrame) -> bool:
    """Cultivated land against its target per township: the gap as % of the target (below red, above blue)."""
    towns = target[target["level"] == "township"]
    if towns.empty:
        return False
    return township_map(page, towns.assign(gap=towns["gap_pct"] / 100), "region_name", "gap",
                        _tr("map_cultivated_target"), _tr("col_gap_pct"), _tr("map_cultivated_target_help"),
                        "map_land_target", percent=True, diverging=True)


def area_map(page, frame: pd.DataFrame, title_key: str, value_title: str, chart_key: str, factor: float = 1.0,
             **fmt) -> bool:
    """Area per township (批而未供, idle land …): rows summed per region_name, in the page's area unit."""
    if frame.empty:
        return False
    per = frame.groupby("region_name", as_index=False)["area_ha"].sum()
    return township_map(page, per.assign(area=per["area_ha"] * factor), "region_name", "area", _tr(title_key, **fmt),
                        value_title, _tr("map_area_help"), chart_key, classes="natural")


def cases_map(page, groups: pd.DataFrame) -> bool:
    """Cases received (收件量) per township, in natural-break classes (volumes are skewed: the county seat)."""
    if "township" not in groups or groups.empty:
        return False
    return township_map(page, groups, "township", "received", _tr("map_cases"), _tr("col_received"),
                        _tr("map_cases_help"), "map_cases", classes="natural")


def on_time_map(page, groups: pd.DataFrame) -> bool:
    """On-time rate (按期办结率) per township, in quantile classes."""
    if "township" not in groups or groups.empty:
        return False
    return township_map(page, groups, "township", "on_time_rate", _tr("map_on_time"), _tr("kpi_on_time_rate"),
                        _tr("map_on_time_help"), "map_on_time", percent=True)


def petitions_map(page) -> bool:
    """Petitions received per 10,000 residents per township (population from the regions dataset)."""
    from analytics.geo import per_10k
    if page.scope.township:
        return False
    counts = page.export("petitions", by="township")
    shapes = page.export("region-shapes")
    if counts.empty or shapes.empty:
        return False
    pop = shapes.set_index("name")["population"]
    rate = counts.assign(rate=per_10k(counts["received"], counts["township"].map(pop)).to_numpy())
    return township_map(page, rate, "township", "rate", _tr("map_petitions"), _tr("map_petitions_unit"),
                        _tr("map_petitions_help"), "map_petitions", classes="natural")
