"""The bottlenecks page's process views (issue 14) through AppTest, in Chinese and English: the handover network
(Graphviz) and its table equal the export, the dotted chart says when it samples, the performance spectrum draws
a chosen transition, the statutory-process tab equals the conformance exports, the ranking's measure selector
switches to waiting time — and degenerate data (no events, one case, one handler, no reference) give guidance or
small views, never an error."""
import datetime as dt

import pytest
import yaml
from sqlalchemy import insert

from analytics.exports import run_export
from analytics.scope import Scope
from etl.load import load_mapping
from etl.schema import case_events, cases
from landdesk.i18n import t
from test_pages import figures, frame, run
from test_process_views import CASES, EVENTS, REFERENCE

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
SCOPE = Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
TABS = ("bn_tab_resources", "bn_tab_time", "bn_tab_conformance")


def _store(engine, monkeypatch, case_rows, event_rows, tmp_path=None, reference=True):
    with engine.begin() as conn:
        conn.execute(insert(cases), case_rows)
        if event_rows:
            conn.execute(insert(case_events), event_rows)
    if reference and tmp_path is not None:
        path = tmp_path / "reference.yaml"
        path.write_text(yaml.safe_dump(REFERENCE, allow_unicode=True), encoding="utf-8")
        assert load_mapping(engine, path).status == "loaded"
    monkeypatch.setenv("LANDDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


@pytest.fixture
def hand_log(sqlite_engine, monkeypatch, tmp_path):
    return _store(sqlite_engine, monkeypatch, CASES, EVENTS, tmp_path)


def _open(tab, lang="zh", params=None):
    view = {"bn_view": t(tab, lang)}                 # the tab in the page's language (?lang= opens it in that one)
    at = run("bottlenecks", {**MARCH, "lang": lang, **view, **(params or {})})
    assert not at.exception, [e.message for e in at.exception]
    return at


def _texts(at):
    return " ".join(e.value for kind in ("caption", "info", "subheader") for e in at.get(kind))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_handover_tab_draws_the_network_and_its_table(hand_log, lang):
    at = _open("bn_tab_resources", lang)
    assert any(s.value == t("pv_handover", lang) for s in at.subheader)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"h1" -> "h2"' in dot and '"h1" -> "h1"' not in dot           # self-handover hidden by default
    shown = frame(at, 0)
    want = run_export(hand_log, "handovers", SCOPE, by="handler")
    assert list(shown[t("col_count", lang)]) == list(want["count"])
    assert len(at.get("plotly_chart")) == 1                               # the handler × stage heatmap
    assert list(frame(at, 1)[t("col_events", lang)]) == list(run_export(hand_log, "resource-activity", SCOPE)["events"])


def test_handover_between_departments(hand_log):
    at = _open("bn_tab_resources")
    at.radio(key="pv_handover_by").set_value("department").run()
    assert not at.exception
    assert '"窗口" -> "审批科"' in at.get("graphviz_chart")[0].proto.spec


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_time_views_tab(hand_log, lang):
    at = _open("bn_tab_time", lang)
    figs = figures(at)
    assert len(figs) == 2 and all(f.layout.title.text for f in figs)
    assert {tr.name for tr in figs[0].data} == {"受理", "审查", "补正", "决定"}        # dotted: one trace per stage
    assert t("pv_dotted_all", lang, total="4") in _texts(at)
    edge = at.selectbox(key="pv_spectrum_edge")
    assert edge.value == "受理 → 决定（2）" and "受理 → 审查（2）" in edge.options   # most frequent, ▶ left out
    assert {tr.name for tr in figs[1].data} == {t("pv_class_q2", lang), t("pv_class_q4", lang)}   # R fast, Q slow
    if lang == "zh":    # (AppTest formats the filter bar's options outside the script run: in Chinese only)
        edge.set_value("受理 → 审查（2）").run()
        assert not at.exception
        spec = figures(at)[1]
        assert "受理 → 审查" in spec.layout.title.text
        assert {tr.name for tr in spec.data} == {t("pv_class_q2", lang), t("pv_class_q4", lang)}   # S fast, P slow
        assert sum(len([x for x in tr.x if x is not None]) for tr in spec.data) == 4    # two segments, two ends each


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_conformance_tab_equals_the_exports(hand_log, lang):
    at = _open("bn_tab_conformance", lang)
    cards = {m.label: m.value for m in at.metric}
    assert cards[t("pv_cases_checked", lang)] == "3" and cards[t("pv_conforming", lang)] == "33.3%"
    stages = frame(at, 0)
    want = run_export(hand_log, "conformance-stages", SCOPE)
    assert list(stages[t("col_conforming_share", lang)]) == pytest.approx(list(want["conforming_share"]))
    bad = frame(at, 1)
    assert list(bad[t("col_case_id", lang)]) == ["Q", "R"]


def test_measure_selector_ranks_by_waiting(hand_log):
    at = run("bottlenecks", MARCH)
    assert not at.exception
    selector = at.radio(key="bn_measure")
    assert selector.options == [t("pv_measure_" + m, "zh") for m in ("sojourn", "elapsed", "waiting", "processing")]
    selector.set_value("waiting").run()
    assert not at.exception
    want = run_export(hand_log, "bottlenecks-waiting", SCOPE)
    assert list(frame(at, 0)[t("col_stage", "zh")]) == list(want["stage"])
    assert t("pv_measure_waiting", "zh") in _texts(at)


# ---------- degenerate data ----------

ONE_CASE = [CASES[2]]                                   # R: one case, one handler (h1 twice)
ONE_CASE_EVENTS = [e for e in EVENTS if e["case_id"] == "R"]


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_case_one_handler(sqlite_engine, monkeypatch, tmp_path, tab, lang):
    _store(sqlite_engine, monkeypatch, ONE_CASE, ONE_CASE_EVENTS, tmp_path)
    at = _open(tab, lang)
    if tab == "bn_tab_resources":
        assert t("pv_no_handovers_between", lang, by=t("pv_by_handler", lang)) in _texts(at)
        assert not at.get("graphviz_chart")
    if tab == "bn_tab_time":
        assert len(figures(at)) == 2
    if tab == "bn_tab_conformance":
        assert frame(at, 1)[t("col_case_id", lang)].tolist() == ["R"]


def test_no_start_times_offers_no_waiting(sqlite_engine, monkeypatch, tmp_path):
    _store(sqlite_engine, monkeypatch, ONE_CASE, ONE_CASE_EVENTS, tmp_path)
    at = run("bottlenecks", MARCH)
    assert not at.exception
    assert len(at.radio(key="bn_measure").options) == 2
    assert t("pv_no_start_times", "zh") in _texts(at)


def test_no_reference_gives_guidance(sqlite_engine, monkeypatch):
    _store(sqlite_engine, monkeypatch, CASES, EVENTS, reference=False)
    at = _open("bn_tab_conformance")
    assert t("pv_no_reference", "zh") in " ".join(i.value for i in at.info)


@pytest.mark.parametrize("tab", TABS)
def test_no_events_gives_guidance(sqlite_engine, monkeypatch, tab):
    _store(sqlite_engine, monkeypatch, ONE_CASE, [])
    at = _open(tab)
    assert t("no_events_loaded", "zh") in " ".join(i.value for i in at.info)


@pytest.mark.parametrize("tab", TABS)
def test_no_events_in_the_period_gives_guidance(hand_log, tab):
    at = _open(tab, params={"from": "2025-03-01", "to": "2025-03-31"})
    assert t("no_events_period", "zh") in " ".join(i.value for i in at.info)
