"""users and audit log: dashboard accounts (argon2id hashes, roles, officer township) and the
append-only audit log (sign-ins, exports, downloads, uploads, ETL runs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:10:15.649837
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('client', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    comment='Grain: one row per audited event (sign-in, failed sign-in, export, download, upload, ETL run, briefing, scope forced, user change); detail is JSON text. Append-only.'
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_client_action_at', ['client', 'action', 'at'], unique=False)
        batch_op.create_index('ix_audit_log_username_action_at', ['username', 'action', 'at'], unique=False)

    op.create_table('users',
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('township', sa.String(length=100), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role <> 'township_officer' OR township IS NOT NULL", name=op.f('ck_users_officer_township')),
    sa.CheckConstraint("role IN ('leader', 'planner', 'analyst', 'township_officer', 'admin')", name=op.f('ck_users_role_known')),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_users')),
    comment='Grain: one row per dashboard account; password_hash is argon2id (never a clear password).'
    )


def downgrade() -> None:
    op.drop_table('users')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_username_action_at')
        batch_op.drop_index('ix_audit_log_client_action_at')
        batch_op.drop_index('ix_audit_log_at')

    op.drop_table('audit_log')
