"""The base tables' write mark (issue 20, etl.marks, migration 0015): any write to cases, case_events or petitions
moves it, through the ETL or by hand, updates included (row counts never saw those), and nothing else does; the
marts and the process caches follow it, so a hand UPDATE sends requests to the base tables until the next
rebuild; 0015 carries current marts over and leaves stale ones stale. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import delete, insert, select, text, update

from analytics import eventmart, kpis, memo
from analytics.exports import run_export
from analytics.workcal import load_calendar
from etl import marks, marts
from etl import schema as S
from etl.store import alembic_config, upgrade
from test_event_times import _scopes, assert_served_equal_to_base
from test_marts import load_sample


def _mark(engine) -> str:
    with engine.connect() as conn:
        return marks.read(conn)


def _serving(engine) -> tuple[bool, bool]:
    """(the cockpit marts serve, the event-times mart serves) a recent scope."""
    scope = _scopes(engine)[0]
    with engine.connect() as conn:
        cal = load_calendar(conn)
        return (kpis.marts_serve(conn, scope, cal),
                eventmart.serves(conn, scope, cal, "workdays", ("stage", "sojourn"), memo.store_state(conn)[2:]))


def test_every_kind_of_write_to_a_base_table_moves_the_mark_and_nothing_else_does(engine):
    at = dt.datetime(2025, 3, 3, 2, 0)
    c, e, p = S.cases, S.case_events, S.petitions
    writes = [insert(c).values(case_id="M1", received_at=at, status="open", system="default"),
              insert(e).values(case_id="M1", seq=1, stage="受理", completed_at=at, system="default"),
              update(e).where(e.c.case_id == "M1").values(stage="审核"),
              delete(e).where(e.c.case_id == "M1"),
              update(c).where(c.c.case_id == "M1").values(township="甲镇"),
              delete(c).where(c.c.case_id == "M1"),
              insert(p).values(petition_id="P1", received_at=at, system="default"),
              update(p).where(p.c.petition_id == "P1").values(township="乙镇"),
              delete(p).where(p.c.petition_id == "P1")]
    seen = {_mark(engine)}
    for statement in writes:
        with engine.begin() as conn:
            conn.execute(statement)
        now = _mark(engine)
        assert now not in seen, f"{statement} left the mark at {now}"
        seen.add(now)
    before = _mark(engine)
    with engine.connect() as conn:                           # a rolled-back write leaves it
        with conn.begin() as tx:
            conn.execute(insert(S.cases).values(case_id="M2", received_at=at, status="open", system="default"))
            tx.rollback()
    with engine.begin() as conn:                             # other tables do not move it
        conn.execute(insert(S.etl_batches).values(mapping="m", dataset="cases", source="s", status="loaded",
                                                  started_at=at))
    assert _mark(engine) == before


def test_a_hand_update_stops_the_marts_until_a_rebuild_and_the_exports_stay_exact(engine, monkeypatch):
    load_sample(engine)
    assert _serving(engine) == (True, True)
    scope = _scopes(engine)[0]
    with engine.connect() as conn:
        cal = load_calendar(conn)
        case_id = conn.execute(select(S.cases.c.case_id).where(
            S.cases.c.status == "closed", scope.in_period(S.cases.c.closed_at)).limit(1)).scalar_one()
        received = conn.execute(select(S.cases.c.received_at).where(S.cases.c.case_id == case_id)).scalar_one()
    kpis_before = run_export(engine, "kpis", scope)
    with engine.connect() as conn:
        key_before = memo.store_state(conn)
    with engine.begin() as conn:        # same rows, one case received a year earlier: the counts could not see it
        conn.execute(update(S.cases).where(S.cases.c.case_id == case_id)
                     .values(received_at=received - dt.timedelta(days=365)))
    assert _serving(engine) == (False, False)
    with engine.connect() as conn:                   # the process caches see it too
        assert memo.store_state(conn) != key_before
    after = run_export(engine, "kpis", scope)
    assert not after.equals(kpis_before)             # the hand edit shows at once, measured from the base tables
    assert assert_served_equal_to_base(engine, monkeypatch, [scope]) == 0
    with engine.begin() as conn:
        marts.rebuild(conn)                          # `landdesk marts rebuild`
    assert _serving(engine) == (True, True)
    pd.testing.assert_frame_equal(run_export(engine, "kpis", scope), after)
    with engine.connect() as conn:
        assert marts.state(conn) == marts.current(conn, cal)


@pytest.mark.parametrize("stale", [False, True], ids=["current", "stale"])
def test_migration_0015_carries_current_marts_over_and_leaves_stale_ones_stale(engine, stale):
    load_sample(engine)
    command.downgrade(alembic_config(engine), "0014")
    with engine.connect() as conn:
        assert not marks.has_marks(conn)
        held = marts.state(conn)
        assert len(held) == 5 and tuple(held[2:]) == marts.base_counts(conn)   # 0015's downgrade wrote the counts
    if stale:
        with engine.begin() as conn:                 # a row added by hand at 0014: its marts no longer match
            conn.execute(insert(S.petitions).values(petition_id="BYHAND", system="default",
                                                    received_at=dt.datetime(2024, 1, 2)))
    upgrade(engine)
    with engine.connect() as conn:
        assert marks.has_marks(conn)
        held = marts.state(conn)
        assert (tuple(held[2:]) == (marks.read(conn),)) is (not stale)
    assert _serving(engine) == ((False, False) if stale else (True, True))
    if stale:                                        # the next write through the ETL rebuilds them
        from test_marts import assert_marts_recompute
        with engine.begin() as conn:
            marts.discard(conn)
            marts.refresh(conn)
        assert_marts_recompute(engine)
        assert _serving(engine) == (True, True)


def test_sqlite_marks_inserts_without_a_trigger_per_row(sqlite_engine):
    """SQLite's inserts show as max(rowid), not as a row trigger (one per row would triple a load's insert time);
    updates and deletes have triggers."""
    with sqlite_engine.connect() as conn:
        triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    assert triggers == {f"write_mark_{t}_{e}" for t in marks.TABLES for e in ("update", "delete")}
