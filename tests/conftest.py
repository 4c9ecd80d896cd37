"""Shared fixtures: fresh, migrated analytics stores on SQLite and (when configured) PostgreSQL.

- `sqlite_engine`: a temp-file SQLite store, upgraded to the newest migration.
- `pg_engine`: a PostgreSQL store in a fresh schema of its own (search_path is part of the engine URL,
  so `engine.url` can be handed to a subprocess or LANDDESK_DATABASE_URL); dropped afterwards. The server
  is $LANDDESK_TEST_PG_URL, else a throw-away cluster started for the session from the installed
  PostgreSQL binaries (devtools.pgcluster: initdb + pg_ctl in a temp dir on a free loopback port, as the
  postgres OS user when run as root). Skipped only when neither exists, and then a FAILURE when CI=true,
  so CI cannot silently lose its PostgreSQL coverage.
- `engine`: parametrised over both.
"""
from __future__ import annotations

import os

import pytest

from etl.store import make_engine, normalise_url, upgrade

PG_ENV = "LANDDESK_TEST_PG_URL"


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'store.db').as_posix()}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url():
    """The PostgreSQL server of the session: $LANDDESK_TEST_PG_URL, else a throw-away cluster."""
    url = os.environ.get(PG_ENV)
    if url:
        yield normalise_url(url)
        return
    from devtools.pgcluster import ClusterError, ThrowAwayCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{PG_ENV} is not set and no PostgreSQL binaries were found, but CI=true: "
                        "the PostgreSQL tests must run in CI.")
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://landdesk:landdesk@localhost/landdesk_test) "
                    "or PostgreSQL's initdb and pg_ctl installed (apt-get install postgresql) for a throw-away cluster.")
    try:
        cluster = ThrowAwayCluster(bindir).start()
    except ClusterError as exc:
        pytest.fail(f"{PG_ENV} is not set and the throw-away PostgreSQL cluster from {bindir} did not start: {exc}")
    try:
        yield normalise_url(cluster.url)
    finally:
        cluster.stop()


@pytest.fixture
def pg_engine(pg_server_url):
    from devtools.pgschema import drop_schema, schema_engine

    engine, admin, schema = schema_engine(pg_server_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        drop_schema(engine, admin, schema)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def engine(request):
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def sample_store_url(tmp_path_factory) -> str:
    """A SQLite store holding the sample county, built through the real ETL and mappings (no shortcut)."""
    from etl.load import run_sources
    from landdesk.resources import SAMPLE_DIR

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
