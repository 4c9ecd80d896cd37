"""Alembic migrations agree with etl/schema.py, go down and up again, and `landdesk db upgrade`
is safe to run twice — on SQLite and on PostgreSQL."""
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from etl.schema import metadata
from etl.store import alembic_config, current_revision, upgrade

ROOT = Path(__file__).resolve().parent.parent


def head() -> str:
    script = ScriptDirectory.from_config(_cfg())
    heads = script.get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def _cfg():
    from alembic.config import Config
    from etl.store import MIGRATIONS_DIR
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def diff(engine):
    """The differences between the store and etl.schema, less PostGIS's own (migration 0011): its geometry
    columns' type and their GiST indexes, which the portable schema module does not describe."""
    from etl import spatial
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        found = compare_metadata(ctx, metadata)
        postgis = {t for t in spatial.GEOMETRY_TABLES if spatial.uses_postgis(conn, t)}

    def postgis_own(d) -> bool:
        if not isinstance(d, tuple):                       # a list of column changes: modify_type, …
            return all(c[0] == "modify_type" and c[2] in postgis and c[3] == "geometry" for c in d)
        return d[0] == "remove_index" and d[1].table.name in postgis and d[1].name == f"ix_{d[1].table.name}_geometry"
    return [d for d in found if not postgis_own(d)]


def test_migrated_store_matches_the_schema_module(engine):
    assert current_revision(engine) == head()
    assert diff(engine) == []


def test_every_revision_chains_and_says_what_it_does():
    script = ScriptDirectory.from_config(_cfg())
    revs = list(script.walk_revisions())
    assert [r.revision for r in reversed(revs)][:2] == ["0001", "0002"]
    assert all(r.doc and r.doc.strip() for r in revs)


def test_downgrade_to_0001_and_back(engine):
    from alembic import command
    command.downgrade(alembic_config(engine), "0001")
    tables = set(inspect(engine).get_table_names())
    assert "users" not in tables and "audit_log" not in tables and "cases" in tables
    missing = {d[1].name for d in diff(engine) if d[0] == "add_table"}
    assert missing == {"users", "audit_log", "stage_roles", "sessions", "reference_process", "api_tokens",
                       "deliveries", "alerts", "regions", "land_parcels", "mart_cases_received",
                       "mart_cases_closed", "mart_petitions_received", "mart_petitions_replied", "mart_state"}   # the comparison does see a schema the store lacks
    upgrade(engine)
    assert {"users", "audit_log", "api_tokens"} <= set(inspect(engine).get_table_names())
    assert diff(engine) == []


def test_db_upgrade_cli_twice(engine):
    url = engine.url.render_as_string(hide_password=False)
    for _ in range(2):
        r = subprocess.run([sys.executable, "-m", "cli.main", "db", "upgrade", "--db", url],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert r.returncode == 0, r.stderr
        assert f"revision {head()}" in r.stdout
