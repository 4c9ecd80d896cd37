"""reference process: the reference_process table, a bureau's statutory process (法定流程) per case type — one
row per case type × stage with its order, whether it is mandatory, its time limit in working days, whether a
case may begin with it and the stages allowed to follow it (loaded by `landdesk etl load` from a
`dataset: reference_process` file).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_process',
    sa.Column('case_type', sa.String(length=200), nullable=False),
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('stage_order', sa.Integer(), nullable=False),
    sa.Column('mandatory', sa.Boolean(), nullable=False),
    sa.Column('limit_workdays', sa.Float(), nullable=True),
    sa.Column('initial', sa.Boolean(), nullable=False),
    sa.Column('successors', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'],
                            name=op.f('fk_reference_process_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('case_type', 'stage', name=op.f('pk_reference_process')),
    comment="Grain: one row per case type × stage of the bureau's statutory reference process (法定流程): order, "
            "mandatory, limit in working days, the allowed moves out of the stage."
    )


def downgrade() -> None:
    op.drop_table('reference_process')
