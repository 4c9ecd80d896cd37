"""Region geometry for maps: township boundaries simplified for display, a GeoJSON FeatureCollection keyed by
name, population, and legend classes (quantiles, natural breaks, a symmetric range for changes).

Geometries are stored as GeoJSON in EPSG:4490 (etl.schema.STORE_CRS), longitude/latitude degrees, which is
what a Plotly choropleth draws: no reprojection on the way to the screen.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics.scope import Scope
from etl import spatial
from etl.schema import regions

#: The map's width in screen pixels that display simplification is fitted to: a boundary keeps the detail of
#: about one pixel of the drawn map (the view's extent / DISPLAY_PIXELS), no finer.
DISPLAY_PIXELS = 1000
SHAPE_COLUMNS = ["region_code", "name", "level", "population", "geometry"]


def display_tolerance(geoms) -> float:
    """The simplification tolerance (degrees) fitted to the view of these shapely geometries: one pixel of a
    DISPLAY_PIXELS-wide map of their extent (0 when there is nothing to draw)."""
    import shapely
    present = [g for g in geoms if g is not None]
    if not present:
        return 0.0
    minx, miny, maxx, maxy = shapely.total_bounds(present)
    return float(max(maxx - minx, maxy - miny)) / DISPLAY_PIXELS


def simplify(geoms, tolerance: float | None = None) -> list:
    """Shapely geometries simplified (topology kept) for display, as GeoJSON text; None stays None. The
    tolerance defaults to the one fitted to the view of all of them (`display_tolerance`)."""
    import shapely
    tol = display_tolerance(geoms) if tolerance is None else tolerance
    return [None if g is None else shapely.to_geojson(shapely.simplify(g, tol, preserve_topology=True))
            for g in geoms]


def region_shapes(conn: Connection, scope: Scope, level: str = "township",
                  tolerance: float | None = None) -> pd.DataFrame:
    """区划边界. Grain: one row per region of `level` (the scope's township only, when it has one) with its
    population and its boundary as GeoJSON in EPSG:4490, simplified for display at a tolerance fitted to the
    view (`display_tolerance`). The boundaries are few (one per township); parcels are never drawn whole."""
    cols = [regions.c[c] for c in SHAPE_COLUMNS[:-1]] + [spatial.geometry_select(conn, regions.c.geometry)]
    q = select(*cols).where(regions.c.level == level).order_by(regions.c.region_code)
    if scope.township:
        q = q.where(regions.c.name == scope.township)
    df = pd.DataFrame(conn.execute(q).all(), columns=SHAPE_COLUMNS)
    df["geometry"] = simplify(spatial.shapes(df["geometry"]), tolerance)
    return df


def feature_collection(shapes: pd.DataFrame, key: str = "name") -> dict:
    """A GeoJSON FeatureCollection of the shapes with geometry, each feature's id = its `key` value."""
    feats = [{"type": "Feature", "id": str(k), "properties": {key: str(k)}, "geometry": json.loads(g)}
             for k, g in zip(shapes[key], shapes["geometry"]) if g is not None]
    return {"type": "FeatureCollection", "features": feats}


def quantile_breaks(values, k: int = 5) -> list[float]:
    """Class edges (k + 1, ascending, distinct) at the quantiles of the finite values."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").dropna(), dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    return sorted(set(np.quantile(v, np.linspace(0, 1, k + 1)).round(12).tolist()))


def natural_breaks(values, k: int = 5) -> list[float]:
    """Jenks natural breaks (k + 1 edges, ascending): the classes with the least within-class variance
    (Fisher's exact dynamic programme; O(k·n²), for the few dozen regions a map holds)."""
    v = np.sort(np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").dropna(), dtype=float))
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return []
    k = max(1, min(k, len(np.unique(v))))
    s1, s2 = np.concatenate([[0], np.cumsum(v)]), np.concatenate([[0], np.cumsum(v * v)])

    def ssd(i, j):          # sum of squared deviations of v[i:j]
        m = j - i
        return s2[j] - s2[i] - (s1[j] - s1[i]) ** 2 / m

    cost = np.full((k + 1, n + 1), np.inf)
    cut = np.zeros((k + 1, n + 1), dtype=int)
    cost[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            best, arg = np.inf, c - 1
            for i in range(c - 1, j):
                val = cost[c - 1, i] + ssd(i, j)
                if val < best:
                    best, arg = val, i
            cost[c, j], cut[c, j] = best, arg
    edges, j = [float(v[-1])], n
    for c in range(k, 0, -1):
        i = cut[c, j]
        edges.append(float(v[i]))
        j = i
    return sorted(set(edges))


def diverging_limit(values) -> float:
    """The symmetric colour range ±limit for a change (0 in the middle): the largest absolute value."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").abs()
    v = v[np.isfinite(v)]
    return float(v.max()) if len(v) and v.max() > 0 else 1.0


def classify(values, edges: list[float]) -> np.ndarray:
    """The class (0 … len(edges) − 2) of each value for ascending edges; NaN → -1."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    if len(edges) < 2:
        return np.where(np.isfinite(v), 0, -1)
    cls = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    return np.where(np.isfinite(v), cls, -1)


def per_10k(counts: pd.Series, population: pd.Series) -> pd.Series:
    """Counts per 10,000 residents (NaN where the population is unknown or zero)."""
    pop = pd.to_numeric(population, errors="coerce").astype(float)
    return pd.to_numeric(counts, errors="coerce").astype(float) / pop.where(pop > 0) * 10_000


def _exports():
    from analytics.exports import Export
    return [
        Export("region-shapes", "township boundaries (GeoJSON, EPSG:4490, simplified for display) with their "
               "population; one row per township",
               lambda conn, scope, cal, unit, by: region_shapes(conn, scope)),
    ]


EXPORTS = _exports()
