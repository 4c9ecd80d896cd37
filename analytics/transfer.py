"""土地利用转移矩阵 from parcels (land_parcels): by id where a parcel persists between the two survey years,
by geometric overlay where ids differ (split, merged or re-numbered parcels).

Grain of every matrix: one row per (from class in year_a, to class in year_b) with the area in hectares
and the number of year-a parcels (or pieces of them) behind it. Rows sum to the year-a parcel areas; when
the year-b parcels cover the year-a ones, columns sum to the year-b areas. Areas are the survey's own
parcel areas (area_ha); an overlay piece gets the share of its year-a parcel's area that its own area
(equal-area projection on the CGCS2000 ellipsoid) is of the parcel's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, literal, literal_column, select
from sqlalchemy.engine import Connection

from analytics.scope import Scope
from etl import spatial
from etl.schema import land_parcels, land_use, regions

MATRIX = ["from_code", "to_code", "area_ha", "parcels"]


#: Lambert cylindrical equal-area on the CGCS2000 (GRS80) ellipsoid: areas are true, and meridians and
#: parallels stay straight lines, so a parcel edge along a parallel or meridian keeps its exact share.
EQUAL_AREA = "+proj=cea +lon_0=0 +lat_ts=0 +ellps=GRS80 +units=m +no_defs"


def equal_area(geoms) -> np.ndarray:
    """Areas in m² of lon/lat (EPSG:4490) geometries, in an equal-area projection."""
    import shapely
    from pyproj import Transformer
    tr = Transformer.from_crs("EPSG:4490", EQUAL_AREA, always_xy=True)
    arr = np.asarray(list(geoms), dtype=object)
    present = np.array([g is not None for g in arr], dtype=bool)
    out = np.zeros(len(arr))
    if present.any():
        proj = shapely.transform(arr[present], lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        out[present] = shapely.area(proj)
    return out


def by_id(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The matrix of the parcels present in both years, joined on parcel_id (area: the year-a area)."""
    both = a[["parcel_id", "category_code", "area_ha"]].merge(b[["parcel_id", "category_code"]], on="parcel_id",
                                                              suffixes=("_a", "_b"))
    return _group(both["category_code_a"], both["category_code_b"], both["area_ha"])


def overlay(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The matrix of two parcel sets by intersection of their geometries (shapely objects in lon/lat).

    Each year-a parcel's area is split over the year-b parcels it overlaps in proportion to the
    (equal-area) area of each intersection; the part of it no year-b parcel covers is left out."""
    import shapely
    a = a[a["geometry"].notna()].reset_index(drop=True)
    b = b[b["geometry"].notna()].reset_index(drop=True)
    if a.empty or b.empty:
        return pd.DataFrame(columns=MATRIX)
    ga = np.asarray(a["geometry"].tolist(), dtype=object)
    gb = np.asarray(b["geometry"].tolist(), dtype=object)
    tree = shapely.STRtree(gb)
    ia, ib = tree.query(ga, predicate="intersects")
    if len(ia) == 0:
        return pd.DataFrame(columns=MATRIX)
    pieces = shapely.intersection(ga[ia], gb[ib])
    piece_area = equal_area(pieces)
    whole = equal_area(ga)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(whole[ia] > 0, piece_area / whole[ia], 0.0)
    keep = share > 1e-12
    area = a["area_ha"].to_numpy(dtype=float)[ia] * share
    return _group(a["category_code"].to_numpy()[ia][keep], b["category_code"].to_numpy()[ib][keep], area[keep])


def _group(frm, to, area) -> pd.DataFrame:
    df = pd.DataFrame({"from_code": pd.Series(frm, dtype=object).astype(str).str[:2].to_numpy(),
                       "to_code": pd.Series(to, dtype=object).astype(str).str[:2].to_numpy(),
                       "area_ha": np.asarray(area, dtype=float)})
    if df.empty:
        return pd.DataFrame(columns=MATRIX)
    return (df.groupby(["from_code", "to_code"], as_index=False)
            .agg(area_ha=("area_ha", "sum"), parcels=("area_ha", "size")))


def combine(*parts: pd.DataFrame) -> pd.DataFrame:
    """Several matrices added cell by cell."""
    parts = [p for p in parts if p is not None and not p.empty]
    if not parts:
        return pd.DataFrame(columns=MATRIX)
    out = pd.concat(parts).groupby(["from_code", "to_code"], as_index=False)[["area_ha", "parcels"]].sum()
    out["parcels"] = out["parcels"].astype(int)
    return out.sort_values(["from_code", "to_code"]).reset_index(drop=True)


def transfer(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Two years' parcels (parcel_id, category_code, area_ha, geometry) → the transfer matrix: by id for
    the ids in both years, by overlay for the rest."""
    common = set(a["parcel_id"]) & set(b["parcel_id"])
    rest_a, rest_b = a[~a["parcel_id"].isin(common)], b[~b["parcel_id"].isin(common)]
    need_overlay = not rest_a.empty and not rest_b.empty and "geometry" in a and "geometry" in b
    return combine(by_id(a[a["parcel_id"].isin(common)], b[b["parcel_id"].isin(common)]),
                   overlay(rest_a, rest_b) if need_overlay else None)


# ---------- from the store ----------

def _region_codes(conn: Connection, township: str) -> list[str]:
    """The region codes a township name stands for (regions.name, else land_use.region_name)."""
    codes = {r for (r,) in conn.execute(select(regions.c.region_code).where(regions.c.name == township))}
    codes |= {r for (r,) in conn.execute(select(land_use.c.region_code).distinct()
                                          .where(land_use.c.region_name == township))}
    return sorted(codes)


def _where(conn: Connection, scope: Scope, table=land_parcels) -> list:
    return [table.c.region_code.in_(_region_codes(conn, scope.township))] if scope.township else []


def parcel_years(conn: Connection, scope: Scope) -> list[int]:
    q = select(land_parcels.c.year).distinct().where(*_where(conn, scope)).order_by(land_parcels.c.year)
    return [int(y) for (y,) in conn.execute(q)]


def transfer_years(conn: Connection, scope: Scope) -> tuple[int | None, int | None]:
    """The two parcel survey years of the matrix: the scope's first and last years when both were surveyed,
    else the latest survey year at or before the scope's end year (at least the second) and the one before it."""
    years = parcel_years(conn, scope)
    if len(years) < 2:
        return None, None
    if scope.start.year in years and scope.end.year in years and scope.start.year < scope.end.year:
        return scope.start.year, scope.end.year
    before = [y for y in years if y <= scope.end.year]
    b = max(before[1:] or years[1:2])
    return max(y for y in years if y < b), b


def _l1(column):
    """The first-level class (two characters), with inline constants so that PostgreSQL sees the GROUP BY
    expression as the selected one (bound parameters would make them differ)."""
    return func.substr(column, literal_column("1"), literal_column("2"))


def store_matrix(conn: Connection, scope: Scope, year_a: int | None = None, year_b: int | None = None) -> pd.DataFrame:
    """The matrix between two survey years of the store's parcels (default: transfer_years), the persisting
    parcels joined and summed in SQL, the others overlaid. attrs: year_a, year_b."""
    if year_a is None or year_b is None:
        year_a, year_b = transfer_years(conn, scope)
    if year_a is None:
        out = pd.DataFrame(columns=MATRIX)
        out.attrs.update(year_a=None, year_b=None)
        return out
    pa, pb = land_parcels.alias("a"), land_parcels.alias("b")
    joined = pa.join(pb, and_(pa.c.parcel_id == pb.c.parcel_id, pb.c.year == year_b))
    q = (select(_l1(pa.c.category_code).label("from_code"), _l1(pb.c.category_code).label("to_code"),
                func.sum(pa.c.area_ha).label("area_ha"), func.count().label("parcels"))
         .select_from(joined).where(pa.c.year == year_a, *_where(conn, scope, pa))
         .group_by(_l1(pa.c.category_code), _l1(pb.c.category_code)))
    persisting = pd.DataFrame(conn.execute(q).all(), columns=MATRIX)
    joined = int(persisting["parcels"].sum()) if len(persisting) else 0
    moved = None
    if all(n > joined for n in _counts(conn, scope, (year_a, year_b))):   # both years hold unmatched ids
        rest = [_unmatched(conn, scope, year_a, year_b), _unmatched(conn, scope, year_b, year_a)]
        moved = overlay(*rest) if all(not r.empty for r in rest) else None
    out = combine(persisting, moved)
    out.attrs.update(year_a=year_a, year_b=year_b)
    return out


def _counts(conn: Connection, scope: Scope, years) -> list[int]:
    """Parcels per survey year (the index on year answers it): when both equal the joined count, every id
    persists and no geometry needs reading."""
    t = land_parcels
    got = dict(conn.execute(select(t.c.year, func.count()).where(t.c.year.in_(years), *_where(conn, scope))
                            .group_by(t.c.year)).all())
    return [int(got.get(y, 0)) for y in years]


def _unmatched(conn: Connection, scope: Scope, year: int, other: int) -> pd.DataFrame:
    """The parcels of `year` whose id the `other` year lacks, with their geometries."""
    t, o = land_parcels, land_parcels.alias("o")
    exists = select(literal(1)).where(o.c.parcel_id == t.c.parcel_id, o.c.year == other).exists()
    q = select(t.c.parcel_id, t.c.category_code, t.c.area_ha, spatial.geometry_select(conn, t.c.geometry)).where(
        t.c.year == year, ~exists, *_where(conn, scope))
    df = pd.DataFrame(conn.execute(q).all(), columns=["parcel_id", "category_code", "area_ha", "geometry"])
    df["geometry"] = spatial.shapes(df["geometry"])
    return df


def parcel_areas(conn: Connection, scope: Scope, years: list[int]) -> pd.DataFrame:
    """Area per region × year × first-level class from the parcels, summed in SQL (the land_use grain)."""
    t = land_parcels
    q = (select(t.c.region_code, t.c.year, _l1(t.c.category_code).label("category_code"),
                func.sum(t.c.area_ha).label("area_ha"))
         .where(t.c.year.in_(years), *_where(conn, scope))
         .group_by(t.c.region_code, t.c.year, _l1(t.c.category_code)))
    return pd.DataFrame(conn.execute(q).all(), columns=["region_code", "year", "category_code", "area_ha"])
