"""Opening the analytics store and bringing its schema up to date (Alembic)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select, func
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from landdesk import resources
from landdesk.errors import LandDeskError
from landdesk.settings import database_url

MIGRATIONS_DIR = resources.migrations_dir()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def normalise_url(url: str) -> str:
    """Accept postgresql:// and postgres:// and route them through psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str | None = None) -> Engine:
    """An engine for the store at `url` (see `database_url`); SQLite gets WAL and foreign keys."""
    url = normalise_url(database_url(url))
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise LandDeskError(f"The store URL {url!r} is not a valid database URL.") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def check_reachable(engine: Engine) -> None:
    """Raise LandDeskError with one sentence when the store cannot be reached."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise LandDeskError(
            f"Cannot reach the store at {engine.url.render_as_string(hide_password=True)}: {reason}"
        ) from None


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the store's schema to `revision`; safe to run any number of times."""
    from alembic import command

    check_reachable(engine)
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_ready(engine: Engine) -> None:
    """Raise a clear error when the store has no schema yet."""
    check_reachable(engine)
    if not inspect(engine).has_table("etl_batches"):
        raise LandDeskError(
            f"The store at {engine.url.render_as_string(hide_password=True)} has no LandDesk schema; "
            "run `landdesk db upgrade` first."
        )


def data_version(conn) -> str:
    """What everything derived from the store depends on: the newest loaded batch and how many batches were
    undone ("12.0"). A load or an undo changes it, so caches keyed on it refresh."""
    from etl.schema import etl_batches

    newest, undone = conn.execute(select(
        func.coalesce(func.max(etl_batches.c.batch_id).filter(etl_batches.c.status == "loaded"), 0),
        func.count().filter(etl_batches.c.status == "undone"))).one()
    return f"{newest}.{undone}"


def last_batch_id(engine: Engine) -> str:
    """The store's data version (`data_version`): the cache key of everything derived."""
    with engine.connect() as conn:
        return data_version(conn)


def id_chunk(conn) -> int:
    """Ids per look-up by `id_in`: under SQLite's bound-parameter limit; PostgreSQL takes them as one array."""
    return 20_000 if conn.dialect.name == "postgresql" else 900


def id_in(conn, column, ids):
    """`column IN ids` for a look-up by many ids. PostgreSQL: `column = ANY(:array)`, one parameter: the same
    plan as an IN list, without SQLAlchemy expanding and psycopg parsing a statement of 20,000 placeholders per
    look-up (a different statement for every length). SQLite: an IN list of bound parameters."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY
        return column == any_(bindparam(None, list(ids), type_=ARRAY(column.type)))
    return column.in_(list(ids))
