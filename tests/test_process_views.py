"""Process views of issue 14 against a hand-computed log: handovers between handlers and departments, the
resource × activity matrix, the dotted chart and performance spectrum, conformance to a statutory reference
process (fitness, skipped, out of order, over limit), waiting vs processing, and the integrity rules' use of the
reference.

The log (case type 许可, March 2026, no holidays; times in the bureau's zone):

| case | received | events (seq stage handler dept completed [started]) | closed |
| --- | --- | --- | --- |
| P | Mon 03-02 09:00 | 1 受理 h1 窗口 03-02 10:00 · 2 审查 h2 审批科 03-04 16:00 [03-02 09:30, before 受理 completed] · 3 决定 h3 审批科 03-05 11:00 [03-05 09:00] | 03-05 11:00 |
| Q | Mon 03-02 14:00 | 1 受理 h1 窗口 03-02 15:00 · 2 决定 h3 审批科 03-03 10:00 · 3 审查 h2 审批科 03-09 10:00 | 03-09 10:00 |
| R | Tue 03-03 09:00 | 1 受理 h1 窗口 03-03 09:30 · 2 决定 h1 窗口 03-03 11:00 | 03-03 11:00 |
| S | Wed 03-04 09:00 | 1 受理 h1 窗口 03-04 10:00 · 2 审查 h2 审批科 03-05 10:00 return · 3 补正 (none) 窗口 03-10 10:00 · 4 审查 h2 审批科 03-11 10:00 | open |

Reference 许可: 受理 (limit 1) → 审查 (limit 2) → 补正 (optional) → 决定 (limit 1); moves 审查 → 补正, 补正 → 审查.
Allowed: ▶→受理, 受理→审查, 审查→补正, 审查→决定, 补正→决定, 补正→审查.

By hand:
- handler handovers (8 pairs): h1→h2 ×2 (P: target started 0.5 h before the source completed → 0; S: 24 h →
  median 12 h), h2→h3 (P, 17 h), h1→h3 (Q), h3→h2 (Q), h1→h1 (R, self), h2→(unknown), (unknown)→h2 (S).
- department handovers: 窗口→审批科 ×4 in 3 cases, 审批科→审批科 ×2, 窗口→窗口 ×1, 审批科→窗口 ×1.
- matrix: h1 受理 4 + 决定 1; h2 审查 4 (sojourns 54.5, 144, 24, 24 h → median 39.25); h3 决定 2; (unknown) 补正 1.
- conformance (finished cases): P fitness 1, conforming; Q moves ▶→受理 ✓ 受理→决定 ✗ 决定→审查 ✗ → 1/3,
  审查 out of order (after 决定) and over its limit (03-03 → 03-09 = 4 working days > 2); R 1/2, 审查 skipped.
  Per stage: 审查 conforming 1/3 (Q, R bad), 决定 1/3 (entered by a disallowed move in Q and R), 受理 and 补正 1.
  S (open, fitness 1): 决定 not skipped yet; its two 审查 events spend 1 + 1 = 2 working days, not over.
- waiting (hours): P 审查 max(0, −0.5) = 0, processing 54.5; P 决定 waiting 17, processing 2.
"""
import datetime as dt
import math

import pandas as pd
import pytest
import yaml
from sqlalchemy import insert

from analytics import conformance as cf
from analytics import resources as rs
from analytics import timeviews as tv
from analytics.bottlenecks import bottlenecks
from analytics.exports import run_export
from analytics.process import scoped_measured
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.load import load_mapping
from etl.reference import read_reference, stored_reference
from etl.schema import case_events, cases

from etl_helpers import shanghai as D  # noqa: E402

MARCH = Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
CAL = WorkCalendar()
REFERENCE = {"dataset": "reference_process", "case_types": {"许可": {
    "stages": [{"stage": "受理", "limit_workdays": 1}, {"stage": "审查", "limit_workdays": 2},
               {"stage": "补正", "mandatory": False}, {"stage": "决定", "limit_workdays": 1}],
    "moves": ["审查 -> 补正", "补正 -> 审查"]}}}


def _case(cid, received, closed):
    return dict(case_id=cid, case_type="许可", township="东坪镇", department="审批科", channel="online",
                received_at=received, closed_at=closed, status="closed" if closed else "open")


def _ev(cid, seq, stage, handler, dept, completed, started=None, result="pass"):
    return dict(case_id=cid, seq=seq, stage=stage, handler_key=handler, department=dept, completed_at=completed,
                started_at=started, result=result)


CASES = [_case("P", D(2026, 3, 2, 9), D(2026, 3, 5, 11)), _case("Q", D(2026, 3, 2, 14), D(2026, 3, 9, 10)),
         _case("R", D(2026, 3, 3, 9), D(2026, 3, 3, 11)), _case("S", D(2026, 3, 4, 9), None)]
EVENTS = [
    _ev("P", 1, "受理", "h1", "窗口", D(2026, 3, 2, 10)),
    _ev("P", 2, "审查", "h2", "审批科", D(2026, 3, 4, 16), D(2026, 3, 2, 9, 30)),
    _ev("P", 3, "决定", "h3", "审批科", D(2026, 3, 5, 11), D(2026, 3, 5, 9)),
    _ev("Q", 1, "受理", "h1", "窗口", D(2026, 3, 2, 15)),
    _ev("Q", 2, "决定", "h3", "审批科", D(2026, 3, 3, 10)),
    _ev("Q", 3, "审查", "h2", "审批科", D(2026, 3, 9, 10)),
    _ev("R", 1, "受理", "h1", "窗口", D(2026, 3, 3, 9, 30)),
    _ev("R", 2, "决定", "h1", "窗口", D(2026, 3, 3, 11)),
    _ev("S", 1, "受理", "h1", "窗口", D(2026, 3, 4, 10)),
    _ev("S", 2, "审查", "h2", "审批科", D(2026, 3, 5, 10), result="return"),
    _ev("S", 3, "补正", None, "窗口", D(2026, 3, 10, 10)),
    _ev("S", 4, "审查", "h2", "审批科", D(2026, 3, 11, 10)),
]


@pytest.fixture
def log(engine):
    with engine.begin() as conn:
        conn.execute(insert(cases), CASES)
        conn.execute(insert(case_events), EVENTS[::-1])
    return engine


@pytest.fixture
def reference_file(tmp_path):
    path = tmp_path / "reference.yaml"
    path.write_text(yaml.safe_dump(REFERENCE, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def with_reference(log, reference_file):
    result = load_mapping(log, reference_file)
    assert result.status == "loaded" and result.rows_loaded == 4
    return log


def _events(engine, unit="hours"):
    with engine.connect() as conn:
        return scoped_measured(conn, MARCH, CAL, unit, cache=False)


def _edges(frame):
    return {(r.source, r.target): r for r in frame.itertuples(index=False)}


# ---------- handovers ----------

def test_handovers_between_handlers_by_hand(log):
    net = rs.handovers(_events(log), CAL, "hours", "handler")
    e = _edges(net)
    assert {k: v.count for k, v in e.items()} == {("h1", "h2"): 2, ("h2", "h3"): 1, ("h1", "h3"): 1, ("h3", "h2"): 1,
                                                  ("h1", "h1"): 1, ("h2", "(unknown)"): 1, ("(unknown)", "h2"): 1}
    assert net.iloc[0]["source"] == "h1" and net.iloc[0]["target"] == "h2"          # most frequent first
    assert e[("h1", "h2")].share == pytest.approx(2 / 8) and e[("h1", "h2")].cases == 2
    assert e[("h1", "h2")].median_handoff == pytest.approx(12.0)   # overlap clipped to 0, and 24 h
    assert e[("h2", "h3")].median_handoff == pytest.approx(17.0)
    assert e[("h1", "h1")].self and not e[("h1", "h2")].self
    assert list(rs.top_edges(net, 1)["source"]).count("h1") == 2                   # the self-handover is hidden


def test_handovers_between_departments_by_hand(log):
    e = _edges(rs.handovers(_events(log), CAL, "hours", "department"))
    assert {k: v.count for k, v in e.items()} == {("窗口", "审批科"): 4, ("审批科", "审批科"): 2, ("窗口", "窗口"): 1,
                                                  ("审批科", "窗口"): 1}
    assert e[("窗口", "审批科")].cases == 3


def test_handover_export_and_dot(log):
    frame = run_export(log, "handovers", MARCH, "hours", "department")
    assert int(frame["count"].sum()) == 8
    dot = rs.handover_dot(rs.top_edges(frame, 2), "h", "n", "median")
    assert dot.startswith("digraph") and '"窗口" -> "审批科"' in dot and '"窗口" -> "窗口"' not in dot


def test_resource_activity_matrix_by_hand(log):
    m = rs.resource_activity(_events(log)).set_index(["handler", "stage"])
    assert list(dict.fromkeys(m.index.get_level_values(0))) == ["h1", "h2", "h3", "(unknown)"]
    assert m.loc[("h1", "受理"), "events"] == 4 and m.loc[("h1", "决定"), "events"] == 1
    assert m.loc[("h1", "受理"), "handler_share"] == pytest.approx(0.8)
    assert m.loc[("h2", "审查"), "events"] == 4 and m.loc[("h2", "审查"), "cases"] == 3
    assert m.loc[("h2", "审查"), "median"] == pytest.approx(39.25)
    assert m.loc[("(unknown)", "补正"), "events"] == 1


def test_degenerate_frames_give_empty_results():
    empty = pd.DataFrame(columns=["case_key", "seq", "stage", "handler", "department", "completed_at", "started_at",
                                  "sojourn"])
    assert rs.handovers(empty, CAL).empty and rs.resource_activity(empty).empty
    assert tv.dotted_chart(empty).empty and tv.spectrum(empty).empty
    assert rs.handover_dot(rs.top_edges(rs.handovers(empty, CAL), 1), "h", "n", "m").endswith("}")


# ---------- time views ----------

def test_dotted_chart_ranks_cases_and_samples_evenly(log):
    ev = _events(log)
    full = tv.dotted_chart(ev)
    assert len(full) == 12 and full["cases_total"].iloc[0] == 4 and full["cases_shown"].iloc[0] == 4
    assert list(full.drop_duplicates("case_id")["case_id"]) == ["P", "Q", "R", "S"]
    few = tv.dotted_chart(ev, max_cases=2)
    assert list(few.drop_duplicates("case_id")["case_id"]) == ["P", "S"] and few["cases_shown"].iloc[0] == 2
    assert len(tv.dotted_chart(ev, max_points=5)) <= 5


def test_performance_spectrum_by_hand(log):
    seg = tv.spectrum(_events(log))
    part, total = tv.spectrum_sample(seg, "受理", "审查")
    assert total == 2 and list(part["case_id"]) == ["P", "S"]          # by source time
    assert list(part["duration"]) == pytest.approx([54.0, 24.0])
    assert list(part["duration_class"]) == ["q4", "q2"]
    assert tv.edge_counts(seg).iloc[0]["count"] == 4                      # ▶ → 受理 (four cases)
    assert len(tv.spectrum_sample(seg, "▶", "受理", limit=3)[0]) == 3


# ---------- waiting vs processing ----------

def test_waiting_is_clipped_at_zero_and_measures_are_chosen(log):
    ev = _events(log).set_index(["case_id", "seq"])
    assert ev.loc[("P", 2), "waiting"] == 0.0 and ev.loc[("P", 2), "processing"] == pytest.approx(54.5)
    assert ev.loc[("P", 3), "waiting"] == pytest.approx(17.0) and ev.loc[("P", 3), "processing"] == pytest.approx(2.0)
    assert math.isnan(ev.loc[("Q", 2), "waiting"])
    ranked = {m: bottlenecks(_events(log), "hours", m).set_index("stage") for m in ("waiting", "processing", "elapsed")}
    assert set(ranked["waiting"].index) == {"审查", "决定"} and ranked["waiting"].loc["决定", "median"] == 17.0
    assert ranked["processing"].loc["审查", "median"] == pytest.approx(54.5)
    assert ranked["elapsed"].loc["审查", "count"] == 4
    exported = run_export(log, "bottlenecks-waiting", MARCH, "hours")
    assert set(exported["stage"]) == {"审查", "决定"}


# ---------- conformance ----------

def test_reference_file_is_read_with_default_moves(reference_file):
    ref = read_reference(reference_file).rows.set_index("stage")
    assert ref.loc["审查", "successors"] == ["补正", "决定"] and ref.loc["补正", "successors"] == ["决定", "审查"]
    assert ref.loc["受理", "initial"] and not ref.loc["审查", "initial"]
    assert not ref.loc["补正", "mandatory"] and math.isnan(ref.loc["补正", "limit_workdays"])


def test_conformance_per_case_by_hand(with_reference):
    out = run_export(with_reference, "conformance", MARCH).set_index("case_id")
    assert list(out.index) == ["Q", "R", "P"]                              # least fitting first; S is open
    assert out.loc["P", "fitness"] == 1.0 and out.loc["P", "conforming"]
    assert out.loc["Q", "fitness"] == pytest.approx(1 / 3) and out.loc["Q", "moves"] == 3
    assert out.loc["Q", "out_of_order"] == "审查" and out.loc["Q", "over_limit"] == "审查"
    assert out.loc["Q", "skipped"] == "" and not out.loc["Q", "conforming"]
    assert out.loc["R", "fitness"] == 0.5 and out.loc["R", "skipped"] == "审查" and out.loc["R", "n_skipped"] == 1


def test_conformance_per_stage_by_hand(with_reference):
    out = run_export(with_reference, "conformance-stages", MARCH).set_index("stage")
    assert list(out.index) == ["受理", "审查", "补正", "决定"]
    assert out.loc["审查", "cases"] == 3 and out.loc["审查", "present"] == 2
    assert (out.loc["审查", "skipped"], out.loc["审查", "out_of_order"], out.loc["审查", "over_limit"]) == (1, 1, 1)
    assert out.loc["审查", "conforming_share"] == pytest.approx(1 / 3)
    assert out.loc["决定", "disallowed_entry"] == 2 and out.loc["决定", "conforming_share"] == pytest.approx(1 / 3)
    assert out.loc["受理", "conforming_share"] == 1.0 and out.loc["补正", "conforming_share"] == 1.0


def test_open_case_is_not_blamed_for_stages_ahead(with_reference):
    with with_reference.connect() as conn:
        ref = stored_reference(conn)
    ev = _events(with_reference).assign(case_type="许可")
    s = cf.conformance_cases(ev[ev["case_id"] == "S"], ref, CAL).iloc[0]
    assert s["fitness"] == 1.0 and s["skipped"] == "" and s["over_limit"] == "" and s["conforming"]


def test_no_reference_means_no_conformance_rows(log):
    assert run_export(log, "conformance", MARCH).empty
    assert run_export(log, "conformance-stages", MARCH).empty


def test_integrity_uses_the_statutory_mandatory_stages(with_reference):
    warn = run_export(with_reference, "warnings", MARCH).set_index("case_id")
    assert "skipped_stage" in warn.loc["R", "rules"]
    assert "法定流程" in warn.loc["R", "reason_zh"] and "statutory" in warn.loc["R", "reason_en"]
    assert "P" not in warn.index or "skipped_stage" not in warn.loc["P", "rules"]
