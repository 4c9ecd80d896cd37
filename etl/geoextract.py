"""Vector sources (GeoJSON, Shapefile, GeoPackage) and geometry columns: read, reproject, store as GeoJSON.

The survey's own exports (三调 / 年度变更调查) come as Shapefile or GeoPackage in CGCS2000, often in a
Gauss–Krüger zone; every stored geometry is GeoJSON text in the one store CRS, CGCS2000 geographic
(etl.schema.STORE_CRS, EPSG:4490), so SQLite and PostgreSQL hold the same text and maps need no
transform. Files are read with pyogrio (GDAL), geometries handled by shapely, CRSs by pyproj.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from etl.rows import ROW
from etl.schema import STORE_CRS
from landdesk.errors import LandDeskError

#: The vector formats a mapping's `source.format` may name, and the GDAL driver of each.
GEO_FORMATS = {"geojson": "GeoJSON", "shp": "ESRI Shapefile", "gpkg": "GPKG"}
#: The column of an extracted frame holding each feature's geometry (hex WKB in the file's CRS).
GEOMETRY_SOURCE = "_geometry"
#: The canonical geometry column of the datasets that have one.
GEOMETRY = "geometry"


def parse_crs(value, where: str):
    """A pyproj CRS from 'EPSG:4490', 4549, 'CGCS2000', a WKT or PROJ string; one sentence when unknown."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError
    aliases = {"cgcs2000": "EPSG:4490", "wgs84": "EPSG:4326", "wgs 84": "EPSG:4326"}
    text = str(value).strip()
    text = aliases.get(text.lower(), text)
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise LandDeskError(f"{where}: unknown coordinate reference system {value!r} "
                            "(give an EPSG code such as EPSG:4490 or EPSG:4549).") from None


def read_vector(path: Path, fmt: str, layer=None, encoding: str = "auto") -> pd.DataFrame:
    """A vector file's attributes as text columns, `_row` (1-based feature number) and `_geometry`
    (hex WKB in the file's own CRS); frame.attrs['crs'] is that CRS as WKT (None when the file has none)."""
    import pyogrio
    from pyogrio.errors import DataSourceError, DataLayerError
    kwargs = {}
    if layer is not None:
        kwargs["layer"] = layer
    if encoding and encoding != "auto":
        kwargs["encoding"] = encoding
    try:
        meta, _fids, geometry, fields = pyogrio.raw.read(str(path), **kwargs)
    except (DataSourceError, DataLayerError) as exc:
        reason = str(exc).strip().splitlines()[0][:200]
        raise LandDeskError(f"{path.name} cannot be read as {fmt} ({reason}).") from None
    columns = {}
    for name, values in zip(meta["fields"], fields):
        arr = pd.Series(values, dtype=object)
        columns[str(name)] = arr.map(_text, na_action="ignore").astype(object).where(arr.notna(), None)
    frame = pd.DataFrame(columns)
    n = len(geometry) if geometry is not None else 0
    if frame.empty and n:
        frame = pd.DataFrame(index=range(n))
    frame[ROW] = np.arange(1, len(frame) + 1)
    if geometry is None:
        frame[GEOMETRY_SOURCE] = None
    else:
        frame[GEOMETRY_SOURCE] = [None if g is None else bytes(g).hex() for g in geometry]
    frame.attrs["crs"] = meta.get("crs")
    return frame


def _text(value) -> str:
    """A field value as the text the ETL converts (whole floats without '.0', dates ISO)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def parse_geometries(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(shapely geometries, unreadable mask) from hex WKB, WKT or GeoJSON text; empty values are None."""
    import shapely
    out = np.full(len(values), None, dtype=object)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, float) and v != v) or str(v).strip() == "":
            continue
        text = str(v).strip()
        try:
            if text.startswith("{"):
                g = shapely.from_geojson(text)
            elif all(c in "0123456789abcdefABCDEF" for c in text[:16]) and len(text) % 2 == 0:
                g = shapely.from_wkb(bytes.fromhex(text))
            else:
                g = shapely.from_wkt(text)
        except Exception:
            bad[i] = True
            continue
        out[i] = g
    return out, bad


def to_store_crs(geoms: np.ndarray, crs) -> np.ndarray:
    """Geometries reprojected from `crs` to the store CRS (EPSG:4490), x = longitude, y = latitude."""
    import shapely
    from pyproj import CRS, Transformer
    target = CRS.from_user_input(STORE_CRS)
    if crs is None or CRS.from_user_input(crs) == target:
        return geoms
    tr = Transformer.from_crs(crs, target, always_xy=True)
    mask = np.array([g is not None for g in geoms], dtype=bool)
    out = geoms.copy()
    if mask.any():
        out[mask] = shapely.transform(np.asarray(geoms[mask]), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return out


def geometry_column(values: pd.Series, crs) -> tuple[pd.Series, pd.Series]:
    """(GeoJSON text in the store CRS or None, reason text for unusable rows or NA) for one geometry column.

    Invalid polygons (self-intersections, as exports often have) are repaired with make_valid; a geometry
    that is unreadable, or whose coordinates fall outside longitude ±180 / latitude ±90 after the
    transform (a projected file declared geographic), is a reject."""
    import shapely
    geoms, bad = parse_geometries(values)
    reasons = pd.Series(pd.NA, index=values.index, dtype="string")
    reasons[bad] = "geometry is not WKB, WKT or GeoJSON"
    present = np.array([g is not None for g in geoms], dtype=bool)
    if present.any():
        arr = np.asarray(geoms[present])
        invalid = ~shapely.is_valid(arr)
        if invalid.any():
            arr[invalid] = shapely.make_valid(arr[invalid])
        geoms[present] = arr
    try:
        geoms = to_store_crs(geoms, crs)
    except Exception as exc:
        raise LandDeskError(f"Geometries cannot be transformed to {STORE_CRS} ({str(exc)[:120]}).") from None
    texts = np.full(len(geoms), None, dtype=object)
    if present.any():
        arr = np.asarray(geoms[present])
        bounds = shapely.bounds(arr)
        finite = np.isfinite(bounds).all(axis=1)
        inside = finite & (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
        empty = shapely.is_empty(arr)
        idx = np.flatnonzero(present)
        reasons.iloc[idx[~inside & ~empty]] = ("geometry lies outside longitude/latitude range after the transform "
                                               "(is `source.crs` right?)")
        ok = inside & ~empty
        texts[idx[ok]] = shapely.to_geojson(arr[ok])
    return pd.Series(texts, index=values.index, dtype=object), reasons
