"""Land use (国土变更调查) and land supply (供地): composition, change and dynamic degree, transfer
matrix, cultivated land against its protection target, supply, approved-but-unsupplied and idle land.

Areas are hectares. Categories are GB/T 21010-2017 first-level classes (`CATEGORIES`, the single
place the dashboard takes their names from); second-level rows (`0101` 水田 …) are rolled up to
their first-level class unless the same region and year also has the first-level row itself.
A township is a land_use / land_supply `region_name`; the county is the sum of its townships.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sqlalchemy import case as sql_case, func, or_, select
from sqlalchemy.engine import Connection

from analytics import kpis
from analytics.efficiency import month_scopes
from analytics.scope import Scope
from landdesk.i18n import t
from etl.schema import land_supply, land_use, targets

#: GB/T 21010-2017 《土地利用现状分类》 first-level classes: code → (中文, English), their names from the
#: translation catalogues (`gbt21010_<code>`).
CATEGORY_CODES = tuple(f"{i:02d}" for i in range(13))
CATEGORIES: dict[str, tuple[str, str]] = {c: (t(f"gbt21010_{c}", "zh"), t(f"gbt21010_{c}", "en")) for c in CATEGORY_CODES}
CULTIVATED = kpis.CULTIVATED            # "01"
CULTIVATED_INDICATOR = "cultivated_land_ha"
TREND_YEARS = 5
#: A trend that needs more years than this to reach the target is not projected (a near-flat line).
PROJECTION_HORIZON = 30
LAND_BY = ("township",)
SUPPLY_BY = ("purpose", "method", "township", "system", "period")
TRANSFER_COLUMNS = ["from_code", "from_zh", "from_en", "to_code", "to_zh", "to_en", "area_ha", "parcels"]
#: the transfer-matrix export: the matrix and the two survey years it is between
TRANSFER_STORE_COLUMNS = ["year_a", "year_b"] + TRANSFER_COLUMNS
NO_PARCELS_NOTE = f"{t('no_parcels_note', 'en')} {t('no_parcels_note', 'zh')}"


def category_name(code: str, lang: str = "zh") -> str:
    """The first-level class name of a GB/T 21010 code (first or second level); the code when unknown."""
    first = str(code)[:2]
    return t(f"gbt21010_{first}", lang) if first in CATEGORIES else str(code)


def _named(df: pd.DataFrame, code_col: str = "category_code", prefix: str = "category") -> pd.DataFrame:
    pos = df.columns.get_loc(code_col) + 1
    df.insert(pos, f"{prefix}_zh", [category_name(c, "zh") for c in df[code_col]])
    df.insert(pos + 1, f"{prefix}_en", [category_name(c, "en") for c in df[code_col]])
    return df


def first_level(df: pd.DataFrame) -> pd.DataFrame:
    """Rows (region_code, region_name, year, category_code, area_ha) rolled up to first-level classes.

    A region-year's first-level row wins over its second-level rows (never both summed)."""
    cols = ["region_code", "region_name", "year", "category_code", "area_ha"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.copy()
    df["category_code"] = df["category_code"].astype(str).str.strip()
    df["l1"] = df["category_code"].str[:2]
    df["is_l1"] = df["category_code"].str.len() <= 2
    keys = ["region_code", "year", "l1"]
    has_l1 = df[df["is_l1"]].set_index(keys).index
    sub = df[~df["is_l1"] & ~df.set_index(keys).index.isin(has_l1)]
    use = pd.concat([df[df["is_l1"]], sub])
    out = (use.groupby(["region_code", "year", "l1"], as_index=False)
           .agg(region_name=("region_name", "first"), area_ha=("area_ha", "sum"))
           .rename(columns={"l1": "category_code"}))
    out["year"] = out["year"].astype(int)
    out["area_ha"] = out["area_ha"].astype(float)
    return out[cols].sort_values(["region_code", "year", "category_code"]).reset_index(drop=True)


# ---------- years ----------

def _land_where(scope: Scope) -> list:
    return [land_use.c.region_name == scope.township] if scope.township else []


def available_years(conn: Connection, scope: Scope) -> list[int]:
    q = select(land_use.c.year).distinct().where(*_land_where(scope)).order_by(land_use.c.year)
    return [int(y) for (y,) in conn.execute(q)]


def clamp_year(year: int, years: list[int]) -> int | None:
    """The latest available year not after `year`, else the earliest available; None without data."""
    if not years:
        return None
    before = [y for y in years if y <= year]
    return max(before) if before else min(years)


def change_years(scope: Scope, years: list[int]) -> tuple[int | None, int | None]:
    """Default years of a change: scope.start.year and scope.end.year clamped to the surveyed years;
    when both clamp to the same year, the surveyed year before it is the base."""
    if not years:
        return None, None
    a, b = clamp_year(scope.start.year, years), clamp_year(scope.end.year, years)
    if a == b:
        earlier = [y for y in years if y < b]
        if earlier:
            a = max(earlier)
    return a, b


def land_frame(conn: Connection, scope: Scope, years: list[int] | None = None,
               category: str | None = None) -> pd.DataFrame:
    """First-level land-use rows of the scope's township (all townships when none), filtered in SQL."""
    where = _land_where(scope)
    if years is not None:
        where.append(land_use.c.year.in_(years))
    if category is not None:
        where.append(or_(land_use.c.category_code == category, land_use.c.category_code.like(f"{category}%")))
    q = select(land_use.c.region_code, land_use.c.region_name, land_use.c.year, land_use.c.category_code,
               land_use.c.area_ha).where(*where)
    df = first_level(pd.DataFrame(conn.execute(q).all(),
                                  columns=["region_code", "region_name", "year", "category_code", "area_ha"]))
    return df[df["category_code"] == category].reset_index(drop=True) if category is not None else df


def _county(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.groupby(keys, as_index=False)["area_ha"].sum()


# ---------- composition and change ----------

def land_use_table(conn: Connection, scope: Scope, by: str | None = None) -> pd.DataFrame:
    """土地利用现状. Grain: one row per year × first-level class (× township when by=township), for the
    surveyed years from scope.start.year to scope.end.year (each clamped to the surveyed years).
    share = the class's area / the region-year's total area."""
    if by not in (None, "township"):
        raise ValueError(f"land use can be broken down by township only, not {by!r}")
    years = available_years(conn, scope)
    if not years:
        cols = (["region_code", "region_name"] if by else []) + ["year", "category_code", "category_zh",
                                                                 "category_en", "area_ha", "share"]
        return pd.DataFrame(columns=cols)
    lo, hi = clamp_year(scope.start.year, years), clamp_year(scope.end.year, years)
    df = land_frame(conn, scope, [y for y in years if lo <= y <= hi])
    keys = ["region_code", "region_name", "year"] if by else ["year"]
    if not by:
        df = _county(df, ["year", "category_code"])
    df["share"] = df["area_ha"] / df.groupby(keys)["area_ha"].transform("sum")
    df = df[keys + ["category_code", "area_ha", "share"]].sort_values(keys + ["category_code"]).reset_index(drop=True)
    return _named(df)


def dynamic_degree(area_a, area_b, years: float):
    """Single-category dynamic degree K = (U_b − U_a) / U_a × 1/T × 100 (% a year); NaN when U_a = 0 or T = 0."""
    a = np.asarray(area_a, dtype=float)
    b = np.asarray(area_b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where((a != 0) & (years != 0), (b - a) / a / years * 100.0, np.nan)
    return k if k.ndim else float(k)


def land_change(conn: Connection, scope: Scope, by: str | None = None, year_a: int | None = None,
                year_b: int | None = None) -> pd.DataFrame:
    """土地利用变化. Grain: one row per first-level class (× township when by=township) between year_a
    and year_b (default: change_years). net_change = area_b − area_a; change_pct = net / area_a × 100;
    dynamic_degree_pct = K = (U_b − U_a)/U_a × 1/T × 100, T = year_b − year_a."""
    if by not in (None, "township"):
        raise ValueError(f"land change can be broken down by township only, not {by!r}")
    years = available_years(conn, scope)
    da, db = change_years(scope, years)
    year_a = da if year_a is None else year_a
    year_b = db if year_b is None else year_b
    keys = (["region_code", "region_name"] if by else []) + ["category_code"]
    cols = keys + ["category_zh", "category_en", "year_a", "year_b", "area_a", "area_b", "net_change",
                   "change_pct", "dynamic_degree_pct"]
    if year_a is None or year_b is None:
        return pd.DataFrame(columns=cols)
    df = land_frame(conn, scope, [year_a, year_b])
    if not by:
        df = _county(df, ["year", "category_code"])
    a = df[df["year"] == year_a].set_index(keys)["area_ha"].rename("area_a")
    b = df[df["year"] == year_b].set_index(keys)["area_ha"].rename("area_b")
    out = pd.concat([a, b], axis=1).fillna(0.0).reset_index()
    out["year_a"], out["year_b"] = year_a, year_b
    out["net_change"] = out["area_b"] - out["area_a"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = np.where(out["area_a"] != 0, out["net_change"] / out["area_a"] * 100.0, np.nan)
    out["dynamic_degree_pct"] = dynamic_degree(out["area_a"], out["area_b"], year_b - year_a)
    out = _named(out.sort_values(keys).reset_index(drop=True))
    return out[cols]


def transfer_matrix(parcels: pd.DataFrame, year_a: int, year_b: int) -> pd.DataFrame:
    """土地利用转移矩阵 from parcel-level data (parcel_id, year, category_code, area_ha).

    Grain: one row per (from class in year_a, to class in year_b) with the area (the parcel's year_a
    area) and the number of parcels; the diagonal is the unchanged land. Parcels present in only one of
    the two years are left out (a split or merged parcel needs an overlay, not a join)."""
    if parcels is None or parcels.empty:
        return pd.DataFrame(columns=TRANSFER_COLUMNS)
    p = parcels.assign(category_code=parcels["category_code"].astype(str).str[:2])
    a = p.loc[p["year"] == year_a, ["parcel_id", "category_code", "area_ha"]]
    b = p.loc[p["year"] == year_b, ["parcel_id", "category_code"]]
    both = a.merge(b, on="parcel_id", how="inner", suffixes=("_a", "_b"))
    out = (both.groupby(["category_code_a", "category_code_b"], as_index=False)
           .agg(area_ha=("area_ha", "sum"), parcels=("area_ha", "size"))
           .rename(columns={"category_code_a": "from_code", "category_code_b": "to_code"}))
    out = _named(_named(out, "from_code", "from"), "to_code", "to")
    return out[TRANSFER_COLUMNS].sort_values(["from_code", "to_code"]).reset_index(drop=True)


def transfer_matrix_wide(matrix: pd.DataFrame) -> pd.DataFrame:
    """The long transfer matrix as a square table: rows = from class, columns = to class, hectares."""
    return matrix.pivot_table(index="from_code", columns="to_code", values="area_ha", aggfunc="sum", fill_value=0.0)


def transfer_matrix_store(conn: Connection, scope: Scope) -> pd.DataFrame:
    """The transfer matrix of the store's parcels (analytics.transfer: by id, overlay where ids differ) between
    the scope's two survey years; without parcels of two years, an empty matrix whose attrs['note'] says why."""
    from analytics.transfer import store_matrix
    m = store_matrix(conn, scope)
    if m.empty:
        out = pd.DataFrame(columns=TRANSFER_STORE_COLUMNS)
        out.attrs["note"] = NO_PARCELS_NOTE
        return out
    out = _named(_named(m, "from_code", "from"), "to_code", "to")
    out["year_a"], out["year_b"] = m.attrs["year_a"], m.attrs["year_b"]
    return out[TRANSFER_STORE_COLUMNS].reset_index(drop=True)


# ---------- cultivated land against its target ----------

def _county_code(conn: Connection) -> str | None:
    """The jurisdiction's region code: the target region that has no land-use rows of its own."""
    own = {r for (r,) in conn.execute(select(land_use.c.region_code).distinct())}
    codes = {r for (r,) in conn.execute(select(targets.c.region_code).distinct()
                                        .where(targets.c.indicator == CULTIVATED_INDICATOR))} - own
    return min(codes) if len(codes) == 1 else None


def _township_target(conn: Connection, scope: Scope, name: str, code: str) -> float:
    """A township's own cultivated-land target via kpis.target_value; NaN without one (never the county's)."""
    own = conn.execute(select(func.count()).select_from(targets).where(
        targets.c.indicator == CULTIVATED_INDICATOR, targets.c.region_code == code)).scalar_one()
    if not own:
        return math.nan
    return kpis.target_value(conn, CULTIVATED_INDICATOR, Scope(scope.start, scope.end, township=name))


def linear_trend(years, areas) -> tuple[float, float]:
    """Least-squares line area = intercept + slope × year; NaNs with fewer than two years."""
    y = np.asarray(years, dtype=float)
    a = np.asarray(areas, dtype=float)
    if len(y) < 2 or np.ptp(y) == 0:
        return math.nan, math.nan
    slope, intercept = np.polyfit(y, a, 1)
    return float(slope), float(intercept)


def projected_crossing(latest_year: int, latest_area: float, target: float, slope: float,
                       intercept: float, horizon: int = PROJECTION_HORIZON) -> int | None:
    """First whole year at which the trend line reaches the target, for land above its target and
    trending down; None otherwise (already below, flat or rising, no target, or more than `horizon`
    years away). Never before the year after the latest survey."""
    if any(math.isnan(v) for v in (latest_area, target, slope, intercept)) or latest_area <= target or slope >= 0:
        return None
    crossing = int(max(math.ceil(round((target - intercept) / slope, 6)), latest_year + 1))
    return crossing if crossing - latest_year <= horizon else None


def cultivated_series(conn: Connection, scope: Scope) -> pd.DataFrame:
    """耕地 per region per surveyed year up to scope.end.year (clamped). Grain: one row per level
    (county, township) × region × year with area_ha; the county row only without a township scope."""
    years = available_years(conn, scope)
    cols = ["level", "region_code", "region_name", "year", "area_ha"]
    if not years:
        return pd.DataFrame(columns=cols)
    last = clamp_year(scope.end.year, years)
    df = land_frame(conn, scope, [y for y in years if y <= last], CULTIVATED)
    town = df.assign(level="township")[cols]
    if scope.township:
        return town.reset_index(drop=True)
    county = _county(df, ["year"]).assign(level="county", region_code=_county_code(conn), region_name=None)[cols]
    return pd.concat([county, town], ignore_index=True)


def cultivated_target(conn: Connection, scope: Scope, trend_years: int = TREND_YEARS) -> pd.DataFrame:
    """耕地保有量 vs target. Grain: one row per region (the county, then each township).

    area_ha: cultivated land (01) in the latest surveyed year ≤ scope.end.year; target_ha: the
    region's `cultivated_land_ha` target (kpis.target_value; a township only has its own); gap_ha =
    area − target (negative = below the target); slope: least-squares ha/year over the last
    `trend_years` surveyed years; projected_cross_year: projected_crossing; status: below | crossing
    (projected within PROJECTION_HORIZON years) | holding (not trending down toward it) | no_target."""
    series = cultivated_series(conn, scope)
    cols = ["level", "region_code", "region_name", "latest_year", "area_ha", "target_ha", "gap_ha", "gap_pct",
            "slope_ha_per_year", "trend_years", "projected_cross_year", "years_to_cross", "status"]
    rows = []
    for (level, code, name), part in series.groupby(["level", "region_code", "region_name"], dropna=False, sort=False):
        code = None if pd.isna(code) else code
        name = None if pd.isna(name) else name
        part = part.sort_values("year")
        window = part.tail(trend_years)
        slope, intercept = linear_trend(window["year"], window["area_ha"])
        latest_year, area = int(part["year"].iloc[-1]), float(part["area_ha"].iloc[-1])
        if level == "county":
            target = kpis.target_value(conn, CULTIVATED_INDICATOR, Scope(scope.start, scope.end))
        else:
            target = _township_target(conn, scope, name, code)
        cross = projected_crossing(latest_year, area, target, slope, intercept)
        if math.isnan(target):
            status = "no_target"
        elif area < target:
            status = "below"
        elif cross is not None:
            status = "crossing"
        else:
            status = "holding"
        rows.append(dict(level=level, region_code=code, region_name=name, latest_year=latest_year, area_ha=area,
                         target_ha=target, gap_ha=area - target,
                         gap_pct=(area - target) / target * 100.0 if target else math.nan,
                         slope_ha_per_year=slope, trend_years=int(len(window)), projected_cross_year=cross,
                         years_to_cross=cross - latest_year if cross is not None else None, status=status))
    out = pd.DataFrame(rows, columns=cols)
    out["projected_cross_year"] = out["projected_cross_year"].astype("Int64")
    out["years_to_cross"] = out["years_to_cross"].astype("Int64")
    return out


# ---------- land supply ----------

def _supply_where(scope: Scope) -> list:
    out = [land_supply.c.region_name == scope.township] if scope.township else []
    return out + ([land_supply.c.system == scope.system] if scope.system else [])


def _supply_dim(by: str):
    return land_supply.c.region_name if by == "township" else land_supply.c[by]


def supply_summary(conn: Connection, scope: Scope, by: str | None = None) -> pd.DataFrame:
    """供地. Grain: one row per group of parcels supplied (supplied_at) in the period: parcels, area_ha,
    price (sum, source unit — 万元 in the sample county), priced_area_ha (area of the parcels with a
    price) and price_per_ha = price / priced_area_ha. by: purpose | method | township | system | period (month)."""
    if by is not None and by not in SUPPLY_BY:
        raise ValueError(f"land supply can be broken down by {', '.join(SUPPLY_BY)}, not {by!r}")
    measures = ["parcels", "area_ha", "price", "priced_area_ha"]
    in_period = [land_supply.c.supplied_at >= scope.start, land_supply.c.supplied_at <= scope.end,
                 *_supply_where(scope)]
    if by == "period":
        rows = []
        for label, sub in month_scopes(scope):
            (row,) = supply_summary(conn, sub).to_dict("records")
            rows.append({"period": label, **row})
        return pd.DataFrame(rows, columns=["period", *measures, "price_per_ha"])
    priced = land_supply.c.price.is_not(None)
    agg = [func.count().label("parcels"), func.sum(land_supply.c.area_ha).label("area_ha"),
           func.sum(land_supply.c.price).label("price"),
           func.sum(sql_case((priced, land_supply.c.area_ha), else_=None)).label("priced_area_ha")]
    key = [_supply_dim(by).label(by)] if by else []
    q = select(*key, *agg).where(*in_period)
    if by:
        q = q.group_by(_supply_dim(by))
    df = pd.DataFrame(conn.execute(q).all(), columns=([by] if by else []) + measures)
    if by:
        df = df.sort_values(by, na_position="last").reset_index(drop=True)
    for c in measures:
        df[c] = pd.to_numeric(df[c].astype(object), errors="coerce").astype(float)
    df["parcels"] = df["parcels"].fillna(0).astype(int)
    df["area_ha"] = df["area_ha"].fillna(0.0)
    df["price_per_ha"] = np.where(df["priced_area_ha"] > 0, df["price"] / df["priced_area_ha"], np.nan)
    return df


def unsupplied(conn: Connection, scope: Scope) -> pd.DataFrame:
    """批而未供. Grain: one row per township with land approved by the period's last day and not supplied by
    then: parcels, area_ha, mean and max age in years (calendar days from approval to the last day
    / 365.25), the oldest approval date; largest area first."""
    q = (select(land_supply.c.region_code, land_supply.c.region_name, land_supply.c.approved_at,
                land_supply.c.area_ha)
         .where(land_supply.c.approved_at.is_not(None), land_supply.c.approved_at <= scope.end,
                or_(land_supply.c.supplied_at.is_(None), land_supply.c.supplied_at > scope.end),
                *_supply_where(scope)))
    df = pd.DataFrame(conn.execute(q).all(), columns=["region_code", "region_name", "approved_at", "area_ha"])
    cols = ["region_code", "region_name", "parcels", "area_ha", "mean_age_years", "max_age_years",
            "oldest_approved_at"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["age_years"] = (pd.Timestamp(scope.end) - pd.to_datetime(df["approved_at"])).dt.days / 365.25
    out = (df.groupby(["region_code", "region_name"], dropna=False, as_index=False)
           .agg(parcels=("area_ha", "size"), area_ha=("area_ha", "sum"), mean_age_years=("age_years", "mean"),
                max_age_years=("age_years", "max"), oldest_approved_at=("approved_at", "min")))
    return out.sort_values(["area_ha", "region_code"], ascending=[False, True])[cols].reset_index(drop=True)


def one_year_after(day) -> pd.Timestamp:
    """The anniversary one year later (29 Feb → 28 Feb)."""
    return pd.Timestamp(day) + pd.DateOffset(years=1)


def idle_land(conn: Connection, scope: Scope) -> pd.DataFrame:
    """闲置土地 at the period's last day. Grain: one row per parcel supplied by then whose development
    had not started by then (actual_start empty or later) although a full year had passed since the
    agreed start (满一年: the last day is on or after the agreed start's anniversary). Longest idle first."""
    cols = ["supply_id", "region_code", "region_name", "purpose", "method", "area_ha", "supplied_at",
            "agreed_start", "actual_start"]
    q = (select(*(land_supply.c[c] for c in cols))
         .where(land_supply.c.supplied_at.is_not(None), land_supply.c.supplied_at <= scope.end,
                land_supply.c.agreed_start.is_not(None), land_supply.c.agreed_start <= scope.end,
                or_(land_supply.c.actual_start.is_(None), land_supply.c.actual_start > scope.end),
                *_supply_where(scope)))
    df = pd.DataFrame(conn.execute(q).all(), columns=cols)
    out_cols = cols + ["idle_since", "days_past_agreed_start"]
    if df.empty:
        return pd.DataFrame(columns=out_cols)
    last = pd.Timestamp(scope.end)
    df["idle_since"] = [one_year_after(d).date() for d in df["agreed_start"]]
    df = df[pd.to_datetime(df["idle_since"]) <= last].copy()
    df["days_past_agreed_start"] = (last - pd.to_datetime(df["agreed_start"])).dt.days
    return df.sort_values(["days_past_agreed_start", "supply_id"], ascending=[False, True])[out_cols] \
        .reset_index(drop=True)


def _exports():
    from analytics.exports import Export
    return [
        Export("land-use", "area (ha) and share by GB/T 21010 first-level class per surveyed year, county total "
               "or per township; one row per (township ×) year × class",
               lambda conn, scope, cal, unit, by: land_use_table(conn, scope, by), by=LAND_BY),
        Export("land-change", "area change and dynamic degree K between the scope's first and last surveyed "
               "years; one row per (township ×) class",
               lambda conn, scope, cal, unit, by: land_change(conn, scope, by), by=LAND_BY),
        Export("transfer-matrix", "land-use transfer matrix between two years from parcel data (empty: the "
               "store has no parcel data yet); one row per from × to class",
               lambda conn, scope, cal, unit, by: transfer_matrix_store(conn, scope)),
        Export("cultivated-target", "cultivated land (01) vs its target with a linear trend and projected "
               "crossing year; one row per region (county, townships)",
               lambda conn, scope, cal, unit, by: cultivated_target(conn, scope)),
        Export("cultivated-series", "cultivated land (01) per surveyed year; one row per region × year",
               lambda conn, scope, cal, unit, by: cultivated_series(conn, scope)),
        Export("land-supply", "land supplied in the period: parcels, area, price; one row per group",
               lambda conn, scope, cal, unit, by: supply_summary(conn, scope, by), by=SUPPLY_BY),
        Export("unsupplied", "批而未供 at the period end: approved, not supplied; one row per township",
               lambda conn, scope, cal, unit, by: unsupplied(conn, scope)),
        Export("idle-land", "闲置土地 at the period end: supplied, not started a full year after the agreed "
               "start; one row per parcel",
               lambda conn, scope, cal, unit, by: idle_land(conn, scope)),
    ]


EXPORTS = _exports()
