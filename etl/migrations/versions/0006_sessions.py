"""sessions: one row per dashboard sign-in, so a signed-in browser stays signed in across reloads, new tabs and
reconnects until sign-out, a disabled account or inactivity ends it (service/sessions.py). Only keyed hashes of
the cookie's token and of the one-time grant that sets it are stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('grant_hash', sa.String(length=64), nullable=True),
    sa.Column('grant_expires_at', sa.DateTime(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=True),
    sa.CheckConstraint("end_reason IS NULL OR end_reason IN ('signed_out', 'disabled', 'expired')",
                       name=op.f('ck_sessions_end_reason_known')),
    sa.ForeignKeyConstraint(['username'], ['users.username'], name=op.f('fk_sessions_username_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('grant_hash', name=op.f('uq_sessions_grant_hash')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash')),
    comment='Grain: one row per dashboard sign-in (a browser session); token_hash and grant_hash are keyed '
            'hashes (HMAC with the store\'s secret), never the token itself.'
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_username_ended_at', ['username', 'ended_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_username_ended_at')
    op.drop_table('sessions')
