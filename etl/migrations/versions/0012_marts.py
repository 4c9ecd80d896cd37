"""marts: the cockpit's summary tables (issue 20) — cases received and completed, petitions received and replied,
per local day × the scope's dimensions (completed cases also × working days taken) — and mart_state (the zone and
calendar they were computed for); backfilled from the base tables, so an existing store serves them at once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_COUNTS = {
    'mart_cases_received': ('received', 'online'),
    'mart_cases_closed': ('workdays', 'closed', 'with_limit', 'on_time', 'rated', 'good'),
    'mart_petitions_received': ('received',),
    'mart_petitions_replied': ('replied', 'on_time'),
}
_DIMS = {
    'mart_cases_received': ('township', 'case_type', 'department', 'system'),
    'mart_cases_closed': ('township', 'case_type', 'department', 'system'),
    'mart_petitions_received': ('township', 'department', 'system'),
    'mart_petitions_replied': ('township', 'department', 'system'),
}


def upgrade() -> None:
    from etl import schema as S
    for table in S.MART_TABLES:
        name = table.name
        op.create_table(name,
                        sa.Column('day', sa.Date(), nullable=False),
                        *(sa.Column(d, sa.String(length=100), nullable=True) for d in _DIMS[name]),
                        *(sa.Column(c, sa.Integer(), nullable=False) for c in _COUNTS[name]),
                        comment=table.comment)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(f'ix_{name}_day', ['day'], unique=False)
    op.create_table('mart_state',
                    sa.Column('name', sa.String(length=20), nullable=False),
                    sa.Column('timezone', sa.String(length=64), nullable=False),
                    sa.Column('calendar', sa.String(length=64), nullable=False),
                    sa.Column('cases', sa.Integer(), nullable=False),
                    sa.Column('petitions', sa.Integer(), nullable=False),
                    sa.Column('computed_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_mart_state')),
                    comment=S.mart_state.comment)
    from etl import marts
    marts.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table('mart_state')
    for name in reversed(list(_COUNTS)):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{name}_day')
        op.drop_table(name)
