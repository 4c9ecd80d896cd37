"""risk reference (issue 20): `risk_reference`, the integrity-risk reference assessed for one store state (every
closed case with its rules, score and reasons; analytics.riskstore), clustered by closing time so a period's cases
are one range, and `risk_reference_state`, what it was computed for. Empty until the first assessment stores it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl import schema as S
    op.create_table('risk_reference',
                    sa.Column('closed_at', sa.DateTime(), nullable=False),
                    sa.Column('case_key', sa.String(length=220), nullable=False),
                    sa.Column('system', sa.String(length=100), nullable=False),
                    sa.Column('case_type', sa.String(length=200), nullable=True),
                    sa.Column('township', sa.String(length=100), nullable=True),
                    sa.Column('department', sa.String(length=100), nullable=True),
                    sa.Column('received_at', sa.DateTime(), nullable=True),
                    sa.Column('hours', sa.Float(), nullable=True),
                    sa.Column('handler_key', sa.String(length=64), nullable=True),
                    sa.Column('rules', sa.String(length=200), nullable=False),
                    sa.Column('score', sa.Float(), nullable=True),
                    sa.Column('reason_zh', sa.Text(), nullable=False),
                    sa.Column('reason_en', sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint('closed_at', 'case_key', name=op.f('pk_risk_reference')),
                    sqlite_with_rowid=False,
                    comment=S.risk_reference.comment)
    op.create_table('risk_reference_state',
                    sa.Column('name', sa.String(length=20), nullable=False),
                    sa.Column('store_state', sa.String(length=200), nullable=False),
                    sa.Column('code', sa.String(length=64), nullable=False),
                    sa.Column('computed_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_risk_reference_state')),
                    comment=S.risk_reference_state.comment)


def downgrade() -> None:
    op.drop_table('risk_reference_state')
    op.drop_table('risk_reference')
