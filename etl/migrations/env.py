"""Alembic environment: runs migrations on the engine LandDesk hands over (or the configured URL)."""
from alembic import context
from sqlalchemy import create_engine

from etl.schema import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from etl.store import make_engine
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
