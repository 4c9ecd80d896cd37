"""plan indexes (issue 20): the indexes the query plans of the hot reads showed missing at ×30 —
`case_events (completed_at, system, case_id)` in place of `(completed_at)`, so the process exports find the cases
touched in a period from the index alone, and `petitions` `accepted_at`, `replied_at`, `closed_at`, so the data
end (`coverage.last_event`, read by every cockpit request) is three index seeks instead of three table scans and
the reply-rate KPI a range search. docs/performance.md, "SQLite and PostgreSQL side by side at ×30".

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:00:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_PETITIONS = ('accepted_at', 'replied_at', 'closed_at')


def upgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_completed_at_case', ['completed_at', 'system', 'case_id'], unique=False)
        batch_op.drop_index('ix_case_events_completed_at')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        for col in _PETITIONS:
            batch_op.create_index(f'ix_petitions_{col}', [col], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        for col in reversed(_PETITIONS):
            batch_op.drop_index(f'ix_petitions_{col}')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_completed_at', ['completed_at'], unique=False)
        batch_op.drop_index('ix_case_events_completed_at_case')
