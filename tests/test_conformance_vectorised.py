"""Issue 14: the vectorised conformance (analytics.conformance) gives exactly what the first, per-case pandas
implementation gave (tests/conformance_oracle.py): on the hand-made log of test_process_views, on the sample
county with its shipped reference process, and on seeded random logs with disorder, repeats, unknown stages and
stages missing."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import insert

import conformance_oracle as oracle
from analytics import conformance as cf
from analytics.scope import Scope
from analytics.workcal import WorkCalendar, load_calendar
from etl.load import load_mapping
from etl.reference import stored_reference
from etl.schema import case_events, cases
from etl.store import make_engine
from test_process_views import CASES, EVENTS, REFERENCE

CAL = WorkCalendar()


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new.columns) == list(old.columns)
    assert len(new) == len(old)
    pd.testing.assert_frame_equal(new.reset_index(drop=True).astype(object),
                                  old.reset_index(drop=True).astype(object), check_dtype=False)


def _both(ev, ref, cal=CAL):
    _same(cf.conformance_cases(ev, ref, cal), oracle.conformance_cases(ev, ref, cal))
    _same(cf.conformance_stages(ev, ref, cal), oracle.conformance_stages(ev, ref, cal))


def test_hand_made_log_equals_the_first_implementation(sqlite_engine, tmp_path):
    with sqlite_engine.begin() as conn:
        conn.execute(insert(cases), CASES)
        conn.execute(insert(case_events), EVENTS[::-1])
    path = tmp_path / "reference.yaml"
    path.write_text(yaml.safe_dump(REFERENCE, allow_unicode=True), encoding="utf-8")
    assert load_mapping(sqlite_engine, path).status == "loaded"
    with sqlite_engine.connect() as conn:
        ev = cf.case_events_with_types(conn, Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
        ref = stored_reference(conn)
    got = cf.conformance_cases(ev, ref, CAL).set_index("case_id")
    assert got.loc["Q", "allowed_moves"] == 1 and got.loc["Q", "moves"] == 3     # the by-hand figures hold
    _both(ev, ref)
    for cid in ("P", "Q", "R"):                                                   # one case alone, and none
        _both(ev[ev["case_id"] == cid], ref)
    _both(ev.iloc[:0], ref)


def test_sample_county_equals_the_first_implementation(sample_store_url):
    engine = make_engine(sample_store_url)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        ev = cf.case_events_with_types(conn, Scope(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
        ref = stored_reference(conn)
    engine.dispose()
    assert len(ev) > 1000 and ref["case_type"].nunique() >= 2
    new = cf.conformance_cases(ev, ref, cal)
    assert 0 < int(new["conforming"].sum()) < len(new)          # both kinds of case are present
    _both(ev, ref, cal)


def _random_log(seed: int, ref: pd.DataFrame) -> pd.DataFrame:
    """Cases of the reference's types (and one unknown type) walking the reference with skips, repeats,
    swaps and stages the reference does not know; random start times, some missing."""
    rng = np.random.default_rng(seed)
    types = sorted(set(ref["case_type"])) + ["其他"]
    rows = []
    for k in range(300):
        t = types[rng.integers(len(types))]
        stages = list(ref.loc[ref["case_type"] == t, "stage"]) or ["受理", "决定"]
        path = [s for s in stages if rng.random() > 0.2]
        if rng.random() < 0.3 and len(path) > 1:
            i = rng.integers(len(path) - 1)
            path[i], path[i + 1] = path[i + 1], path[i]
        if rng.random() < 0.3 and path:
            path.insert(rng.integers(len(path) + 1), path[rng.integers(len(path))])
        if rng.random() < 0.15:
            path.insert(rng.integers(len(path) + 1), "归档")
        received = pd.Timestamp("2026-01-05 09:00", tz="UTC") + pd.Timedelta(hours=int(rng.integers(0, 2000)))
        at = received
        for seq, stage in enumerate(path, 1):
            started = at + pd.Timedelta(hours=int(rng.integers(0, 30))) if rng.random() < 0.5 else pd.NaT
            at = at + pd.Timedelta(hours=int(rng.integers(1, 200)))
            rows.append(dict(system=f"s{k % 2}", case_id=f"c{k:04d}", seq=seq, stage=stage, case_type=t,
                             started_at=started, completed_at=at, received_at=received, closed_at=at))
    return pd.DataFrame(rows, columns=cf.EVENT_FIELDS)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_logs_equal_the_first_implementation(seed):
    ref = pd.DataFrame([
        dict(case_type="许可", stage="受理", stage_order=1, mandatory=True, limit_workdays=1.0, initial=True,
             successors=["审查"]),
        dict(case_type="许可", stage="审查", stage_order=2, mandatory=True, limit_workdays=3.0, initial=False,
             successors=["补正", "决定"]),
        dict(case_type="许可", stage="补正", stage_order=3, mandatory=False, limit_workdays=np.nan, initial=False,
             successors=["审查"]),
        dict(case_type="许可", stage="决定", stage_order=4, mandatory=True, limit_workdays=2.0, initial=False,
             successors=[]),
        dict(case_type="登记", stage="申请", stage_order=1, mandatory=True, limit_workdays=np.nan, initial=True,
             successors=["公告", "登簿"]),
        dict(case_type="登记", stage="公告", stage_order=2, mandatory=False, limit_workdays=10.0, initial=False,
             successors=["登簿"]),
        dict(case_type="登记", stage="登簿", stage_order=3, mandatory=True, limit_workdays=1.0, initial=False,
             successors=[]),
    ])
    ev = _random_log(seed, ref)
    shuffled = ev.sample(frac=1, random_state=seed).reset_index(drop=True)     # the frame's order does not matter
    _both(shuffled, ref)


def test_both_conformance_exports_share_one_fetch_per_store_state(sqlite_engine, tmp_path, monkeypatch):
    """The conformance tab runs `conformance` and `conformance-stages` over the same finished cases: one fetch per
    store state (analytics.memo), the same frames as fetched fresh, and a new fetch once the store changes."""
    from analytics import memo
    from analytics.exports import run_export
    with sqlite_engine.begin() as conn:
        conn.execute(insert(cases), CASES)
        conn.execute(insert(case_events), EVENTS)
    path = tmp_path / "reference.yaml"
    path.write_text(yaml.safe_dump(REFERENCE, allow_unicode=True), encoding="utf-8")
    assert load_mapping(sqlite_engine, path).status == "loaded"
    memo.clear_all()
    fetches = []
    real = cf.case_events_with_types
    monkeypatch.setattr(cf, "case_events_with_types", lambda conn, scope: fetches.append(scope) or real(conn, scope))
    scope = Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    per_case, per_stage = run_export(sqlite_engine, "conformance", scope), run_export(sqlite_engine, "conformance-stages", scope)
    assert len(fetches) == 1
    with sqlite_engine.connect() as conn:
        ev, ref = real(conn, scope), stored_reference(conn)
    same = ["system", "case_id", "case_type", "moves", "allowed_moves", "fitness", "conforming"]
    _same(per_case[same], cf.conformance_cases(ev, ref, CAL)[same])          # as fetched fresh
    _same(per_stage, cf.conformance_stages(ev, ref, CAL))
    with sqlite_engine.begin() as conn:                    # a write outside the ETL changes the store's state
        conn.execute(case_events.delete().where(case_events.c.case_id == "P"))
    run_export(sqlite_engine, "conformance", scope)
    assert len(fetches) == 2
