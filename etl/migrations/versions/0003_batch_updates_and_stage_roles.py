"""batch updates and stage roles: etl_batches.rows_updated (how many records a batch changed that
existed before it, so `landdesk etl undo` can refuse what it cannot restore) and stage_roles (stages a
mapping declares as returns for supplement, 补正, for the rework analytics).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('etl_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_updated', sa.Integer(), nullable=True))
    op.create_table('stage_roles',
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['etl_batches.batch_id'], name=op.f('fk_stage_roles_batch_id_etl_batches')),
    sa.PrimaryKeyConstraint('stage', 'role', name=op.f('pk_stage_roles')),
    comment="Grain: one row per stage name × role ('supplement': a return to the applicant for supplementary material, 补正), declared by a mapping's supplement_stages."
    )


def downgrade() -> None:
    op.drop_table('stage_roles')
    with op.batch_alter_table('etl_batches', schema=None) as batch_op:
        batch_op.drop_column('rows_updated')
