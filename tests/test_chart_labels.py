"""Data values in chart labels are literal text (issue 16): Plotly draws a subset of HTML (<b>, <br>, <a href>) in
tick labels, hover text, legends and node labels, so a stage, township or topic name must be escaped once."""
from __future__ import annotations

import json

import pandas as pd

from briefing.charts import bar_figure
from dashboard import charts
from dashboard.ui import selected_points
from landdesk.fmt import chart_text

EVIL = '<a href="http://x">x</a><b>'
SAFE = '&lt;a href="http://x"&gt;x&lt;/a&gt;&lt;b&gt;'


def _strings(fig) -> list[str]:
    out = []

    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(json.loads(fig.to_json()))
    return out


def _literal(fig) -> None:
    text = _strings(fig)
    assert not any("<a " in s or "<b>" in s or "</a>" in s for s in text), [s for s in text if "<a" in s]
    assert any(SAFE in s for s in text)


def test_a_stage_named_like_markup_is_literal_text_in_every_chart():
    df = pd.DataFrame({"stage": [EVIL, "审查 & 审核"], "n": [3.0, 5.0], "m": [1.0, 2.0], "week": ["W1", "W1"]})
    _literal(charts.bar(df, "stage", "n", "t", "x", "y"))
    _literal(charts.bar(df, "stage", "n", "t", "x", "y", horizontal=True))
    _literal(charts.grouped_bars(df, "stage", {"n": "N", "m": "M"}, "t", "x", "y"))
    _literal(charts.lines(df, "stage", {"n": "N"}, "t", "x", "y"))
    _literal(charts.long_lines(df, "week", "n", "stage", "t", "x", "y"))
    _literal(charts.heatmap(df, "week", "stage", "n", "t", "x", "y", "z"))
    _literal(charts.stacked_share(df, "week", "stage", "n", "t", "x", "y"))
    _literal(charts.sankey(df.assign(to="水田"), "stage", "to", "n", "t", "area"))
    from dashboard.dotmap import quote            # the process map is Graphviz DOT now: a quoted label is text,
    q = quote(EVIL + '"]; x [label=<<b>y</b>>')   # and a quote in the data cannot close it
    assert q.startswith('"') and q.endswith('"') and '"' not in q[1:-1].replace('\\"', "")
    _literal(bar_figure([EVIL, "ok"], [2.0, 1.0], "t", "v"))
    box = pd.DataFrame({"g": [EVIL], "q1": [1.0], "median": [2.0], "q3": [3.0], "lower_fence": [0.0],
                        "upper_fence": [4.0], "mean": [2.0]})
    _literal(charts.box(box, "g", "t", "x", "y"))


def test_a_name_with_a_template_placeholder_is_not_substituted():
    """stacked_share's hover names the series through Plotly's own field, not by pasting the data into the template."""
    df = pd.DataFrame({"township": ["东山镇"], "cat": ["%{x}"], "area": [1.0]})
    fig = charts.stacked_share(df, "township", "cat", "area", "t", "x", "y")
    assert "%{x}" not in fig.data[0].hovertemplate.split("<br>")[0] and fig.data[0].name == "%{x}"


def test_escaping_is_done_once_and_picked_points_come_back_as_data():
    assert chart_text(EVIL) == SAFE
    assert chart_text(["&amp;", 3]) == ["&amp;amp;", 3]
    escaped = chart_text(pd.Series([EVIL, None, 2.5], dtype=object))
    assert escaped.iloc[0] == SAFE and pd.isna(escaped.iloc[1]) and escaped.iloc[2] == 2.5
    event = {"selection": {"points": [{"y": SAFE}, {"y": "&amp;lt;"}, {"y": 7}]}}
    assert selected_points(event, "y") == [EVIL, "&lt;", 7]
