"""Early warnings (analytics.integrity, analytics.spikes, analytics.topics): each integrity rule on hand-made
cases in a store (SQLite, and PostgreSQL when configured), handler risk, the petition-spike scan, topic discovery, and the planted facts of the
sample county (recall ≥ 90%, ≤ 2% ordinary cases flagged, QS0417 departs, the 东坪镇 征地补偿 spike)."""
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from analytics import integrity, reasons, spikes, topics
from analytics.exports import registry, run_export
from analytics.scope import Scope
from etl.schema import case_events, cases, petitions
from etl.store import make_engine

d = dt.date
TYPE = "测试审批"
FLOW = ("受理", "初审", "审批", "办结")
HANDLERS = ("h_acc", "h_rev", "h_app", "h_end")
ALL = Scope(d(2025, 1, 1), d(2025, 12, 31))


def _case(cid, start, stages, handlers, minutes):
    """A closed case whose stages complete `minutes` apart (list, one per stage)."""
    t = pd.Timestamp(start)
    evs = []
    for seq, (stage, h, m) in enumerate(zip(stages, handlers, minutes), start=1):
        t = t + pd.Timedelta(minutes=m)
        evs.append(dict(case_id=cid, seq=seq, stage=stage, handler_key=h, completed_at=t.to_pydatetime(),
                        result="pass"))
    row = dict(case_id=cid, case_type=TYPE, township="东坪镇", department="测试科",
               received_at=pd.Timestamp(start).to_pydatetime(), closed_at=t.to_pydatetime(), status="closed",
               promised_days=10, statutory_days=20)
    return row, evs


def _store_cases():
    rng = np.random.default_rng(7)
    rows, evs = [], []
    for i in range(60):
        start = pd.Timestamp("2025-03-03 09:00") + pd.Timedelta(days=int(i * 4))
        # ordinary: four stages by four people, about two days in all (lognormal spread)
        mins = list(np.round(np.exp(rng.normal(np.log(700), 0.3, 4))))
        r, e = _case(f"N{i:03d}", start, FLOW, HANDLERS, mins)
        rows.append(r)
        evs += e
    special = {
        "SKIP": (("受理", "审批", "办结"), ("h_acc", "h_app", "h_end"), [900, 900, 900]),
        "OOO": (("受理", "审批", "初审", "办结"), HANDLERS, [700, 700, 700, 700]),
        "FAST": (FLOW, HANDLERS, [2, 2, 2, 2]),
        "SLOW": (FLOW, HANDLERS, [60 * 24 * 20] * 4),
        "SOLO": (FLOW, ("h_solo",) * 4, [700, 700, 700, 700]),
    }
    for k, (stages, hs, mins) in special.items():
        r, e = _case(k, "2025-06-02 09:00", stages, hs, mins)
        rows.append(r)
        evs += e
    return rows, evs


@pytest.fixture
def rule_store(engine):
    rows, evs = _store_cases()
    with engine.begin() as conn:
        conn.execute(insert(cases), rows)
        conn.execute(insert(case_events), evs)
    return engine


def test_exports_are_registered():
    for name in ("warnings", "handler-risk", "petition-spikes", "petition-topics"):
        assert name in registry()


def test_every_rule_has_a_name_in_each_language(rule_store):
    """The warnings tab shows rule names, not codes: every rule the export can emit is named in zh and en."""
    from landdesk.i18n import has, t
    w = run_export(rule_store, "warnings", ALL)
    emitted = {c for s in w["rules"] for c in s.split(",") if c}
    assert emitted and emitted <= set(integrity.RULE_ORDER)
    for code in integrity.RULE_ORDER:
        assert has("integrity_rule_" + code), code
        assert t("integrity_rule_" + code, "zh") != t("integrity_rule_" + code, "en")


def test_each_rule_on_hand_made_cases(rule_store):
    w = run_export(rule_store, "warnings", ALL)
    assert list(w.columns) == integrity.WARNING_COLUMNS
    rules = dict(zip(w["case_id"], w["rules"].str.split(",")))
    assert "skipped_stage" in rules["SKIP"]
    assert "初审" in w.set_index("case_id").loc["SKIP", "reason_zh"]
    assert "out_of_order" in rules["OOO"]
    assert "审批" in w.set_index("case_id").loc["OOO", "reason_en"]
    assert "too_fast" in rules["FAST"]
    assert "too_slow" in rules["SLOW"]
    assert "single_handler" in rules["SOLO"]
    for k in ("SKIP", "OOO", "FAST", "SLOW", "SOLO"):
        r = w.set_index("case_id").loc[k]
        assert r["reason_zh"] and r["reason_en"] and r["handler_key"]
    ordinary = w[w["case_id"].str.startswith("N")]
    # no rule fires on an ordinary case (the isolation forest may single out one of 60)
    assert (ordinary["rules"] == "isolation").all() and len(ordinary) <= 2
    assert w.set_index("case_id").loc["SOLO", "handler_key"] == "h_solo"


def test_mandatory_set_is_learned_at_95_percent(rule_store):
    with rule_store.connect() as conn:
        cs, ev = integrity.closed_case_events(conn, ALL)
    mand = integrity.mandatory_stages(cs, ev)
    assert mand[TYPE] == frozenset(FLOW)
    # below 95% presence a stage is not mandatory
    drop = ev[~((ev["stage"] == "初审") & ev["case_id"].isin([f"N{i:03d}" for i in range(4)]))]
    assert "初审" not in integrity.mandatory_stages(cs, drop)[TYPE]
    assert integrity.mandatory_stages(cs.head(10), ev, min_cases=20) == {}


def test_scope_filters_and_period(rule_store):
    # the flagged cases closed on 2025-06-02..06-30; a period before that has none of them
    w = run_export(rule_store, "warnings", Scope(d(2025, 1, 1), d(2025, 5, 31)))
    assert not set(w["case_id"]) & {"SKIP", "OOO", "FAST", "SLOW", "SOLO"}
    w = run_export(rule_store, "warnings", Scope(d(2025, 1, 1), d(2025, 12, 31), township="西河镇"))
    assert w.empty


def test_handler_risk_singles_out_a_fast_handler(engine):
    rows, evs = _store_cases()
    rng = np.random.default_rng(3)
    for i in range(8):       # one person's approvals run in minutes
        mins = [3, 3, 3, 3]
        r, e = _case(f"Q{i:02d}", pd.Timestamp("2025-07-01 09:00") + pd.Timedelta(days=i), FLOW,
                     ("h_acc", "h_fast", "h_fast", "h_end"), mins)
        rows.append(r)
        evs += e
    for i in range(30):      # and the same person's ordinary work
        mins = list(np.round(np.exp(rng.normal(np.log(700), 0.3, 4))))
        r, e = _case(f"R{i:02d}", pd.Timestamp("2025-08-01 09:00") + pd.Timedelta(days=i), FLOW,
                     ("h_acc", "h_fast", "h_fast", "h_end"), mins)
        rows.append(r)
        evs += e
    with engine.begin() as conn:
        conn.execute(insert(cases), rows)
        conn.execute(insert(case_events), evs)
    hr = run_export(engine, "handler-risk", ALL)
    assert list(hr.columns) == integrity.HANDLER_COLUMNS
    top = hr.iloc[0]
    assert top["handler_key"] == "h_fast" and bool(top["departs"])
    assert top["fast"] >= 8 and top["fast_p"] < 1e-4
    assert "h_fast" not in set(hr.loc[hr["handler_key"] != "h_fast", "handler_key"])
    assert hr.loc[hr["handler_key"] != "h_fast", "departs"].sum() == 0
    assert top["reason_zh"] and top["reason_en"]


# ---------- the assessed reference is cached per store state and cut-off ----------

def test_assessment_is_cached_per_store_state(rule_store, monkeypatch):
    integrity.clear_assess_cache()
    calls = []
    real = integrity._assess
    monkeypatch.setattr(integrity, "_assess", lambda conn, end_ts, **kw: calls.append(end_ts) or real(conn, end_ts, **kw))
    with rule_store.connect() as conn:
        uncached = integrity.assess_cases(conn, ALL, cache=False)
    calls.clear()
    w1 = run_export(rule_store, "warnings", ALL)
    hr = run_export(rule_store, "handler-risk", ALL)
    # another start, filters, and an end after the last closing: the same reference, no recomputation
    w2 = run_export(rule_store, "warnings", Scope(d(2025, 6, 1), d(2026, 3, 31), township="东坪镇"))
    assert len(calls) == 1
    with rule_store.connect() as conn:
        cached = integrity.assess_cases(conn, ALL)
    pd.testing.assert_frame_equal(cached, uncached)
    assert set(w1["case_id"]) == set(w2["case_id"]) and len(hr)
    cached["rules"] = "changed"            # the caller's copy; the cached frame is untouched
    with rule_store.connect() as conn:
        assert (integrity.assess_cases(conn, ALL)["rules"] != "changed").all()
    # a period ending before the last closing learns from the cases closed before its end
    run_export(rule_store, "warnings", Scope(d(2025, 1, 1), d(2025, 5, 31)))
    assert len(calls) == 2
    # a write that bypasses the ETL (same batch id) still invalidates: the row counts are in the key
    r, e = _case("LATE", "2025-09-01 09:00", FLOW, HANDLERS, [2, 2, 2, 2])
    with rule_store.begin() as conn:
        conn.execute(insert(cases), [r])
        conn.execute(insert(case_events), e)
    w3 = run_export(rule_store, "warnings", ALL)
    assert len(calls) == 3 and "LATE" in set(w3["case_id"])


def test_warm_reference_fills_the_cache(rule_store, monkeypatch):
    integrity.clear_assess_cache()
    integrity.warm_reference(rule_store)
    monkeypatch.setattr(integrity, "_assess", lambda *a, **kw: pytest.fail("recomputed"))
    assert "SOLO" in set(run_export(rule_store, "warnings", ALL)["case_id"])
    assert len(run_export(rule_store, "handler-risk", ALL))


def test_assessment_cache_is_shared_across_threads(rule_store, monkeypatch):
    import threading

    integrity.clear_assess_cache()
    calls = []
    real = integrity._assess
    monkeypatch.setattr(integrity, "_assess", lambda conn, end_ts, **kw: calls.append(end_ts) or real(conn, end_ts, **kw))
    out, errors = [], []

    def work():
        try:
            out.append(run_export(rule_store, "warnings", ALL))
        except Exception as exc:          # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(out) == 4 and len(calls) == 1
    for w in out[1:]:
        pd.testing.assert_frame_equal(w, out[0])


# ---------- petition spikes ----------

def test_spike_scan_on_synthetic_counts():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.5, size=(120, 40))
    counts[80:84, 7] = [9, 12, 8, 10]
    res = spikes.spike_scan(counts)
    found = {(int(t), int(k)) for t, k in np.argwhere(res["spike"])}
    assert {(80, 7), (81, 7), (82, 7), (83, 7)} <= found
    assert len(found - {(80, 7), (81, 7), (82, 7), (83, 7)}) <= 4      # of 4,480 noise weeks at λ = 0.5
    # the spike does not raise its own baseline: the later weeks are judged against the capped history
    assert res["expected"][84, 7] < 1.5
    assert np.isnan(res["expected"][:spikes.SPIKE_MIN_HISTORY]).all()
    # below the minimum count nothing is a spike, however unlikely
    counts2 = np.zeros((40, 2), dtype=int)
    counts2[30, 0] = spikes.SPIKE_MIN_COUNT - 1
    assert not spikes.spike_scan(counts2)["spike"].any()


def test_petition_spike_export(engine):
    rng = np.random.default_rng(1)
    rows, n = [], 0
    for day in pd.date_range("2024-01-01", "2025-12-31", freq="D"):
        for town in ("东坪镇", "西河镇"):
            k = rng.poisson(0.08)
            if town == "东坪镇" and pd.Timestamp("2025-09-01") <= day <= pd.Timestamp("2025-09-28"):
                k += rng.poisson(1.2)
            for _ in range(k):
                n += 1
                rows.append(dict(petition_id=f"P{n:05d}", received_at=day.to_pydatetime(), topic="征地补偿",
                                 township=town, summary="反映征地补偿款未发放"))
    with engine.begin() as conn:
        conn.execute(insert(petitions), rows)
    sp = run_export(engine, "petition-spikes", Scope(d(2025, 1, 1), d(2025, 12, 31)))
    assert list(sp.columns) == spikes.SPIKE_COLUMNS
    assert len(sp) >= 2
    assert (sp["township"] == "东坪镇").all() and (sp["topic"] == "征地补偿").all()
    assert all(d(2025, 8, 25) <= w <= d(2025, 9, 28) for w in sp["week"])
    assert (sp["count"] > sp["upper_95"]).all() and (sp["count"] >= spikes.SPIKE_MIN_COUNT).all()
    assert sp["reason_zh"].str.contains("东坪镇").all() and sp["reason_en"].str.contains("petitions").all()


# ---------- topics ----------

def test_topic_discovery_separates_templates():
    rng = np.random.default_rng(2)
    villages = ["上村", "水口村", "荷花村", "大坑村", "长岭村"]
    templates = {
        "征地补偿": "反映{v}项目征地补偿款约{n}万元至今未足额发放，要求尽快兑现。",
        "违法用地举报": "举报{v}附近有企业未批先建，占用农用地堆放建材。",
        "不动产登记": "反映{v}宅基地房屋确权登记面积与实际不符，要求更正登记。",
    }
    texts, labels = [], []
    for _ in range(150):
        cat = rng.choice(list(templates))
        texts.append(templates[cat].format(v=rng.choice(villages), n=rng.integers(5, 90)))
        labels.append(cat)
    table, assign = topics.discover_topics(pd.Series(texts), pd.Series(labels), n_topics=3)
    assert list(table.columns) == topics.TOPIC_COLUMNS
    assert len(table) == 3 and table["size"].sum() == 150
    assert table["share"].sum() == pytest.approx(1.0)
    assert set(table["main_category"]) == set(templates)
    assert (table["main_category_share"] > 0.95).all()
    assert all(len(t) >= 2 for terms in table["top_terms"] for t in terms.split("、"))
    assert set(assign) == {0, 1, 2}
    empty, a = topics.discover_topics(pd.Series(["", None]), None)
    assert empty.empty and (a == -1).all()


def test_reasons_have_both_languages():
    for code, text in reasons.REASONS.items():
        assert set(text) == {"zh", "en"}, code


# ---------- planted facts of the sample county ----------

@pytest.fixture(scope="module")
def planted(sample_store_url):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_detect import evaluate

    return evaluate(sample_store_url, Scope(d(2024, 1, 1), d(2026, 10, 31)))


def test_planted_integrity_cases_found(planted):
    assert planted["planted"] == 15
    assert planted["recall"] >= 0.9
    assert planted["fp_rate"] <= 0.02
    w = planted["warnings"]
    first = w.head(15)
    assert first["rules"].str.contains("skipped_stage").all()
    assert first["reason_zh"].str.contains("现场勘查").all()


def test_planted_handler_departs(planted):
    assert planted["handler_rank"] == 1
    assert planted["planted_handler_departs"]
    assert planted["handlers_departing"] <= 2
    # handler keys are pseudonyms, never staff ids
    assert not planted["handler_risk"]["handler_key"].str.startswith("QS").any()


def test_planted_petition_spike_found(planted):
    assert planted["spike_weeks_found"] >= 4
    assert planted["false_spikes"] <= 3


def test_sample_topics(planted):
    t = planted["topics"]
    assert len(t) == topics.N_TOPICS
    assert "征地补偿" in set(t["main_category"])
    # topics are named by words, not character n-grams
    land = t[t["main_category"] == "征地补偿"]["top_terms"].str.split("、")
    assert any("征地补偿" in terms or {"征地", "补偿"} <= set(terms) for terms in land), list(land)
    assert not t["example"].str.contains(r"1[3-9]\d{9}").any()     # no phone numbers


