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


# ---------- the briefing's charts follow the same rules (landdesk.chartlocale) ----------

def _briefing_chart(sample_store_url, lang: str, key: str):
    from briefing import build_briefing
    from etl.store import make_engine
    engine = make_engine(sample_store_url)
    try:
        briefing = build_briefing(engine, "2026-W43", lang)
    finally:
        engine.dispose()
    return next(c for c in briefing.charts if c.key == key)


@pytest.mark.parametrize("lang,day,month", [("zh", "%-m月%-d日", "%Y年%-m月"), ("en", "%-d %b", "%b %Y")])
def test_briefing_trend_chart_has_the_language_s_date_ticks(sample_store_url, lang, day, month):
    chart = _briefing_chart(sample_store_url, lang, "trend")
    axis = json.loads(chart.figure.to_json())["layout"]["xaxis"]
    assert {s["value"] for s in axis["tickformatstops"]} == {day, month}
    assert "tickformat" not in axis          # a fixed "%m-%d" would win over the language's formats


def test_briefing_trend_chart_ticks_read_in_chinese(sample_store_url):
    """The tick labels Plotly actually draws (the SVG's text, not its pixels) are 10月5日-style days in Chinese."""
    import asyncio
    import re

    from briefing.charts import browser_path
    try:
        import kaleido
    except ImportError:
        pytest.skip("kaleido is not installed")
    if browser_path() is None:
        pytest.skip("no Chromium for kaleido")
    import os
    os.environ.setdefault("BROWSER_PATH", browser_path())
    chart = _briefing_chart(sample_store_url, "zh", "trend")

    async def svg():
        async with kaleido.Kaleido(n=1) as k:
            return await k.calc_fig(chart.figure, opts=dict(format="svg", width=900, height=380))
    drawn = asyncio.run(svg()).decode("utf-8")
    ticks = re.findall(r'class="xtick"[^>]*>.*?<text[^>]*>([^<]*)</text>', drawn)
    assert ticks and all(re.fullmatch(r"(\d{4}年)?\d{1,2}月(\d{1,2}日)?", x) for x in ticks), ticks
    assert not any(re.search(r"[A-Z][a-z]{2}", x) for x in ticks), ticks
