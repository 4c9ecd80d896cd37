"""The assessed integrity-risk reference kept in the store (issue 20): every process and app server reads the
period's assessed cases from `risk_reference` instead of learning the reference again (75–80 s cold at ten
million events; analytics.integrity).

What is kept: the assessment of every closed case against the reference learned from all of them, the one every
period ending after the last closing uses (a period ending earlier learns its own, in memory). It is stamped with
the store state it was computed at (the data version and the base tables' write mark, analytics.memo.store_state) and a
digest of the code that computed it (the rules' modules, the reason sentences' catalogues, scikit-learn's and
numpy's versions), and read only when both are the store's and this code's, so a load, a hand edit or an upgrade
makes it recompute. The first process to compute it stores it (its own transaction, after the read), later ones
read just the period's rows, one range of the closing-time key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.engine import Connection

from analytics.memo import store_state
from analytics.scope import Scope
from etl import schema as S
from etl.sqlframe import fetch_frame

log = logging.getLogger(__name__)

_R = S.risk_reference.c
#: The assessment's columns kept (what integrity_warnings and handler_risk read), besides the case key.
COLUMNS = ["system", "case_type", "township", "department", "received_at", "closed_at", "hours", "handler_key",
           "rules", "score", "reason_zh", "reason_en"]
_ROOT = Path(__file__).resolve().parent.parent
#: The files whose content decides the assessment (the rules, the stage roles, the statutory reference's reading,
#: the reason sentences).
_CODE = ("analytics/integrity.py", "analytics/reasons.py", "analytics/stages.py", "analytics/conformance.py",
         "etl/reference.py", "landdesk/i18n/zh.yaml", "landdesk/i18n/en.yaml")
_digest: str | None = None


def code_digest() -> str:
    """sha256 of the assessment's code and catalogues and of the numeric libraries' versions."""
    global _digest
    if _digest is None:
        from importlib.metadata import version     # (importing scikit-learn to ask takes seconds)
        h = hashlib.sha256()
        for name in _CODE:
            path = _ROOT / name
            h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
        h.update(" ".join(f"{p} {version(p)}" for p in ("scikit-learn", "numpy", "pandas", "scipy")).encode())
        _digest = h.hexdigest()
    return _digest


def stamp(conn: Connection) -> str:
    """The store state the assessment depends on, as text: data version and write mark."""
    return stamp_of(store_state(conn))


def stamp_of(store_state: tuple) -> str:
    """`stamp` from an analytics.memo.store_state (store, data version, *write mark) already read."""
    return "|".join(map(str, store_state[1:]))


def _kept(conn: Connection) -> bool:
    return inspect(conn).has_table(S.risk_reference_state.name)


def holds(conn: Connection, state: str) -> bool:
    """Whether the kept reference was assessed at `state` (a `stamp`) by this code."""
    if not _kept(conn):
        return False
    row = conn.execute(select(S.risk_reference_state.c.store_state, S.risk_reference_state.c.code)).first()
    return row is not None and tuple(row) == (state, code_digest())


def read(conn: Connection, scope: Scope) -> pd.DataFrame:
    """The kept assessment of the cases closed in the period (the scope's dimension filters applied), indexed by
    case key like analytics.integrity.assess_cases."""
    frame = fetch_frame(conn, select(_R.case_key, *(_R[c] for c in COLUMNS))
                        .where(scope.in_period(_R.closed_at), *scope.filters(S.risk_reference)),
                        ["case_key", *COLUMNS])
    for col in ("received_at", "closed_at"):
        frame[col] = pd.to_datetime(frame[col], format="ISO8601")
    for col in ("hours", "score"):
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    return frame.set_index("case_key").rename_axis("case_id")


KEEP_THREAD = "landdesk-keep-risk-reference"


def store_in_background(engine, assessed: pd.DataFrame, state: str) -> None:
    """`store` in a daemon thread, so the request that learned the reference does not also wait for the write
    (5 s at a million events); a process that exits first just leaves it to the next one."""
    import threading
    threading.Thread(target=store, args=(engine, assessed, state), name=KEEP_THREAD, daemon=True).start()


def wait_for_background(timeout: float | None = None) -> None:
    """Until the background writes running now have finished (tests, benchmarks)."""
    import threading
    for thread in threading.enumerate():
        if thread.name == KEEP_THREAD:
            thread.join(timeout)


def store(engine, assessed: pd.DataFrame, state: str) -> bool:
    """Keep `assessed` (the whole reference, assessed at `state`) in its own transaction; False when it could not
    (a read-only role, a concurrent writer): the caller has its result anyway and the next one tries again."""
    from etl.load import upsert
    try:
        with engine.begin() as conn:
            if not _kept(conn) or stamp(conn) != state:     # the store moved on while the reference was learned
                return False
            conn.execute(delete(S.risk_reference_state))
            conn.execute(delete(S.risk_reference))
            rows = assessed.reindex(columns=COLUMNS).rename_axis("case_key").reset_index()
            rows = rows[rows["closed_at"].notna()]
            upsert(conn, S.risk_reference, rows, ("closed_at", "case_key"), fresh=True)
            conn.execute(insert(S.risk_reference_state).values(
                name="reference", store_state=state, code=code_digest(),
                computed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))
        return True
    except Exception:  # noqa: BLE001 - keeping it is an optimisation; the assessment itself was returned
        log.warning("keeping the assessed integrity reference in the store failed", exc_info=True)
        return False
