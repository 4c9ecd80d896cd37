"""api tokens: one row per token of the exchange interface (`landdesk api`), stored as a SHA-256 hash with its
role, township scope, expiry and revocation.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('township', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role <> 'township_officer' OR township IS NOT NULL",
                       name=op.f('ck_api_tokens_officer_township')),
    sa.CheckConstraint("role IN ('leader', 'planner', 'analyst', 'township_officer', 'admin', 'public')",
                       name=op.f('ck_api_tokens_role_known')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    comment='Grain: one row per API token of another system (一网通办, 政务公开 …); token_hash is the SHA-256 of '
            'the token (never the token itself).'
    )


def downgrade() -> None:
    op.drop_table('api_tokens')
