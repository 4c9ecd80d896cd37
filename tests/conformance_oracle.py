"""The first, per-case-pandas implementation of analytics.conformance (issue 14), kept only as the oracle the
vectorised one is compared with in tests/test_conformance_vectorised.py. Not product code."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.conformance import CASE_COLUMNS, LIST_SEP, STAGE_COLUMNS
from analytics.process import START
from analytics.workcal import WorkCalendar, durations


def _case_codes(ev: pd.DataFrame) -> np.ndarray:
    sysv, cid = ev["system"].to_numpy(dtype=object), ev["case_id"].to_numpy(dtype=object)
    new = np.r_[True, (cid[1:] != cid[:-1]) | (sysv[1:] != sysv[:-1])] if len(ev) else np.zeros(0, dtype=bool)
    return np.cumsum(new) - 1


def _joined(values: pd.Series, codes: pd.Series, n: int) -> list[str]:
    """Per case code 0..n-1 the values joined by LIST_SEP ('' when none)."""
    out = [""] * n
    if len(values):
        for code, group in pd.Series(values.to_numpy(), index=codes.to_numpy()).groupby(level=0, sort=False):
            out[int(code)] = LIST_SEP.join(dict.fromkeys(map(str, group)))
    return out


def _assess(ev: pd.DataFrame, reference: pd.DataFrame, cal: WorkCalendar):
    """The per-event, per-case and per-(case, reference stage) frames both results are built from."""
    ev = ev.sort_values(["system", "case_id", "seq"], kind="stable").reset_index(drop=True)
    ev = ev[ev["case_type"].isin(set(reference["case_type"]))].reset_index(drop=True)
    code = _case_codes(ev)
    ev["cc"] = code
    n = int(code.max()) + 1 if len(ev) else 0
    ref = reference[["case_type", "stage", "stage_order", "mandatory", "limit_workdays"]]
    ev = ev.merge(ref, on=["case_type", "stage"], how="left", sort=False)
    # moves
    same = np.r_[False, code[1:] == code[:-1]] if len(ev) else np.zeros(0, dtype=bool)
    src = np.where(same, ev["stage"].shift().to_numpy(dtype=object), START)
    allowed_pairs = {(t, START, s) for t, s, i in zip(reference["case_type"], reference["stage"], reference["initial"])
                     if i}
    allowed_pairs |= {(t, a, b) for t, a, succ in zip(reference["case_type"], reference["stage"],
                                                       reference["successors"]) for b in succ}
    ev["allowed"] = [(t, a, b) in allowed_pairs for t, a, b in zip(ev["case_type"], src, ev["stage"])]
    # working-day sojourn of each event (start, else previous completion, else receipt → completion)
    prev_done = ev["completed_at"].shift().where(same)
    anchor = ev["started_at"].where(ev["started_at"].notna(), prev_done.where(prev_done.notna(), ev["received_at"]))
    ev["workdays"] = durations(anchor, ev["completed_at"], "workdays", cal)
    # first occurrences of reference stages, and disorder among them
    in_ref = ev["stage_order"].notna()
    first = ev[in_ref].drop_duplicates(["cc", "stage"])
    before = first.groupby("cc")["stage_order"].cummax()
    before = before.groupby(first["cc"]).shift()
    first = first.assign(ooo=(first["stage_order"] < before).to_numpy())
    # per (case, reference stage of its type)
    cases_ = ev.drop_duplicates("cc")[["cc", "system", "case_id", "case_type"]]
    reached = ev[in_ref].groupby("cc")["stage_order"].max()
    grid = cases_.merge(reference[["case_type", "stage", "stage_order", "mandatory", "limit_workdays"]],
                        on="case_type", how="inner")
    present = (ev[in_ref].assign(entered_badly=~ev.loc[in_ref, "allowed"].to_numpy(dtype=bool))
               .groupby(["cc", "stage"]).agg(spent=("workdays", "sum"), entered_badly=("entered_badly", "max")))
    grid = grid.merge(present, left_on=["cc", "stage"], right_index=True, how="left")
    grid = grid.merge(first[["cc", "stage", "ooo"]], on=["cc", "stage"], how="left")
    grid["present"] = grid["spent"].notna() | grid["ooo"].notna()
    grid["skipped"] = (~grid["present"] & grid["mandatory"].astype(bool)
                       & (grid["stage_order"] < grid["cc"].map(reached).fillna(0).to_numpy()))
    grid["out_of_order"] = grid["ooo"].fillna(False).astype(bool)
    grid["over_limit"] = (grid["limit_workdays"].notna() & grid["spent"].notna()
                          & (grid["spent"] > grid["limit_workdays"])).to_numpy()
    grid["disallowed_entry"] = grid["entered_badly"].fillna(False).astype(bool)
    grid = grid.sort_values(["cc", "stage_order"], kind="stable").reset_index(drop=True)
    return ev, cases_.reset_index(drop=True), grid, n


def conformance_cases(ev: pd.DataFrame, reference: pd.DataFrame, cal: WorkCalendar) -> pd.DataFrame:
    """合规性 per case (see the module docstring). Grain: one row per case of a type with a reference, least
    fitting first."""
    if ev.empty or reference.empty:
        return pd.DataFrame(columns=CASE_COLUMNS)
    ev, cs, grid, n = _assess(ev, reference, cal)
    if not n:
        return pd.DataFrame(columns=CASE_COLUMNS)
    moves = np.bincount(ev["cc"], minlength=n)
    allowed = np.bincount(ev["cc"], weights=ev["allowed"].to_numpy(dtype=float), minlength=n)
    out = cs.copy()
    out["events"] = moves
    out["moves"] = moves
    out["allowed_moves"] = allowed.astype(int)
    out["fitness"] = allowed / moves
    for col in ("skipped", "out_of_order", "over_limit"):
        flagged = grid[grid[col]]
        out[col] = _joined(flagged["stage"], flagged["cc"], n)
        out["n_" + col] = np.bincount(flagged["cc"], minlength=n)
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
    base = reference[["case_type", "stage", "stage_order", "mandatory", "limit_workdays"]].copy()
    flags = ["present", "skipped", "out_of_order", "over_limit", "disallowed_entry"]
    if ev.empty:
        grid = pd.DataFrame(columns=["case_type", "stage", "cc", *flags])
    else:
        grid = _assess(ev, reference, cal)[2]
    g = grid.assign(**{f: grid[f].astype(bool) for f in flags},
                    bad=(grid["skipped"].astype(bool) | grid["out_of_order"].astype(bool)
                         | grid["over_limit"].astype(bool) | grid["disallowed_entry"].astype(bool))) \
        .groupby(["case_type", "stage"])
    counts = pd.DataFrame({"cases": g.size(), **{f: g[f].sum() for f in flags}, "bad": g["bad"].sum()})
    out = base.merge(counts, left_on=["case_type", "stage"], right_index=True, how="left")
    for col in ["cases", *flags, "bad"]:
        out[col] = out[col].fillna(0).astype("int64")
    out["conforming_share"] = np.where(out["cases"] > 0, (out["cases"] - out["bad"]) / out["cases"].where(
        out["cases"] > 0, 1), np.nan)
    return out.sort_values(["case_type", "stage_order"], kind="stable").reset_index(drop=True)[STAGE_COLUMNS]
