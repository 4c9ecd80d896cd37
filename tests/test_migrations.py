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
                       "mart_cases_closed", "mart_petitions_received", "mart_petitions_replied", "mart_state",
                       "mart_event_times", "mart_stages", "write_marks", "risk_reference",
                       "risk_reference_state"}   # the comparison does see a schema the store lacks
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


def _indexes(engine, table: str) -> dict[str, list[str]]:
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes(table)}


def test_migration_0013_adds_the_plan_indexes_to_a_loaded_store(engine):
    """A store loaded at 0012 gets the plan indexes at `db upgrade` (the wide case_events index in place of the
    narrow one, three on petitions), and the planner uses them: the data end seeks petitions' indexes, the
    process fetch finds the period's cases from the wide index alone (SQLite's plan says COVERING)."""
    from alembic import command
    from sqlalchemy import func, select, text

    from analytics.coverage import last_event
    from etl.load import load_mapping
    from etl.schema import petitions
    from landdesk.resources import SAMPLE_DIR
    for name in ("approval_cases", "approval_events", "petitions"):
        assert load_mapping(engine, SAMPLE_DIR / "mappings" / f"{name}.yaml").status == "loaded"
    with engine.connect() as conn:
        end_at_head = last_event(conn)
    command.downgrade(alembic_config(engine), "0012")
    assert "ix_case_events_completed_at" in _indexes(engine, "case_events")
    assert not {"ix_petitions_accepted_at", "ix_petitions_replied_at", "ix_petitions_closed_at"} \
        & set(_indexes(engine, "petitions"))
    upgrade(engine)
    assert current_revision(engine) == head() and diff(engine) == []
    ev, pet = _indexes(engine, "case_events"), _indexes(engine, "petitions")
    assert ev.get("ix_case_events_completed_at_case") == ["completed_at", "system", "case_id"]
    assert "ix_case_events_completed_at" not in ev
    assert {n: pet.get(n) for n in ("ix_petitions_accepted_at", "ix_petitions_replied_at", "ix_petitions_closed_at")} \
        == {"ix_petitions_accepted_at": ["accepted_at"], "ix_petitions_replied_at": ["replied_at"],
            "ix_petitions_closed_at": ["closed_at"]}
    with engine.connect() as conn:
        assert last_event(conn) == end_at_head
        assert conn.execute(select(func.count()).select_from(petitions)
                            .where(petitions.c.replied_at.is_not(None))).scalar_one() > 0
        if engine.dialect.name == "sqlite":
            plan = " ".join(r[3] for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT system, case_id FROM case_events "
                "WHERE completed_at >= '2026-01-01' AND completed_at < '2026-04-01'")))
            assert "COVERING INDEX ix_case_events_completed_at_case" in plan, plan
            plan = " ".join(r[3] for r in conn.execute(text("EXPLAIN QUERY PLAN SELECT max(replied_at) FROM petitions")))
            assert "ix_petitions_replied_at" in plan, plan
    command.downgrade(alembic_config(engine), "0012")
    assert "ix_case_events_completed_at" in _indexes(engine, "case_events")
    assert "ix_case_events_completed_at_case" not in _indexes(engine, "case_events")
    upgrade(engine)
