"""Shared fixtures: fresh, migrated analytics stores on SQLite and (when configured) PostgreSQL.

- `sqlite_engine`: a temp-file SQLite store, upgraded to the newest migration.
- `pg_engine`: a PostgreSQL store at $LANDDESK_TEST_PG_URL in a fresh schema of its own
  (search_path is part of the engine URL, so `engine.url` can be handed to a subprocess or
  LANDDESK_DATABASE_URL); dropped afterwards. Skipped when the variable is unset, but a
  FAILURE when CI=true, so CI cannot silently lose its PostgreSQL coverage.
- `engine`: parametrised over both.
"""
from __future__ import annotations

import os
import uuid

import pytest

from etl.store import make_engine, normalise_url, upgrade

PG_ENV = "LANDDESK_TEST_PG_URL"


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'store.db').as_posix()}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{PG_ENV} is not set but CI=true: the PostgreSQL tests must run in CI.")
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://landdesk:landdesk@localhost/landdesk_test).")
    return normalise_url(url)


@pytest.fixture
def pg_engine():
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    base = make_url(_pg_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base.render_as_string(hide_password=False))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def engine(request):
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def sample_store_url(tmp_path_factory) -> str:
    """A SQLite store holding the sample county, built through the real ETL and mappings (no shortcut)."""
    from etl.load import run_sources
    from landdesk.settings import SAMPLE_DIR

    url = f"sqlite:///{(tmp_path_factory.mktemp('sample') / 'sample.db').as_posix()}"
    engine = make_engine(url)
    upgrade(engine)
    results = run_sources(engine, SAMPLE_DIR / "sources.yaml")
    failed = [r.summary() for r in results if r.status != "loaded"]
    assert not failed, failed
    engine.dispose()
    return url


@pytest.fixture(autouse=True)
def _dashboard_auth_mode(monkeypatch):
    """The dashboard's auth mode is explicit in tests: no sign-in (the development mode, as `landdesk serve
    --no-auth`) unless a test sets LANDDESK_AUTH itself (signin / public)."""
    monkeypatch.setenv("LANDDESK_AUTH", "none")
