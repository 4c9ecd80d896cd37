"""Every dashboard page through Streamlit's AppTest on the sample store: renders, shows the numbers of the export of
the same name, reacts to the filter bar, the time unit and the language switch, drills down, and gives guidance
on an empty store, a one-week store and a store without optional datasets."""
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select
from streamlit.testing.v1 import AppTest

from analytics.exports import registry, run_export
from landdesk.kpispec import KPI_SPEC
from analytics.scope import Scope
from landdesk.i18n import t
from landdesk.fmt import fmt_area, fmt_count, fmt_rate
from dashboard.ui import page_views
from etl.schema import case_events, cases, petitions
from etl.store import make_engine
from test_kpis import county  # noqa: F401  (fixture: a tiny store without events or land supply)

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
from landdesk.pages import STAFF_PAGES as PAGES  # noqa: E402
CHARTED = tuple(p for p in PAGES if p not in ("data", "catalogue"))   # the tables-only pages
FROM, TO = "2026-08-01", "2026-10-31"
SCOPE = Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
KEY_LIKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9\-]+)+$")


@pytest.fixture(scope="module")
def sample(sample_store_url):
    return make_engine(sample_store_url)


@pytest.fixture
def on_sample(sample_store_url, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sample_store_url)
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))


def run(page: str, params: dict | None = None, timeout: int = 180) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in {"from": FROM, "to": TO, **(params or {})}.items():
        at.query_params[k] = v
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    at.run()
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at) -> list[str]:
    out = [e.value for kind in ("title", "subheader", "caption", "markdown", "info", "warning", "success")
           for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    return out + [m.label for m in at.metric]


def figures(at) -> list:
    """The page's Plotly figures, decoded (typed arrays included)."""
    import plotly.io as pio
    return [pio.from_json(c.proto.spec, skip_invalid=True) for c in at.get("plotly_chart")]


def values(v) -> list:
    """A trace's x or y as a list (Plotly sends typed arrays as {dtype, bdata})."""
    import base64

    import numpy as np
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def frame(at, index: int) -> pd.DataFrame:
    return at.dataframe[index].value


# ---- every page renders ----------------------------------------------------------------------

# The analysis pages draw their sections as lazy tabs (dashboard.ui.views); a URL parameter opens one.
VIEWS = {page: page_views(page)[1] for page in PAGES if page_views(page)[0]}
PAGE_VIEWS = [(page, view) for page in PAGES for view in VIEWS.get(page, [None])]


def open_view(page: str, view: str | None) -> dict:
    return {page_views(page)[0]: t(view, "zh")} if view else {}


@pytest.mark.parametrize("page,view", PAGE_VIEWS, ids=[f"{p}-{v or 'page'}" for p, v in PAGE_VIEWS])
def test_every_page_and_tab_renders_with_translated_labels(on_sample, page, view):
    at = run(page, open_view(page, view))
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == t("page_" + page, "zh")
    if view:                       # the tab asked for is open and drawn; the others hold nothing
        tabs = {tab.label: len(tab.children) for tab in at.tabs}
        assert set(tabs) == {t(v, "zh") for v in VIEWS[page]}
        assert tabs[t(view, "zh")] > 0 and sum(tabs.values()) == tabs[t(view, "zh")], tabs
    for fig in figures(at):        # every chart has a title
        assert fig.layout.title.text, page
    untranslated = [s for s in texts(at) if KEY_LIKE.match(s.strip())]
    assert not untranslated, untranslated


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_charts_and_tables(on_sample, page):
    runs = [run(page, open_view(page, view)) for view in VIEWS.get(page, [None])]
    if page in CHARTED:
        assert sum(len(at.get("plotly_chart")) for at in runs) >= 1
    assert sum(len(at.dataframe) for at in runs) >= (0 if page == "briefing" else 1)


def test_the_open_tab_survives_a_language_switch(on_sample):
    at = run("bottlenecks", open_view("bottlenecks", "bn_tab_variants"))
    assert any(s.value == t("bn_variants", "zh") for s in at.subheader)
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert any(s.value == t("bn_variants", "en") for s in at.subheader)


@pytest.mark.parametrize("page", ["efficiency", "bottlenecks", "petitions", "landuse", "forecasts", "briefing"])
def test_language_switch_changes_labels(on_sample, page):
    at = run(page)
    zh = texts(at)
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == t("page_" + page, "en")
    en = texts(at)
    assert en != zh
    assert not [s for s in en if KEY_LIKE.match(s.strip())]
    for fig in figures(at):
        assert not re.search(r"[\u4e00-\u9fff]", fig.layout.title.text) or page == "landuse", \
            fig.layout.title.text


# ---- numbers equal the export of the same name -----------------------------------------------------

def test_cockpit_kpis_equal_the_kpis_export(on_sample, sample):
    at = run("cockpit")
    assert not at.exception
    shown = metrics(at)
    table = run_export(sample, "kpis", SCOPE).set_index("kpi")
    for code in KPI_SPEC:
        v = table.loc[code, "value"]
        if code in ("on_time_rate", "online_rate", "good_rating_rate", "petition_reply_on_time_rate"):
            want = fmt_rate(v)
        elif code == "median_throughput":
            want = f"{v:.1f} 个工作日"
        elif code == "cultivated_land_ha":
            want = fmt_area(v, "zh", with_mu=False)
        else:
            want = fmt_count(v, "zh")
        assert shown[t("kpi_" + code, "zh")] == want, code
    # the additions: top bottlenecks, overdue list, petitions near their limit
    top = run_export(sample, "bottlenecks", SCOPE).head(3)
    body = " ".join(m.value for m in at.markdown)
    assert all(stage in body for stage in top["stage"])
    overdue = run_export(sample, "overdue-cases", SCOPE)
    assert list(frame(at, 0)[t("col_case_id", "zh")]) == list(overdue["case_id"])


def test_efficiency_numbers_equal_case_efficiency_export(on_sample, sample):
    at = run("efficiency")
    row = run_export(sample, "case-efficiency", SCOPE).iloc[0]
    m = metrics(at)
    assert m["收件量"] == fmt_count(row["received"]) and m["办结量"] == fmt_count(row["completed"])
    assert m["按期办结率"] == fmt_rate(row["on_time_rate"])
    assert m["办理时长中位数"] == f"{row['throughput_median']:,.1f} 个工作日"
    assert m["网办率"] == fmt_rate(row["online_rate"]) and m["零跑动率"] == fmt_rate(row["zero_visit_rate"])
    by_type = run_export(sample, "case-efficiency", SCOPE, by="case_type").set_index("case_type")
    shown = frame(at, 0).set_index("事项类型")
    assert shown["收件"].to_dict() == by_type.loc[shown.index, "received"].to_dict()
    assert shown["按期办结率"].round(9).to_dict() == by_type.loc[shown.index, "on_time_rate"].round(9).to_dict()

def test_efficiency_drill_down_lists_the_cases_of_a_group(on_sample, sample):
    at = run("efficiency")
    by_type = run_export(sample, "case-efficiency", SCOPE, by="case_type")
    group = by_type.sort_values("received").iloc[-1]["case_type"]
    at.selectbox(key="eff_drill_case_type").set_value(group).run()
    assert not at.exception
    drill = frame(at, 1)
    assert set(drill["事项类型"]) == {group}
    cases_export = run_export(sample, "cases", SCOPE)
    total = int((cases_export["case_type"] == group).sum())
    assert len(drill) == min(total, 500)
    assert any(f"共 {total} 件" in c.value for c in at.caption)


def test_time_unit_changes_durations(on_sample, sample):
    at = run("efficiency")
    at.sidebar.radio(key="unit").set_value("hours").run()
    assert not at.exception
    row = run_export(sample, "case-efficiency", SCOPE, unit="hours").iloc[0]
    assert metrics(at)["办理时长中位数"] == f"{row['throughput_median']:,.1f} 小时"
    assert at.query_params["unit"] in (["hours"], "hours")


def test_bottlenecks_table_equals_the_export(on_sample, sample):
    at = run("bottlenecks")
    want = run_export(sample, "bottlenecks", SCOPE)
    shown = frame(at, 0)
    assert list(shown["环节"]) == list(want["stage"])
    assert list(shown["可节省时间"]) == pytest.approx(list(want["impact_total"]))
    assert metrics(at)["首要瓶颈环节"] == want.iloc[0]["stage"]
    # drill to the cases of the top stage
    drill = frame(at, len(at.dataframe) - 1)
    assert len(drill) > 0 and drill["该环节次数"].min() >= 1


def test_petitions_numbers_equal_the_export(on_sample, sample):
    at = run("petitions")
    row = run_export(sample, "petitions", SCOPE).iloc[0]
    m = metrics(at)
    assert m["信访件量"] == fmt_count(row["received"])
    assert m["及时受理率"] == fmt_rate(row["timely_acceptance_rate"])
    assert m["按期答复率"] == fmt_rate(row["reply_on_time_rate"])
    assert m["满意率"] == fmt_rate(row["satisfaction_rate"])
    assert m["重复信访件"] == fmt_count(row["repeat_petitions"])
    topics = run_export(sample, "petitions", SCOPE, by="topic")
    bar = next(f for f in figures(at) if "问题类别" in f.layout.title.text)
    shown = dict(zip(values(bar.data[0].y), values(bar.data[0].x)))
    assert shown == {r.topic: r.received for r in topics.itertuples() if r.received > 0}
    countdown = run_export(sample, "petition-countdown", SCOPE)
    assert m["临期及超期未办结"] == fmt_count(int((countdown["days_left"] <= 7).sum()))


def test_landuse_numbers_equal_the_export_and_mu_toggle(on_sample, sample):
    at = run("landuse")
    assert not at.exception
    target = run_export(sample, "cultivated-target", SCOPE)
    county_row = target[target["level"] == "county"].iloc[0]
    m = metrics(at)
    label = t("land_cultivated_year", "zh", year=int(county_row["latest_year"]))
    assert m[label] == f"{fmt_count(round(county_row['area_ha'], 1))} 公顷"
    comp = frame(at, 0)
    from analytics.landuse import available_years, change_years
    with sample.connect() as conn:
        a, b = change_years(SCOPE, available_years(conn, Scope(dt.date(1900, 1, 1), dt.date(2999, 1, 1))))
    want = run_export(sample, "land-use", Scope(dt.date(a, 1, 1), dt.date(b, 12, 31)))
    assert list(comp["面积 (公顷)"]) == pytest.approx(list(want["area_ha"]))
    at.sidebar.radio(key="area_unit").set_value("mu").run()
    assert not at.exception
    assert metrics(at)[label] == f"{fmt_count(round(county_row['area_ha'] * 15, 1))} 亩"


@pytest.mark.parametrize("unit", ["ha", "mu"])
def test_cultivated_table_names_its_unit_once_and_writes_years_plainly(on_sample, sample, unit):
    at = run("landuse", {"land_view": "cultivated"})
    if unit == "mu":
        at.sidebar.radio(key="area_unit").set_value("mu").run()
    assert not at.exception
    word = t("unit_" + unit, "zh")
    grid = next(f for f in (d.value for d in at.dataframe) if f"{t('col_target_ha', 'zh')} ({word})" in f.columns)
    assert f"{t('col_area', 'zh')} ({word})" in grid.columns and f"{t('col_gap_ha', 'zh')} ({word})" in grid.columns
    assert not any(c.count(word) > 1 or ("公顷" in c and unit == "mu") for c in grid.columns), list(grid.columns)
    target = run_export(sample, "cultivated-target", SCOPE)
    years = grid[t("col_projected_cross_year", "zh")].tolist()
    want = ["—" if pd.isna(y) else f"{y:.0f}" for y in target["projected_cross_year"]]
    assert [str(y) for y in years] == want


def test_forecasts_show_the_backtest_against_the_baseline(on_sample, sample):
    if "forecast" not in registry():
        pytest.skip("the forecast export is not installed")
    at = run("forecasts")
    assert not at.exception
    fc = run_export(sample, "forecast", SCOPE)
    total = fc[fc["unique_id"] == fc["unique_id"].iloc[0]].iloc[0]
    m = metrics(at)
    assert m["回测 MASE"] == f"{total['mase']:.2f}"
    assert m["季节朴素基准 MASE"] == f"{total['snaive_mase']:.2f}"
    ahead = fc[(fc["unique_id"] == total["unique_id"]) & (fc["kind"] == "forecast")]
    assert m["下周预测"] == fmt_count(round(ahead["yhat"].iloc[0]))


def test_briefing_page_previews_and_offers_downloads(on_sample, sample):
    pytest.importorskip("briefing")
    at = run("briefing")
    assert not at.exception
    labels = {b.label for b in at.get("download_button")}
    assert {"PDF", "DOCX", "HTML"} <= labels
    fig = figures(at)[0]
    from briefing import default_week
    from briefing.weeks import week_bounds
    week = default_week(sample)
    end = week_bounds(week)[1]
    flow = run_export(sample, "weekly-flow", Scope(end - dt.timedelta(weeks=12) + dt.timedelta(days=1), end))
    assert values(fig.data[0].y) == list(flow["received"])


def test_filter_changes_the_numbers_and_persists_across_pages(on_sample):
    at = run("efficiency")
    before = metrics(at)["收件量"]
    at.selectbox(key="township").set_value("东坪镇").run()
    assert not at.exception
    assert metrics(at)["收件量"] != before
    at.switch_page(str(ROOT / "pages" / "data.py")).run()       # a page without the filter bar
    at.switch_page(str(ROOT / "pages" / "petitions.py")).run()
    assert not at.exception
    assert at.selectbox(key="township").value == "东坪镇"
    assert at.query_params["township"] in (["东坪镇"], "东坪镇")


def test_a_link_to_a_page_without_the_filter_bar_keeps_its_filters(on_sample):
    at = run("data", {"township": "东坪镇", "unit": "hours"})      # a shared link, opened on the data page
    for key in ("from", "to", "township", "unit"):                  # Streamlit drops them on a page switch
        at.query_params.pop(key, None)
    at.switch_page(str(ROOT / "pages" / "petitions.py")).run()
    assert not at.exception
    assert at.selectbox(key="township").value == "东坪镇"
    assert at.query_params["from"] in ([FROM], FROM) and at.query_params["to"] in ([TO], TO)


# ---- guidance instead of errors -------------------------------------------------------------------

@pytest.mark.parametrize("page", [p for p in PAGES if p != "data"])
def test_empty_store_gives_guidance(engine, monkeypatch, page):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    at = run(page)
    assert not at.exception, [e.message for e in at.exception]
    assert any("landdesk demo" in i.value or "landdesk etl" in i.value for i in at.info)


def test_store_without_events_or_land_supply_gives_guidance(county, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LANDDESK_DATABASE_URL", county.url.render_as_string(hide_password=False))
    for page, view in PAGE_VIEWS:
        at = run(page, {"from": "2026-02-01", "to": "2026-02-28", **open_view(page, view)})
        assert not at.exception, (page, view, [e.message for e in at.exception])
        info = " ".join(i.value for i in at.info)
        if view == "land_tab_supply":
            assert t("no_supply_loaded", "zh") in info
        if page == "bottlenecks":
            assert t("no_events_loaded", "zh") in info


@pytest.fixture
def one_week(engine, sample):
    """The sample county cut to one week (cases received 2026-10-05..11, their events, that week's petitions)."""
    lo, hi = dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 12)
    with sample.connect() as src:
        rows = [dict(r._mapping, batch_id=None) for r in src.execute(
            select(cases).where(cases.c.received_at >= lo, cases.c.received_at < hi))]
        ids = [r["case_id"] for r in rows]
        events = [dict(r._mapping, batch_id=None) for r in src.execute(
            select(case_events).where(case_events.c.case_id.in_(ids)))]
        pets = [dict(r._mapping, batch_id=None) for r in src.execute(
            select(petitions).where(petitions.c.received_at >= lo, petitions.c.received_at < hi))]
    with engine.begin() as conn:
        conn.execute(insert(cases), rows)
        conn.execute(insert(case_events), events)
        conn.execute(insert(petitions), pets)
    return engine


@pytest.mark.parametrize("page", PAGES)
def test_one_week_store_renders(one_week, monkeypatch, page):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", one_week.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))
    for view in VIEWS.get(page, [None]):
        at = run(page, {"from": "2026-10-05", "to": "2026-10-11", **open_view(page, view)})
        assert not at.exception, (view, [e.message for e in at.exception])


def test_briefing_archive_lists_and_previews_the_archived_file(sample_store_url, sample, monkeypatch, tmp_path):
    pytest.importorskip("briefing")
    from briefing import default_week
    week = default_week(sample)
    archived = tmp_path / f"briefing-{week}-zh.html"
    archived.write_text("<html><body><h1>存档周报</h1></body></html>", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a briefing")
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sample_store_url)
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(tmp_path))
    at = run("briefing")
    assert not at.exception
    assert list(frame(at, 0)[t("col_file", "zh")]) == [f"briefing-{week}-zh.html"]
    assert any(f"briefing-{week}-zh.html" in c.value for c in at.caption)
