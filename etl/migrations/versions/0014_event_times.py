"""event times (issue 20): mart_event_times — one row per stage event with its in-case context and its times in
working days (etl.eventtimes), clustered by completion so a period's events are one range — mart_stages (the
stage names' codes it stores) and mart_state.events
(the case_events rows the marts were computed for); backfilled from the base tables.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl import schema as S
    op.create_table('mart_event_times',
                    sa.Column('completed_at', sa.DateTime(), nullable=False),
                    sa.Column('case_no', sa.Integer(), nullable=False),
                    sa.Column('seq', sa.Integer(), nullable=False),
                    sa.Column('system', sa.String(length=100), nullable=False),
                    sa.Column('case_id', sa.String(length=100), nullable=False),
                    sa.Column('township', sa.String(length=100), nullable=True),
                    sa.Column('case_type', sa.String(length=100), nullable=True),
                    sa.Column('department', sa.String(length=100), nullable=True),
                    sa.Column('stage', sa.String(length=200), nullable=False),
                    sa.Column('prev_stage', sa.String(length=200), nullable=True),
                    sa.Column('stage_code', sa.Integer(), nullable=False),
                    sa.Column('prev_stage_code', sa.Integer(), nullable=True),
                    sa.Column('stage_department', sa.String(length=100), nullable=True),
                    sa.Column('handler', sa.String(length=64), nullable=True),
                    sa.Column('result', sa.String(length=20), nullable=True),
                    sa.Column('is_last', sa.Boolean(), nullable=False),
                    sa.Column('occurrence', sa.Integer(), nullable=False),
                    sa.Column('sojourn', sa.Float(), nullable=False),
                    sa.Column('waiting', sa.Float(), nullable=True),
                    sa.Column('processing', sa.Float(), nullable=True),
                    sa.Column('edge_time', sa.Float(), nullable=False),
                    sa.Column('edge_wait', sa.Float(), nullable=False),
                    sa.Column('end_time', sa.Float(), nullable=True),
                    sa.PrimaryKeyConstraint('completed_at', 'case_no', 'seq', name=op.f('pk_mart_event_times')),
                    sqlite_with_rowid=False,
                    comment=S.mart_event_times.comment)
    with op.batch_alter_table('mart_event_times', schema=None) as batch_op:
        batch_op.create_index('ix_mart_event_times_system_case_id', ['system', 'case_id'], unique=False)
    op.create_table('mart_stages',
                    sa.Column('code', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('stage', sa.String(length=200), nullable=False),
                    sa.PrimaryKeyConstraint('code', name=op.f('pk_mart_stages')),
                    sa.UniqueConstraint('stage', name=op.f('uq_mart_stages_stage')),
                    comment=S.mart_stages.comment)
    with op.batch_alter_table('mart_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('events', sa.Integer(), server_default='0', nullable=False))
    from etl import marts
    marts.rebuild(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('mart_state', schema=None) as batch_op:
        batch_op.drop_column('events')
    with op.batch_alter_table('mart_event_times', schema=None) as batch_op:
        batch_op.drop_index('ix_mart_event_times_system_case_id')
    op.drop_table('mart_event_times')
    op.drop_table('mart_stages')
