"""Geometry: CRSs against known coordinates, regions and parcels loaded from GeoJSON / GeoPackage /
Shapefile through mappings (reprojected to EPSG:4490), bad vector input, and a hand-made 2×2 overlay."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import select

pyogrio = pytest.importorskip("pyogrio")
shapely = pytest.importorskip("shapely")
from pyproj import Transformer  # noqa: E402

from analytics import transfer as tr  # noqa: E402
from etl import schema as S  # noqa: E402
from etl import spatial  # noqa: E402
from etl.load import LoadError, load_mapping  # noqa: E402


# ---------- CRS against known coordinates ----------

def test_gauss_kruger_known_coordinates_and_round_trip():
    # CGCS2000 / 3-degree Gauss-Kruger zone 40 (CM 120E, zone number before the easting): a point on the
    # central meridian has easting 40 500000 and northing = the GRS80 meridian arc (30°: 3 320 113.398 m)
    fwd = Transformer.from_crs("EPSG:4490", "EPSG:4528", always_xy=True)
    x, y = fwd.transform(120.0, 30.0)
    assert x == pytest.approx(40_500_000.0, abs=1e-3) and y == pytest.approx(3_320_113.398, abs=0.01)
    # the same zone without the zone number (EPSG:4549), and the equator on the central meridian
    x0, y0 = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True).transform(120.0, 0.0)
    assert (x0, y0) == (pytest.approx(500_000.0, abs=1e-6), pytest.approx(0.0, abs=1e-6))
    back = Transformer.from_crs("EPSG:4528", "EPSG:4490", always_xy=True)
    lon, lat = back.transform(*fwd.transform(119.92, 28.45))
    assert (lon, lat) == (pytest.approx(119.92, abs=1e-9), pytest.approx(28.45, abs=1e-9))
    # WGS84 and CGCS2000 agree to well under a metre (PROJ applies no shift between them)
    lon2, lat2 = Transformer.from_crs("EPSG:4326", "EPSG:4490", always_xy=True).transform(119.92, 28.45)
    assert abs(lon2 - 119.92) < 1e-5 and abs(lat2 - 28.45) < 1e-5


# ---------- loading vector files through mappings ----------

def _square(x0, y0, w, h):
    return shapely.box(x0, y0, x0 + w, y0 + h)


def _write(path: Path, geoms, fields: dict, driver: str, crs: str | None) -> None:
    wkb = np.array([shapely.to_wkb(g) for g in geoms], dtype=object)
    names = list(fields)
    data = [np.asarray(fields[n], dtype=object) for n in names]
    import warnings
    with warnings.catch_warnings():        # a file without a CRS is what some tests want
        warnings.simplefilter("ignore", UserWarning)
        pyogrio.raw.write(str(path), wkb, data, names, driver=driver, crs=crs, geometry_type="Unknown")


def _mapping(tmp: Path, name: str, doc: dict) -> Path:
    p = tmp / name
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def _gk_parcels(tmp: Path, driver: str, suffix: str, crs: str | None):
    """Two 100 m × 100 m parcels (1 ha each) near 119.92E 28.45N, drawn in EPSG:4549 metres."""
    fwd = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
    x, y = fwd.transform(119.92, 28.45)
    path = tmp / f"dltb{suffix}"
    _write(path, [_square(x, y, 100, 100), _square(x + 100, y, 100, 100)],
           {"BSM": ["P1", "P2"], "ND": ["2024", "2024"], "DLBM": ["0101", "0702"], "TBMJ": ["10000", "10000"],
            "QSDW": ["331199002", "331199002"]}, driver, crs)
    return path, (x, y)


PARCEL_COLUMNS = {"parcel_id": "BSM", "year": "ND", "category_code": "DLBM", "area_ha": "TBMJ", "region_code": "QSDW"}


@pytest.mark.parametrize("fmt, driver, suffix", [("gpkg", "GPKG", ".gpkg"), ("shp", "ESRI Shapefile", ".shp")])
def test_parcels_from_gauss_kruger_file_are_stored_in_cgcs2000(engine, tmp_path, fmt, driver, suffix):
    path, _ = _gk_parcels(tmp_path, driver, suffix, "EPSG:4549")
    m = _mapping(tmp_path, "p.yaml", {"dataset": "land_parcels", "source": {"path": path.name, "format": fmt},
                                      "columns": PARCEL_COLUMNS, "multiply": {"area_ha": 0.0001}})
    res = load_mapping(engine, m)
    assert (res.status, res.rows_loaded, res.rows_rejected) == ("loaded", 2, 0)
    with engine.connect() as conn:
        rows = spatial.read(conn, S.land_parcels).to_dict("records")
    assert [r["category_code"] for r in rows] == ["0101", "0702"]
    assert [r["area_ha"] for r in rows] == [pytest.approx(1.0), pytest.approx(1.0)]
    g = shapely.from_geojson(rows[0]["geometry"])
    corners = np.asarray(g.exterior.coords)
    # the drawn square's south-west corner is back at 119.92E 28.45N (to ~1 mm)
    assert np.hypot(corners[:, 0] - 119.92, corners[:, 1] - 28.45).min() < 1e-8
    # the area of the reprojected square is its 1 ha (Gauss-Krüger scale error near the CM ~1e-6)
    assert tr.equal_area([g])[0] == pytest.approx(10_000, rel=1e-3)


def test_shapefile_without_crs_needs_source_crs(engine, tmp_path):
    path, _ = _gk_parcels(tmp_path, "ESRI Shapefile", ".shp", None)
    doc = {"dataset": "land_parcels", "source": {"path": path.name, "format": "shp"}, "columns": PARCEL_COLUMNS}
    with pytest.raises(LoadError, match="no coordinate reference system.*source.crs"):
        load_mapping(engine, _mapping(tmp_path, "p.yaml", doc))
    doc["source"]["crs"] = "EPSG:4549"
    assert load_mapping(engine, _mapping(tmp_path, "p2.yaml", doc)).rows_loaded == 2


def test_projected_coordinates_declared_geographic_are_rejected(engine, tmp_path):
    path, _ = _gk_parcels(tmp_path, "ESRI Shapefile", ".shp", None)
    doc = {"dataset": "land_parcels", "source": {"path": path.name, "format": "shp", "crs": "EPSG:4490"},
           "columns": PARCEL_COLUMNS}
    with pytest.raises(LoadError, match="2 rows read, none kept.*outside longitude/latitude.*source.crs"):
        load_mapping(engine, _mapping(tmp_path, "p.yaml", doc))


def test_unknown_crs_is_one_sentence(tmp_path):
    from etl.mapping import read_mapping
    from landdesk.errors import LandDeskError
    m = _mapping(tmp_path, "p.yaml", {"dataset": "land_parcels", "columns": PARCEL_COLUMNS,
                                      "source": {"path": "x.gpkg", "crs": "EPSG:999999"}})
    with pytest.raises(LandDeskError, match="unknown coordinate reference system"):
        read_mapping(m)


def test_regions_from_geojson_with_levels_and_population(engine, tmp_path):
    path = tmp_path / "regions.geojson"
    _write(path, [_square(119.8, 28.3, 0.3, 0.3), _square(119.8, 28.3, 0.15, 0.3), _square(119.95, 28.3, 0.15, 0.3)],
           {"代码": ["331199", "331199001", "331199002"], "名称": ["青山县", "城关镇", "东坪镇"],
            "级别": ["县", "乡镇", "乡镇"], "上级": [None, "331199", "331199"], "人口": ["100", "60", "40"]},
           "GeoJSON", "EPSG:4490")
    m = _mapping(tmp_path, "r.yaml", {"dataset": "regions", "source": {"path": path.name},
                                      "columns": {"region_code": "代码", "name": "名称", "level": "级别",
                                                  "parent": "上级", "population": "人口"},
                                      "values": {"level": {"县": "county", "乡镇": "township"}}})
    assert load_mapping(engine, m).rows_loaded == 3
    with engine.connect() as conn:
        got = {r.region_code: (r.level, r.parent, r.population, json.loads(r.geometry)["type"])
               for r in spatial.read(conn, S.regions).itertuples()}
    assert got == {"331199": ("county", None, 100, "Polygon"), "331199001": ("township", "331199", 60, "Polygon"),
                   "331199002": ("township", "331199", 40, "Polygon")}


def test_csv_parcels_with_wkt_geometry(engine, tmp_path):
    (tmp_path / "p.csv").write_text("id,yr,code,ha,wkt\nA,2024,01,1.5,\"POLYGON ((120 28, 120.01 28, 120.01 28.01, 120 28))\"\n"
                                    "B,2024,07,2,not a geometry\n", encoding="utf-8")
    m = _mapping(tmp_path, "p.yaml", {"dataset": "land_parcels", "source": {"path": "p.csv"}, "reject_threshold": 0.5,
                                      "columns": {"parcel_id": "id", "year": "yr", "category_code": "code",
                                                  "area_ha": "ha", "geometry": "wkt"}})
    res = load_mapping(engine, m)
    assert (res.rows_loaded, res.rows_rejected) == (1, 1)


# ---------- the transfer matrix ----------

def _parcels(rows):
    return pd.DataFrame(rows, columns=["parcel_id", "category_code", "area_ha", "geometry"])


def test_hand_made_2x2_overlay():
    """Year a: a 2×2 grid of 1°/2 cells (west column 耕地 01, east column 林地 03), 10 ha each (40 ha).
    Year b, new ids: the west half of the west column became 住宅 07 — a strip of a quarter of the square —
    and the rest is split into a north part 01 and a south part 03 along the row line.
    By hand: each west cell gives half to 07 (5 + 5 = 10 ha 01→07); the west cells' east halves stay
    01 in the north (5 ha 01→01) and become 03 in the south (5 ha 01→03); the east column's north cell
    becomes 01 (10 ha 03→01) and its south cell stays 03 (10 ha 03→03)."""
    a = _parcels([("a1", "01", 10.0, _square(0, 0.5, 0.5, 0.5)), ("a2", "03", 10.0, _square(0.5, 0.5, 0.5, 0.5)),
                  ("a3", "01", 10.0, _square(0, 0, 0.5, 0.5)), ("a4", "03", 10.0, _square(0.5, 0, 0.5, 0.5))])
    b = _parcels([("b1", "07", 9.0, _square(0, 0, 0.25, 1)), ("b2", "01", 11.0, _square(0.25, 0.5, 0.75, 0.5)),
                  ("b3", "03", 12.0, _square(0.25, 0, 0.75, 0.5))])
    m = tr.transfer(a, b)
    got = {(r.from_code, r.to_code): round(r.area_ha, 9) for r in m.itertuples()}
    assert got == {("01", "07"): 10.0, ("01", "01"): 5.0, ("01", "03"): 5.0, ("03", "01"): 10.0, ("03", "03"): 10.0}
    assert m["area_ha"].sum() == pytest.approx(a["area_ha"].sum())
    assert dict(zip(zip(m.from_code, m.to_code), m.parcels))[("01", "07")] == 2


def test_persisting_ids_join_and_the_rest_overlay():
    a = _parcels([("p1", "01", 4.0, _square(0, 0, 1, 1)), ("p2", "0101", 6.0, _square(1, 0, 1, 1))])
    b = _parcels([("p1", "07", 4.0, None), ("q9", "01", 6.0, _square(1, 0, 1, 1))])
    m = tr.transfer(a, b)
    assert {(r.from_code, r.to_code): r.area_ha for r in m.itertuples()} == {("01", "07"): 4.0, ("01", "01"): 6.0}


# ---------- the sample county ----------

@pytest.fixture(scope="module")
def sample(sample_store_url):
    from etl.store import make_engine
    engine = make_engine(sample_store_url)
    yield engine
    engine.dispose()


def test_sample_townships_tile_the_county(sample):
    with sample.connect() as conn:
        rows = conn.execute(select(S.regions.c.level, S.regions.c.name, S.regions.c.population,
                                   S.regions.c.geometry)).all()
    county = [shapely.from_geojson(r.geometry) for r in rows if r.level == "county"]
    towns = [shapely.from_geojson(r.geometry) for r in rows if r.level == "township"]
    assert len(county) == 1 and len(towns) == 12 and all(r.population > 0 for r in rows)
    union = shapely.union_all(towns)
    # the townships cover the county and do not overlap (up to the 1e-7° rounding of the file)
    assert shapely.symmetric_difference(union, county[0]).area < 1e-6 * county[0].area
    assert sum(t.area for t in towns) == pytest.approx(county[0].area, rel=1e-6)
    lon, lat = county[0].centroid.x, county[0].centroid.y
    assert 119 < lon < 121 and 27.5 < lat < 29.5      # southern Zhejiang, in CGCS2000 degrees


def test_sample_parcels_agree_with_the_land_use_table(sample):
    """Net change and dynamic degree from the parcels equal those of the aggregated table, per township."""
    from analytics import landuse as lu
    from analytics.scope import Scope
    import datetime as dt
    scope = Scope(dt.date(2019, 1, 1), dt.date(2025, 12, 31))
    with sample.connect() as conn:
        assert tr.parcel_years(conn, scope) == [2019, 2025]
        table = lu.land_change(conn, scope, by="township", year_a=2019, year_b=2025)
        parcels = tr.parcel_areas(conn, scope, [2019, 2025])
        matrix = tr.store_matrix(conn, scope)
    wide = parcels.pivot_table(index=["region_code", "category_code"], columns="year", values="area_ha",
                               fill_value=0.0)
    got = table.set_index(["region_code", "category_code"])
    both = got.join(wide, how="outer").fillna(0.0)
    assert len(both) == 12 * 13
    assert np.allclose(both["area_a"], both[2019], atol=1e-6) and np.allclose(both["area_b"], both[2025], atol=1e-6)
    k_parcels = lu.dynamic_degree(both[2019], both[2025], 6)
    assert np.allclose(np.nan_to_num(both["dynamic_degree_pct"], nan=-1), np.nan_to_num(k_parcels, nan=-1))
    # the transfer matrix's margins are the two years' areas
    county = got.groupby("category_code")[["area_a", "area_b"]].sum()
    rows = matrix.groupby("from_code")["area_ha"].sum()
    cols = matrix.groupby("to_code")["area_ha"].sum()
    assert np.allclose(rows.reindex(county.index, fill_value=0), county["area_a"], atol=1e-6)
    assert np.allclose(cols.reindex(county.index, fill_value=0), county["area_b"], atol=1e-6)
    # the planted drift: cultivated land goes to built-up land in 城关镇 and 东坪镇
    lost = matrix[(matrix["from_code"] == "01") & (matrix["to_code"] != "01")]["area_ha"].sum()
    net_loss = county.loc["01", "area_a"] - county.loc["01", "area_b"]
    assert net_loss > 0 and lost >= net_loss - 1e-6


def test_sample_transfer_matrix_export_names_its_years(sample):
    import datetime as dt
    from analytics.exports import run_export
    from analytics.scope import Scope
    m = run_export(sample, "transfer-matrix", Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
    assert set(m["year_a"]) == {2019} and set(m["year_b"]) == {2025}
    one = run_export(sample, "transfer-matrix", Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 31), township="城关镇"))
    moved = one[(one["from_code"] == "01") & (one["to_code"] != "01")]["area_ha"].sum()
    assert 0 < moved < m[(m["from_code"] == "01") & (m["to_code"] != "01")]["area_ha"].sum()
