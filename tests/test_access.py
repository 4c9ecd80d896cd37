"""Row-level scope and the public disclosure view, tried the way an attacker would.

A township officer of 东坪镇 runs EVERY export of the registry with every `--by` it accepts (and
forges other townships in the scope): no cell may name another township or its region code, and
the results must not be empty where the township has data. A second, stronger check compares each
result with the same export on a copy of the store from which every other township's rows were
deleted: an export that read another township's rows would differ. The public principal may run
only the disclosure exports, with small cells suppressed.
"""
import datetime as dt
import shutil

import pandas as pd
import pytest
from sqlalchemy import delete, select

from analytics.exports import registry, run_export
from service import results
from analytics.scope import Scope
from etl.schema import audit_log, case_events, cases, land_supply, land_use, petitions, targets
from etl.store import make_engine, upgrade
from service import access
from service.access import AccessDenied, PUBLIC_EXPORTS, suppress_small_cells
from service.auth import PUBLIC, Principal
from landdesk.errors import LandDeskError

MINE, MY_CODE, COUNTY_CODE = "东坪镇", "331199002", "331199"
OFFICER = Principal("dp_officer", "township_officer", MINE)
PERIOD = Scope(dt.date(2024, 1, 1), dt.date(2026, 10, 31))
#: Exports that may be empty for one township although their code path ran (no parcel data in the
#: sample county; no case of 东坪镇 near its limit at the period end).
MAY_BE_EMPTY = {"transfer-matrix", "overdue-cases"}
#: Values that are properties of the officer's own rows but are judged against a county-wide
#: reference (documented in docs/security.md): the repeat flag of a petition looks at the
#: petitioner's earlier petitions anywhere in the county; integrity-risk flags compare a case with
#: the county's normal process for its type.
COUNTY_REFERENCE = {"petitions": {"repeat_petitions", "repeat_petitioners"},
                    "warnings": "rows", "handler-risk": "rows"}


def combos():
    return [(name, by) for name, e in registry().items() for by in (None,) + tuple(e.by)]


@pytest.fixture(scope="module")
def stores(sample_store_url, tmp_path_factory):
    """(full, reduced, towns): a private copy of the sample store, a copy with every other
    township's rows deleted, and the other townships' names and region codes."""
    src = make_engine(sample_store_url)
    path = src.url.database
    src.dispose()
    d = tmp_path_factory.mktemp("access")
    shutil.copy(path, d / "full.db")
    shutil.copy(path, d / "reduced.db")
    full, reduced = make_engine(f"sqlite:///{d / 'full.db'}"), make_engine(f"sqlite:///{d / 'reduced.db'}")
    upgrade(full), upgrade(reduced)
    with full.connect() as conn:
        towns = dict(conn.execute(select(land_use.c.region_name, land_use.c.region_code).distinct()).all())
        towns.update({t: None for t in conn.execute(select(cases.c.township).distinct()).scalars() if t not in towns})
    assert towns.get(MINE) == MY_CODE and len(towns) >= 10
    with reduced.begin() as conn:
        others = select(cases.c.case_id).where(cases.c.township != MINE)
        conn.execute(delete(case_events).where(case_events.c.case_id.in_(others)))
        conn.execute(delete(cases).where((cases.c.township != MINE) | cases.c.township.is_(None)))
        conn.execute(delete(petitions).where((petitions.c.township != MINE) | petitions.c.township.is_(None)))
        conn.execute(delete(land_use).where(land_use.c.region_code != MY_CODE))
        conn.execute(delete(land_supply).where((land_supply.c.region_code != MY_CODE)
                                               | land_supply.c.region_code.is_(None)))
        conn.execute(delete(targets).where(targets.c.region_code.not_in([MY_CODE, COUNTY_CODE])))
    forbidden = [t for t in towns if t != MINE] + [c for t, c in towns.items() if t != MINE and c]
    yield full, reduced, forbidden
    full.dispose(), reduced.dispose()


@pytest.fixture(scope="module")
def officer_results(stores):
    """Every export × by for the officer, asking (as a forged parameter would) for 城关镇."""
    full, _, _ = stores
    forged = Scope(PERIOD.start, PERIOD.end, township="城关镇")
    return {(name, by): results.read(full, name, forged, "workdays", by, principal=OFFICER, client="10.1.1.1")
            for name, by in combos()}


def leaks(df: pd.DataFrame, forbidden: list[str]) -> set[str]:
    found = set()
    texts = [str(c) for c in df.columns] + [str(v) for col in df.columns for v in set(map(str, df[col].tolist()))]
    for text in texts:
        found.update(o for o in forbidden if o in text)
        if text.strip() == COUNTY_CODE:
            found.add(COUNTY_CODE)
    return found


def test_every_export_and_breakdown_stays_in_the_officers_township(stores, officer_results):
    _, _, forbidden = stores
    assert len(officer_results) >= 60            # every export name with every --by it accepts
    problems = {}
    for key, df in officer_results.items():
        found = leaks(df, forbidden)
        if found:
            problems[key] = sorted(found)[:5]
        if "township" in df.columns:
            assert set(df["township"].dropna()) <= {MINE}, key
        if key[0] not in MAY_BE_EMPTY:
            assert len(df) > 0, f"{key} is empty for {MINE} although the township has data"
    assert not problems, problems


def test_results_do_not_depend_on_other_townships_rows(stores, officer_results):
    """Same export on a store holding only 东坪镇's rows: identical (up to the documented
    county-reference values, whose rows must still be 东坪镇's own)."""
    _, reduced, _ = stores
    with reduced.connect() as conn:
        my_cases = set(conn.execute(select(cases.c.case_id)).scalars())
    for (name, by), got in officer_results.items():
        alone = results.read(reduced, name, PERIOD, "workdays", by, principal=OFFICER)
        ref = COUNTY_REFERENCE.get(name)
        if ref == "rows":
            if "case_id" in got.columns:
                assert set(got["case_id"]) <= my_cases, name
            if name == "handler-risk":
                assert sorted(got["handler_key"]) == sorted(alone["handler_key"]), name
                assert got.set_index("handler_key")["cases"].sort_index().equals(
                    alone.set_index("handler_key")["cases"].sort_index()), name
            continue
        drop = sorted(ref or ())
        pd.testing.assert_frame_equal(got.drop(columns=drop).reset_index(drop=True),
                                      alone.drop(columns=drop).reset_index(drop=True),
                                      check_exact=False, rtol=1e-9, obj=f"{name} by {by}")


def test_forged_township_is_narrowed_and_audited(stores):
    full, _, _ = stores
    own = results.read(full, "case-efficiency", PERIOD, by="township", principal=OFFICER)
    for forged in ("城关镇", "' OR 1=1 --", None):
        scope = Scope(PERIOD.start, PERIOD.end, township=forged)
        got = results.read(full, "case-efficiency", scope, by="township", principal=OFFICER, client="10.9.9.9")
        pd.testing.assert_frame_equal(got, own)
    with full.connect() as conn:
        rows = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "scope_forced",
                                                             audit_log.c.client == "10.9.9.9")).scalars().all()
    assert len(rows) == 2 and "城关镇" in rows[0] and MINE in rows[0]
    assert access.scoped(Scope(PERIOD.start, PERIOD.end), OFFICER).township == MINE
    leader = Principal("boss", "leader")
    assert access.scoped(Scope(PERIOD.start, PERIOD.end, township="城关镇"), leader).township == "城关镇"


def test_last_line_of_defence_drops_rows_of_other_townships():
    df = pd.DataFrame({"township": [MINE, "城关镇", None], "n": [1, 2, 3]})
    out = access.enforce_frame(OFFICER, "cases", df, PERIOD)
    assert list(out["n"]) == [1, 3]
    assert access.enforce_frame(None, "cases", df, PERIOD) is df


# --- public mode (政务公开) ----------------------------------------------------------------------

def test_public_may_run_only_the_disclosure_exports(stores):
    full, _, _ = stores
    refused = [n for n in registry() if n not in PUBLIC_EXPORTS]
    assert {"cases", "overdue-cases", "petition-countdown", "warnings", "handler-risk", "idle-land"} <= set(refused)
    for name in refused:
        with pytest.raises(AccessDenied, match="not part of the public disclosure view"):
            results.read(full, name, PERIOD, principal=PUBLIC)
    with pytest.raises(AccessDenied, match="cannot be broken down by 'township'"):
        results.read(full, "case-efficiency", PERIOD, by="township", principal=PUBLIC)
    with pytest.raises(AccessDenied, match="no township or department filter"):
        results.read(full, "petitions", Scope(PERIOD.start, PERIOD.end, township=MINE), principal=PUBLIC)
    assert issubclass(AccessDenied, LandDeskError)


def test_public_exports_are_suppressed_and_hold_no_personal_data(stores):
    full, _, _ = stores
    week = Scope(dt.date(2026, 10, 19), dt.date(2026, 10, 25))
    suppressed_any = 0
    for name, spec in PUBLIC_EXPORTS.items():
        for by in spec.by:
            df = results.read(full, name, week, by=by, principal=PUBLIC)
            assert "suppressed" in df.columns and df.attrs["min_cell"] == access.MIN_CELL
            assert not [c for c in df.columns if c.endswith(("_key", "_id")) or c in ("summary", "handler")]
            for col in spec.count_cols:
                values = [v for v in df[col] if v is not None and not pd.isna(v)]
                assert all(v == 0 or v >= access.MIN_CELL for v in values), (name, by, col)
            suppressed_any += df.attrs["suppressed_cells"]
    assert suppressed_any > 0     # a one-week window has small cells to suppress
    county = results.read(full, "case-efficiency", PERIOD, principal=PUBLIC)
    assert county["received"].iloc[0] > 1000 and not county["suppressed"].iloc[0]


def test_suppress_small_cells_rules():
    df = pd.DataFrame({"topic": ["a", "b", "c", "d"], "received": [120, 3, 0, 40], "replied": [100, 2, 0, 15],
                       "rate": [0.9, 0.5, None, 0.7]})
    out = suppress_small_cells(df, ["received", "replied"], 10, derived_cols=["rate"], base_cols=["received"])
    assert list(out["topic"]) == ["a", "b", "c", "d"]
    # primary: 3 and 2 hidden; true zeros stay; secondary: 'received' had one hidden cell, so the
    # smallest other non-zero one (40) goes too — 120 + ? + 0 + ? cannot be solved from the total
    assert out["received"].tolist() == [120, None, 0, None]
    assert out["replied"].tolist() == [100, None, 0, None]
    assert out["rate"].tolist()[:2] == [0.9, None] and out["rate"].tolist()[3] is None
    assert out["suppressed"].tolist() == [False, True, False, True]
    assert out.attrs["suppressed_cells"] == 6 and out.attrs["min_cell"] == 10
    assert df["received"].tolist() == [120, 3, 0, 40]        # the input is not modified
    big = suppress_small_cells(df.iloc[[0]], ["received"], 10)
    assert big["received"].tolist() == [120] and not big["suppressed"].any()
    alone = suppress_small_cells(pd.DataFrame({"n": [4]}), ["n"], 5)
    assert alone["n"].tolist() == [None]


def test_capabilities_are_enforced_by_require():
    access.require(None, "upload")                     # the command line is trusted
    access.require(Principal("a", "analyst"), "upload")
    for role in ("leader", "planner", "public"):
        with pytest.raises(AccessDenied):
            access.require(Principal("x", role), "upload")
    with pytest.raises(AccessDenied):
        access.require(OFFICER, "audit")


def _recover_small_cells(row: dict, count_cols, rate_cols, min_cell=access.MIN_CELL) -> list[str]:
    """What an attacker learns from one published row: a small number (1..min_cell-1) recovered from a published
    rate and a published count (rate × count, or its complement), or a hidden denominator pinned by its rate
    (6/7 = 0.857 can only be 6 of 7 below 10)."""
    found = []
    counts = {c: row[c] for c in count_cols if row.get(c) is not None and not pd.isna(row[c])}
    hidden = [c for c in count_cols if c in row and (row[c] is None or pd.isna(row[c]))]
    for r in rate_cols:
        v = row.get(r)
        if v is None or pd.isna(v):
            continue
        for c, n in counts.items():
            k = v * n
            if n > 0 and abs(k - round(k)) < 1e-9 * n and (0 < round(k) < min_cell or 0 < n - round(k) < min_cell):
                found.append(f"{r}×{c}")
        if hidden and 0 < v < 1:
            fits = [d for d in range(1, min_cell) if abs(v * d - round(v * d)) < 1e-9]
            if len(fits) <= 2:
                found.append(f"{r} pins a hidden count: one of {fits}")
    return found


def test_complementary_suppression_leaves_nothing_to_recompute():
    """Finding 2: the public petitions table hid accepted = 7 but published 6/7 = 0.857, which reveals both."""
    df = pd.DataFrame({
        "topic": ["a", "b", "c", "d"],
        "received": [50, 30, 100, 12], "accepted": [7, 25, 90, 12], "replied": [40, 20, 80, 11],
        "timely_acceptance_rate": [6 / 7, 1.0, 0.9, 0.5], "reply_on_time_rate": [0.95, 0.5, 0.875, 1.0]})
    spec = PUBLIC_EXPORTS["petitions"]
    out = access.public_result("petitions", df)
    rates = [c for c in spec.derived_cols if c in df.columns]
    for row in out.to_dict("records"):
        assert not _recover_small_cells(row, spec.count_cols, rates), row
    for col in ("received", "accepted", "replied"):       # a published total minus the visible cells
        hidden = df[col].sum() - sum(v for v in out[col] if v is not None)
        assert hidden == 0 or hidden >= access.MIN_CELL, col
    assert out.loc[0, "accepted"] is None and out.loc[0, "timely_acceptance_rate"] is None
    assert out.loc[1, "reply_on_time_rate"] == 0.5 and out.loc[1, "received"] == 30   # nothing small: published


def test_the_public_tables_of_the_sample_county_leave_nothing_to_recompute(stores):
    full, _, _ = stores
    leaks = []
    for month in (8, 9, 10):
        scope = Scope(dt.date(2026, month, 1), dt.date(2026, month + 1, 1) - dt.timedelta(days=1))
        for name, spec in PUBLIC_EXPORTS.items():
            total = results.read(full, name, scope, principal=PUBLIC, audited=False)
            for by in [b for b in spec.by if b]:
                df = results.read(full, name, scope, by=by, principal=PUBLIC, audited=False)
                rates = [c for c in spec.derived_cols if c in df.columns and ("rate" in c or "participation" in c)]
                for row in df.to_dict("records"):
                    leaks += [(name, by, month, x) for x in _recover_small_cells(row, spec.count_cols, rates)]
                for col in spec.count_cols:
                    if col not in df.columns or total[col].iloc[0] is None or by == "period":
                        continue
                    hidden = total[col].iloc[0] - sum(v for v in df[col] if v is not None and not pd.isna(v))
                    if 0 < hidden < access.MIN_CELL:
                        leaks.append((name, by, month, f"{col}: total − visible = {hidden}"))
    assert not leaks, leaks[:10]
