"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 09:27:21.019716
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('date', name=op.f('pk_calendar')),
    comment='Grain: one row per date whose working-day status overrides the official calendar library.'
    )
    op.create_table('etl_batches',
    sa.Column('batch_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mapping', sa.String(length=500), nullable=False),
    sa.Column('dataset', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_loaded', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_etl_batches')),
    comment='Grain: one row per load of one mapping (a batch).'
    )
    with op.batch_alter_table('etl_batches', schema=None) as batch_op:
        batch_op.create_index('ix_etl_batches_mapping_sha', ['mapping', 'source_sha256'], unique=False)

    op.create_table('cases',
    sa.Column('case_id', sa.String(length=100), nullable=False),
    sa.Column('case_type', sa.String(length=100), nullable=True),
    sa.Column('service_item', sa.String(length=200), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('township', sa.String(length=100), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=100), nullable=True),
    sa.Column('statutory_days', sa.Integer(), nullable=True),
    sa.Column('promised_days', sa.Integer(), nullable=True),
    sa.Column('visits', sa.Integer(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('applicant_key', sa.String(length=64), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('rating IS NULL OR (rating BETWEEN 1 AND 5)', name=op.f('ck_cases_rating_range')),
    sa.CheckConstraint('visits IS NULL OR visits >= 0', name=op.f('ck_cases_visits_nonneg')),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_cases_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_cases')),
    comment="Grain: one row per case (办件); case_id is the source system's natural key."
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_case_type', ['case_type'], unique=False)
        batch_op.create_index('ix_cases_closed_at', ['closed_at'], unique=False)
        batch_op.create_index('ix_cases_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_cases_township', ['township'], unique=False)

    op.create_table('etl_rejects',
    sa.Column('reject_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_etl_rejects_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('reject_id', name=op.f('pk_etl_rejects')),
    comment='Grain: one row per rejected source record (and reason) of a batch. Raw content is pseudonymised.'
    )
    with op.batch_alter_table('etl_rejects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_etl_rejects_batch_id'), ['batch_id'], unique=False)

    op.create_table('land_supply',
    sa.Column('supply_id', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=True),
    sa.Column('region_name', sa.String(length=100), nullable=True),
    sa.Column('approved_at', sa.Date(), nullable=True),
    sa.Column('supplied_at', sa.Date(), nullable=True),
    sa.Column('purpose', sa.String(length=100), nullable=True),
    sa.Column('method', sa.String(length=40), nullable=True),
    sa.Column('area_ha', sa.Float(), nullable=False),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('agreed_start', sa.Date(), nullable=True),
    sa.Column('actual_start', sa.Date(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('area_ha >= 0', name=op.f('ck_land_supply_area_nonneg')),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_land_supply_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('supply_id', name=op.f('pk_land_supply')),
    comment='Grain: one row per approved or supplied parcel / transaction.'
    )
    op.create_table('land_use',
    sa.Column('region_code', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=10), nullable=False),
    sa.Column('region_name', sa.String(length=100), nullable=True),
    sa.Column('area_ha', sa.Float(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('area_ha >= 0', name=op.f('ck_land_use_area_nonneg')),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_land_use_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('region_code', 'year', 'category_code', name=op.f('pk_land_use')),
    comment='Grain: one row per region × year × GB/T 21010 category (first or second level).'
    )
    op.create_table('petitions',
    sa.Column('petition_id', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('topic', sa.String(length=200), nullable=True),
    sa.Column('township', sa.String(length=100), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('petitioner_key', sa.String(length=64), nullable=True),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('replied_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('extended', sa.Boolean(), nullable=True),
    sa.Column('satisfaction', sa.String(length=20), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_petitions_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('petition_id', name=op.f('pk_petitions')),
    comment='Grain: one row per petition (信访件); summary is PII-scrubbed, petitioner_key a keyed hash.'
    )
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.create_index('ix_petitions_received_at', ['received_at'], unique=False)

    op.create_table('targets',
    sa.Column('indicator', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=20), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_targets_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('indicator', 'region_code', 'period', name=op.f('pk_targets')),
    comment='Grain: one row per indicator × region × period (e.g. 耕地保有量 2026, on-time-rate 2025).'
    )
    op.create_table('case_events',
    sa.Column('case_id', sa.String(length=100), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('handler_key', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_case_events_batch_id_etl_batches')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'seq', name=op.f('pk_case_events')),
    comment="Grain: one row per stage event of a case; seq orders a case's events by time, ties by source order."
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_completed_at', ['completed_at'], unique=False)
        batch_op.create_index('ix_case_events_stage', ['stage'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_stage')
        batch_op.drop_index('ix_case_events_completed_at')

    op.drop_table('case_events')
    op.drop_table('targets')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_index('ix_petitions_received_at')

    op.drop_table('petitions')
    op.drop_table('land_use')
    op.drop_table('land_supply')
    with op.batch_alter_table('etl_rejects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_etl_rejects_batch_id'))

    op.drop_table('etl_rejects')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_township')
        batch_op.drop_index('ix_cases_received_at')
        batch_op.drop_index('ix_cases_closed_at')
        batch_op.drop_index('ix_cases_case_type')

    op.drop_table('cases')
    with op.batch_alter_table('etl_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_etl_batches_mapping_sha')

    op.drop_table('etl_batches')
    op.drop_table('calendar')
