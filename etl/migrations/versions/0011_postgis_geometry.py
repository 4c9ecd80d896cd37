"""postgis geometry: on a PostgreSQL server that offers the postgis extension (and LANDDESK_POSTGIS is not
`off`), the `regions` and `land_parcels` geometry columns become geometry(Geometry, 4490) with GiST indexes;
elsewhere (SQLite, PostgreSQL without PostGIS) they stay GeoJSON text. Readers follow the column's type
(etl.spatial), so the two return the same GeoJSON.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 18:00:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl import spatial
    conn = op.get_bind()
    schema = spatial.enable_postgis(conn)
    if schema:
        spatial.to_postgis(conn, schema)


def downgrade() -> None:
    from etl import spatial
    spatial.to_text(op.get_bind())
