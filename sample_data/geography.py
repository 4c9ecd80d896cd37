"""The sample county's geography: township boundaries and two survey years of land parcels (图斑).

Townships are a Voronoi partition of a seeded, irregular county outline (so they tile the county
exactly), matched to the townships by area rank. Parcels are Voronoi cells inside each township; their
land-use classes and areas come from the land-use table itself, so the parcels of each survey year add
up, per township and class, exactly to that table (the planted cultivated-land drift included). A parcel
keeps its id and shape across the two years; its class may change (e.g. 耕地 → 住宅用地 at the edge of a
town). Parcel areas (TBMJ, m²) are the survey's figures; the cells are schematic, not to scale.

Boundaries are written as GeoJSON in CGCS2000 geographic (EPSG:4490), the parcels as a GeoPackage in
the Gauss–Krüger 3° zone CGCS2000 / CM 120E (EPSG:4549), as the survey delivers them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COUNTY_CENTRE = (119.92, 28.45)          # lon, lat: a hilly county in southern Zhejiang (fictional)
PARCEL_CRS = "EPSG:4549"                # CGCS2000 / 3-degree Gauss-Kruger CM 120E
REGION_CRS = "EPSG:4490"
SURVEY_YEARS = (2019, 2025)
#: typical parcel size in hundredths of a hectare at scale 1 (≈ 60 ha)
PARCEL_SIZE = 6000
#: classes from a township's centre outwards: built-up first, forest at the edge
RING_ORDER = ["07", "05", "08", "06", "09", "10", "01", "02", "11", "00", "04", "12", "03"]
#: resident population (户籍人口) per township, in the order of generator.TOWNSHIPS
POPULATION = [86_500, 38_200, 34_900, 18_300, 31_600, 16_800, 29_700, 17_400, 30_100, 15_900, 28_800, 16_200]
#: GDAL's fixed "current date" for the GeoPackage's metadata: the same seed gives the same bytes
FIXED_DATE = "2026-01-01T00:00:00Z"


def _outline(rng: np.random.Generator, area_m2: float, centre_xy: tuple[float, float]):
    """An irregular star-shaped polygon of the given area around centre_xy (projected metres)."""
    import shapely
    theta = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    ph = rng.uniform(0, 2 * np.pi, 3)
    r = 1 + 0.16 * np.sin(3 * theta + ph[0]) + 0.07 * np.cos(5 * theta + ph[1]) + 0.04 * np.sin(9 * theta + ph[2])
    poly = shapely.Polygon(np.column_stack([np.cos(theta) * r, np.sin(theta) * r]))
    k = np.sqrt(area_m2 / poly.area)
    return shapely.affinity.affine_transform(poly, [k, 0, 0, k, centre_xy[0], centre_xy[1]])


def _points_in(rng: np.random.Generator, poly, n: int) -> np.ndarray:
    import shapely
    minx, miny, maxx, maxy = poly.bounds
    out = []
    while len(out) < n:
        xy = rng.uniform([minx, miny], [maxx, maxy], size=(n * 3, 2))
        inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        out.extend(xy[inside].tolist())
    return np.array(out[:n])


def voronoi_cells(points: np.ndarray, clip) -> list:
    """The Voronoi cell of each point (in point order), clipped to `clip`: the cells tile it."""
    import shapely
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=clip, ordered=True)
    return [shapely.intersection(c, clip) for c in shapely.get_parts(cells)]


def _relaxed_seeds(rng, poly, n: int, rounds: int = 4) -> np.ndarray:
    """Seed points spread evenly (a few Lloyd rounds), so cells have comparable sizes."""
    import shapely
    pts = _points_in(rng, poly, n)
    for _ in range(rounds):
        cells = voronoi_cells(pts, poly)
        pts = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    return pts


def transfer_allocation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """An integer transfer matrix T with row sums a and column sums b (equal totals): each class keeps
    min(a, b) and what the losers give up goes to the gainers in RING order (built-up gains first)."""
    t = np.diag(np.minimum(a, b)).astype(np.int64)
    give = (a - np.diag(t)).astype(np.int64)
    need = (b - np.diag(t)).astype(np.int64)
    for i in range(len(a)):
        for j in range(len(b)):
            if give[i] == 0:
                break
            moved = min(give[i], need[j])
            if moved:
                t[i, j] += moved
                give[i] -= moved
                need[j] -= moved
    assert (t.sum(axis=1) == a).all() and (t.sum(axis=0) == b).all()
    return t


def _split(rng, total: int, size: int) -> list[int]:
    """`total` hundredths of a hectare as parcels of about `size`, summing exactly."""
    k = max(1, int(round(total / size)))
    k = min(k, total)
    w = rng.uniform(0.5, 1.5, k)
    parts = np.floor(w / w.sum() * total).astype(np.int64)
    parts = np.maximum(parts, 1)
    parts[-1] += total - parts.sum()
    if parts[-1] < 1:                       # rounding pushed the last one below one hundredth: re-spread
        parts = np.full(k, total // k, dtype=np.int64)
        parts[: total - parts.sum()] += 1
    return parts.tolist()


def make_geography(rng: np.random.Generator, land: pd.DataFrame, townships: list, county: tuple[str, str],
                   parcel_scale: float = 1.0):
    """(regions frame with shapely geometries in EPSG:4490, parcels frame with geometries in EPSG:4549)."""
    import shapely
    from pyproj import Transformer
    to_xy = Transformer.from_crs(REGION_CRS, PARCEL_CRS, always_xy=True)
    to_ll = Transformer.from_crs(PARCEL_CRS, REGION_CRS, always_xy=True)
    total_m2 = sum(t[4] for t in townships) * 10_000
    outline = _outline(rng, total_m2, to_xy.transform(*COUNTY_CENTRE))
    seeds = _relaxed_seeds(rng, outline, len(townships))
    cells = voronoi_cells(seeds, outline)
    by_size = np.argsort([-c.area for c in cells])
    town_rank = np.argsort([-t[4] for t in townships])
    cell_of = {int(town_rank[k]): int(by_size[k]) for k in range(len(townships))}

    def ll(geom):
        return shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))

    regions = [{"行政区代码": county[0], "行政区名称": county[1], "级别": "县", "上级代码": None,
                "户籍人口": int(sum(POPULATION)), "geometry": ll(outline)}]
    parcels = []
    size = max(50, int(PARCEL_SIZE / parcel_scale))
    ya, yb = SURVEY_YEARS
    codes = sorted(land["地类编码"].unique())
    for ti, (code, name, *_rest) in enumerate(townships):
        cell = cells[cell_of[ti]]
        regions.append({"行政区代码": code, "行政区名称": name, "级别": "乡镇", "上级代码": county[0],
                        "户籍人口": POPULATION[ti % len(POPULATION)], "geometry": ll(cell)})
        own = land[land["行政区代码"] == code].set_index(["年度", "地类编码"])["面积（公顷）"]
        a = np.array([int(round(own[(ya, c)] * 100)) for c in codes])
        b = np.array([int(round(own[(yb, c)] * 100)) for c in codes])
        t = transfer_allocation(a, b)
        items = []
        for i, ca in enumerate(codes):
            for j, cb in enumerate(codes):
                if t[i, j] > 0:
                    for part in _split(rng, int(t[i, j]), size):
                        items.append((ca, cb, part))
        rank = {c: k for k, c in enumerate(RING_ORDER)}
        order = sorted(range(len(items)), key=lambda k: ((rank[items[k][0]] + rank[items[k][1]]) / 2, k))
        centre = np.array([cell.centroid.x, cell.centroid.y])
        pts = _points_in(rng, cell, len(items))
        pts = pts[np.argsort(np.hypot(*(pts - centre).T), kind="stable")]
        pcells = voronoi_cells(pts, cell)
        for n, (k, geom) in enumerate(zip(order, pcells), start=1):
            ca, cb, part = items[k]
            pid = f"{code}{n:05d}"
            for year, cat in ((ya, ca), (yb, cb)):
                parcels.append({"BSM": pid, "年度": year, "DLBM": cat, "TBMJ": part * 100, "QSDWDM": code,
                                "geometry": geom})
    return pd.DataFrame(regions), pd.DataFrame(parcels)


def _write(path: Path, frame: pd.DataFrame, driver: str, crs: str, layer: str) -> None:
    import pyogrio
    import shapely
    path.unlink(missing_ok=True)
    fields = [c for c in frame.columns if c != "geometry"]
    data = [frame[c].to_numpy(dtype=np.int64) if pd.api.types.is_integer_dtype(frame[c])
            else np.array([None if v is None or v != v else str(v) for v in frame[c].tolist()], dtype=object)
            for c in fields]
    geometry = np.array([shapely.to_wkb(g) for g in frame["geometry"]], dtype=object)
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        kwargs = {"layer_options": {"RFC7946": "NO", "COORDINATE_PRECISION": 7}} if driver == "GeoJSON" else {}
        pyogrio.raw.write(str(path), geometry, data, fields, driver=driver, crs=crs, geometry_type="Unknown", layer=layer, promote_to_multi=False, **kwargs)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def write_geography(out: Path, rng: np.random.Generator, land: pd.DataFrame, townships: list,
                    county: tuple[str, str], parcel_scale: float = 1.0) -> dict:
    """Write regions.geojson and land_parcels.gpkg into `out`; return {file name: features}."""
    regions, parcels = make_geography(rng, land, townships, county, parcel_scale)
    _write(out / "regions.geojson", regions, "GeoJSON", REGION_CRS, "regions")
    _write(out / "land_parcels.gpkg", parcels, "GPKG", PARCEL_CRS, "dltb")
    return {"regions.geojson": len(regions), "land_parcels.gpkg": len(parcels)}
