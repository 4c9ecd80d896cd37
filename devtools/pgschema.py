"""A fresh schema of the test PostgreSQL server as a store of its own (search_path in the engine URL, so the URL
can be handed to a subprocess), and its removal: what the tests' PostgreSQL stores (`pg_engine`, PostGIS) and the
benches' throw-away PostgreSQL stores are made of."""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from etl.store import make_engine


def schema_engine(server_url: str, prefix: str = "t"):
    """(engine on a new empty schema `<prefix>_<random>` of the server, admin engine, schema name)."""
    base = make_url(server_url)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base.render_as_string(hide_password=False))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    return make_engine(url.render_as_string(hide_password=False)), admin, schema


def drop_schema(engine, admin, schema: str) -> None:
    """Dispose of the store's engine and drop its schema with everything in it."""
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()
