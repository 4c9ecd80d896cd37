"""source systems: etl_batches.system says which system a batch loaded; cases, case_events, petitions and land_supply get a `system` column (the mapping's
`system:`, 'default' for every existing row), and their natural keys become (system, id): primary keys
(system, case_id), (system, case_id, seq), (system, petition_id), (system, supply_id), and the events'
foreign key (system, case_id) → cases.

On SQLite (batch mode: each table is rebuilt) the events lose their foreign key before their cases are
rebuilt and get the new one afterwards: with foreign keys on, dropping a parent table deletes its children
through ON DELETE CASCADE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DEFAULT = 'default'
#: table → the id column the system qualifies (the events' key also has seq).
KEYED = {'petitions': ['petition_id'], 'land_supply': ['supply_id']}
#: table → (comment before, comment after): each states the table's grain.
COMMENTS = {
    'cases': ("Grain: one row per case (办件); case_id is the source system's natural key.",
              "Grain: one row per case (办件) of a source system; (system, case_id) is the natural key."),
    'petitions': ("Grain: one row per petition (信访件); summary is PII-scrubbed, petitioner_key a keyed hash.",
                  "Grain: one row per petition (信访件) of a source system; summary is PII-scrubbed, "
                  "petitioner_key a keyed hash."),
    'land_supply': ("Grain: one row per approved or supplied parcel / transaction.",
                    "Grain: one row per approved or supplied parcel / transaction of a source system."),
}


def _comments(new: bool) -> None:
    if op.get_bind().dialect.name == 'sqlite':     # SQLite keeps no table comments
        return
    for table, (before, after) in COMMENTS.items():
        op.create_table_comment(table, after if new else before, existing_comment=before if new else after)


def _system_column() -> sa.Column:
    return sa.Column('system', sa.String(length=100), server_default=DEFAULT, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('etl_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system', sa.String(length=100), nullable=True))
    op.execute(sa.text("UPDATE etl_batches SET system = 'default' "
                       "WHERE dataset IN ('cases', 'case_events', 'petitions', 'land_supply')"))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(_system_column())
        batch_op.drop_constraint('fk_case_events_case_id_cases', type_='foreignkey')
        batch_op.drop_constraint('pk_case_events', type_='primary')
        batch_op.create_primary_key('pk_case_events', ['system', 'case_id', 'seq'])
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(_system_column())
        batch_op.drop_constraint('pk_cases', type_='primary')
        batch_op.create_primary_key('pk_cases', ['system', 'case_id'])
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_case_events_system_cases', 'cases', ['system', 'case_id'],
                                    ['system', 'case_id'], ondelete='CASCADE')
    for table, ids in KEYED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_system_column())
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', ['system', *ids])
    _comments(new=True)


def downgrade() -> None:
    """Back to one id space. Refused when two systems share an id: one of them would have to be dropped."""
    bind = op.get_bind()
    for table, key in (('cases', 'case_id'), ('petitions', 'petition_id'), ('land_supply', 'supply_id')):
        clash = bind.execute(sa.text(f'SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1 LIMIT 1')).first()
        if clash is not None:
            raise RuntimeError(f'cannot downgrade below 0005: {table}.{key} {clash[0]!r} occurs in several source systems')
    _comments(new=False)
    for table, ids in KEYED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', ids)
            batch_op.drop_column('system')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_case_events_system_cases', type_='foreignkey')
        batch_op.drop_constraint('pk_case_events', type_='primary')
        batch_op.create_primary_key('pk_case_events', ['case_id', 'seq'])
        batch_op.drop_column('system')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint('pk_cases', type_='primary')
        batch_op.create_primary_key('pk_cases', ['case_id'])
        batch_op.drop_column('system')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_case_events_case_id_cases', 'cases', ['case_id'], ['case_id'],
                                    ondelete='CASCADE')
    with op.batch_alter_table('etl_batches', schema=None) as batch_op:
        batch_op.drop_column('system')
