"""Named periods and the two comparisons (环比 / 同比): the ranges, the baselines, the URL, the CLI and the page."""
import datetime as dt

import pytest
from hypothesis import given, strategies as st

from analytics.periods import (PRESETS, baseline_range, matching_preset, preset_range, shift_unit, unit_end,
                               unit_start)
from analytics.scope import Scope
from dashboard import params

D = dt.date


@pytest.mark.parametrize("preset, anchor, expected", [
    ("this_week", D(2026, 11, 18), (D(2026, 11, 16), D(2026, 11, 18))),      # a Wednesday: Monday to date
    ("last_week", D(2026, 11, 18), (D(2026, 11, 9), D(2026, 11, 15))),
    ("this_month", D(2026, 11, 18), (D(2026, 11, 1), D(2026, 11, 18))),
    ("last_month", D(2026, 3, 10), (D(2026, 2, 1), D(2026, 2, 28))),
    ("last_month", D(2026, 1, 5), (D(2025, 12, 1), D(2025, 12, 31))),       # across the year
    ("this_quarter", D(2026, 8, 20), (D(2026, 7, 1), D(2026, 8, 20))),
    ("ytd", D(2026, 8, 20), (D(2026, 1, 1), D(2026, 8, 20))),
    ("recent", D(2026, 8, 30), (D(2026, 8, 1), D(2026, 8, 30))),
])
def test_preset_ranges(preset, anchor, expected):
    assert preset_range(preset, anchor) == expected


@pytest.mark.parametrize("start, end, compare, grain, expected", [
    # 环比 of month to date: the same days of the month before; of a whole month: the whole month before
    (D(2026, 11, 1), D(2026, 11, 18), "previous", "month", (D(2026, 10, 1), D(2026, 10, 18))),
    (D(2026, 3, 1), D(2026, 3, 31), "previous", "month", (D(2026, 2, 1), D(2026, 2, 28))),
    (D(2026, 3, 1), D(2026, 3, 30), "previous", "month", (D(2026, 2, 1), D(2026, 2, 28))),   # clipped to Feb
    (D(2026, 11, 16), D(2026, 11, 18), "previous", "week", (D(2026, 11, 9), D(2026, 11, 11))),
    (D(2026, 7, 1), D(2026, 8, 20), "previous", "quarter", (D(2026, 4, 1), D(2026, 5, 21))),
    (D(2026, 1, 1), D(2026, 8, 20), "previous", "year", (D(2025, 1, 1), D(2025, 8, 20))),
    # a free range: the same number of days just before
    (D(2026, 11, 5), D(2026, 11, 18), "previous", "", (D(2026, 10, 22), D(2026, 11, 4))),
    # 同比: the same dates a year earlier, 29 Feb → 28 Feb
    (D(2024, 2, 1), D(2024, 2, 29), "year", "month", (D(2023, 2, 1), D(2023, 2, 28))),
    (D(2026, 11, 16), D(2026, 11, 18), "year", "week", (D(2025, 11, 16), D(2025, 11, 18))),
])
def test_baselines(start, end, compare, grain, expected):
    assert baseline_range(start, end, compare, grain) == expected
    base = Scope(start, end, compare=compare, grain=grain, township="t1").baseline()
    assert (base.start, base.end, base.township) == (*expected, "t1")


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)),
       st.sampled_from([p for p in PRESETS if p != "custom"]))
def test_every_preset_is_a_valid_range_with_a_baseline_before_it(anchor, preset):
    start, end = preset_range(preset, anchor)
    assert start <= end <= anchor
    grain = {"this_week": "week", "last_week": "week", "this_month": "month", "last_month": "month",
             "this_quarter": "quarter", "ytd": "year"}.get(preset, "")
    b_start, b_end = baseline_range(start, end, "previous", grain)
    assert b_start <= b_end < start                        # the baseline lies wholly before the period
    if grain and end == unit_end(start, grain):            # a whole unit against the whole unit before
        assert (b_start, b_end) == (unit_start(start - dt.timedelta(days=1), grain), start - dt.timedelta(days=1))
    else:                                                  # part of one: never longer than the period
        assert (b_end - b_start) <= (end - start)
    assert matching_preset(start, end, anchor) in PRESETS
    y_start, y_end = baseline_range(start, end, "year")
    assert y_start.year == start.year - 1 and y_start <= y_end


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)),
       st.sampled_from(["week", "month", "quarter", "year"]))
def test_units_tile_the_calendar(day, grain):
    start = unit_start(day, grain)
    assert start <= day <= unit_end(day, grain)
    assert unit_end(day, grain) + dt.timedelta(days=1) == shift_unit(start, grain, 1)


def test_scope_refuses_an_unknown_comparison():
    with pytest.raises(ValueError, match="comparison"):
        Scope(D(2026, 1, 1), D(2026, 1, 31), compare="mom")


def test_url_preset_parsing():
    assert params.parse_preset({}) == ("recent", None)
    assert params.parse_preset({"from": "2026-01-01"}) == ("custom", None)
    assert params.parse_preset({"preset": "ytd", "from": "2026-01-01"}) == ("ytd", None)
    preset, fix = params.parse_preset({"preset": "本月<script>"})
    assert preset == "recent" and fix is not None and fix.param == "preset"


def test_kpis_follow_the_chosen_comparison(sample_store_url):
    """kpis' `previous` is the baseline's value: 同比 reads the same days a year earlier, 环比 of month to date the
    same days of the month before — on the sample county through the export registry."""
    from analytics.coverage import data_end
    from analytics.exports import run_export
    from etl.store import make_engine
    engine = make_engine(sample_store_url)
    with engine.connect() as conn:
        end = data_end(conn)
    start, _ = preset_range("this_month", end)
    mom = run_export(engine, "kpis", Scope(start, end, compare="previous", grain="month")).set_index("kpi")
    yoy = run_export(engine, "kpis", Scope(start, end, compare="year", grain="month")).set_index("kpi")
    ly = run_export(engine, "kpis", Scope(*baseline_range(start, end, "year"))).set_index("kpi")
    pm = run_export(engine, "kpis", Scope(*baseline_range(start, end, "previous", "month"))).set_index("kpi")
    assert ly.loc["cases_received", "value"] > 0 and pm.loc["cases_received", "value"] > 0
    assert yoy.loc["cases_received", "previous"] == ly.loc["cases_received", "value"]
    assert mom.loc["cases_received", "previous"] == pm.loc["cases_received", "value"]
    assert yoy.loc["cases_received", "baseline_start"] == baseline_range(start, end, "year")[0].isoformat()
    assert (yoy["compare"] == "year").all() and (mom["compare"] == "previous").all()


def test_an_empty_period_points_to_where_the_data_are(tmp_path, monkeypatch):
    """A store whose petitions end years after its stage events: the bottlenecks page's default period holds no
    events; the page says when the events are and one click shows their last 30 days."""
    from streamlit.testing.v1 import AppTest
    from sqlalchemy import insert

    from etl.schema import case_events, cases, petitions
    from etl.store import make_engine, upgrade
    url = f"sqlite:///{(tmp_path / 'mixed.db').as_posix()}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(cases), [{"case_id": "c1", "system": "default", "case_type": "t", "department": "d",
                                      "township": "x", "channel": "online", "status": "closed",
                                      "received_at": dt.datetime(2011, 3, 1, 2), "closed_at": dt.datetime(2011, 3, 9, 2)}])
        conn.execute(insert(case_events), [
            {"case_id": "c1", "system": "default", "seq": i, "stage": s, "completed_at": dt.datetime(2011, 3, d, 2)}
            for i, (s, d) in enumerate([("收件", 1), ("审核", 4), ("办结", 9)])])
        conn.execute(insert(petitions), [{"petition_id": "p1", "system": "default", "topic": "t", "township": "x",
                                          "channel": "online", "received_at": dt.datetime(2018, 10, 14, 2)}])
    monkeypatch.setenv("LANDDESK_DATABASE_URL", url)
    app = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
    at = AppTest.from_file(app, default_timeout=90)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page(str(__import__("pathlib").Path(app).parent.parent / "pages" / "bottlenecks.py")).run()
    assert not at.exception
    assert any("completed from 2011-03-01 to 2011-03-09" in c.value for c in at.caption)
    show = [b for b in at.button if b.label.startswith("Show 2011-03-01 to 2011-03-09")]
    assert show, [b.label for b in at.button]
    show[0].click().run()
    assert not at.exception
    assert at.date_input(key="period").value == (D(2011, 3, 1), D(2011, 3, 9))
    assert not any("completed from" in c.value for c in at.caption)     # the page has events now
