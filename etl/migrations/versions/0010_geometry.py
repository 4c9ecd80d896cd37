"""geometry: the `regions` table (administrative areas with their population and boundary) and the
`land_parcels` table (land-survey parcels, 图斑, per survey year), both with a portable `geometry` column
holding GeoJSON text in the one store CRS, CGCS2000 geographic (EPSG:4490).

Parallel helpers add 0006–0009; this revision follows 0005 and is re-chained when merged.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _batch_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f(f'fk_{table}_batch_id_etl_batches'))


def upgrade() -> None:
    op.create_table('regions',
    sa.Column('region_code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('parent', sa.String(length=20), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('geometry', sa.Text(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("level IN ('county', 'township', 'village')", name=op.f('ck_regions_level_known')),
    sa.CheckConstraint('population IS NULL OR population >= 0', name=op.f('ck_regions_population_nonneg')),
    _batch_fk('regions'),
    sa.PrimaryKeyConstraint('region_code', name=op.f('pk_regions')),
    comment='Grain: one row per administrative area (county, township, village); geometry is GeoJSON in EPSG:4490.'
    )
    op.create_index('ix_regions_name', 'regions', ['name'], unique=False)
    op.create_table('land_parcels',
    sa.Column('parcel_id', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=10), nullable=False),
    sa.Column('area_ha', sa.Float(), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('geometry', sa.Text(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('area_ha >= 0', name=op.f('ck_land_parcels_area_nonneg')),
    _batch_fk('land_parcels'),
    sa.PrimaryKeyConstraint('parcel_id', 'year', name=op.f('pk_land_parcels')),
    comment='Grain: one row per land-survey parcel (图斑) × survey year; geometry is GeoJSON in EPSG:4490.'
    )
    op.create_index('ix_land_parcels_year_region', 'land_parcels', ['year', 'region_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_land_parcels_year_region', table_name='land_parcels')
    op.drop_table('land_parcels')
    op.drop_index('ix_regions_name', table_name='regions')
    op.drop_table('regions')
