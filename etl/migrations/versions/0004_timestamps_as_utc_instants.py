"""timestamps as UTC instants: every DateTime value of a store written before this revision is a naive
wall-clock time in the bureau's zone; it becomes the naive UTC instant it stood for (and back on
downgrade). The zone is LANDDESK_TIMEZONE (Asia/Shanghai by default). The offset is exact per value,
daylight-saving changes included: one UPDATE per column with a CASE over the zone's offset periods
(a wall time in a repeated autumn hour is read as its first, summer-time occurrence). SQLite keeps the
microseconds of its ISO text; PostgreSQL shifts by an interval. No schema change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 10:00:00
"""
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: The DateTime columns of revision 0003, per table.
COLUMNS = {
    "etl_batches": ("started_at", "finished_at"),
    "cases": ("received_at", "closed_at"),
    "case_events": ("started_at", "completed_at"),
    "petitions": ("received_at", "accepted_at", "replied_at", "closed_at"),
    "users": ("created_at", "password_changed_at"),
    "audit_log": ("at",),
}
_FIRST, _LAST = dt.datetime(1900, 1, 1), dt.datetime(2060, 1, 1)


def _offset(zone: ZoneInfo, utc: dt.datetime) -> int:
    return int(utc.replace(tzinfo=dt.timezone.utc).astimezone(zone).utcoffset().total_seconds())


@lru_cache(maxsize=4)
def offset_periods(tz: str) -> tuple[int, list[tuple[dt.datetime, int]]]:
    """The zone's UTC offsets from 1900 to 2060: (offset before the first change, [(UTC instant of a change,
    offset from then on)…]). Found by a daily scan, each change then bisected to the second."""
    zone = ZoneInfo(tz)
    first = _offset(zone, _FIRST)
    changes, t, current = [], _FIRST, first
    step = dt.timedelta(days=1)
    while t < _LAST:
        nxt = t + step
        off = _offset(zone, nxt)
        if off != current:
            lo, hi = t, nxt                      # offset(lo) == current, offset(hi) != current
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if _offset(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, off))
            current = off
        t = nxt
    return first, changes


def _shift(dialect: str, col: str, seconds: int) -> str:
    if dialect == "sqlite":
        # SQLAlchemy writes 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime keeps the seconds, substr the fraction
        return f"(strftime('%Y-%m-%d %H:%M:%S', {col}, '{seconds:+d} seconds') || substr({col}, 20))"
    return f"({col} + interval '{seconds} seconds')"


def _literal(dialect: str, when: dt.datetime) -> str:
    if dialect == "sqlite":
        return f"'{when:%Y-%m-%d %H:%M:%S}.{when.microsecond:06d}'"
    return f"timestamp '{when:%Y-%m-%d %H:%M:%S}'"


def _case(dialect: str, col: str, tz: str, to_utc: bool) -> str:
    """The converted value of `col`: local → UTC (to_utc) or UTC → local, exact per offset period."""
    first, changes = offset_periods(tz)
    sign = -1 if to_utc else 1
    if not changes:
        return _shift(dialect, col, sign * first)
    parts, before = [], first
    for at_utc, after in changes:
        # upgrade compares local wall times: the change happens at at_utc + the offset before it
        bound = at_utc + dt.timedelta(seconds=before) if to_utc else at_utc
        parts.append(f"WHEN {col} < {_literal(dialect, bound)} THEN {_shift(dialect, col, sign * before)}")
        before = after
    return f"CASE {' '.join(parts)} ELSE {_shift(dialect, col, sign * before)} END"


def _convert(to_utc: bool) -> None:
    from landdesk.settings import bureau_timezone
    tz = bureau_timezone()
    bind = op.get_bind()
    dialect = bind.dialect.name
    tables = set(sa.inspect(bind).get_table_names())
    for table, cols in COLUMNS.items():
        if table not in tables:
            continue
        present = {c["name"] for c in sa.inspect(bind).get_columns(table)}
        sets = [f"{c} = {_case(dialect, c, tz, to_utc)}" for c in cols if c in present]
        if sets:
            bind.execute(sa.text(f"UPDATE {table} SET {', '.join(sets)}"))


def upgrade() -> None:
    _convert(to_utc=True)


def downgrade() -> None:
    _convert(to_utc=False)
