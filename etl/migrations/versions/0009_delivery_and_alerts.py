"""delivery and alerts: the delivery history (one row per briefing or alert sent to a recipient or robot, with its
outcome) and the alert occurrences (deduplicated by key, re-sent when their fingerprint changes).

Down-revision 0005: helpers add 0006–0008 in parallel; the lead re-chains this one after them at merge.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'resolved')", name=op.f('ck_alerts_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    comment='Grain: one row per alert occurrence (a rule firing for one subject until it clears); detail is JSON '
            'with ids and numbers only.'
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_key_status', ['key', 'status'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=True),
    sa.Column('township', sa.String(length=100), nullable=True),
    sa.Column('formats', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('sent', 'failed')", name=op.f('ck_deliveries_status_known')),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_deliveries_alert_id_alerts'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    comment='Grain: one row per delivery of a briefing or an alert to one recipient or robot, with its outcome; '
            'webhook tokens are never stored (target is the URL without its query). Append-only.'
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_week_at', ['week', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_week_at')
    op.drop_table('deliveries')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_key_status')
    op.drop_table('alerts')
