"""The integrity-risk reference kept in the store (issue 20, analytics.riskstore): after the first assessment
stores it, warnings and handler-risk read the period's rows from it in any process and equal the in-memory
computation frame for frame; a load, a hand edit or other code makes it recompute; periods ending before the last
closing learn their own. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select, update

from analytics import integrity, riskstore
from analytics.exports import run_export, shown_local
from analytics.scope import Scope
from etl import schema as S
from test_marts import load_sample

EXPORTS = ("warnings", "handler-risk")


def _scopes(engine) -> list[Scope]:
    with engine.connect() as conn:
        last = conn.execute(select(func.max(S.cases.c.closed_at))).scalar_one()
        township = conn.execute(select(S.cases.c.township).where(S.cases.c.township.is_not(None))
                                .limit(1)).scalar_one()
    end = pd.Timestamp(last).date() + dt.timedelta(days=1)
    return [Scope(end - dt.timedelta(days=91), end), Scope(end - dt.timedelta(days=364), end, township=township),
            Scope(end - dt.timedelta(days=3000), end)]


def _computed(engine, scope) -> dict[str, pd.DataFrame]:
    """Each export computed in memory from the base tables, the kept reference ignored (shown as run_export
    shows it: instants in the bureau's zone)."""
    integrity.clear_assess_cache()
    with engine.connect() as conn:
        assessed = integrity.assess_cases(conn, scope, cache=False)
        return {"warnings": shown_local(integrity.integrity_warnings(conn, scope, assessed), scope.tz),
                "handler-risk": shown_local(integrity.handler_risk(conn, scope, assessed), scope.tz)}


def _kept_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(S.risk_reference)).scalar_one()


def test_the_kept_reference_serves_every_process_and_equals_the_computation(engine, monkeypatch):
    load_sample(engine)
    scopes = _scopes(engine)
    with engine.connect() as conn:
        assert not riskstore.holds(conn, riskstore.stamp(conn))
    integrity.warm_reference(engine)                         # the first computation keeps it
    with engine.connect() as conn:
        assert riskstore.holds(conn, riskstore.stamp(conn))
        closed = conn.execute(select(func.count()).select_from(S.cases).where(S.cases.c.status == "closed")).scalar_one()
    assert _kept_rows(engine) == closed
    integrity.clear_assess_cache()                           # another process: nothing in memory
    monkeypatch.setattr(integrity, "_assess", lambda *a, **k: (_ for _ in ()).throw(AssertionError("learned")))
    served = {(name, s): run_export(engine, name, s) for name in EXPORTS for s in scopes}
    monkeypatch.undo()
    for s in scopes:
        want = _computed(engine, s)
        for name in EXPORTS:
            pd.testing.assert_frame_equal(served[(name, s)], want[name], check_exact=True, obj=f"{name} {s}")
    assert len(served[("warnings", scopes[-1])]) > 0 and len(served[("handler-risk", scopes[-1])]) > 0


def test_a_write_or_other_code_makes_it_recompute_and_an_earlier_period_learns_its_own(engine, monkeypatch):
    load_sample(engine)
    integrity.warm_reference(engine)
    scope = _scopes(engine)[-1]
    with engine.connect() as conn:
        held = riskstore.stamp(conn)
        case_id = conn.execute(select(S.cases.c.case_id).where(S.cases.c.status == "closed").limit(1)).scalar_one()
    with engine.begin() as conn:                             # a hand edit: the kept rows no longer hold
        conn.execute(update(S.cases).where(S.cases.c.case_id == case_id).values(township="手改镇"))
    with engine.connect() as conn:
        assert riskstore.stamp(conn) != held and not riskstore.holds(conn, riskstore.stamp(conn))
    integrity.clear_assess_cache()
    after = run_export(engine, "warnings", scope)            # learned again and kept again, in the background
    riskstore.wait_for_background()
    pd.testing.assert_frame_equal(after, _computed(engine, scope)["warnings"], check_exact=True)
    with engine.connect() as conn:
        assert riskstore.holds(conn, riskstore.stamp(conn))
        kept_case = conn.execute(select(S.risk_reference.c.township)
                                 .where(S.risk_reference.c.case_key == case_id)).scalar_one()
    assert kept_case == "手改镇"
    monkeypatch.setattr(riskstore, "_digest", "another version of the rules")
    with engine.connect() as conn:
        assert not riskstore.holds(conn, riskstore.stamp(conn))
    monkeypatch.undo()
    early = Scope(scope.start, scope.start + dt.timedelta(days=200))   # ends before the last closing
    calls = []
    real = riskstore.read
    monkeypatch.setattr(riskstore, "read", lambda *a: calls.append(1) or real(*a))
    integrity.clear_assess_cache()
    pd.testing.assert_frame_equal(run_export(engine, "handler-risk", early), _computed(engine, early)["handler-risk"],
                                  check_exact=True)
    assert calls == []
