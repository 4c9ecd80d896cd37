"""Where the store keeps geometry, and the one way to read it back: a PostGIS `geometry(Geometry, 4490)` column
when the PostgreSQL server offers the postgis extension (and LANDDESK_POSTGIS is not `off`), GeoJSON text
otherwise (always in SQLite). Migration 0011 decides it once; readers look at the column's actual type, so
the same functions return the same GeoJSON either way.

Loads need no branch: PostGIS parses GeoJSON text on input (COPY and INSERT alike) and the column's type
gives it the SRID 4490.
"""
from __future__ import annotations

from sqlalchemy import func, text
from sqlalchemy.engine import Connection

from etl.schema import STORE_SRID

#: The tables with a geometry column (migration 0010 made them, as text).
GEOMETRY_TABLES = ("regions", "land_parcels")


def postgis_available(conn: Connection) -> bool:
    """Whether this PostgreSQL server can provide the postgis extension (installed or installable)."""
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")).scalar_one() > 0


def extension_schema(conn: Connection) -> str | None:
    """The schema the postgis extension lives in (its types and functions), None when it is not installed."""
    return conn.execute(text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                             "WHERE e.extname = 'postgis'")).scalar()


def enable_postgis(conn: Connection) -> str | None:
    """Make postgis usable in this database when wanted and possible: CREATE EXTENSION in `public` (so that
    dropping an application schema never drops it), in a savepoint so that a role without the right falls back
    cleanly. Returns the extension's schema, or None: geometry stays text."""
    from landdesk.settings import settings
    if settings().postgis == "off" or not postgis_available(conn):
        return None
    schema = extension_schema(conn)
    if schema:
        return schema
    for ddl in ("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public", "CREATE EXTENSION IF NOT EXISTS postgis"):
        try:
            with conn.begin_nested():
                conn.execute(text(ddl))
            return extension_schema(conn)
        except Exception:  # noqa: BLE001 - no privilege, no public schema, a broken install: try the next / text
            continue
    return None


def postgis_schema(conn: Connection, table: str = "regions") -> str | None:
    """The schema of the PostGIS type `table`'s geometry column has (its functions live there too), None when
    the column is GeoJSON text (SQLite, plain PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return None
    q = text("SELECT udt_schema, udt_name FROM information_schema.columns WHERE table_schema = current_schema() "
             "AND table_name = :t AND column_name = 'geometry'")
    row = conn.execute(q, {"t": table}).first()
    return row[0] if row and row[1] == "geometry" else None


def uses_postgis(conn: Connection, table: str = "regions") -> bool:
    """Whether `table`'s geometry column is a PostGIS geometry (else GeoJSON text)."""
    return postgis_schema(conn, table) is not None


def geometry_select(conn: Connection, column):
    """The select expression of a geometry column: its WKB (exact) under PostGIS, the GeoJSON text otherwise;
    `shapes` / `geojson` turn either into shapely geometries / GeoJSON text."""
    schema = postgis_schema(conn, column.table.name)
    if schema is None:
        return column
    return getattr(func, schema).ST_AsBinary(column).label(column.name)


def shapes(values) -> list:
    """Shapely geometries from what `geometry_select` read (WKB bytes or GeoJSON text); None stays None."""
    import shapely
    out = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            out.append(shapely.from_wkb(bytes(v)))
        else:
            out.append(shapely.from_geojson(v))
    return out


def geojson(values) -> list:
    """GeoJSON texts (as the ETL stored them: shapely's writer) from what `geometry_select` read."""
    import shapely
    return [None if g is None else shapely.to_geojson(g) for g in shapes(values)]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def to_postgis(conn: Connection, schema: str) -> None:
    """Turn the text geometry columns into PostGIS geometry(Geometry, 4490) with a GiST index (migration 0011);
    `schema`: the extension's."""
    ns = _q(schema)
    for table in GEOMETRY_TABLES:
        conn.execute(text(
            f'ALTER TABLE "{table}" ALTER COLUMN geometry TYPE {ns}.geometry(Geometry, {STORE_SRID}) '
            f"USING CASE WHEN geometry IS NULL THEN NULL "
            f"ELSE {ns}.ST_SetSRID({ns}.ST_GeomFromGeoJSON(geometry), {STORE_SRID}) END"))
        conn.execute(text(f'CREATE INDEX IF NOT EXISTS "ix_{table}_geometry" ON "{table}" USING gist (geometry)'))


def to_text(conn: Connection) -> None:
    """Back to GeoJSON text columns (migration 0011's downgrade), rewritten by shapely's writer as the ETL does."""
    import shapely
    for table in GEOMETRY_TABLES:
        schema = postgis_schema(conn, table)
        if schema is None:
            continue
        conn.execute(text(f'DROP INDEX IF EXISTS "ix_{table}_geometry"'))
        conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN geometry TYPE text '
                          f"USING encode({_q(schema)}.ST_AsBinary(geometry), 'hex')"))
        rows = conn.execute(text(f'SELECT ctid::text, geometry FROM "{table}" WHERE geometry IS NOT NULL')).all()
        for ctid, hexwkb in rows:
            conn.execute(text(f'UPDATE "{table}" SET geometry = :g WHERE ctid = CAST(:c AS tid)'),
                         {"g": shapely.to_geojson(shapely.from_wkb(bytes.fromhex(hexwkb))), "c": ctid})


def read(conn: Connection, table, *where, order_by=()) -> "pd.DataFrame":
    """The rows of a geometry table (regions, land_parcels) with `geometry` as GeoJSON text, whichever way the
    store keeps it: the same frame from SQLite, plain PostgreSQL and PostGIS."""
    import pandas as pd
    from sqlalchemy import select
    cols = [geometry_select(conn, c) if c.name == "geometry" else c for c in table.c]
    q = select(*cols).where(*where).order_by(*(order_by or table.primary_key.columns))
    df = pd.DataFrame(conn.execute(q).all(), columns=[c.name for c in table.c], dtype=object)   # values as stored
    df["geometry"] = geojson(df["geometry"])
    return df
