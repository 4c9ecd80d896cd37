"""Charts follow the language (issue 15): date axes tick as 10月5日 / 2026年10月 in Chinese and 5 Oct / Oct 2026 in
English, with a hover label of the day; a Chinese value axis above ten thousand ticks in 万/亿 — checked on the
figure JSON the browser receives."""
import json

import pandas as pd
import pytest

from dashboard import charts
from landdesk.fmt import fmt_axis_number


def _weekly(values):
    return pd.DataFrame({"week": pd.date_range("2026-08-03", periods=len(values), freq="7D"), "n": values})


@pytest.mark.parametrize("lang,day,month,hover", [("zh", "%-m月%-d日", "%Y年%-m月", "%Y年%-m月%-d日"),
                                                  ("en", "%-d %b", "%b %Y", "%-d %b %Y")])
def test_date_axes_follow_the_language(lang, day, month, hover):
    fig = charts.lines(_weekly([3, 5, 4]), "week", {"n": "n"}, "t", "x", "y")
    axis = json.loads(charts.localize(fig, lang).to_json())["layout"]["xaxis"]
    stops = {s["value"] for s in axis["tickformatstops"]}
    assert stops == {day, month} and axis["hoverformat"] == hover


def test_a_category_axis_is_left_alone():
    fig = charts.bar(pd.DataFrame({"k": ["城关镇", "东坪镇"], "v": [1, 2]}), "k", "v", "t", "x", "y")
    axis = json.loads(charts.localize(fig, "zh").to_json())["layout"]["xaxis"]
    assert "tickformatstops" not in axis


def test_large_values_tick_in_wan_in_chinese_only():
    df = _weekly([12_000, 35_000, 81_570])
    zh = json.loads(charts.localize(charts.lines(df, "week", {"n": "n"}, "t", "x", "y"), "zh").to_json())
    en = json.loads(charts.localize(charts.lines(df, "week", {"n": "n"}, "t", "x", "y"), "en").to_json())
    ticks = zh["layout"]["yaxis"]["ticktext"]
    assert "2万" in ticks and "8万" in ticks and all(t == "0" or t.endswith("万") for t in ticks), ticks
    assert "ticktext" not in en["layout"]["yaxis"]


def test_axis_numbers():
    assert fmt_axis_number(25_000, "zh") == "2.5万"
    assert fmt_axis_number(300_000_000, "zh") == "3亿"
    assert fmt_axis_number(25_000, "en") == "25,000"
    assert fmt_axis_number(float("nan"), "zh") == "—"
