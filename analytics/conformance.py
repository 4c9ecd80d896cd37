"""Conformance to the statutory process (法定流程符合性): each case against its case type's reference process
(`reference_process`, loaded by etl.reference) — defined once here, as in docs/kpis.md ("Conformance").

Per case (of a case type that has a reference; its events in seq order):
- moves: (▶, first stage), then every two consecutive events; a move is allowed when the reference allows it
  (▶ → an initial stage; a → one of a's successors). fitness = allowed moves / moves.
- skipped: the mandatory stages of the reference that the case lacks although it reached a later stage of the
  reference (an open case is not blamed for the stages still ahead of it).
- out of order: the reference stages whose first occurrence comes after the first occurrence of a stage that is
  later in the reference order (a repeat after a return, e.g. 审核 again after 补正, is a repeat, not disorder).
- over limit: the reference stages with a limit whose sojourn, summed over the case's events of the stage, in
  working days (analytics.workcal, whatever the page's unit), exceeds it.
- conforming: fitness 1 and nothing skipped, out of order or over limit.
Per stage of the reference: cases of the type, cases with the stage present, skipped, out of order, over limit,
entered by a move the reference does not allow, and the share of the type's cases conforming at that stage.

The functions take an events frame (columns system, case_id, seq, stage, case_type, started_at, completed_at,
received_at, prev_completed_at optional) and the stored reference; `case_events_with_types` fetches every event
of the cases finished in the period (so a case is judged whole).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select, tuple_
from sqlalchemy.engine import Connection

from analytics.memo import StoreMemo, store_state
from analytics.process import same_case_join
from analytics.scope import Scope
from etl.sqlframe import fetch_frame
from analytics.workcal import WorkCalendar, durations
from etl.schema import case_events, cases

LIST_SEP = "、"
CASE_COLUMNS = ["system", "case_id", "case_type", "events", "moves", "allowed_moves", "fitness", "skipped",
                "n_skipped", "out_of_order", "n_out_of_order", "over_limit", "n_over_limit", "conforming"]
STAGE_COLUMNS = ["case_type", "stage", "stage_order", "mandatory", "limit_workdays", "cases", "present", "skipped",
                 "out_of_order", "over_limit", "disallowed_entry", "conforming_share"]
EVENT_FIELDS = ["system", "case_id", "seq", "stage", "case_type", "started_at", "completed_at", "received_at",
                "closed_at"]


def case_events_with_types(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Every event of the cases finished (closed_at) in the period, scope filters applied, with the case's type,
    received_at and closed_at, in (system, case_id, seq) order. Grain: one row per event."""
    e, c = case_events.c, cases.c
    finished = [scope.in_period(c.closed_at), *scope.filters(cases)]
    q = (select(e.system, e.case_id, e.seq, e.stage, c.case_type, e.started_at, e.completed_at, c.received_at,
                c.closed_at)
         .select_from(same_case_join())
         .where(tuple_(e.system, e.case_id).in_(select(c.system, c.case_id).where(*finished)))
         .order_by(e.system, e.case_id, e.seq))
    return fetch_frame(conn, q, EVENT_FIELDS)


#: The finished cases' events per (store state, scope): the conformance tab runs both exports over the same
#: fetch (its cost at ×30 is the fetch: 0.6 s of 0.7), and every session of the process shares it.
_finished = StoreMemo(4)


def finished_events(conn: Connection, scope: Scope) -> pd.DataFrame:
    """case_events_with_types, computed once per store state (analytics.memo); a copy-on-write view."""
    key = (store_state(conn), scope)
    return _finished.get(key, lambda: case_events_with_types(conn, scope)).copy(deep=False)


def _case_codes(ev: pd.DataFrame) -> np.ndarray:
    sysv, cid = ev["system"].to_numpy(dtype=object), ev["case_id"].to_numpy(dtype=object)
    new = np.r_[True, (cid[1:] != cid[:-1]) | (sysv[1:] != sysv[:-1])] if len(ev) else np.zeros(0, dtype=bool)
    return np.cumsum(new) - 1


class _Assessed:
    """The arrays both results are built from: per case (cc 0..n-1), per reference row (the reference in
    (case_type, stage_order) order) and per grid row (case × reference stage of its type, in stage order)."""

    def __init__(self, ev: pd.DataFrame, reference: pd.DataFrame, cal: WorkCalendar):
        ref = reference.sort_values(["case_type", "stage_order"], kind="stable").reset_index(drop=True)
        self.ref = ref
        types = pd.Index(pd.unique(ref["case_type"]))
        tcode = types.get_indexer(ev["case_type"])
        if (tcode < 0).any():
            ev, tcode = ev[tcode >= 0], tcode[tcode >= 0]
        # events of a case together, in seq order (the cases' own order does not matter: every result is sorted
        # by case or counted); the fetch's (system, case_id, seq) order needs no sort
        sys_code = pd.factorize(ev["system"])[0].astype(np.int64)
        id_code = pd.factorize(ev["case_id"])[0].astype(np.int64)
        case = pd.factorize(sys_code * (int(id_code.max(initial=0)) + 1) + id_code)[0]
        seq = ev["seq"].to_numpy()
        same = np.r_[False, case[1:] == case[:-1]] if len(ev) else np.zeros(0, dtype=bool)
        if len(ev) and (np.any(np.diff(case) < 0) or np.any(same[1:] & (seq[1:] < seq[:-1]))):
            order = np.lexsort((seq, case))
            ev, case, tcode = ev.iloc[order], case[order], tcode[order]
            same = np.r_[False, case[1:] == case[:-1]]
        cc = np.cumsum(~same) - 1
        n = int(cc[-1]) + 1 if len(ev) else 0
        self.n = n
        # integer codes: case type, stage (0 = missing, ▶ = the last code), reference row of each event
        names = pd.Index(pd.unique(pd.Series([*ref["stage"], *(b for s in ref["successors"] for b in s)],
                                             dtype=object)))
        ev_codes, ev_names = pd.factorize(ev["stage"])
        names = names.append(pd.Index(ev_names.astype(object)).difference(names, sort=False))
        m = len(names) + 2
        start_code = m - 1

        def code(values) -> np.ndarray:
            return names.get_indexer(pd.Index(list(values), dtype=object)) + 1      # missing (-1) → 0

        lookup = code(ev_names)
        scode = np.where(ev_codes >= 0, lookup[np.maximum(ev_codes, 0)], 0) if len(ev) else np.zeros(0, np.int64)
        rt, rs = types.get_indexer(ref["case_type"]), code(ref["stage"])
        ref_row = pd.Index(rt.astype(np.int64) * m + rs).get_indexer(tcode.astype(np.int64) * m + scode)
        # moves: (▶, first stage), then each pair of consecutive events; allowed when the reference allows it
        src = np.where(same, np.r_[0, scode[:-1]], start_code) if len(ev) else scode
        pairs = [(t, start_code, s) for t, s, i in zip(rt, rs, ref["initial"]) if i]
        pairs += [(t, a, b) for t, a, succ in zip(rt, rs, ref["successors"]) for b in code(succ)]
        pair_keys = np.asarray([(t * m + a) * m + b for t, a, b in pairs], dtype=np.int64)
        move_keys = (tcode.astype(np.int64) * m + src) * m + scode
        allowed = np.isin(move_keys, pair_keys) & (scode > 0)
        # working-day sojourn of each event (start, else previous completion, else receipt → completion)
        done = ev["completed_at"].reset_index(drop=True)
        prev_done = done.shift().where(same)
        started = ev["started_at"].reset_index(drop=True)
        anchor = started.where(started.notna(), prev_done.where(prev_done.notna(),
                                                                ev["received_at"].reset_index(drop=True)))
        workdays = np.asarray(durations(anchor, done, "workdays", cal), dtype=float)
        # per case
        first_idx = np.flatnonzero(np.r_[True, ~same[1:]]) if len(ev) else np.zeros(0, dtype=np.int64)
        self.cases = ev.iloc[first_idx][["system", "case_id", "case_type"]].reset_index(drop=True)
        self.events = np.bincount(cc, minlength=n)
        self.allowed = np.bincount(cc, weights=allowed.astype(float), minlength=n)
        ctype = tcode[first_idx]
        # the grid: case × reference stage of its type, in stage order
        offs = np.searchsorted(rt, np.arange(len(types)))
        k = np.bincount(rt, minlength=len(types))
        kc = k[ctype]
        gbase = np.r_[0, np.cumsum(kc)[:-1]] if n else np.zeros(0, dtype=np.int64)
        g = int(kc.sum())
        self.g_case = np.repeat(np.arange(n), kc)
        self.g_pos = np.arange(g) - np.repeat(gbase, kc)
        self.case_start = offs[ctype]
        self.g_ref = np.repeat(self.case_start, kc) + self.g_pos
        order = ref["stage_order"].to_numpy(dtype=float)
        inr = ref_row >= 0
        e_row = ref_row[inr]
        e_cc = cc[inr]
        e_grid = gbase[e_cc] + (e_row - offs[tcode[inr]])
        present = np.bincount(e_grid, minlength=g) > 0
        spent = np.bincount(e_grid, weights=np.nan_to_num(workdays[inr], nan=0.0), minlength=g)
        entered_badly = np.bincount(e_grid, weights=(~allowed[inr]).astype(float), minlength=g) > 0
        # first occurrences of reference stages, out of order when an earlier one is later in the reference
        _, first_pos = np.unique(e_grid, return_index=True)
        first_pos.sort()
        f_cc, f_ord = e_cc[first_pos], order[e_row[first_pos]]
        width = float(np.nanmax(order)) + 1 if len(order) else 1.0
        running = np.maximum.accumulate(f_cc * width + f_ord) if len(f_cc) else f_ord
        same_f = np.r_[False, f_cc[1:] == f_cc[:-1]] if len(f_cc) else np.zeros(0, dtype=bool)
        before = np.r_[-np.inf, running[:-1]] - f_cc * width if len(f_cc) else f_ord
        out_of_order = np.zeros(g, dtype=bool)
        out_of_order[e_grid[first_pos]] = same_f & (f_ord < before)
        reached = np.zeros(n)
        if len(e_cc):
            np.maximum.at(reached, e_cc, order[e_row])
        g_order = order[self.g_ref]
        mandatory = ref["mandatory"].to_numpy(dtype=bool)[self.g_ref]
        limit = ref["limit_workdays"].to_numpy(dtype=float)[self.g_ref]
        self.flags = {
            "present": present,
            "skipped": ~present & mandatory & (g_order < reached[self.g_case]),
            "out_of_order": out_of_order,
            "over_limit": ~np.isnan(limit) & present & (spent > np.nan_to_num(limit, nan=np.inf)),
            "disallowed_entry": entered_badly}

    def joined(self, flag: np.ndarray) -> list[str]:
        """Per case the names of its flagged reference stages in stage order, joined by LIST_SEP ('' when none):
        cases are grouped by (case type, flagged set) with integer keys, and each group's names joined once."""
        n = self.n
        if not n:
            return []
        fc, fp, fr = self.g_case[flag], self.g_pos[flag], self.g_ref[flag]     # grid order: case, stage order
        group = pd.factorize(self.case_start)[0].astype(np.int64)
        width = int(self.g_pos.max()) + 1 if len(self.g_pos) else 1
        for lo in range(0, width, 50):                     # 50 stages a word: sums of distinct powers of 2 are exact
            part = (fp >= lo) & (fp < lo + 50)
            bits = np.bincount(fc[part], weights=np.exp2(fp[part] - lo), minlength=n).astype(np.int64)
            word = pd.factorize(bits)[0].astype(np.int64)
            group = pd.factorize(group * (int(word.max()) + 1) + word)[0].astype(np.int64)
        _, rep = np.unique(group, return_index=True)      # one case of each group, in group order
        lo_i, hi_i = np.searchsorted(fc, rep, "left"), np.searchsorted(fc, rep, "right")
        stages = self.ref["stage"].to_numpy(dtype=object)
        labels = np.asarray([LIST_SEP.join(dict.fromkeys(str(stages[r]) for r in fr[i:j]))
                             for i, j in zip(lo_i, hi_i)], dtype=object)
        return list(labels[group])


def conformance_cases(ev: pd.DataFrame, reference: pd.DataFrame, cal: WorkCalendar) -> pd.DataFrame:
    """合规性 per case (see the module docstring). Grain: one row per case of a type with a reference, least
    fitting first."""
    if ev.empty or reference.empty:
        return pd.DataFrame(columns=CASE_COLUMNS)
    a = _Assessed(ev, reference, cal)
    n = a.n
    if not n:
        return pd.DataFrame(columns=CASE_COLUMNS)
    out = a.cases.copy()
    out["events"] = a.events
    out["moves"] = a.events
    out["allowed_moves"] = a.allowed.astype(int)
    out["fitness"] = a.allowed / a.events
    for col in ("skipped", "out_of_order", "over_limit"):
        flag = a.flags[col]
        out[col] = a.joined(flag)
        out["n_" + col] = np.bincount(a.g_case[flag], minlength=n)
    out["conforming"] = ((out["allowed_moves"] == out["moves"]) & (out["n_skipped"] == 0)
                         & (out["n_out_of_order"] == 0) & (out["n_over_limit"] == 0))
    out = out.sort_values(["fitness", "n_skipped", "n_out_of_order", "n_over_limit", "system", "case_id"],
                          ascending=[True, False, False, False, True, True], kind="stable")
    return out[CASE_COLUMNS].reset_index(drop=True)


def conformance_stages(ev: pd.DataFrame, reference: pd.DataFrame, cal: WorkCalendar) -> pd.DataFrame:
    """合规性 per reference stage: cases of the type, present, skipped, out of order, over limit, entered by a
    disallowed move, conforming_share = cases with none of those problems at the stage / cases of the type.
    Grain: one row per case type × reference stage, in reference order (types with no case in scope: cases 0)."""
    if reference.empty:
        return pd.DataFrame(columns=STAGE_COLUMNS)
    a = _Assessed(ev if not ev.empty else ev.iloc[:0], reference, cal)
    out = a.ref[["case_type", "stage", "stage_order", "mandatory", "limit_workdays"]].copy()
    r = len(out)
    out["cases"] = np.bincount(a.g_ref, minlength=r).astype("int64")
    bad = np.zeros(len(a.g_ref), dtype=bool)
    for name, flag in a.flags.items():
        out[name] = np.bincount(a.g_ref[flag], minlength=r).astype("int64")
        if name != "present":
            bad |= flag
    bad_n = np.bincount(a.g_ref[bad], minlength=r)
    cases_n = out["cases"].to_numpy()
    out["conforming_share"] = np.where(cases_n > 0, (cases_n - bad_n) / np.where(cases_n > 0, cases_n, 1), np.nan)
    return out[STAGE_COLUMNS].reset_index(drop=True)


def reference_mandatory(reference: pd.DataFrame) -> dict[str, frozenset]:
    """Per case type with a reference: its mandatory stages (used by the integrity-risk rules)."""
    if reference.empty:
        return {}
    mand = reference[reference["mandatory"].astype(bool)]
    return {t: frozenset(g["stage"]) for t, g in mand.groupby("case_type")}


# ---------- exports ----------

def _exports():
    from analytics.exports import Export
    from etl.reference import stored_reference

    def per_case(conn, scope, cal, unit, by):
        return conformance_cases(finished_events(conn, scope), stored_reference(conn), cal)

    def per_stage(conn, scope, cal, unit, by):
        return conformance_stages(finished_events(conn, scope), stored_reference(conn), cal)

    def reference(conn, scope, cal, unit, by):
        ref = stored_reference(conn)
        if scope.case_type is not None:
            ref = ref[ref["case_type"] == scope.case_type]
        return ref.assign(successors=[LIST_SEP.join(s) for s in ref["successors"]]).reset_index(drop=True)

    return [
        Export("conformance", "conformance to the statutory process of the cases finished in the period: fitness "
               "(allowed moves / moves), skipped mandatory stages, stages out of order, stages over their limit "
               "(working days); one row per case of a type with a reference process", per_case),
        Export("conformance-stages", "per stage of the statutory process: cases, present, skipped, out of order, "
               "over limit, disallowed entry, share of conforming cases; one row per case type × stage", per_stage),
        Export("reference-process", "the stored statutory reference process (法定流程): order, mandatory, limit in "
               "working days, allowed successors; one row per case type × stage", reference),
    ]


EXPORTS = _exports()
