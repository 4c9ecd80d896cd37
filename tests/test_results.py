"""The service layer is the one door: checks the principal, applies the scope once (auditing a forced one),
enforces it on the frame, audits the read — and analytics itself knows nothing of principals."""
from __future__ import annotations

import datetime as dt
import inspect
import json
import shutil

import pytest

from analytics import exports
from analytics.scope import Scope
from service import audit, results
from service.access import AccessDenied
from service.auth import PUBLIC, Principal

PERIOD = Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31))


@pytest.fixture
def sample(sample_store_url, tmp_path):
    """A private copy of the sample county's SQLite store (these tests write audit rows)."""
    from sqlalchemy.engine import make_url

    from etl.store import make_engine
    copy = tmp_path / "store.db"
    shutil.copyfile(make_url(sample_store_url).database, copy)
    engine = make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


def test_analytics_run_export_takes_no_principal():
    params = inspect.signature(exports.run_export).parameters
    assert "principal" not in params and "client" not in params


def test_a_read_is_audited_with_its_parameters(sample):
    df = results.read(sample, "case-efficiency", PERIOD, by="township", client="cli")
    last = audit.recent(sample, 1).iloc[0]
    detail = json.loads(last["detail"])
    assert last["action"] == "export" and last["client"] == "cli"
    assert detail["export"] == "case-efficiency" and detail["by"] == "township" and detail["rows"] == len(df)
    before = len(audit.recent(sample, 1000))
    results.read(sample, "kpis", PERIOD, audited=False)
    assert len(audit.recent(sample, 1000)) == before


def test_an_officer_is_narrowed_once_and_the_forcing_audited(sample):
    town = results.read(sample, "case-efficiency", PERIOD, by="township")["township"].dropna().iloc[0]
    other = next(t for t in results.read(sample, "case-efficiency", PERIOD, by="township")["township"].dropna()
                 if t != town)
    officer = Principal("officer1", "township_officer", town)
    got = results.read(sample, "case-efficiency", Scope(PERIOD.start, PERIOD.end, township=other), by="township",
                       principal=officer, client="10.2.2.2")
    assert set(got["township"].dropna()) <= {town}
    log = audit.recent(sample, 5)
    forced = log[log["action"] == "scope_forced"]
    assert len(forced) == 1 and json.loads(forced.iloc[0]["detail"]) == {
        "asked": other, "forced": town, "export": "case-efficiency"}
    exported = json.loads(log[log["action"] == "export"].iloc[0]["detail"])
    assert exported["township"] == town and exported["rows"] == len(got)


def test_a_refusal_is_audited_and_raised(sample):
    with pytest.raises(AccessDenied, match="not part of the public disclosure view"):
        results.read(sample, "bottlenecks", PERIOD, principal=PUBLIC, client="10.3.3.3")
    last = audit.recent(sample, 1).iloc[0]
    assert last["action"] == "access_denied" and last["client"] == "10.3.3.3"
    assert json.loads(last["detail"])["export"] == "bottlenecks"


def test_an_audit_log_that_cannot_be_written_does_not_stop_the_read(sample, monkeypatch):
    heard = []

    def broken(*args, **kwargs):
        raise RuntimeError("no audit log yet")
    monkeypatch.setattr(audit, "record", broken)
    df = results.read(sample, "kpis", PERIOD, on_audit_error=heard.append)
    assert len(df) and [str(e) for e in heard] == ["no audit log yet"]
