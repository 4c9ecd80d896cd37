"""Maps: legend classes (quantiles, natural breaks, a symmetric diverging range), the offline choropleth
figure (no tile server, fitted to the boundaries) and the optional basemap, and the pages' maps on the
sample county (AppTest)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

shapely = pytest.importorskip("shapely")

from analytics import geo  # noqa: E402
from dashboard import maps  # noqa: E402


def test_natural_breaks_find_the_gaps():
    v = [1, 2, 3, 10, 11, 12, 30, 31]
    assert geo.natural_breaks(v, 3) == [1.0, 10.0, 30.0, 31.0]
    assert geo.natural_breaks([5, 5, 5], 4) == [5.0]
    assert geo.quantile_breaks([0, 1, 2, 3, 4], 4) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert list(geo.classify([0, 1.5, 4, np.nan], [0.0, 1.0, 2.0, 3.0, 4.0])) == [0, 1, 3, -1]
    assert geo.diverging_limit([-0.3, 0.1, np.nan]) == pytest.approx(0.3)


def test_legend_classes_by_hand():
    # quantiles of 1..10 in 4 classes: positions 0, 2.25, 4.5, 6.75, 9 of the sorted values, interpolated
    assert geo.quantile_breaks(range(1, 11), 4) == [1.0, 3.25, 5.5, 7.75, 10.0]
    # a value on an edge belongs to the class above it; the last edge closes the last class
    assert list(geo.classify([1, 3.25, 3.3, 7.7, 10], [1.0, 3.25, 5.5, 7.75, 10.0])) == [0, 1, 1, 2, 3]
    # Jenks on 1 2 4 5 9 10: three classes {1,2} {4,5} {9,10} (within-class squared deviations 0.5 each, 1.5 in
    # all); two classes: {1,2,4,5} {9,10} (10 + 0.5 = 10.5, against {1,2} {4,5,9,10}: 0.5 + 26 = 26.5)
    v = [10, 1, 5, 2, 9, 4]
    assert geo.natural_breaks(v, 3) == [1.0, 4.0, 9.0, 10.0]
    assert geo.natural_breaks(v, 2) == [1.0, 9.0, 10.0]
    # a change: the scale is symmetric around 0 at the largest absolute change, so a loss of 3% and a gain of
    # 3% are equally strong, and a gain of 1% sits a sixth of the way from the middle to the end
    lim = geo.diverging_limit([-0.03, 0.01, 0.0])
    assert lim == pytest.approx(0.03) and (0.01 + lim) / (2 * lim) == pytest.approx(0.5 + 1 / 6)


def test_display_tolerance_is_one_pixel_of_the_view():
    boxes = [shapely.box(119.8, 28.3, 120.0, 28.4), shapely.box(120.0, 28.3, 120.3, 28.35)]    # 0.5° wide
    assert geo.display_tolerance(boxes) == pytest.approx(0.5 / geo.DISPLAY_PIXELS)
    assert geo.display_tolerance([None]) == 0.0
    # a wiggly boundary loses the wiggles below a pixel, keeps its area
    ring = shapely.Point(120, 28.4).buffer(0.1, quad_segs=256)
    simple = shapely.from_geojson(geo.simplify([ring])[0])
    assert len(shapely.get_coordinates(simple)) < len(shapely.get_coordinates(ring)) / 4
    assert simple.area == pytest.approx(ring.area, rel=0.01)


def test_per_10k():
    got = geo.per_10k(pd.Series([5, 3, 1]), pd.Series([10_000, 0, None]))
    assert got.iloc[0] == 5 and got.iloc[1:].isna().all()


def _shapes():
    def gj(x):
        return shapely.to_geojson(shapely.box(x, 28.0, x + 0.1, 28.1))
    return pd.DataFrame({"region_code": ["1", "2", "3"], "name": ["城关镇", "东坪镇", "西河镇"],
                         "level": "township", "parent": "0", "population": [100, 200, 300],
                         "geometry": [gj(119.8), gj(119.9), gj(120.0)]})


def test_offline_map_needs_no_base_map_and_greys_missing_values():
    frame = pd.DataFrame({"township": ["城关镇", "东坪镇"], "rate": [0.9, 0.6]})
    fig = maps.figure(_shapes(), frame, "township", "rate", "按期办结率", "按期办结率", percent=True, no_data="无数据")
    meta = fig.layout.meta
    assert meta["names"] == ["城关镇", "东坪镇", "西河镇"] and meta["values"] == [0.9, 0.6, None]
    fills = [tr for tr in fig.data if tr.fill == "toself"]
    assert [tr.name for tr in fills] == meta["names"]
    assert fills[2].fillcolor == maps_colours()["no_data"] and fills[0].fillcolor != fills[1].fillcolor
    assert meta["classes"] == ["60% – 75%", "75% – 90%"]          # two distinct values: two quantile classes
    legend = [tr.name for tr in fig.data if tr.showlegend is not False and tr.fill != "toself"]
    assert legend == ["60% – 75%", "75% – 90%", "无数据"]
    spec = json.dumps(fig.to_plotly_json())
    assert "geo" not in fig.layout.to_plotly_json() and "mapbox" not in spec and "http" not in spec   # no base map


def test_township_labels_are_readable_on_their_class():
    """A label on the darkest class is white, on the lightest and on no-data dark grey (they were all dark grey)."""
    from briefing import maps as bm
    frame = pd.DataFrame({"township": ["城关镇", "东坪镇"], "n": [1.0, 100.0]})
    fig = maps.figure(_shapes(), frame, "township", "n", "t", "n", no_data="无数据")
    fills = {tr.name: tr.fillcolor for tr in fig.data if tr.fill == "toself"}
    labels = [tr for tr in fig.data if tr.mode == "markers+text"][0]
    inks = dict(zip(labels.text, labels.textfont.color))
    assert fills["东坪镇"] == bm.SEQUENTIAL[-1] and inks["东坪镇"] == bm.LIGHT_INK
    assert fills["城关镇"] == bm.SEQUENTIAL[0] and inks["城关镇"] == bm.DARK_INK
    assert inks["西河镇"] == bm.DARK_INK                                      # no data: light grey fill
    assert [bm.ink(c) for c in bm.SEQUENTIAL] == [bm.DARK_INK] * 3 + [bm.LIGHT_INK] * 2
    assert bm.ink("rgb(5, 48, 97)") == bm.LIGHT_INK and bm.ink("rgb(247, 247, 247)") == bm.DARK_INK


def maps_colours():
    from briefing import maps as bm
    return {"no_data": bm.NO_DATA}


def test_diverging_map_is_centred_on_zero():
    frame = pd.DataFrame({"name": ["城关镇", "东坪镇", "西河镇"], "d": [-0.2, 0.2, 0.0]})
    fig = maps.figure(_shapes(), frame, "name", "d", "t", "变化", percent=True, diverging=True)
    bar = [tr for tr in fig.data if tr.marker is not None and tr.marker.showscale][0]
    assert (bar.marker.cmin, bar.marker.cmax) == (pytest.approx(-0.2), pytest.approx(0.2))
    fills = {tr.name: tr.fillcolor for tr in fig.data if tr.fill == "toself"}
    from plotly.colors import sample_colorscale
    assert fills["西河镇"] == sample_colorscale("RdBu", [0.5])[0]            # zero is the scale's middle
    assert fills["城关镇"] == sample_colorscale("RdBu", [0.0])[0]


def test_a_configured_tile_url_adds_a_basemap():
    url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    fig = maps.figure(_shapes(), pd.DataFrame({"name": ["城关镇"], "v": [1.0]}), "name", "v", "t", "v", tiles=url)
    assert fig.data[0].type == "choroplethmap"
    assert fig.layout.map.style["sources"]["base"]["tiles"] == [url]


def test_region_shapes_export_on_the_sample_county(sample_store_url):
    import datetime as dt
    from analytics.exports import run_export
    from analytics.scope import Scope
    from etl.store import make_engine
    engine = make_engine(sample_store_url)
    shapes = run_export(engine, "region-shapes", Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
    assert len(shapes) == 12 and shapes["population"].gt(0).all()
    one = run_export(engine, "region-shapes", Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 31), township="东坪镇"))
    assert list(one["name"]) == ["东坪镇"]
    # simplified for display, but still the same area to within a percent
    full = engine.connect().exec_driver_sql("SELECT geometry FROM regions WHERE name = '东坪镇'").scalar_one()
    a, b = shapely.from_geojson(full), shapely.from_geojson(one["geometry"].iloc[0])
    assert abs(a.area - b.area) < 0.01 * a.area and len(one["geometry"].iloc[0]) <= len(full)
    engine.dispose()


# ---------- the pages ----------

@pytest.fixture
def on_sample(sample_store_url, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sample_store_url)


def _maps(at) -> list:
    import plotly.io as pio
    figs = [pio.from_json(c.proto.spec, skip_invalid=True) for c in at.get("plotly_chart")]
    return [f for f in figs if isinstance(f.layout.meta, dict) and f.layout.meta.get("kind") == "township-map"]


@pytest.mark.parametrize("view, n", [("land_tab_change", 1), ("land_tab_cultivated", 1), ("land_tab_supply", 2)])
def test_landuse_tabs_draw_their_maps(on_sample, view, n):
    from test_pages import open_view, run
    at = run("landuse", open_view("landuse", view))
    assert not at.exception, [e.message for e in at.exception]
    found = _maps(at)
    assert len(found) == n, view
    assert all(len(f.layout.meta["names"]) == 12 for f in found)


def test_the_change_map_shows_the_planted_cultivated_loss(on_sample):
    from test_pages import open_view, run
    at = run("landuse", open_view("landuse", "land_tab_change"))
    fig = _maps(at)[0]
    z = dict(zip(fig.layout.meta["names"], fig.layout.meta["values"]))
    worst = sorted(z, key=z.get)[:2]
    assert set(worst) == {"城关镇", "东坪镇"} and z["城关镇"] < -0.01


def test_the_target_map_shows_the_planted_townships_nearest_their_target(on_sample):
    from test_pages import open_view, run
    at = run("landuse", open_view("landuse", "land_tab_cultivated"))
    fig = _maps(at)[0]
    gap = dict(zip(fig.layout.meta["names"], fig.layout.meta["values"]))
    assert set(sorted(gap, key=gap.get)[:2]) == {"城关镇", "东坪镇"}


def test_petitions_and_efficiency_maps(on_sample, sample_store_url):
    import datetime as dt
    from analytics.exports import run_export
    from analytics.scope import Scope
    from etl.store import make_engine
    from test_pages import run
    at = run("petitions")
    assert not at.exception, [e.message for e in at.exception]
    assert len(_maps(at)) == 1
    at = run("efficiency")
    assert not _maps(at)                          # grouped by case type: no map
    at.button_group(key="eff_by").set_value("township").run()
    assert not at.exception, [e.message for e in at.exception]
    found = {f.layout.title.text: f.layout.meta for f in _maps(at)}
    assert set(found) == {"各乡镇收件量", "各乡镇按期办结率"}
    # the maps show the case-efficiency export's by-township figures for the page's period, township by township
    from test_pages import FROM, TO
    engine = make_engine(sample_store_url)
    want = run_export(engine, "case-efficiency", Scope(dt.date.fromisoformat(FROM), dt.date.fromisoformat(TO)),
                      by="township").set_index("township")
    engine.dispose()
    for title, column in (("各乡镇收件量", "received"), ("各乡镇按期办结率", "on_time_rate")):
        meta = found[title]
        assert len(meta["names"]) == 12
        got = {n: v for n, v in zip(meta["names"], meta["values"]) if v is not None}
        assert got and got == pytest.approx({n: float(want.loc[n, column]) for n in got}), title
    assert meta["classes"] and len(meta["classes"]) <= 5          # the on-time rate's quantile classes
