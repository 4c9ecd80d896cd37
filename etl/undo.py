"""Undo: take one loaded batch back out of the store, in one transaction (`landdesk etl undo BATCH`).

What is removed: every row that still carries the batch's id in the data tables (a later batch that
rewrote a row owns it now, and it stays), the batch's rejects and stage roles, and the cases the batch
alone created (derived cases with no event of another batch left; a case is its system's, so another system's
events under the same case id never keep it). The etl_batches row stays, marked
'undone' with what was removed, so the history remains.

What cannot be done: records that existed before the batch and that it *updated* hold only their new
values; the old ones are gone. A batch that updated such records (etl_batches.rows_updated > 0, or not
counted because it was loaded before LandDesk counted updates) is refused unless `force`, which removes
those records too. Reload the earlier export to restore them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.engine import Engine

from etl import marts, schema as S
from etl.store import ensure_ready
from landdesk.errors import LandDeskError
from landdesk.settings import local_now

#: Tables whose rows carry batch_id, in delete order (events before their cases).
BATCH_TABLES = ("case_events", "petitions", "land_use", "land_supply", "targets", "regions", "land_parcels")


@dataclass
class UndoResult:
    batch_id: int
    dataset: str
    removed: dict[str, int] = field(default_factory=dict)
    kept_cases: int = 0

    def summary(self) -> str:
        parts = ", ".join(f"{n} {name}" for name, n in self.removed.items() if n) or "no rows"
        kept = (f"; {self.kept_cases} of its cases kept (they have events of other batches)"
                if self.kept_cases else "")
        return f"batch {self.batch_id} undone ({self.dataset}): removed {parts}{kept}"


def undo_batch(engine: Engine, batch_id: int, force: bool = False) -> UndoResult:
    """Remove batch `batch_id`'s rows from every table in one transaction and mark it undone."""
    ensure_ready(engine)
    b = S.etl_batches
    with engine.begin() as conn:
        row = conn.execute(select(b.c.status, b.c.dataset, b.c.rows_updated).where(b.c.batch_id == batch_id)
                           .with_for_update()).first()
        if row is None:
            raise LandDeskError(f"There is no batch {batch_id} in the store.")
        status, dataset, updated = row
        if status != "loaded":
            raise LandDeskError(f"Batch {batch_id} is {status}, not loaded; there is nothing to undo.")
        if not force and updated is None:
            raise LandDeskError(f"Batch {batch_id} was loaded before LandDesk counted the records a batch updates, "
                                "so undo cannot tell whether it changed records that existed before it; "
                                "pass --force to remove all rows that carry its id anyway.")
        if not force and updated:
            raise LandDeskError(f"Batch {batch_id} updated {updated} record(s) that existed before it, and their earlier "
                                "values cannot be restored; reload the earlier export instead, or pass --force to "
                                "remove those records too.")
        result = UndoResult(batch_id, dataset)
        c, e = S.cases, S.case_events
        marts.discard(conn)
        marts.note_where(conn, "cases", c.c.batch_id == batch_id)          # the days the marts recompute
        marts.note_where(conn, "petitions", S.petitions.c.batch_id == batch_id)
        marts.note_events_where(conn, select(e.c.system, e.c.case_id).distinct().where(e.c.batch_id == batch_id))
        for name in BATCH_TABLES:
            t = S.DATASETS[name]
            result.removed[name] = conn.execute(delete(t).where(t.c.batch_id == batch_id)).rowcount
        mine = c.c.batch_id == batch_id
        others = exists().where(e.c.system == c.c.system, e.c.case_id == c.c.case_id)   # its own system's events
        result.kept_cases = conn.execute(select(func.count()).select_from(c).where(mine, others)).scalar_one()
        result.removed["cases"] = conn.execute(delete(c).where(mine, ~others)).rowcount
        result.removed["rejects"] = conn.execute(delete(S.etl_rejects).where(S.etl_rejects.c.batch_id == batch_id)).rowcount
        result.removed["stage roles"] = conn.execute(delete(S.stage_roles).where(S.stage_roles.c.batch_id == batch_id)).rowcount
        rp = S.reference_process
        result.removed["reference stages"] = conn.execute(delete(rp).where(rp.c.batch_id == batch_id)).rowcount
        marts.refresh(conn)
        conn.execute(update(b).where(b.c.batch_id == batch_id).values(status="undone", message=(
            f"undone {local_now():%Y-%m-%d %H:%M}: " + result.summary().split(": ", 1)[1])))
    return result
