"""write marks (issue 20): `write_marks`, one counter the database bumps on every write to cases, case_events and
petitions (etl.marks: PostgreSQL statement-level triggers; SQLite row triggers on UPDATE and DELETE, inserts read
as max(rowid)), and `mart_state.marks`, the mark the marts were computed for. It replaces counting the base
tables' rows on every request (0.3–0.45 s each at ten million events) and also catches hand UPDATEs. Marts that
equalled the base tables' row counts are carried over as current; others stay stale until the next load rebuilds
them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_TABLES = ('cases', 'petitions', 'case_events')
_BUMP = "UPDATE write_marks SET mark = mark + 1 WHERE name = 'base'"


def upgrade() -> None:
    from etl import schema as S
    op.create_table('write_marks',
                    sa.Column('name', sa.String(length=20), nullable=False),
                    sa.Column('mark', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_write_marks')),
                    comment=S.write_marks.comment)
    op.execute("INSERT INTO write_marks (name, mark) VALUES ('base', 0)")
    if op.get_bind().dialect.name == 'postgresql':
        # the counter beside the written table, whatever the writer's search_path
        op.execute("CREATE FUNCTION landdesk_bump_write_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "EXECUTE format('UPDATE %I.write_marks SET mark = mark + 1 WHERE name = ''base''', "
                   "TG_TABLE_SCHEMA); RETURN NULL; END $$")
        for t in _TABLES:
            op.execute(f"CREATE TRIGGER write_mark_{t} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION landdesk_bump_write_mark()")
    else:
        for t in _TABLES:
            for event in ('UPDATE', 'DELETE'):
                op.execute(f"CREATE TRIGGER write_mark_{t}_{event.lower()} AFTER {event} ON {t} "
                           f"BEGIN {_BUMP}; END")
    with op.batch_alter_table('mart_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marks', sa.String(length=80), nullable=True))
    _carry_over_current_marts()


def _carry_over_current_marts() -> None:
    """Marts computed for today's row counts are current: record today's mark for them (a count per table, once)."""
    from etl import marks
    bind = op.get_bind()
    held = bind.execute(sa.text("SELECT cases, petitions, events FROM mart_state WHERE name = 'marts'")).first()
    if held is None:
        return
    counts = tuple(bind.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in _TABLES)
    if tuple(held) == counts:
        bind.execute(sa.text("UPDATE mart_state SET marks = :m, cases = 0, petitions = 0, events = 0 "
                             "WHERE name = 'marts'"), {"m": marks.read(bind)})


def downgrade() -> None:
    from etl import marts
    marts.record_counts(op.get_bind())        # what 0014's readers compare: the row counts, if the marts are current
    with op.batch_alter_table('mart_state', schema=None) as batch_op:
        batch_op.drop_column('marks')
    if op.get_bind().dialect.name == 'postgresql':
        for t in _TABLES:
            op.execute(f"DROP TRIGGER write_mark_{t} ON {t}")
        op.execute("DROP FUNCTION landdesk_bump_write_mark()")
    else:
        for t in _TABLES:
            for event in ('update', 'delete'):
                op.execute(f"DROP TRIGGER write_mark_{t}_{event}")
    op.drop_table('write_marks')
