"""Issue 14: the process filter bar's multi-value attribute filters (township, case type, department, source
system, stage department) through AppTest — read from the URL (an unknown value dropped with a notice), chosen in
the multiselect, written back to the URL, and every process view answering for the chosen cases only (equal to the
export with the same analytics.casefilter.CaseFilter)."""
import datetime as dt
from dataclasses import replace

import pytest

from analytics.casefilter import CaseFilter
from analytics.exports import run_export
from analytics.scope import Scope
from dashboard import params, procfilter
from landdesk.i18n import t
from test_pages import frame
from test_process_pages import _open, _store
from test_process_views import CASES, EVENTS

SCOPE = Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
#: P and Q in 东坪镇, R and S in 西岭镇; R's events are all at the window (窗口), the others reach 审批科 too.
TWO_TOWNS = [dict(c, township="西岭镇") if c["case_id"] in ("R", "S") else c for c in CASES]


@pytest.fixture
def two_towns(sqlite_engine, monkeypatch):
    return _store(sqlite_engine, monkeypatch, TWO_TOWNS, EVENTS)


def _events_per_stage(at, lang="zh") -> list:
    return list(frame(at, 1)[t("col_events", lang)])


def _want(engine, f: CaseFilter) -> list:
    return list(run_export(engine, "resource-activity", replace(SCOPE, cases=f))["events"])


def test_township_from_the_url_narrows_every_view(two_towns):
    at = _open("bn_tab_resources", params={"pf_township": ["西岭镇", "火星镇"]})
    assert at.multiselect(key="pf_township").value == ["西岭镇"]                # the unknown township dropped
    assert at.query_params.get("pf_township") in (["西岭镇"], "西岭镇")
    got = _events_per_stage(at)
    assert got == _want(two_towns, CaseFilter(township=("西岭镇",)))
    assert sum(got) == 6                                                       # R (2 events) and S (4)
    assert sum(got) < sum(_want(two_towns, CaseFilter()))


def _open_bar(at):
    at.session_state[procfilter.OPEN] = True          # what a click on the expander does (on_change="rerun")
    at.run()
    assert not at.exception
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_several_townships_chosen_in_the_bar_mean_any_of_them(two_towns, lang):
    at = _open_bar(_open("bn_tab_resources", lang))
    box = at.multiselect(key="pf_township")
    assert set(box.options) == {"东坪镇", "西岭镇"} and box.label == t("pf_township", lang)
    box.set_value(["东坪镇", "西岭镇"]).run()
    assert not at.exception
    assert sorted(at.query_params.get_all("pf_township") if hasattr(at.query_params, "get_all")
                  else at.query_params["pf_township"]) == ["东坪镇", "西岭镇"]
    assert _events_per_stage(at, lang) == _want(two_towns, CaseFilter(township=("东坪镇", "西岭镇")))
    at.multiselect(key="pf_township").set_value(["东坪镇"]).run()
    assert _events_per_stage(at, lang) == _want(two_towns, CaseFilter(township=("东坪镇",)))


def test_stage_department_and_case_type(two_towns):
    at = _open("bn_tab_resources", params={"pf_event_department": "审批科", "pf_case_type": "许可"})
    assert at.multiselect(key="pf_event_department").value == ["审批科"]
    want = _want(two_towns, CaseFilter(event_department=("审批科",), case_type=("许可",)))
    assert _events_per_stage(at) == want
    assert sum(want) == sum(_want(two_towns, CaseFilter())) - 2               # R never reaches 审批科


def test_attribute_lists_round_trip_through_the_url():
    known = {"townships": ["东坪镇", "西岭镇"], "case_types": ["许可"], "departments": ["审批科"],
             "systems": ["a", "b"], "event_departments": ["窗口", "审批科"]}
    f, notes = params.parse_process_filter({"pf_township": ["西岭镇", "东坪镇", "西岭镇"], "pf_system": ["b", "c"],
                                            "pf_event_department": "窗口"}, known)
    assert f.township == ("西岭镇", "东坪镇") and f.system == ("b",) and f.event_department == ("窗口",)
    assert [(n.param, n.value) for n in notes] == [("pf_system", "c")]
    again, _ = params.parse_process_filter(params.process_filter_params(f), known)
    assert again == f


def test_a_closed_bar_draws_no_widgets_and_keeps_what_was_chosen(two_towns):
    """The bar's widgets exist only while it is open; closing it keeps the chosen filter (views, URL, the label's
    count), and opening it again shows the same choice in the widgets."""
    at = _open("bn_tab_resources")
    assert not at.session_state[procfilter.OPEN] and not [w for w in at.multiselect if w.key == "pf_township"]
    everything = _events_per_stage(at)
    assert everything == _want(two_towns, CaseFilter())
    _open_bar(at).multiselect(key="pf_township").set_value(["西岭镇"]).run()
    narrowed = _want(two_towns, CaseFilter(township=("西岭镇",)))
    assert _events_per_stage(at) == narrowed and at.session_state[procfilter.OPEN]   # a new label keeps it open
    at.session_state[procfilter.OPEN] = False
    at.run()
    assert not at.exception and not [w for w in at.multiselect if w.key == "pf_township"]
    assert _events_per_stage(at) == narrowed
    assert at.query_params.get("pf_township") in (["西岭镇"], "西岭镇")
    assert any(t("pf_active", "zh", n=1) in e.label for e in at.expander)
    assert _open_bar(at).multiselect(key="pf_township").value == ["西岭镇"]
    at.multiselect(key="pf_township").set_value([]).run()
    assert _events_per_stage(at) == everything and "pf_township" not in at.query_params
