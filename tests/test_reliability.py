"""Reliability under failure and load, on SQLite (WAL) and PostgreSQL (MVCC):

- (an ETL load SIGKILLed in the middle of writing its batch leaves the store exactly as it was:
  tests/test_etl_safety.py, not repeated here);
- a store that is not there (PostgreSQL on a closed port, a SQLite file that is not a database or
  cannot be opened) is one clear sentence at the command line, never a traceback;
- the store going away while the app runs is a clear `StoreUnavailable`, and the same engine
  recovers once the store is back (PostgreSQL behind a proxy that is stopped and restarted);
- readers keep working while `landdesk etl run` writes, and only ever see whole batches.
"""
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from analytics.exports import StoreUnavailable, run_export
from analytics.scope import Scope
from etl.schema import case_events, cases, etl_batches, petitions, targets
from etl.store import make_engine, upgrade
from landdesk.settings import SAMPLE_DIR

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = SAMPLE_DIR / "mappings"
COUNTED = (cases, case_events, petitions, targets, etl_batches)


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in COUNTED}


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def landdesk(*args, db):
    return subprocess.run([sys.executable, "-m", "cli.main", *args, "--db", db], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, input="")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STORE_COMMANDS = [["export", "kpis"], ["etl", "run"], ["etl", "batches"], ["users", "list"], ["audit"],
                  ["db", "upgrade"], ["serve"]]


@pytest.mark.parametrize("cmd", STORE_COMMANDS, ids=lambda c: " ".join(c))
def test_missing_postgresql_is_one_sentence(cmd):
    r = landdesk(*cmd, db=f"postgresql://landdesk:secret-pw@127.0.0.1:{closed_port()}/landdesk")
    assert r.returncode == 2, r.stdout
    assert "Cannot reach the store" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "secret-pw" not in r.stderr                  # the password is never printed


@pytest.mark.parametrize("kind", ["garbage", "directory", "unreadable"])
@pytest.mark.parametrize("cmd", [["export", "kpis"], ["etl", "run"], ["audit"]], ids=lambda c: " ".join(c))
def test_unusable_sqlite_file_is_one_sentence(tmp_path, kind, cmd):
    path = tmp_path / "store.db"
    if kind == "garbage":
        path.write_bytes(b"this is not a database, just text" * 100)
    elif kind == "directory":
        path.mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode")
        engine = make_engine(f"sqlite:///{path.as_posix()}")
        upgrade(engine)
        engine.dispose()
        path.chmod(0)
    r = landdesk(*cmd, db=f"sqlite:///{path.as_posix()}")
    assert r.returncode == 2
    assert "Cannot reach the store" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


class Proxy:
    """A TCP proxy to PostgreSQL that can be stopped (every connection cut) and started again on the
    same port: the store going away and coming back, as seen from an app server."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, closed_port()
        self.server = None
        self.socks: list[socket.socket] = []

    def start(self):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.port))
        self.server.listen(16)
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        try:
            self.server.shutdown(socket.SHUT_RDWR)     # wakes the accept() thread; close() alone would not
        except OSError:
            pass
        self.server.close()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.socks = []


@pytest.mark.pg
def test_store_going_away_is_clear_and_the_app_recovers(pg_engine):
    from etl.load import load_mapping
    load_mapping(pg_engine, MAPPINGS / "approval_cases.yaml")
    url = pg_engine.url
    proxy = Proxy((url.host or "localhost", url.port or 5432))
    proxy.start()
    app = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    scope = Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    try:
        first = run_export(app, "kpis", scope)
        proxy.stop()
        with pytest.raises(StoreUnavailable, match="cannot be reached right now") as exc:
            run_export(app, "kpis", scope)
        assert len(str(exc.value).splitlines()) == 1 and "landdesk:landdesk@" not in str(exc.value)
        proxy.start()
        again = run_export(app, "kpis", scope)       # same engine, same pool: recovered
        assert again.equals(first)
    finally:
        proxy.stop()
        app.dispose()


def test_readers_keep_working_and_see_whole_batches_while_etl_runs(engine):
    """A reader thread runs KPI exports in a loop while `landdesk etl run` loads the sample county
    in a subprocess: no reader error, counts never go down, and each table is seen either empty
    or complete (a batch is one transaction)."""
    scope = Scope(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    seen: list[dict] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                kpis = run_export(engine, "kpis", scope)
                flow = run_export(engine, "weekly-flow", scope)
                seen.append(dict(counts(engine), kpi_rows=len(kpis), flow_rows=len(flow)))
            except BaseException as exc:  # noqa: BLE001 - any error is a failure of the test
                errors.append(exc)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    etl = subprocess.run([sys.executable, "-m", "cli.main", "etl", "run", "sample_data/sources.yaml", "--quiet",
                          "--db", url_of(engine)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    time.sleep(0.5)
    done.set()
    thread.join(timeout=120)
    assert etl.returncode == 0, etl.stderr
    assert not errors, repr(errors[0])
    final = counts(engine)
    assert final["cases"] > 5000 and final["case_events"] > 10000
    assert len(seen) >= 3
    assert seen[0]["cases"] == 0 and seen[-1]["cases"] == final["cases"]   # watched it go from empty to full
    for table in ("cases", "case_events", "petitions", "targets", "etl_batches"):
        values = [s[table] for s in seen]
        assert values == sorted(values), f"{table} went down: {values}"
        if table != "etl_batches":
            assert set(values) <= {0, final[table]}, f"{table} was seen half-loaded: {sorted(set(values))}"
