"""Early warnings (预警): integrity-risk flags for cases (廉政风险), handlers who depart from their
peers, petition spikes by topic × township, and topic discovery in petition summaries.

Integrity risk (`warnings`, `handler-risk`). What is normal is learned per case type from the
cases completed normally (status ``closed``) up to the period's end — all townships, since the
type's process is the reference — and the cases **closed in the period** (scope filters applied)
are checked against it:

- ``skipped_stage``: a stage present in at least MANDATORY_SHARE (95%) of the type's closed cases
  (its mandatory set; learned only with at least MIN_TYPE_CASES cases) is missing from the case.
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

The case's ``handler_key`` is the pseudonymised key of the handler who completed most of its stages
(ties: the later one). No personal data leaves this module: handler keys are keyed hashes and
petition summaries are PII-scrubbed by the ETL.

Petition spikes (`petition-spikes`): weekly petitions per topic × township; each week is compared
with a one-step forecast made from the weeks before it only — the mean of the previous
SPIKE_BASE_WEEKS weeks (at least SPIKE_MIN_HISTORY), with weeks already flagged entering the
baseline capped at their upper bound, so a sustained spike does not raise its own baseline — and
its Poisson 95% interval. A week above the upper bound with at least SPIKE_MIN_COUNT petitions is a
spike.

Topics (`petition-topics`): TF-IDF on character n-grams (1–3, ``char_wb``: no Chinese tokenizer
needed) of the summaries received in the period, NMF with N_TOPICS components; each petition goes
to its heaviest component.

Reasons are plain sentences in Chinese and English from ``REASONS`` (keyed by rule code).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.schema import case_events, cases, petitions

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
SUPPLEMENT_STAGES = ("补正", "补正材料", "材料补正", "补齐补正")
#: Handler risk: a handler departs from peers when the one-sided binomial p-value of their flagged
#: (or too-fast) count against the peers' rate is below HANDLER_ALPHA / handlers (Bonferroni) and
#: the count is at least HANDLER_MIN_FLAGS.
HANDLER_ALPHA = 0.01
HANDLER_MIN_FLAGS = 3
#: Petition spikes.
SPIKE_BASE_WEEKS = 26
SPIKE_MIN_HISTORY = 8
SPIKE_MIN_COUNT = 5
SPIKE_LEVEL = 95
#: Topics.
N_TOPICS = 8
TOP_TERMS = 8

#: Plain reasons per rule code, Chinese and English; `{…}` fields are filled per case / handler.
#: (To move to the dashboard's translation table.)
REASONS: dict[str, dict[str, str]] = {
    "skipped_stage": {
        "zh": "缺少该类事项的必经环节：{stages}",
        "en": "Skipped mandatory stage(s) of this case type: {stages}",
    },
    "out_of_order": {
        "zh": "审批环节“{approval}”早于审查环节“{review}”完成",
        "en": "Approval stage '{approval}' completed before review stage '{review}'",
    },
    "too_fast": {
        "zh": "办理用时 {hours} 小时，远快于同类事项（中位数 {median} 小时）",
        "en": "Handled in {hours} h, abnormally fast for its type (median {median} h)",
    },
    "too_slow": {
        "zh": "办理用时 {hours} 小时，远慢于同类事项（中位数 {median} 小时）",
        "en": "Took {hours} h, abnormally slow for its type (median {median} h)",
    },
    "single_handler": {
        "zh": "全部 {n} 个环节由同一经办人办理，未做到岗位分离",
        "en": "All {n} stages handled by one person (no separation of duties)",
    },
    "isolation": {
        "zh": "办理特征组合异常（孤立森林异常分 {score}）：{features}",
        "en": "Unusual combination of case features (isolation-forest score {score}): {features}",
    },
    # the features an isolation flag names (its two most deviating ones)
    "feature_log_hours_z": {"zh": "办理用时偏离同类 {v:+.1f} 个标准差", "en": "throughput {v:+.1f} SD from its type"},
    "feature_stages_rel": {"zh": "环节数较同类中位数 {v:+.0f} 个", "en": "{v:+.0f} stages vs the type's median"},
    "feature_handlers": {"zh": "经办人 {v:.0f} 人", "en": "{v:.0f} handlers"},
    "feature_rework": {"zh": "返工或补正 {v:.0f} 次", "en": "{v:.0f} rework or supplement steps"},
    "feature_max_handler_share": {"zh": "单人办理环节占比 {v:.0%}", "en": "one handler did {v:.0%} of the stages"},
    "feature_missing": {"zh": "缺少必经环节 {v:.0f} 个", "en": "{v:.0f} mandatory stage(s) missing"},
    "feature_out_of_order": {"zh": "审批早于审查 {v:.0f} 处", "en": "{v:.0f} approval(s) before review"},
    "handler_flagged": {
        "zh": "该经办人的预警办件占比 {rate}（{k}/{n} 件），同行为 {peer}",
        "en": "Flagged cases {rate} of this handler's cases ({k} of {n}) vs {peer} for peers",
    },
    "handler_fast": {
        "zh": "该经办人的异常快速办结占比 {rate}（{k}/{n} 件），同行为 {peer}",
        "en": "Abnormally fast cases {rate} of this handler's cases ({k} of {n}) vs {peer} for peers",
    },
    "petition_spike": {
        "zh": "{township}“{topic}”类信访本周 {count} 件，超出预测上限 {upper}（预期 {expected}）",
        "en": "{count} '{topic}' petitions in {township} this week, above the forecast upper bound {upper} "
              "(expected {expected})",
    },
}

RULE_ORDER = ("skipped_stage", "out_of_order", "too_fast", "too_slow", "single_handler", "isolation")
WARNING_COLUMNS = ["case_id", "case_type", "township", "received_at", "closed_at", "hours", "handler_key", "rules",
                   "score", "reason_zh", "reason_en"]
HANDLER_COLUMNS = ["handler_key", "cases", "flagged", "flagged_rate", "peer_flagged_rate", "flagged_p",
                   "fast", "fast_rate", "peer_fast_rate", "fast_p", "robust_z", "departs", "reason_zh", "reason_en"]
SPIKE_COLUMNS = ["week", "topic", "township", "count", "expected", "upper_95", "p_value", "reason_zh", "reason_en"]
TOPIC_COLUMNS = ["topic_id", "top_terms", "size", "share", "main_category", "main_category_share", "example"]
FEATURES = ["log_hours_z", "stages_rel", "handlers", "rework", "max_handler_share", "missing", "out_of_order"]


def reason(code: str, lang: str, **fields) -> str:
    """The plain reason of a rule in `lang` (zh | en) with its fields filled in."""
    return REASONS[code][lang].format(**fields)


def _fmt_h(x: float) -> str:
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def _fetch(conn: Connection, query, columns: list[str], times: tuple[str, ...]) -> pd.DataFrame:
    result = conn.execute(query)
    try:
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(rows, columns=columns)
    for col in times:
        frame[col] = pd.to_datetime(frame[col], format="ISO8601")
    return frame


# ---------- integrity risk: data ----------

def closed_case_events(conn: Connection, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference cases and their events: every case closed normally (status 'closed') before the
    period's end, all townships. Returns (cases frame, events frame in case/seq order)."""
    c, e = cases.c, case_events.c
    done = [c.status == "closed", c.closed_at < scope.end_ts, c.closed_at.is_not(None)]
    cs = _fetch(conn, select(c.case_id, c.case_type, c.township, c.department, c.received_at, c.closed_at)
                .where(*done),
                ["case_id", "case_type", "township", "department", "received_at", "closed_at"],
                ("received_at", "closed_at"))
    ev = _fetch(conn, select(e.case_id, e.seq, e.stage, e.handler_key, e.completed_at)
                .select_from(case_events.join(cases, c.case_id == e.case_id)).where(*done)
                .order_by(e.case_id, e.seq),
                ["case_id", "seq", "stage", "handler_key", "completed_at"], ("completed_at",))
    return cs, ev


def _role(stage: str) -> str | None:
    s = str(stage)
    if any(k in s for k in APPROVAL_KEYWORDS):
        return "approval"
    if any(k in s for k in REVIEW_KEYWORDS):
        return "review"
    return None


def mandatory_stages(cs: pd.DataFrame, ev: pd.DataFrame, share: float = MANDATORY_SHARE,
                     min_cases: int = MIN_TYPE_CASES) -> dict[str, frozenset]:
    """Per case type: the stages present in at least `share` of its closed cases (types with fewer
    than `min_cases` closed cases get no mandatory set)."""
    present = ev[["case_id", "stage"]].drop_duplicates().merge(cs[["case_id", "case_type"]], on="case_id")
    n = cs.groupby("case_type")["case_id"].nunique()
    counts = present.groupby(["case_type", "stage"])["case_id"].nunique()
    out = {}
    for t, total in n.items():
        if total < min_cases or t not in counts.index.get_level_values(0):
            continue
        c = counts.loc[t]
        out[t] = frozenset(c[c >= share * total].index)
    return out


def _out_of_order_pairs(ev: pd.DataFrame) -> pd.DataFrame:
    """Per case: (approval stage, review stage) pairs where the first completion of the approval stage
    comes before (by seq) the last completion of the review stage. Grain: case × pair."""
    roles = ev["stage"].map({s: _role(s) for s in ev["stage"].unique()})
    appr = ev[roles == "approval"].groupby(["case_id", "stage"])["seq"].min().rename("a_seq").reset_index()
    rev = ev[roles == "review"].groupby(["case_id", "stage"])["seq"].max().rename("r_seq").reset_index()
    pairs = appr.merge(rev, on="case_id", suffixes=("_a", "_r"))
    pairs = pairs[pairs["a_seq"] < pairs["r_seq"]]
    return pairs.rename(columns={"stage_a": "approval", "stage_r": "review"})[["case_id", "approval", "review"]]


def case_features(cs: pd.DataFrame, ev: pd.DataFrame, mandatory: dict[str, frozenset]) -> pd.DataFrame:
    """Per closed case: throughput hours and its robust z within the type, stages, handlers, rework,
    the largest one-handler share, missing mandatory stages, out-of-order pairs, main handler."""
    f = cs.set_index("case_id")[["case_type", "township", "received_at", "closed_at"]].copy()
    f["hours"] = (f["closed_at"] - f["received_at"]).dt.total_seconds() / 3600.0
    logh = np.log(f["hours"].clip(lower=0) + 1.0 / 60.0)
    grp = logh.groupby(f["case_type"])
    med = grp.transform("median")
    mad = (logh - med).abs().groupby(f["case_type"]).transform("median") * 1.4826
    meanad = (logh - grp.transform("mean")).abs().groupby(f["case_type"]).transform("mean") * 1.2533
    spread = mad.where(mad > 1e-9, meanad)
    f["log_hours_z"] = ((logh - med) / spread.where(spread > 1e-9)).fillna(0.0)
    f["type_median_hours"] = f["hours"].groupby(f["case_type"]).transform("median")

    g = ev.groupby("case_id", sort=False)
    f["stages"] = g.size().reindex(f.index).fillna(0).astype(int)
    f["stages_rel"] = f["stages"] - f["stages"].groupby(f["case_type"]).transform("median")
    f["handlers"] = g["handler_key"].nunique().reindex(f.index).fillna(0).astype(int)
    occ = ev.groupby(["case_id", "stage"]).size()
    rep = (occ - 1).clip(lower=0).groupby(level=0).sum()
    sup = ev[ev["stage"].isin(SUPPLEMENT_STAGES)].groupby("case_id").size()
    f["rework"] = rep.reindex(f.index).fillna(0).add(sup.reindex(f.index).fillna(0)).astype(int)
    hc = ev.dropna(subset=["handler_key"]).groupby(["case_id", "handler_key"], sort=False)
    per = hc.agg(n=("seq", "size"), last=("seq", "max")).reset_index()
    per = per.sort_values(["case_id", "n", "last"], ascending=[True, False, False])
    top = per.drop_duplicates("case_id").set_index("case_id")
    f["handler_key"] = top["handler_key"].reindex(f.index)
    f["max_handler_share"] = (top["n"].reindex(f.index) / f["stages"].where(f["stages"] > 0)).fillna(0.0)
    unknown_handler = ev["handler_key"].isna().groupby(ev["case_id"]).any().reindex(f.index).fillna(True)
    f["single_handler"] = ((f["handlers"] == 1) & (f["max_handler_share"] >= 1.0)
                           & (f["stages"] >= SINGLE_HANDLER_MIN_STAGES) & ~unknown_handler.astype(bool))

    need = pd.Series({t: len(v) for t, v in mandatory.items()}, dtype=float)
    pairs = {(t, st) for t, v in mandatory.items() for st in v}
    typed = ev[["case_id", "stage"]].drop_duplicates().merge(f[["case_type"]].reset_index(), on="case_id")
    is_need = pd.MultiIndex.from_arrays([typed["case_type"], typed["stage"]]).isin(list(pairs)) if pairs \
        else np.zeros(len(typed), dtype=bool)
    have = typed[is_need].groupby("case_id").size().reindex(f.index).fillna(0)
    f["missing"] = (f["case_type"].map(need).fillna(0) - have).clip(lower=0).astype(int)
    present = typed[typed["case_id"].isin(f.index[f["missing"] > 0])].groupby("case_id")["stage"].agg(set)
    f["missing_stages"] = pd.Series([[]] * len(f), index=f.index, dtype=object)
    short = np.flatnonzero(f["missing"].to_numpy() > 0)   # the few cases missing a stage: the rest keep []
    f.iloc[short, f.columns.get_loc("missing_stages")] = pd.Series(
        [sorted(mandatory.get(t, frozenset()) - present.get(cid, set()))
         for cid, t in zip(f.index[short], f["case_type"].iloc[short])], index=f.index[short], dtype=object)

    pairs = _out_of_order_pairs(ev).merge(f[["case_type"]].reset_index(), on="case_id")
    if len(pairs):
        # a pair the type's cases routinely show (review after approval is part of its process) is not flagged
        n_type = f.groupby("case_type").size()
        share = pairs.groupby(["case_type", "approval", "review"])["case_id"].nunique()
        share = share / n_type.reindex(share.index.get_level_values(0)).to_numpy()
        rare = set(share[share < OUT_OF_ORDER_MAX_SHARE].index)
        pairs = pairs[[k in rare for k in zip(pairs["case_type"], pairs["approval"], pairs["review"])]]
    f["out_of_order"] = pairs.groupby("case_id").size().reindex(f.index).fillna(0).astype(int)
    first = pairs.drop_duplicates("case_id").set_index("case_id")
    f["ooo_approval"] = first["approval"].reindex(f.index)
    f["ooo_review"] = first["review"].reindex(f.index)
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
    for i in np.nonzero(candidate)[0]:
        cid, r, s = f.index[i], f.iloc[i], scores[i]
        rules, zh, en = [], [], []

        def add(code, **fields):
            rules.append(code)
            zh.append(reason(code, "zh", **fields))
            en.append(reason(code, "en", **fields))

        if r["missing"]:
            add("skipped_stage", stages="、".join(r["missing_stages"]))
        if r["out_of_order"]:
            add("out_of_order", approval=r["ooo_approval"], review=r["ooo_review"])
        if r["log_hours_z"] < -Z_LIMIT:
            add("too_fast", hours=_fmt_h(r["hours"]), median=_fmt_h(r["type_median_hours"]))
        elif r["log_hours_z"] > Z_LIMIT:
            add("too_slow", hours=_fmt_h(r["hours"]), median=_fmt_h(r["type_median_hours"]))
        if r["single_handler"]:
            add("single_handler", n=int(r["stages"]))
        if s > threshold:
            top = dev.loc[cid].sort_values(ascending=False).index[:2]
            feats = {lang: sep.join(reason(f"feature_{n}", lang, v=float(r[n])) for n in top)
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


def assess_cases(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Every reference case with features, rules, score and reasons (see the module docstring)."""
    cs, ev = closed_case_events(conn, scope)
    if cs.empty:
        return pd.DataFrame(columns=["case_type", "township", "received_at", "closed_at", "hours", "handler_key",
                                     "rules", "score", "reason_zh", "reason_en", "department"])
    mand = mandatory_stages(cs, ev)
    f = case_features(cs, ev, mand)
    f["department"] = cs.set_index("case_id")["department"].reindex(f.index)
    return case_flags(f, isolation_scores(f))


def _in_scope(a: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    keep = (a["closed_at"] >= scope.start_ts) & (a["closed_at"] < scope.end_ts)
    for dim in ("township", "case_type", "department"):
        value = getattr(scope, dim)
        if value is not None:
            keep &= a[dim] == value
    return a[keep]


def integrity_warnings(conn: Connection, scope: Scope, assessed: pd.DataFrame | None = None) -> pd.DataFrame:
    """廉政风险预警. Grain: one row per flagged case closed in the period (scope filters applied), highest
    score first: case_id, case_type, township, received/closed, hours, handler_key (pseudonymised), rules
    (comma-separated codes), score (isolation-forest anomaly score), reason_zh, reason_en. Order: most
    rules fired first, then score."""
    a = assess_cases(conn, scope) if assessed is None else assessed
    a = _in_scope(a, scope)
    a = a[a["rules"] != ""].rename_axis("case_id").reset_index()
    a["n_rules"] = a["rules"].str.count(",") + 1
    a = a.sort_values(["n_rules", "score", "case_id"], ascending=[False, False, True])
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
    a = assess_cases(conn, scope) if assessed is None else assessed
    a = _in_scope(a, scope)
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


# ---------- petition spikes ----------

def weekly_petitions(conn: Connection, scope: Scope, history_weeks: int = SPIKE_BASE_WEEKS) -> pd.DataFrame:
    """Petitions per week (Monday) × topic × township from `history_weeks` weeks before the period to its
    end, zero-filled. Grain: one row per week × topic × township."""
    start = pd.Timestamp(scope.start) - pd.Timedelta(weeks=history_weeks)
    start = start - pd.Timedelta(days=start.weekday())
    p = petitions.c
    where = [p.received_at >= start.to_pydatetime(), p.received_at < scope.end_ts]
    if scope.township:
        where.append(p.township == scope.township)
    if scope.department:
        where.append(p.department == scope.department)
    df = pd.DataFrame(conn.execute(select(p.received_at, p.topic, p.township).where(*where)).all(),
                      columns=["t", "topic", "township"])
    weeks = pd.date_range(start, pd.Timestamp(scope.end), freq="7D")
    if df.empty:
        return pd.DataFrame(columns=["week", "topic", "township", "count"])
    t = pd.to_datetime(df["t"]).dt.normalize()
    df["week"] = t - pd.to_timedelta(t.dt.day_of_week, unit="D")
    df["topic"] = df["topic"].fillna("(unknown)")
    df["township"] = df["township"].fillna("(unknown)")
    counts = df.groupby(["week", "topic", "township"]).size()
    pairs = counts.reset_index()[["topic", "township"]].drop_duplicates().sort_values(["topic", "township"])
    full = pd.MultiIndex.from_tuples([(w, a, b) for w in weeks for a, b in pairs.itertuples(index=False)],
                                     names=["week", "topic", "township"])
    return counts.reindex(full, fill_value=0).rename("count").reset_index()


def spike_scan(counts: np.ndarray, base_weeks: int = SPIKE_BASE_WEEKS, min_history: int = SPIKE_MIN_HISTORY,
               level: float = SPIKE_LEVEL, min_count: int = SPIKE_MIN_COUNT) -> dict[str, np.ndarray]:
    """One-step-ahead scan of a weeks × series count matrix.

    For week t: expected = mean of the previous `base_weeks` weeks (at least `min_history`) of the
    cleaned counts, where a flagged week enters capped at its upper bound; upper = the Poisson
    quantile (1 + level/100)/2 of expected (the upper end of the central `level`% interval);
    spike = count > upper and count ≥ min_count. Returns expected, upper, p (P[X ≥ count]) and spike,
    each weeks × series (NaN / False before enough history)."""
    from scipy.stats import poisson

    T, S = counts.shape
    clean = counts.astype(float).copy()
    exp = np.full((T, S), np.nan)
    up = np.full((T, S), np.nan)
    spike = np.zeros((T, S), dtype=bool)
    q = (1 + level / 100.0) / 2
    for t in range(min_history, T):
        lam = clean[max(0, t - base_weeks):t].mean(axis=0)
        u = poisson.ppf(q, np.maximum(lam, 1e-9))
        exp[t], up[t] = lam, u
        hit = (counts[t] > u) & (counts[t] >= min_count)
        spike[t] = hit
        clean[t] = np.where(hit, np.minimum(counts[t], u), counts[t])
    with np.errstate(all="ignore"):
        p = poisson.sf(counts - 1, np.maximum(np.nan_to_num(exp, nan=1e-9), 1e-9))
    p[np.isnan(exp)] = np.nan
    return {"expected": exp, "upper": up, "p": p, "spike": spike}


def petition_spikes(conn: Connection, scope: Scope, all_weeks: bool = False) -> pd.DataFrame:
    """信访激增预警. Grain: one row per spike week × topic × township in the period (all_weeks: every
    week × topic × township of the period with its expected count and bound, spike or not)."""
    wk = weekly_petitions(conn, scope)
    if wk.empty:
        return pd.DataFrame(columns=SPIKE_COLUMNS + (["spike"] if all_weeks else []))
    mat = wk.pivot_table(index="week", columns=["topic", "township"], values="count", aggfunc="sum",
                         fill_value=0).sort_index()
    res = spike_scan(mat.to_numpy())
    long = pd.DataFrame({
        "week": np.repeat(mat.index.to_numpy(), mat.shape[1]),
        "topic": np.tile(mat.columns.get_level_values(0).to_numpy(), mat.shape[0]),
        "township": np.tile(mat.columns.get_level_values(1).to_numpy(), mat.shape[0]),
        "count": mat.to_numpy().reshape(-1),
        "expected": res["expected"].reshape(-1),
        "upper_95": res["upper"].reshape(-1),
        "p_value": res["p"].reshape(-1),
        "spike": res["spike"].reshape(-1),
    })
    first = pd.Timestamp(scope.start) - pd.Timedelta(days=scope.start.weekday())
    long = long[long["week"] >= first]
    if not all_weeks:
        long = long[long["spike"]]
    zh, en = [], []
    for r in long.itertuples():
        fields = dict(township=r.township, topic=r.topic, count=int(r.count), upper=f"{r.upper_95:.0f}",
                      expected=f"{r.expected:.1f}")
        zh.append(reason("petition_spike", "zh", **fields) if r.spike else "")
        en.append(reason("petition_spike", "en", **fields) if r.spike else "")
    long = long.assign(reason_zh=zh, reason_en=en, week=pd.to_datetime(long["week"]).dt.date)
    cols = SPIKE_COLUMNS + (["spike"] if all_weeks else [])
    return long.sort_values(["week", "topic", "township"])[cols].reset_index(drop=True)


# ---------- petition topics ----------

_BREAKS = re.compile(r"[\s\d０-９.,;:!?()\[\]{}<>\"'，。、；：！？（）【】《》“”‘’…—\-/]+")


def _clauses(text: str) -> str:
    """Punctuation, digits and the ETL's [电话]/[身份证号] tokens become spaces, so that char_wb n-grams
    stay inside a clause."""
    return _BREAKS.sub(" ", str(text).replace("[电话]", " ").replace("[身份证号]", " ")).strip()


def _clean_terms(names: np.ndarray, weights: np.ndarray, k: int) -> list[str]:
    """Top-k n-grams by weight, skipping single characters, blanks and terms inside a better one."""
    out: list[str] = []
    for i in np.argsort(weights)[::-1]:
        term = names[i].strip()
        if len(term) < 2 or weights[i] <= 0:
            continue
        if any(term in t or t in term for t in out):
            continue
        out.append(term)
        if len(out) == k:
            break
    return out


def discover_topics(texts: pd.Series, labels: pd.Series | None = None, n_topics: int = N_TOPICS,
                    random_state: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """TF-IDF (character 1–3-grams, char_wb, sublinear tf, min_df 3, max_df 0.5) + NMF. Returns the
    topic table (TOPIC_COLUMNS) and each text's topic id (−1 for empty texts)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = texts.fillna("").astype(str).reset_index(drop=True)
    ok = texts.str.strip() != ""
    assign = np.full(len(texts), -1)
    if ok.sum() < max(n_topics, 5):
        return pd.DataFrame(columns=TOPIC_COLUMNS), assign
    docs = texts[ok]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=3, max_df=0.5, sublinear_tf=True,
                          max_features=20000, preprocessor=_clauses)
    X = vec.fit_transform(docs)
    k = int(min(n_topics, X.shape[0] - 1, X.shape[1]))
    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    W = nmf.fit_transform(X)
    names = vec.get_feature_names_out()
    a = W.argmax(axis=1)
    a[W.max(axis=1) <= 0] = -1
    assign[ok.to_numpy()] = a
    lab = labels.reset_index(drop=True)[ok] if labels is not None else None
    rows = []
    for j in range(k):
        members = np.nonzero(a == j)[0]
        if len(members) == 0:
            continue
        best = members[np.argmax(W[members, j])]
        main, main_share = None, math.nan
        if lab is not None:
            vc = lab.iloc[members].fillna("(unknown)").value_counts()
            main, main_share = vc.index[0], float(vc.iloc[0] / len(members))
        rows.append(dict(topic_id=j, top_terms="、".join(_clean_terms(names, nmf.components_[j], TOP_TERMS)),
                         size=int(len(members)), share=len(members) / len(docs), main_category=main,
                         main_category_share=main_share, example=docs.iloc[best]))
    out = pd.DataFrame(rows, columns=TOPIC_COLUMNS).sort_values(["size", "topic_id"], ascending=[False, True])
    ids = {old: new for new, old in enumerate(out["topic_id"])}
    out["topic_id"] = out["topic_id"].map(ids)
    assign = np.array([ids.get(x, -1) for x in assign])
    return out.reset_index(drop=True), assign


def petition_topics(conn: Connection, scope: Scope, n_topics: int = N_TOPICS) -> pd.DataFrame:
    """信访主题发现. Grain: one row per discovered topic, largest first: topic_id, top_terms (character
    n-grams), size (petitions whose heaviest NMF component it is), share, main_category (the most common
    recorded 问题类别 among them) and its share, example (the most typical summary, PII-scrubbed)."""
    q = select(petitions.c.summary, petitions.c.topic).where(scope.in_period(petitions.c.received_at),
                                                           *scope.filters(petitions))
    df = pd.DataFrame(conn.execute(q).all(), columns=["summary", "topic"])
    table, _ = discover_topics(df["summary"], df["topic"], n_topics)
    return table


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
        Export("petition-spikes", "weeks whose petitions per topic × township exceed the one-step forecast's "
               "95% upper bound (at least 5 petitions); one row per spike",
               lambda conn, scope, cal, unit, by: petition_spikes(conn, scope)),
        Export("petition-topics", "topics discovered in petition summaries (TF-IDF character n-grams + NMF) "
               "with top terms, size, share and an example; one row per topic",
               lambda conn, scope, cal, unit, by: petition_topics(conn, scope)),
    ]


EXPORTS = _exports()
