"""Who may see what: row-level township scope, the open-government (政务公开) disclosure set, and
small-cell suppression. Enforced in the data-access layer (`analytics.exports.run_export(...,
principal=...)`), not only in the dashboard's widgets.

- A township officer's every export runs with `scope.township` = their township. A request for
  another township (a forged query parameter, a hand-edited URL) is not an error the page would
  show: it is narrowed to the officer's own township and written to the audit log
  (`scope_forced`), so a probe is visible to the admins while the page keeps working.
- The public principal (`service.auth.PUBLIC`) may run only the disclosure exports in
  PUBLIC_EXPORTS, with the breakdowns listed there and no township or department filter; every
  count below MIN_CELL is suppressed (`suppress_small_cells`), with complementary suppression: every
  rate, share or time derived from a suppressed or small cell, and enough other cells that no hidden
  value is recovered from a total. Case-level, petition-level and handler-level exports are refused.
- Everyone else (leader, planner, analyst, admin, the development mode and the command line,
  which has the store's credentials anyway) sees the whole county.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from analytics.scope import Scope
from service.auth import Principal
from landdesk.errors import LandDeskError
from landdesk.i18n import t

#: The minimum cell size of the disclosure view: published counts below it are suppressed.
MIN_CELL = 10


class AccessDenied(LandDeskError):
    """The principal may not see this (a clear sentence says what and why, in English and in Chinese: the
    command line, the API and a page all show it as it is)."""

    @classmethod
    def say(cls, key: str, **fields) -> "AccessDenied":
        return cls(f"{t(key, 'en', **fields)} {t(key, 'zh', **fields)}")


@dataclass(frozen=True)
class PublicExport:
    """A disclosure export: the breakdowns the public may ask for, the count columns (suppressed
    below the minimum cell size), the columns computed from those counts (suppressed with their
    group), and the columns published as they are (labels, period bounds)."""

    by: tuple[str | None, ...]
    count_cols: tuple[str, ...]
    derived_cols: tuple[str, ...]


#: The disclosure set (政务公开): service performance by item, on-time rates and processing times
#: (case-efficiency), and petition volumes by topic (petitions). Nothing case- or person-level.
PUBLIC_EXPORTS: dict[str, PublicExport] = {
    "case-efficiency": PublicExport(
        by=(None, "service_item", "case_type", "channel", "period"),
        count_cols=("received", "completed", "overdue", "bad_ratings"),
        derived_cols=("throughput_median", "throughput_mean", "throughput_p90", "on_time_rate",
                      "on_time_rate_statutory", "limit_compression", "actual_vs_promised_median", "instant_rate",
                      "online_rate", "zero_visit_rate", "one_visit_rate", "good_rating_rate",
                      "rating_participation"),
    ),
    "petitions": PublicExport(
        by=(None, "topic", "channel", "period"),
        count_cols=("received", "accepted", "replied", "concluded", "answered", "repeat_petitions",
                    "repeat_petitioners"),
        derived_cols=("timely_acceptance_rate", "reply_on_time_rate", "participation_rate", "satisfaction_rate"),
    ),
}
#: The group-size columns: when one of them is below the minimum cell size, every derived value of
#: the row (rates, medians) is suppressed too.
PUBLIC_BASE_COLS = {"case-efficiency": ("received", "completed"), "petitions": ("received",)}


def require(principal: Principal | None, capability: str) -> None:
    """Raise AccessDenied unless `principal` (None: the trusted command line) has `capability` or
    page (see service.auth.ROLE_PAGES / ROLE_CAPABILITIES), e.g. require(p, "upload")."""
    if principal is not None and not principal.can(capability):
        raise AccessDenied.say("access_capability", role=principal.role, capability=capability)


def scoped(scope: Scope, principal: Principal | None, *, engine=None, client: str | None = None,
           what: str | None = None) -> Scope:
    """The scope `principal` may see. Officers: township forced to their own (a different one asked
    for is narrowed and, given `engine`, audited as `scope_forced`). Public: no township or
    department filter (AccessDenied). Others and None (the command line): unchanged."""
    if principal is None:
        return scope
    if principal.is_officer:
        if scope.township is not None and scope.township != principal.township and engine is not None:
            from service import audit
            audit.record(engine, "scope_forced", principal.username,
                         {"asked": scope.township, "forced": principal.township, "export": what}, client)
        return replace(scope, township=principal.township)
    if principal.is_public and (scope.township is not None or scope.department is not None):
        raise AccessDenied.say("access_public_filter")
    return scope


def check_export(principal: Principal | None, name: str, by: str | None) -> None:
    """Raise AccessDenied when `principal` may not run export `name` broken down by `by`."""
    if principal is None or not principal.is_public:
        return
    spec = PUBLIC_EXPORTS.get(name)
    if spec is None:
        allowed = ", ".join(PUBLIC_EXPORTS)
        raise AccessDenied.say("access_not_public", name=name, allowed=allowed)
    if by not in spec.by:
        allowed = ", ".join(b for b in spec.by if b) or "none"
        raise AccessDenied.say("access_public_by", name=name, by=by, allowed=allowed)


def _is_rate(col: str) -> bool:
    return "rate" in col or "participation" in col or "share" in col


def _implies_small(rate: float, counts, min_cell: int) -> bool:
    """True when `rate` times one of the published `counts` is a whole number k with k, or its complement
    count − k, between 1 and min_cell − 1: the rate would reveal a small cell (6 of a published 14 → 6/14)."""
    for c in counts:
        if c is None or not c > 0:
            continue
        k = rate * c
        if abs(k - round(k)) <= 1e-6 * max(1.0, c):
            k = round(k)
            if 0 < k < min_cell or 0 < c - k < min_cell:
                return True
    return False


def suppress_small_cells(df: pd.DataFrame, count_cols, min_cell: int = MIN_CELL, derived_cols=(),
                         base_cols=None) -> pd.DataFrame:
    """Small-cell suppression for publication, complementary suppression included. Returns a copy where

    - primary: every count in `count_cols` with 0 < value < min_cell is replaced by None (true zeros stay);
    - complementary, down a column: while a column has exactly one suppressed cell, or suppressed cells adding up
      to less than min_cell, its smallest other non-zero cell is suppressed too, so neither a hidden value nor a
      small sum of them can be recovered by subtracting the visible ones from a published total;
    - derived values: every `derived_cols` value (a rate, share, median or mean) is replaced by None in a row
      whose group size (`base_cols`, default `count_cols`) is below min_cell, in a row with any suppressed count
      (6/7 = 0.857 would reveal both hidden counts), and — for a rate or share — wherever the rate times a
      published count of the row (or a count implied by another published rate) gives a number, or a
      complement, between 1 and min_cell − 1 (a hidden numerator recovered from its rate);
    - a boolean column `suppressed` flags every row with a suppressed cell, and
      `attrs["suppressed_cells"]` counts them (`attrs["min_cell"]` states the rule).
    """
    count_cols = [c for c in count_cols if c in df.columns]
    derived_cols = [c for c in derived_cols if c in df.columns]
    base_cols = [c for c in (base_cols if base_cols is not None else count_cols) if c in df.columns]
    out = df.copy().reset_index(drop=True)
    hide = pd.DataFrame(False, index=out.index, columns=out.columns)
    for col in count_cols:
        v = pd.to_numeric(out[col], errors="coerce")
        small = ((v > 0) & (v < min_cell)).fillna(False).astype(bool)
        if len(v) > 1:
            while small.any() and (small.sum() == 1 or v[small].sum() < min_cell):
                rest = v[~small & (v > 0)]
                if not len(rest):
                    break
                small.loc[rest.idxmin()] = True
        hide[col] = small
    if derived_cols:
        counts = out[count_cols].apply(pd.to_numeric, errors="coerce") if count_cols else None
        row_hidden = hide[count_cols].any(axis=1) if count_cols else pd.Series(False, index=out.index)
        if base_cols:
            base = out[base_cols].apply(pd.to_numeric, errors="coerce")
            row_hidden = row_hidden | (base < min_cell).any(axis=1) | hide[base_cols].any(axis=1)
        rates = [c for c in derived_cols if _is_rate(c)]
        for i in out.index:
            if row_hidden.loc[i] or counts is None or not rates:
                continue
            visible = [float(counts.at[i, c]) for c in count_cols if not hide.at[i, c] and pd.notna(counts.at[i, c])]
            values = {r: pd.to_numeric(out.at[i, r], errors="coerce") for r in rates}
            implied = {r: [round(v * c) for c in visible if c > 0 and abs(v * c - round(v * c)) <= 1e-6 * c]
                       for r, v in values.items() if pd.notna(v)}   # e.g. rated cases = participation × completed
            for r, v in values.items():
                others = [k for o, ks in implied.items() if o != r for k in ks]
                if pd.notna(v) and _implies_small(float(v), visible + others, min_cell):
                    hide.at[i, r] = True
        for col in derived_cols:
            hide[col] = hide[col] | (row_hidden & out[col].notna())
    for col in count_cols + derived_cols:
        if hide[col].any():
            out[col] = out[col].astype(object).where(~hide[col], None)
    out["suppressed"] = hide.any(axis=1)
    out.attrs = dict(df.attrs, suppressed_cells=int(hide.to_numpy().sum()), min_cell=min_cell)
    return out


def public_result(name: str, df: pd.DataFrame, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """A disclosure export's frame as it may be published (small cells suppressed)."""
    spec = PUBLIC_EXPORTS[name]
    return suppress_small_cells(df, spec.count_cols, min_cell, spec.derived_cols, PUBLIC_BASE_COLS.get(name))


def enforce_frame(principal: Principal | None, name: str, df: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Last line of defence on a computed frame: an officer's result must hold no row of another
    township (rows whose `township` column names another one are dropped), and a public result is
    suppressed. Exports whose analytics honour `scope.township` (all of the registry's, tested in
    tests/test_access.py) never lose a row here."""
    if principal is None:
        return df
    if principal.is_public:
        return public_result(name, df)
    if principal.is_officer and "township" in df.columns and len(df):
        keep = df["township"].isna() | (df["township"] == principal.township)
        if not keep.all():
            df = df[keep].reset_index(drop=True)
    return df
