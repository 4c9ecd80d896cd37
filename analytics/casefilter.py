"""The filters every process view shares (流程筛选): which cases a process question is about.

A `CaseFilter` is a frozen set of criteria; a case passes when it meets every criterion that is set:

| criterion | a case passes when |
| --- | --- |
| period | how the scope's period picks cases: `events` (default: the events completed in it, as every stage metric), `started` (cases received in it), `completed` (cases closed in it), `active` (cases open at some time in it); for the last three the whole case is taken, events outside the period too |
| variants | its path (stages in seq order joined by " → ") is one of these |
| top_variants | its path is among the N most frequent paths of the scope's cases (ties: shorter, then by name) |
| variant_coverage | its path is among the most frequent paths that together cover this share (0–1] of the cases |
| has_activity / lacks_activity | it has an event of every / of none of these stages |
| start_activity / end_activity | its first / last event is one of these stages |
| duration_min / duration_max | its duration (closed_at, else its last event, − received_at; in `unit`) is within |
| slowest | it is among this share (0–1] of the longest cases (by duration; ties included) |
| township, case_type, department, system | the case attribute is one of these |
| handler, event_department | it has an event handled by / in one of these |

`apply(events, f)` narrows an events frame (one row per event with case_key, stage, completed_at, received_at,
closed_at and the attribute columns it filters on; cases in seq order) to the events of matching cases. The
process fetch (`analytics.process.scoped_events`) applies it to each case's whole history, so a scope that carries
a filter (`Scope.cases`) gives every process export the same cases. Pure pandas, no Streamlit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

PERIOD_MODES = ("events", "started", "completed", "active")
#: Case attributes (columns of `cases`) and event attributes (columns of `case_events`) a filter may name.
CASE_ATTRIBUTES = ("township", "case_type", "department", "system")
EVENT_ATTRIBUTES = ("handler", "event_department")
VARIANT_SEP = " → "


@dataclass(frozen=True)
class CaseFilter:
    """Criteria on cases (every one that is set must hold; tuples mean "any of"). Hashable: part of cache keys."""

    period: str = "events"
    variants: tuple[str, ...] = ()
    top_variants: int | None = None
    variant_coverage: float | None = None
    has_activity: tuple[str, ...] = ()
    lacks_activity: tuple[str, ...] = ()
    start_activity: tuple[str, ...] = ()
    end_activity: tuple[str, ...] = ()
    duration_min: float | None = None
    duration_max: float | None = None
    slowest: float | None = None
    unit: str = "workdays"
    township: tuple[str, ...] = ()
    case_type: tuple[str, ...] = ()
    department: tuple[str, ...] = ()
    system: tuple[str, ...] = ()
    handler: tuple[str, ...] = ()
    event_department: tuple[str, ...] = ()

    def __post_init__(self):
        if self.period not in PERIOD_MODES:
            raise ValueError(f"the period picks cases by {', '.join(PERIOD_MODES)}, not {self.period!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        for name in ("variant_coverage", "slowest"):
            share = getattr(self, name)
            if share is not None and not 0 < share <= 1:
                raise ValueError(f"{name} is a share of the cases, above 0 and at most 1, not {share}")
        if self.top_variants is not None and self.top_variants < 1:
            raise ValueError(f"top_variants counts variants (1 or more), not {self.top_variants}")
        if (self.duration_min is not None and self.duration_max is not None
                and self.duration_max < self.duration_min):
            raise ValueError(f"the case duration range ends ({self.duration_max}) below its start "
                             f"({self.duration_min})")

    def is_empty(self) -> bool:
        """No criterion set: every case of the scope passes (the period picks events as every metric does)."""
        return self == CaseFilter(unit=self.unit)

    def case_level(self) -> bool:
        """Whether any criterion needs a case's events (variants, activities, endpoints, duration, handlers)."""
        return replace(self, period="events", township=(), case_type=(), department=(), system=()) != \
            CaseFilter(unit=self.unit)

    def describe(self) -> dict:
        """The criteria that are set, for the audit log and captions."""
        return {f.name: (list(v) if isinstance(v, tuple) else v) for f in fields(self)
                if (v := getattr(self, f.name)) not in ((), None) and f.name != "unit"
                and not (f.name == "period" and v == "events")} | (
            {"unit": self.unit} if self.duration_min is not None or self.duration_max is not None else {})


NO_FILTER = CaseFilter()


# ---------- per-case facts ----------

#: Largest cases × longest-case grid the vectorised path labels use; beyond it, one join per case.
PATH_GRID_LIMIT = 50_000_000


def case_paths(events: pd.DataFrame) -> pd.Series:
    """Each case's variant (stages in frame order joined by " → "), indexed by case_key (ascending). Vectorised:
    cases are grouped by their row of stage codes (one hash pass per position), and each distinct path is
    joined once."""
    if events.empty:
        return pd.Series(dtype=object)
    codes, names = pd.factorize(events["stage"])
    keys, case_idx = np.unique(events["case_key"].to_numpy(), return_inverse=True)
    order = np.argsort(case_idx, kind="stable")                  # frame order kept within each case
    ci, cs = case_idx[order], codes[order]
    pos = np.arange(len(ci)) - np.searchsorted(ci, ci)
    n, width = len(keys), int(pos.max()) + 1
    if n * width > PATH_GRID_LIMIT or (codes < 0).any():
        return events.groupby("case_key", sort=True)["stage"].agg(VARIANT_SEP.join)
    grid = np.full((n, width), -1, dtype=np.int64)
    grid[ci, pos] = cs
    group = np.zeros(n, dtype=np.int64)
    for j in range(width):
        group = pd.factorize(group * (len(names) + 1) + grid[:, j] + 1)[0].astype(np.int64)
    _, rep = np.unique(group, return_index=True)
    plain = names.astype(object).tolist()
    labels = [VARIANT_SEP.join(plain[c] for c in row if c >= 0) for row in grid[rep].tolist()]
    return pd.Series(np.asarray(labels, dtype=object)[group], index=pd.Index(keys, name="case_key"), name="stage")


def top_variants(paths: pd.Series, n: int | None = None, coverage: float | None = None) -> list[str]:
    """The most frequent variants (ties: shorter, then by name): the first `n`, or the first that together
    cover `coverage` of the cases (the variant that crosses the share is included)."""
    counts = paths.value_counts()
    order = sorted(counts.index, key=lambda v: (-counts[v], v.count(VARIANT_SEP), v))
    if n is not None:
        order = order[:n]
    if coverage is not None:
        total, run, out = counts.sum(), 0, []
        for v in order:
            out.append(v)
            run += counts[v]
            if run >= coverage * total - 1e-9:
                break
        order = out
    return order


def case_durations(events: pd.DataFrame, unit: str = "workdays", cal=None) -> pd.Series:
    """Each case's duration in `unit`: closed_at (else its last event's completion) − received_at, by case_key."""
    from analytics.workcal import WorkCalendar, durations
    if events.empty:
        return pd.Series(dtype=float)
    g = events.groupby("case_key", sort=True)
    first = g[["received_at", "closed_at"]].first()
    end = first["closed_at"].where(first["closed_at"].notna(), g["completed_at"].max())
    return pd.Series(durations(first["received_at"], end, unit, cal or WorkCalendar()), index=first.index)


# ---------- apply ----------

def matching_cases(events: pd.DataFrame, f: CaseFilter, cal=None) -> np.ndarray:
    """The case_keys of `events` whose cases pass `f` (every criterion but the period, which the fetch applies)."""
    keys = pd.Index(events["case_key"].unique())
    ok = pd.Series(True, index=keys)
    by_case = events.groupby("case_key", sort=False)
    for col in CASE_ATTRIBUTES:
        values = getattr(f, col)
        if values and col in events.columns:
            col_name = "case_department" if col == "department" and "case_department" in events.columns else col
            ok &= by_case[col_name].first().reindex(keys).isin(values)
    for col, frame_col in (("handler", "handler"), ("event_department", "department")):
        values = getattr(f, col)
        if values:
            hit = events.loc[events[frame_col].isin(values), "case_key"].unique()
            ok &= keys.isin(hit)
    for stage in f.has_activity:
        ok &= keys.isin(events.loc[events["stage"] == stage, "case_key"].unique())
    if f.lacks_activity:
        ok &= ~keys.isin(events.loc[events["stage"].isin(f.lacks_activity), "case_key"].unique())
    if f.start_activity:
        ok &= by_case["stage"].first().reindex(keys).isin(f.start_activity)
    if f.end_activity:
        ok &= by_case["stage"].last().reindex(keys).isin(f.end_activity)
    if f.variants or f.top_variants is not None or f.variant_coverage is not None:
        paths = case_paths(events).reindex(keys)
        wanted = set(f.variants)
        if f.top_variants is not None or f.variant_coverage is not None:
            top = set(top_variants(paths, f.top_variants, f.variant_coverage))
            wanted = (wanted & top) if wanted else top
        ok &= paths.isin(wanted)
    if f.duration_min is not None or f.duration_max is not None or f.slowest is not None:
        d = case_durations(events, f.unit, cal).reindex(keys)
        if f.duration_min is not None:
            ok &= d >= f.duration_min - 1e-9
        if f.duration_max is not None:
            ok &= d <= f.duration_max + 1e-9
        if f.slowest is not None:
            among = d[ok]
            if len(among):
                n = max(1, math.ceil(f.slowest * len(among) - 1e-9))
                cut = among.sort_values(ascending=False).iloc[n - 1]
                ok &= d >= cut
    return keys[ok.to_numpy()].to_numpy()


def apply(events: pd.DataFrame, f: CaseFilter, cal=None) -> pd.DataFrame:
    """The events of the cases of `events` that pass `f` (rows and order kept). The variant, endpoint, activity
    and duration criteria look at the events given: pass each case's whole history (as the process fetch does)
    for whole-case answers."""
    if events.empty or f is None or f.is_empty():
        return events
    keep = matching_cases(events, f, cal)
    return events[events["case_key"].isin(keep).to_numpy()]


def sql_filters(f: CaseFilter | None, cases_table) -> list:
    """WHERE clauses for the case attributes `f` names (township, case_type, department, system) on `cases`."""
    if f is None:
        return []
    return [cases_table.c[col].in_(getattr(f, col)) for col in CASE_ATTRIBUTES if getattr(f, col)]


def period_cases(f: CaseFilter | None, scope, cases_table):
    """The WHERE clause that picks cases by the period (`started`, `completed`, `active`), None for `events`."""
    from sqlalchemy import and_, or_
    mode = f.period if f is not None else "events"
    c = cases_table.c
    if mode == "started":
        return scope.in_period(c.received_at)
    if mode == "completed":
        return scope.in_period(c.closed_at)
    if mode == "active":
        return and_(c.received_at < scope.end_ts, or_(c.closed_at.is_(None), c.closed_at >= scope.start_ts))
    return None
