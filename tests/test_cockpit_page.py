"""The cockpit page through Streamlit's AppTest: renders, shows the export's numbers, filters, languages."""
import pytest
from streamlit.testing.v1 import AppTest

from test_kpis import county  # noqa: F401  (fixture)

APP = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def app(county, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LANDDESK_DATABASE_URL", county.url.render_as_string(hide_password=False))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["from"] = "2026-02-01"
    at.query_params["to"] = "2026-02-28"
    return at


def _metrics(at):
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_cockpit_shows_the_kpis_of_the_export(app):
    app.run()
    assert not app.exception
    m = _metrics(app)
    assert m["收件量"] == ("5", "+3")
    assert m["按期办结率"][0] == "50.0%"
    assert m["超期件"] == ("3", "+2")
    assert m["办理时长中位数"][0] == "2.0 个工作日"
    assert m["耕地面积"][0] == "1,500公顷"
    assert any("目标 95.0%" in c.value and "未达标" in c.value for c in app.caption)
    assert len(app.get("plotly_chart")) == 1


def test_township_filter_changes_the_numbers(app):
    app.run()
    app.selectbox(key="township").set_value("西河镇").run()
    assert not app.exception
    m = _metrics(app)
    assert m["收件量"][0] == "0"
    assert m["办结量"][0] == "1"
    assert m["耕地面积"][0] == "500公顷"
    assert app.query_params["township"] == ["西河镇"] or app.query_params["township"] == "西河镇"


def test_language_switch_changes_labels(app):
    app.run()
    app.sidebar.radio[0].set_value("en").run()
    assert not app.exception
    m = _metrics(app)
    assert m["Cases received"] == ("5", "+3")
    assert m["Median throughput time"][0] == "2.0 workdays"     # short enough for a quarter-width card
    assert app.title[0].value == "Cockpit"


def test_empty_store_gives_guidance(engine, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert "landdesk demo" in at.info[0].value


def test_period_preset_and_comparison(app):
    """本月 sets the period to the month to date of the data end; 同比 compares with the same days a year
    earlier, and the cards' help and the caption say which comparison they show."""
    app.run()
    app.selectbox(key="preset").set_value("this_month").run()
    assert not app.exception
    start, end = app.date_input(key="period").value
    assert start == end.replace(day=1)
    assert app.query_params["preset"] in ("this_month", ["this_month"])
    assert any("环比对比" in c.value for c in app.caption)
    app.radio(key="compare").set_value("year").run()
    assert not app.exception
    assert any(f"同比对比上年同期 {start.replace(year=start.year - 1)}" in c.value for c in app.caption)
    assert all(m.proto.delta_description == "同比" for m in app.metric)
    app.date_input(key="period").set_value((start, start)).run()     # days picked by hand: custom
    assert app.selectbox(key="preset").value == "custom"
