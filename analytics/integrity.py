"""Integrity-risk early warnings (廉政风险预警): flags for cases closed in the period, and handlers
who depart from their peers. (Petition spikes: `analytics.spikes`; petition topics: `analytics.topics`.)

Integrity risk (`warnings`, `handler-risk`). What is normal is learned per case type from the
cases completed normally (status ``closed``) up to the period's end — all townships, since the
type's process is the reference — and the cases **closed in the period** (scope filters applied)
are checked against it:

- ``skipped_stage``: a stage present in at least MANDATORY_SHARE (95%) of the type's closed cases
  (its mandatory set; learned only with at least MIN_TYPE_CASES cases) is missing from the case. Where the
  bureau loaded a statutory reference process for the type (法定流程, `reference_process`), its mandatory
  stages are the set instead, and the reason says so (reason code ``skipped_statutory_stage``).
- ``out_of_order``: an approval stage (APPROVAL_KEYWORDS) completes before a review stage
  (REVIEW_KEYWORDS) of the same case, where the type's cases do that in under 5% of cases.
- ``too_fast`` / ``too_slow``: robust z-score of log throughput hours (closed_at − received_at;
  median and 1.4826 × MAD of the type) below −Z_LIMIT or above +Z_LIMIT (3.5).
- ``single_handler``: one handler completed every stage of a case with at least three stages (no
  separation of duties between acceptance, review and approval).
- ``isolation``: an IsolationForest (scikit-learn) on per-case features — throughput z, stages
  relative to the type's median, distinct handlers, rework (repeated stages and 补正), the largest
  share of stages handled by one handler, mandatory stages missing, out-of-order pairs — scores
  every case; a case whose score is above the ISOLATION_QUANTILE (99.5%) of the reference cases'
  scores is flagged even if no rule fired. ``score`` is that anomaly score (higher = more unusual).

Reuse. The assessed reference (every reference case with its features, rules, score and reasons:
``assess_cases``) depends only on the store and the period's end — not on the period's start nor the
scope filters, which only pick the cases shown — so it is computed once and kept in a small in-process
LRU (ASSESS_CACHE_SIZE entries; thread-safe, several dashboard sessions share a process; while one
caller computes an entry the others asking for it wait instead of computing it again). The key: the
store URL, the last loaded ETL batch, the cases and case-events row counts (writes that bypass the ETL)
and the reference cut-off — the period's end, or "everything" when the end falls after the last
closing, since every such end selects the same reference cases. A second export (`warnings` then
`handler-risk`), a page re-render, or another period ending after the last closing reuse it; results
are identical to computing afresh. The calculation unit plays no part (throughput is wall-clock
hours). ``warm_reference(engine)`` fills the cache ahead of the first request. The cold computation
works on integer-coded cases, stages and handlers (numpy bincount / sort instead of pandas groupbys
keyed by case-id strings) and reads the events without their completion time.

The case's ``handler_key`` is the pseudonymised key of the handler who completed most of its stages
(ties: the later one). No personal data leaves this module: handler keys are keyed hashes and
petition summaries are PII-scrubbed by the ETL.

Reasons are plain sentences in Chinese and English from ``analytics.reasons.REASONS`` (keyed by rule code).
"""
from __future__ import annotations

import math
from operator import itemgetter

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from analytics.memo import StoreMemo, store_state
from analytics.reasons import reason
from analytics.process import same_case_join
from analytics.scope import FILTER_DIMS, Scope
from etl.sqlframe import fetch_frame
from analytics.stages import SUPPLEMENT_STAGES
from analytics.workcal import WorkCalendar
from etl.schema import case_events, cases

# ---------- parameters ----------

MANDATORY_SHARE = 0.95
MIN_TYPE_CASES = 20
Z_LIMIT = 3.5
ISOLATION_QUANTILE = 0.995
ISOLATION_TREES = 100
OUT_OF_ORDER_MAX_SHARE = 0.05
SINGLE_HANDLER_MIN_STAGES = 3
#: Stage-name fragments that mark a review stage (审查环节) and an approval stage (审批/决定环节).
REVIEW_KEYWORDS = ("审核", "初审", "复审", "审查", "勘查", "勘察", "核查", "核实")
APPROVAL_KEYWORDS = ("审批", "批准", "核准", "决定", "登簿", "发证")
#: Handler risk: a handler departs from peers when the one-sided binomial p-value of their flagged
#: (or too-fast) count against the peers' rate is below HANDLER_ALPHA / handlers (Bonferroni) and
#: the count is at least HANDLER_MIN_FLAGS.
HANDLER_ALPHA = 0.01
HANDLER_MIN_FLAGS = 3

RULE_ORDER = ("skipped_stage", "out_of_order", "too_fast", "too_slow", "single_handler", "isolation")
WARNING_COLUMNS = ["system", "case_id", "case_type", "township", "received_at", "closed_at", "hours", "handler_key", "rules",
                   "score", "reason_zh", "reason_en"]
HANDLER_COLUMNS = ["handler_key", "cases", "flagged", "flagged_rate", "peer_flagged_rate", "flagged_p",
                   "fast", "fast_rate", "peer_fast_rate", "fast_p", "robust_z", "departs", "reason_zh", "reason_en"]
FEATURES = ["log_hours_z", "stages_rel", "handlers", "rework", "max_handler_share", "missing", "out_of_order"]


def _fmt_h(x: float) -> str:
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


# ---------- integrity risk: data ----------

_CASE_COLUMNS = ["system", "case_id", "case_type", "township", "department", "received_at", "closed_at"]
#: Joins a source system and a case id into one case key when the store holds several systems.
KEY_SEP = "\x1f"


def several_systems(conn: Connection) -> bool:
    """Whether the store's cases come from more than one source system (then a case id alone is no key)."""
    return len(conn.execute(select(cases.c.system).distinct().limit(2)).all()) > 1


def case_keys(system, case_id, several: bool):
    """One key per case: the case id in a one-system store (no cost), else system + KEY_SEP + case id."""
    if not several:
        return case_id
    return (pd.Series(np.asarray(system, dtype=object)).astype(str) + KEY_SEP
            + pd.Series(np.asarray(case_id, dtype=object)).astype(str)).to_numpy(dtype=object)


def _keyed(conn: Connection, cs: pd.DataFrame) -> bool:
    """Key the reference cases by case_keys (in place); returns whether the store has several systems."""
    several = several_systems(conn)
    if several:
        cs["case_id"] = case_keys(cs["system"], cs["case_id"], True)
    return several


def _reference_where(end_ts):
    c = cases.c
    return [c.status == "closed", c.closed_at < end_ts, c.closed_at.is_not(None)]


def closed_case_events(conn: Connection, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference cases and their events: every case closed normally (status 'closed') before the
    period's end, all townships. Returns (cases frame, events frame in case/seq order). In a store of several
    source systems `case_id` holds the case key (system + KEY_SEP + case id), so colliding ids of two systems
    stay two cases."""
    c, e = cases.c, case_events.c
    done = _reference_where(scope.end_ts)
    cs = fetch_frame(conn, select(c.system, c.case_id, c.case_type, c.township, c.department, c.received_at,
                                  c.closed_at).where(*done), _CASE_COLUMNS)
    ev = fetch_frame(conn, select(e.system, e.case_id, e.seq, e.stage, e.handler_key, e.completed_at)
                     .select_from(same_case_join()).where(*done)
                     .order_by(e.system, e.case_id, e.seq),
                     ["system", "case_id", "seq", "stage", "handler_key", "completed_at"])
    several = _keyed(conn, cs)
    ev["case_id"] = case_keys(ev["system"], ev["case_id"], several)
    return cs, ev.drop(columns="system")


def _role(stage: str) -> str | None:
    s = str(stage)
    if any(k in s for k in APPROVAL_KEYWORDS):
        return "approval"
    if any(k in s for k in REVIEW_KEYWORDS):
        return "review"
    return None


class _Coded:
    """The reference cases and their events as integer codes — the working form of the per-case features
    (numpy bincount / unique / lexsort instead of pandas groupbys keyed by case-id strings).

    ci: each kept event's case (position in `cs`); st: its stage (codes in sorted stage-name order, so
    that "first by stage name" matches a sorted groupby); hd: its handler (−1 = unknown); seq. Events
    of cases not in `cs` are dropped. tc: each case's type (codes in sorted order, −1 = none)."""

    def __init__(self, cs: pd.DataFrame, case_id, seq, stage, handler_key):
        self.n = len(cs)
        self.tc, self.types = pd.factorize(cs["case_type"], sort=True)
        ids = np.asarray(case_id, dtype=object)
        # events come grouped by case (ORDER BY case_id): look each run's case up once, not each event
        new_run = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.zeros(0, dtype=bool)
        ci = pd.Index(cs["case_id"]).get_indexer(pd.Index(ids[new_run]))[np.cumsum(new_run) - 1]
        keep = ci >= 0
        self.ci = ci[keep]
        self.seq = np.asarray(seq, dtype=np.int64)[keep]
        st, self.stages = pd.factorize(np.asarray(stage, dtype=object)[keep], sort=True)
        self.st = st.astype(np.int64)
        hd, self.handlers = pd.factorize(np.asarray(handler_key, dtype=object)[keep])
        self.hd = hd.astype(np.int64)
        self.S = max(len(self.stages), 1)
        # distinct (case, stage) pairs present
        pair = _sorted_unique(self.ci * self.S + self.st)
        self.pair_ci, self.pair_st = pair // self.S, pair % self.S

    @classmethod
    def from_frames(cls, cs: pd.DataFrame, ev: pd.DataFrame) -> "_Coded":
        return cls(cs, ev["case_id"].to_numpy(dtype=object), ev["seq"].to_numpy(), ev["stage"].to_numpy(dtype=object),
                   ev["handler_key"].to_numpy(dtype=object))

    def mandatory(self, share: float = MANDATORY_SHARE, min_cases: int = MIN_TYPE_CASES) -> dict[str, frozenset]:
        T = len(self.types)
        total = np.bincount(self.tc[self.tc >= 0], minlength=T)
        ptc = self.tc[self.pair_ci]
        ok = ptc >= 0
        counts = np.bincount(ptc[ok] * self.S + self.pair_st[ok], minlength=T * self.S).reshape(T, self.S)
        out = {}
        for t in range(T):
            if total[t] < min_cases or not counts[t].any():
                continue
            out[self.types[t]] = frozenset(self.stages[np.flatnonzero(counts[t] >= share * total[t])])
        return out


def mandatory_stages(cs: pd.DataFrame, ev: pd.DataFrame, share: float = MANDATORY_SHARE,
                     min_cases: int = MIN_TYPE_CASES) -> dict[str, frozenset]:
    """Per case type: the stages present in at least `share` of its closed cases (types with fewer
    than `min_cases` closed cases get no mandatory set)."""
    return _Coded.from_frames(cs, ev).mandatory(share, min_cases)


def _names(uniques, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The names of `codes` (−1 → missing) as a Series on `index`."""
    out = pd.Series(uniques).reindex(codes) if len(uniques) else pd.Series(np.nan, index=range(len(codes)),
                                                                         dtype=object)
    out.index = index
    return out


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """np.unique of integer keys by sorting (numpy's default hash-based unique is far slower here)."""
    x = np.sort(keys)
    return x[_first_per_group(x)]


def _first_per_group(keys: np.ndarray) -> np.ndarray:
    """Positions of the first element of each run of equal `keys` (sorted)."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)


def case_features(cs: pd.DataFrame, ev: pd.DataFrame, mandatory: dict[str, frozenset]) -> pd.DataFrame:
    """Per closed case: throughput hours and its robust z within the type, stages, handlers, rework,
    the largest one-handler share, missing mandatory stages, out-of-order pairs, main handler."""
    return _case_features(cs, _Coded.from_frames(cs, ev), mandatory)


def _case_features(cs: pd.DataFrame, k: _Coded, mandatory: dict[str, frozenset]) -> pd.DataFrame:
    f = cs.set_index("case_id")[["system", "case_type", "township", "received_at", "closed_at"]].copy()
    f["hours"] = (f["closed_at"] - f["received_at"]).dt.total_seconds() / 3600.0
    logh = np.log(f["hours"].clip(lower=0) + 1.0 / 60.0)
    grp = logh.groupby(f["case_type"])
    med = grp.transform("median")
    mad = (logh - med).abs().groupby(f["case_type"]).transform("median") * 1.4826
    meanad = (logh - grp.transform("mean")).abs().groupby(f["case_type"]).transform("mean") * 1.2533
    spread = mad.where(mad > 1e-9, meanad)
    f["log_hours_z"] = ((logh - med) / spread.where(spread > 1e-9)).fillna(0.0)
    f["type_median_hours"] = f["hours"].groupby(f["case_type"]).transform("median")

    n, S = k.n, k.S
    stages = np.bincount(k.ci, minlength=n)
    f["stages"] = stages.astype(int)
    f["stages_rel"] = f["stages"] - f["stages"].groupby(f["case_type"]).transform("median")
    known = k.hd >= 0
    H = max(len(k.handlers), 1)
    ch = _sorted_unique(k.ci[known] * H + k.hd[known])       # distinct (case, handler)
    f["handlers"] = np.bincount(ch // H, minlength=n).astype(int)
    distinct_stages = np.bincount(k.pair_ci, minlength=n)
    sup_codes = np.flatnonzero(np.isin(k.stages, SUPPLEMENT_STAGES))
    sup = np.bincount(k.ci[np.isin(k.st, sup_codes)], minlength=n)
    f["rework"] = (stages - distinct_stages + sup).astype(int)
    # main handler: most stages, ties to the one with the later last stage
    key = k.ci[known] * H + k.hd[known]
    ukey, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    last = np.full(len(ukey), np.iinfo(np.int64).min)
    np.maximum.at(last, inv, k.seq[known])
    u_ci, u_hd = ukey // H, ukey % H
    order = np.lexsort((-last, -cnt, u_ci))
    first = order[_first_per_group(u_ci[order])]
    top_n = np.full(n, np.nan)
    top_n[u_ci[first]] = cnt[first]
    top_hd = np.full(n, -1)
    top_hd[u_ci[first]] = u_hd[first]
    f["handler_key"] = _names(k.handlers, top_hd, f.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(stages > 0, top_n / np.where(stages > 0, stages, 1), np.nan)
    f["max_handler_share"] = np.nan_to_num(share, nan=0.0)
    unknown = np.bincount(k.ci[~known], minlength=n) > 0
    unknown |= stages == 0
    f["single_handler"] = ((f["handlers"] == 1) & (f["max_handler_share"] >= 1.0)
                           & (f["stages"] >= SINGLE_HANDLER_MIN_STAGES) & ~unknown)

    # mandatory stages present / missing
    T = len(k.types)
    need_mat = np.zeros((T, S), dtype=bool)
    type_pos = {t: i for i, t in enumerate(k.types)}
    stage_pos = {s: i for i, s in enumerate(k.stages)}
    need = np.zeros(n)
    need_by_type = np.zeros(T)
    for t, v in mandatory.items():
        if t in type_pos:
            need_by_type[type_pos[t]] = len(v)
            for st in v:
                if st in stage_pos:
                    need_mat[type_pos[t], stage_pos[st]] = True
    has_type = k.tc >= 0
    need[has_type] = need_by_type[k.tc[has_type]]
    ptc = k.tc[k.pair_ci]
    is_need = np.zeros(len(k.pair_ci), dtype=bool)
    ok = ptc >= 0
    is_need[ok] = need_mat[ptc[ok], k.pair_st[ok]]
    have = np.bincount(k.pair_ci[is_need], minlength=n)
    f["missing"] = np.clip(need - have, 0, None).astype(int)
    f["missing_stages"] = pd.Series([[]] * len(f), index=f.index, dtype=object)
    short = np.flatnonzero(f["missing"].to_numpy() > 0)   # the few cases missing a stage: the rest keep []
    if len(short):
        sel = np.isin(k.pair_ci, short)
        present: dict[int, set] = {}
        for c_, s_ in zip(k.pair_ci[sel].tolist(), k.pair_st[sel].tolist()):
            present.setdefault(c_, set()).add(k.stages[s_])
        f.iloc[short, f.columns.get_loc("missing_stages")] = pd.Series(
            [sorted(mandatory.get(t, frozenset()) - present.get(i, set()))
             for i, t in zip(short.tolist(), f["case_type"].iloc[short])], index=f.index[short], dtype=object)

    # out-of-order pairs: first completion of an approval stage before the last of a review stage
    roles = np.array([_role(s) for s in k.stages], dtype=object)
    appr_codes = np.flatnonzero(roles == "approval")
    rev_codes = np.flatnonzero(roles == "review")
    ooo = np.zeros(n, dtype=int)
    ooo_a = np.full(n, -1)
    ooo_r = np.full(n, -1)
    ma, mr = np.isin(k.st, appr_codes), np.isin(k.st, rev_codes)
    if ma.any() and mr.any():
        ak, ainv = np.unique(k.ci[ma] * S + k.st[ma], return_inverse=True)
        aseq = np.full(len(ak), np.iinfo(np.int64).max)
        np.minimum.at(aseq, ainv, k.seq[ma])
        rk, rinv = np.unique(k.ci[mr] * S + k.st[mr], return_inverse=True)
        rseq = np.full(len(rk), np.iinfo(np.int64).min)
        np.maximum.at(rseq, rinv, k.seq[mr])
        A = pd.DataFrame({"ci": ak // S, "a": ak % S, "a_seq": aseq})
        R = pd.DataFrame({"ci": rk // S, "r": rk % S, "r_seq": rseq})
        P = A.merge(R, on="ci")                                  # ordered by case, approval, review
        P = P[(P["a_seq"] < P["r_seq"]).to_numpy() & (k.tc[P["ci"].to_numpy()] >= 0)]
        if len(P):
            # a pair the type's cases routinely show (review after approval is part of its process) is not flagged
            pci, pa, pr = P["ci"].to_numpy(), P["a"].to_numpy(), P["r"].to_numpy()
            ptype = k.tc[pci]
            trip = (ptype * S + pa) * S + pr
            utrip, tinv, tcnt = np.unique(trip, return_inverse=True, return_counts=True)
            n_type = np.bincount(k.tc[has_type], minlength=T)
            rare = (tcnt / n_type[utrip // (S * S)]) < OUT_OF_ORDER_MAX_SHARE
            keep = rare[tinv]
            pci, pa, pr = pci[keep], pa[keep], pr[keep]
            ooo = np.bincount(pci, minlength=n).astype(int)
            fp = _first_per_group(pci)
            ooo_a[pci[fp]] = pa[fp]
            ooo_r[pci[fp]] = pr[fp]
    f["out_of_order"] = ooo
    f["ooo_approval"] = _names(k.stages, ooo_a, f.index)
    f["ooo_review"] = _names(k.stages, ooo_r, f.index)
    return f


def isolation_scores(features: pd.DataFrame, random_state: int = 0) -> np.ndarray:
    """IsolationForest anomaly score per case (−score_samples: higher = more unusual), fitted on all
    reference cases' FEATURES."""
    from sklearn.ensemble import IsolationForest

    X = features[FEATURES].to_numpy(dtype=float)
    if len(X) < 10:
        return np.zeros(len(X))
    model = IsolationForest(n_estimators=ISOLATION_TREES, random_state=random_state, n_jobs=1)
    model.fit(X)
    return -model.score_samples(X)


def _feature_deviation(f: pd.DataFrame) -> pd.DataFrame:
    """|feature − median| / spread per case (spread: 1.4826 × MAD, else the standard deviation, else 1)."""
    X = f[FEATURES].astype(float)
    med = X.median()
    spread = (X - med).abs().median() * 1.4826
    spread = spread.where(spread > 1e-9, X.std()).where(lambda v: v > 1e-9, 1.0)
    return (X - med).abs() / spread


def case_flags(f: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
    """Rule codes and bilingual reasons per case of a case_features frame (all cases; empty rules =
    not flagged)."""
    threshold = float(np.quantile(scores, ISOLATION_QUANTILE)) if len(scores) else math.inf
    dev = _feature_deviation(f) if len(f) else None
    n = len(f)
    rules_col, zh_col, en_col = [""] * n, [""] * n, [""] * n
    candidate = ((f["missing"] > 0) | (f["out_of_order"] > 0) | (f["log_hours_z"].abs() > Z_LIMIT)
                 | f["single_handler"] | (scores > threshold)).to_numpy()
    pick = np.nonzero(candidate)[0]
    # the candidates' values as plain lists (row access through f.iloc was most of the time)
    cols = ("missing", "missing_stages", "out_of_order", "ooo_approval", "ooo_review", "log_hours_z", "hours",
            "type_median_hours", "single_handler", "stages", "case_type")
    sub = {c: f[c].iloc[pick].tolist() for c in cols}
    sub["statutory"] = f["statutory"].iloc[pick].tolist() if "statutory" in f.columns else [False] * len(pick)
    feat = f[FEATURES].iloc[pick].to_numpy(dtype=float)
    # the two most deviating features, ordered as Series.sort_values(ascending=False) orders them (pandas'
    # nargsort: reverse, argsort, reverse), so ties fall the same way
    d = dev.to_numpy()[pick] if dev is not None else np.zeros((0, len(FEATURES)))
    top2 = ((d.shape[1] - 1 - np.argsort(d[:, ::-1], axis=1, kind="quicksort"))[:, ::-1])[:, :2]
    for j, i in enumerate(pick):
        s = scores[i]
        rules, zh, en = [], [], []

        def add(code, **fields):
            rules.append(code)
            zh.append(reason(code, "zh", **fields))
            en.append(reason(code, "en", **fields))

        z = sub["log_hours_z"][j]
        if sub["missing"][j] and sub["statutory"][j]:     # the mandatory set is the bureau's statutory process
            rules.append("skipped_stage")
            fields = dict(stages="、".join(sub["missing_stages"][j]), case_type=sub["case_type"][j])
            zh.append(reason("skipped_statutory_stage", "zh", **fields))
            en.append(reason("skipped_statutory_stage", "en", **fields))
        elif sub["missing"][j]:
            add("skipped_stage", stages="、".join(sub["missing_stages"][j]))
        if sub["out_of_order"][j]:
            add("out_of_order", approval=sub["ooo_approval"][j], review=sub["ooo_review"][j])
        if z < -Z_LIMIT:
            add("too_fast", hours=_fmt_h(sub["hours"][j]), median=_fmt_h(sub["type_median_hours"][j]))
        elif z > Z_LIMIT:
            add("too_slow", hours=_fmt_h(sub["hours"][j]), median=_fmt_h(sub["type_median_hours"][j]))
        if sub["single_handler"][j]:
            add("single_handler", n=int(sub["stages"][j]))
        if s > threshold:
            # a feature the case has no value for (NaN: e.g. no type median to compare with) is not named
            known = [m for m in top2[j] if math.isfinite(feat[j, m])]
            feats = {lang: sep.join(reason(f"feature_{FEATURES[m]}", lang, v=float(feat[j, m])) for m in known) or "—"
                     for lang, sep in (("zh", "、"), ("en", ", "))}
            rules.append("isolation")
            zh.append(reason("isolation", "zh", score=f"{s:.2f}", features=feats["zh"]))
            en.append(reason("isolation", "en", score=f"{s:.2f}", features=feats["en"]))
        rules_col[i] = ",".join(rules)
        zh_col[i] = "；".join(zh)
        en_col[i] = "; ".join(en)
    out = f.copy()
    out["score"] = scores
    out["rules"] = rules_col
    out["reason_zh"] = zh_col
    out["reason_en"] = en_col
    return out


def _reference_frames(conn: Connection, end_ts, whole: bool = False) -> tuple[pd.DataFrame, _Coded]:
    """The reference cases (as closed_case_events) and their events, integer-coded; the events are read
    as plain DBAPI tuples without the completion time (the features use seq only). `whole`: the reference
    is every closed case, so the events are read without the join to cases (cheaper; the few events of
    cases still open are dropped when coded)."""
    c, e = cases.c, case_events.c
    done = _reference_where(end_ts)
    cs = fetch_frame(conn, select(c.system, c.case_id, c.case_type, c.township, c.department, c.received_at,
                                  c.closed_at).where(*done), _CASE_COLUMNS)
    several = _keyed(conn, cs)
    q = select(e.case_id, e.seq, e.stage, e.handler_key, e.system)
    if not whole:
        q = q.select_from(same_case_join()).where(*done)
    result = conn.execute(q.order_by(e.system, e.case_id))
    try:
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    cols = [list(map(itemgetter(i), rows)) for i in range(4)]      # (zip(*rows) is 10× slower)
    if several:
        cols[0] = case_keys(list(map(itemgetter(4), rows)), cols[0], True)
    return cs, _Coded(cs, *cols)


#: The assessed reference (every reference case with features, rules, score, reasons) is kept per store
#: state and reference cut-off in a small in-process LRU (several dashboard sessions share a process).
ASSESS_CACHE_SIZE = 4
_assessed = StoreMemo(ASSESS_CACHE_SIZE)


def clear_assess_cache() -> None:
    """Forget every cached reference (tests, benchmarks of the cold path)."""
    _assessed.clear()


def _assess_key(conn: Connection, end_ts) -> tuple:
    """(store state, last closing, reference cut-off): the assessed reference depends on nothing else.
    The cut-off is the period's end clamped to the last closing: every end after it selects the same
    reference cases."""
    last = conn.execute(select(func.max(cases.c.closed_at)).where(cases.c.status == "closed")).scalar_one()
    if isinstance(last, str):
        last = pd.Timestamp(last).to_pydatetime()
    cutoff = None if last is None or end_ts > last else end_ts
    return store_state(conn), last, cutoff


def statutory_mandatory(conn: Connection) -> dict[str, frozenset]:
    """Per case type with a stored reference process (法定流程, etl.reference): its mandatory stages."""
    from analytics.conformance import reference_mandatory
    from etl.reference import stored_reference
    return reference_mandatory(stored_reference(conn))


def _assess(conn: Connection, end_ts, whole: bool = False) -> pd.DataFrame:
    cs, k = _reference_frames(conn, end_ts, whole)
    if cs.empty:
        return pd.DataFrame(columns=["system", "case_type", "township", "received_at", "closed_at", "hours", "handler_key",
                                     "rules", "score", "reason_zh", "reason_en", "department"])
    mand = k.mandatory()
    statutory = statutory_mandatory(conn)
    mand.update(statutory)                      # the bureau's statutory process, where it has one, over the learned set
    f = _case_features(cs, k, mand)
    f["statutory"] = f["case_type"].isin(set(statutory)).to_numpy()
    f["department"] = cs.set_index("case_id")["department"].reindex(f.index)
    return case_flags(f, isolation_scores(f))


def assess_cases(conn: Connection, scope: Scope, cache: bool = True) -> pd.DataFrame:
    """Every reference case with features, rules, score and reasons (see the module docstring). Depends
    only on the store's state and the period's end (not its start nor the scope filters), so it is
    computed once per (store state, cut-off) and reused (`ASSESS_CACHE_SIZE` entries, analytics.memo).
    The frame returned is a copy-on-write view: changing it leaves the cached one alone."""
    if not cache:
        return _assess(conn, scope.end_ts)
    key = _assess_key(conn, scope.end_ts)
    return _assessed.get(key, lambda: _learn(conn, scope.end_ts, key)).copy(deep=False)


def _learn(conn: Connection, end_ts, key: tuple, wait: bool = False) -> pd.DataFrame:
    """Assess the reference of `key`; the whole one (every closed case) is also kept in the store for every other
    process (analytics.riskstore), in the background unless `wait`."""
    whole = key[-1] is None
    out = _assess(conn, end_ts, whole=whole)
    if whole:
        from analytics import riskstore
        keep = riskstore.store if wait else riskstore.store_in_background
        keep(conn.engine, out, riskstore.stamp_of(key[0]))
    return out


def scoped_assessment(conn: Connection, scope: Scope) -> pd.DataFrame:
    """The assessed cases closed in the period (scope filters applied): read from the store's kept reference when
    it holds this store state's (periods ending after the last closing) and this process has not assessed it in
    memory (a cut of that is faster still), else cut from assess_cases."""
    from analytics import riskstore
    key = _assess_key(conn, scope.end_ts)
    held = _assessed.peek(key)
    if held is None and key[-1] is None and riskstore.holds(conn, riskstore.stamp_of(key[0])):
        return riskstore.read(conn, scope)
    return _in_scope(held if held is not None else _assessed.get(key, lambda: _learn(conn, scope.end_ts, key)),
                     scope)


def warm_reference(engine) -> None:
    """Learn the reference every period ending after the last closing uses (the usual one: periods up to
    today) now, into the cache and the store — e.g. in a background thread when the dashboard process starts or
    after a load — so that the first export does not pay for it. Nothing to do when the store holds it."""
    import datetime as dt

    from analytics import riskstore
    far = dt.date(9999, 12, 30)
    with engine.connect() as conn:
        end_ts = Scope(far, far).end_ts
        key = _assess_key(conn, end_ts)
        if riskstore.holds(conn, riskstore.stamp_of(key[0])):
            return
        learned = _assessed.get(key, lambda: _assess(conn, end_ts, whole=key[-1] is None))
    # written once the reading connection is back in the pool (a pool of one would otherwise wait for itself)
    if key[-1] is None:
        riskstore.store(engine, learned, riskstore.stamp_of(key[0]))


def _in_scope(a: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    keep = (a["closed_at"] >= scope.start_ts) & (a["closed_at"] < scope.end_ts)
    for dim in FILTER_DIMS:
        value = getattr(scope, dim)
        if value is not None:
            keep &= a[dim] == value
    return a[keep]


def integrity_warnings(conn: Connection, scope: Scope, assessed: pd.DataFrame | None = None) -> pd.DataFrame:
    """廉政风险预警. Grain: one row per flagged case closed in the period (scope filters applied), highest
    score first: case_id, case_type, township, received/closed, hours, handler_key (pseudonymised), rules
    (comma-separated codes), score (isolation-forest anomaly score), reason_zh, reason_en. Order: most
    rules fired first, then score."""
    a = scoped_assessment(conn, scope) if assessed is None else _in_scope(assessed, scope)
    a = a[a["rules"] != ""].rename_axis("case_id").reset_index()
    a["case_id"] = a["case_id"].astype(str).str.split(KEY_SEP).str[-1]      # the case key back to the system's id
    a["n_rules"] = a["rules"].str.count(",") + 1
    a = a.sort_values(["n_rules", "score", "system", "case_id"], ascending=[False, False, True, True])
    return a.reindex(columns=WARNING_COLUMNS).reset_index(drop=True)


def _poisson_sf(k: int, expected: float) -> float:
    """P[X ≥ k] for X ~ Poisson(expected): the Poisson approximation of the sum of the handler's
    cases' Bernoulli flags at the peers' per-type rates (Le Cam: close when those rates are small)."""
    from scipy.stats import poisson
    if k <= 0:
        return 1.0
    return float(poisson.sf(k - 1, max(float(expected), 1e-9)))


def handler_risk(conn: Connection, scope: Scope, assessed: pd.DataFrame | None = None) -> pd.DataFrame:
    """经办人风险. Grain: one row per handler (pseudonymised key) who is the main handler of a case closed
    in the period, most departing first.

    cases: cases closed in the period whose main handler they are; flagged / fast: of them, flagged
    by any rule / by too_fast; peer rates: the rates the handler would have if each of their cases
    were flagged at the rate of the other handlers' cases of the same type (so a handler of an
    outlier-prone case type is compared like with like); *_p: one-sided p-value of the count, Poisson
    with the expected count (peer rate × cases); robust_z: (rate − median rate) / (1.4826 × MAD)
    over handlers with at least 10 cases; departs: a p-value below HANDLER_ALPHA / handlers with at
    least HANDLER_MIN_FLAGS cases."""
    a = scoped_assessment(conn, scope) if assessed is None else _in_scope(assessed, scope)
    a = a[a["handler_key"].notna()]
    if a.empty:
        return pd.DataFrame(columns=HANDLER_COLUMNS)
    a = a.assign(flagged=(a["rules"] != "").astype(int), fast=a["rules"].str.contains("too_fast").astype(int))
    # per case type × handler, then each handler's expected counts at the peers' rates of the same types
    th = a.groupby(["case_type", "handler_key"])[["flagged", "fast"]].agg(["sum", "size"])
    th.columns = ["flagged", "n", "fast", "n2"]
    th = th.drop(columns="n2")
    tt = th.groupby(level=0).sum()
    peer_n = (tt["n"].reindex(th.index.get_level_values(0)).to_numpy() - th["n"].to_numpy())
    for col in ("flagged", "fast"):
        peer_k = tt[col].reindex(th.index.get_level_values(0)).to_numpy() - th[col].to_numpy()
        rate = np.divide(peer_k, peer_n, out=np.zeros(len(th)), where=peer_n > 0)
        th[f"exp_{col}"] = rate * th["n"].to_numpy()
    g = th.groupby(level=1).sum().rename(columns={"n": "cases"})
    g[["cases", "flagged", "fast"]] = g[["cases", "flagged", "fast"]].astype(int)
    g["flagged_rate"] = g["flagged"] / g["cases"]
    g["fast_rate"] = g["fast"] / g["cases"]
    g["peer_flagged_rate"] = g["exp_flagged"] / g["cases"]
    g["peer_fast_rate"] = g["exp_fast"] / g["cases"]
    g["flagged_p"] = [_poisson_sf(k, e) for k, e in zip(g["flagged"], g["exp_flagged"])]
    g["fast_p"] = [_poisson_sf(k, e) for k, e in zip(g["fast"], g["exp_fast"])]
    big = g[g["cases"] >= 10]["flagged_rate"]
    med = float(big.median()) if len(big) else 0.0
    mad = float((big - med).abs().median() * 1.4826) if len(big) else 0.0
    spread = mad if mad > 1e-9 else max(float(np.sqrt(max(med * (1 - med), 1e-6) / max(g["cases"].median(), 1))),
                                        1e-3)
    g["robust_z"] = (g["flagged_rate"] - med) / spread
    alpha = HANDLER_ALPHA / max(len(g), 1)
    dep_flag = (g["flagged_p"] < alpha) & (g["flagged"] >= HANDLER_MIN_FLAGS)
    dep_fast = (g["fast_p"] < alpha) & (g["fast"] >= HANDLER_MIN_FLAGS)
    g["departs"] = dep_flag | dep_fast
    zh, en = [], []
    for h, r, d1, d2 in zip(g.index, g.itertuples(), dep_flag, dep_fast):
        parts_zh, parts_en = [], []
        for on, code, k, rate, peer in ((d1, "handler_flagged", r.flagged, r.flagged_rate, r.peer_flagged_rate),
                                        (d2, "handler_fast", r.fast, r.fast_rate, r.peer_fast_rate)):
            if on:
                fields = dict(rate=f"{rate:.1%}", k=int(k), n=int(r.cases), peer=f"{peer:.1%}")
                parts_zh.append(reason(code, "zh", **fields))
                parts_en.append(reason(code, "en", **fields))
        zh.append("；".join(parts_zh))
        en.append("; ".join(parts_en))
    g["reason_zh"], g["reason_en"] = zh, en
    g = g.rename_axis("handler_key").reset_index()
    g = g.sort_values(["departs", "flagged_p", "fast_p", "handler_key"], ascending=[False, True, True, True])
    return g[HANDLER_COLUMNS].reset_index(drop=True)


def _exports():
    from analytics.exports import Export

    def warn(conn, scope, cal: WorkCalendar, unit, by):
        return integrity_warnings(conn, scope)

    def handlers(conn, scope, cal, unit, by):
        return handler_risk(conn, scope)

    return [
        Export("warnings", "integrity-risk flags (廉政风险) for cases closed in the period: skipped mandatory stages, "
               "out-of-order approvals, abnormally fast/slow, one handler for every stage, isolation-forest "
               "outliers, with bilingual reasons; one row per flagged case", warn),
        Export("handler-risk", "handlers (pseudonymised) whose share of flagged or abnormally fast cases departs "
               "from their peers (binomial test); one row per handler", handlers),
    ]


EXPORTS = _exports()
