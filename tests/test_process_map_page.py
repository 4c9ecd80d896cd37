"""The process map tab and the process filter bar through AppTest, in zh and en: the hand-made log of
test_process_map (its DOT holds every edge with its count), the URL keeps sliders and filters (odd values corrected
with a notice), the drill-down lists the cases of a picked edge, and degenerate data (one activity, one edge, no
events in the period) draw without an exception."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert

from etl.schema import case_events, cases
from landdesk.i18n import t

from etl_helpers import shanghai as D  # noqa: E402
from test_process_map import DAYS, TRACES
from pmap_helpers import has_map, map_edges  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")


def _store(engine, traces: dict, days: dict, closed: bool = True):
    case_rows, event_rows = [], []
    for cid, trace in traces.items():
        day = days[cid]
        done = D(2026, 3, day, trace[-1][1]) if closed and cid != "D" else None
        case_rows.append(dict(case_id=cid, case_type="建设用地规划许可", township="东坪镇", department="审批科",
                              channel="online", received_at=D(2026, 3, day, 9), closed_at=done,
                              status="closed" if done else "open"))
        for seq, (stage, hour) in enumerate(trace, 1):
            event_rows.append(dict(case_id=cid, seq=seq, stage=stage, completed_at=D(2026, 3, day, hour),
                                   result="pass", handler_key="h2" if (cid, seq) == ("B", 3) else "h1"))
    with engine.begin() as conn:
        conn.execute(insert(cases), case_rows)
        conn.execute(insert(case_events), event_rows)


def _open(monkeypatch, engine, lang="zh", extra=None):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("LANDDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in {"from": "2026-03-01", "to": "2026-03-31", "lang": lang, "unit": "hours",
                 "bn_view": t("bn_tab_map", lang), **(extra or {})}.items():
        at.query_params[k] = v
    at.switch_page(str(ROOT / "pages" / "bottlenecks.py"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _qp(at, key) -> list:
    v = at.query_params[key]
    return list(v) if isinstance(v, (list, tuple)) else [v]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_of_the_hand_made_log(sqlite_engine, monkeypatch, lang):
    _store(sqlite_engine, TRACES, DAYS)
    at = _open(monkeypatch, sqlite_engine, lang)
    start, end = t("pm_start", lang), t("pm_end", lang)
    labels = map_edges(at)
    assert labels == {(start, "a"): "4", ("a", "b"): "3", ("b", "c"): "2", ("b", "b"): "1", ("a", "d"): "1",
                      ("d", "c"): "1", ("c", end): "3"}       # case frequency, every edge of a small log
    assert _qp(at, "pm_act") == ["100"] and _qp(at, "pm_paths") == ["100"]
    assert not [d for d in at.dataframe if t("col_source", lang) in d.value.columns]   # the tables wait until asked
    at.session_state["pm_tables"] = True
    at.run()
    grid = next(d.value for d in at.dataframe if t("col_source", lang) in d.value.columns)   # named as on the map
    assert set(zip(grid[t("col_source", lang)], grid[t("col_target", lang)])) == set(labels)
    # performance: median time on the edges
    # (widget values set through session state: AppTest formats every widget outside the script, in zh)
    at.session_state["pm_kind"] = "performance"
    at.session_state["pm_measure_performance"] = "median"
    at.run()
    assert not at.exception
    labels = map_edges(at)
    assert labels[("a", "b")] == f"2.0 {t('unit_hours', lang)}" and labels[("d", "c")].startswith("6.0")
    # the activity slider at 50 %: a and b only
    at.session_state["pm_act"] = 50
    at.run()
    assert set(n for e in map_edges(at) for n in e) == {t("pm_start", lang), "a", "b", t("pm_end", lang)}
    # drill down to an edge: nothing listed until one is picked, then the cases behind a → b
    assert "a → b" in at.selectbox(key="pm_drill").options and at.selectbox(key="pm_drill").value is None
    assert not [d for d in at.dataframe if t("col_passes", lang) in d.value.columns]
    assert t("pm_drill_hint", lang) in [c.value for c in at.caption]
    at.session_state["pm_drill"] = ("edge", "a", "b")
    at.run()
    assert not at.exception
    drills = [d.value for d in at.dataframe if t("col_passes", lang) in d.value.columns]
    assert sorted(drills[0][t("col_case_id", lang)]) == ["A", "B", "D"]


def test_filters_in_the_url_narrow_every_tab_and_odd_values_are_corrected(sqlite_engine, monkeypatch):
    _store(sqlite_engine, TRACES, DAYS)
    at = _open(monkeypatch, sqlite_engine, "en", {"pf_has": "d", "pm_paths": "250", "pf_top": "x"})
    labels = map_edges(at)
    assert labels == {("Start", "a"): "1", ("a", "d"): "1", ("d", "c"): "1", ("c", "End"): "1"}   # case C only
    notices = " ".join(w.value for w in at.warning).replace("\\_", "_")
    assert "pm_paths=250" in notices and "pf_top=x" in notices
    assert _qp(at, "pf_has") == ["d"] and _qp(at, "pm_paths") == ["100"]
    at3 = _open(monkeypatch, sqlite_engine, "en", {"pm_size": "natural"})
    assert at3.radio(key="pm_size").value == "natural" and _qp(at3, "pm_size") == ["natural"]
    at3.radio(key="pm_size").set_value("fit").run()
    assert not at3.exception and _qp(at3, "pm_size") == ["fit"]
    at4 = _open(monkeypatch, sqlite_engine, "en", {"pm_size": "huge"})
    assert "pm_size=huge" in " ".join(w.value for w in at4.warning).replace("\\_", "_")
    assert at4.radio(key="pm_size").value == "fit"
    at2 = _open(monkeypatch, sqlite_engine, "en", {"pf_has": "nosuch", "bn_view": t("bn_tab_ranking", "en")})
    assert "pf_has=nosuch" in " ".join(w.value for w in at2.warning).replace("\\_", "_")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("traces", [
    {"A": [("a", 10)]},                          # one activity
    {"A": [("a", 10), ("b", 11)]},               # one edge between activities
    {"A": [("a", 10)], "B": [("a", 10)]},        # one activity, twice
])
def test_degenerate_logs_draw(sqlite_engine, monkeypatch, lang, traces):
    _store(sqlite_engine, traces, {"A": 2, "B": 3})
    at = _open(monkeypatch, sqlite_engine, lang)
    edges = map_edges(at)
    assert (t("pm_start", lang), "a") in edges and edges[(t("pm_start", lang), "a")]


def test_no_events_in_the_period(sqlite_engine, monkeypatch):
    _store(sqlite_engine, TRACES, DAYS)
    at = _open(monkeypatch, sqlite_engine, "en", {"from": "2026-03-10", "to": "2026-03-20"})
    assert not has_map(at)
    assert at.info, "a sentence says there is nothing in the period"
