"""Charts' text alternatives (dashboard.layout.alt_text): the title and each series' key number, in both languages."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.layout import alt_text


def test_a_time_series_says_its_latest_point():
    fig = go.Figure()
    weeks = pd.to_datetime(["2026-10-12", "2026-10-19", "2026-10-26"])
    fig.add_scatter(x=weeks, y=[50, 61, 62], name="收件")
    fig.add_scatter(x=weeks, y=[40, 52, np.nan], name="办结")
    fig.update_layout(title="每周收件与办结")
    assert alt_text(fig, "zh") == "图表「每周收件与办结」：收件 最近（2026-10-26）为 62；办结 最近（2026-10-19）为 52。"
    fig.update_layout(title="Weekly flow")
    assert alt_text(fig, "en").startswith("Chart “Weekly flow”: 收件 latest (2026-10-26): 62; ")


def test_a_category_bar_chart_says_its_largest_bar_and_large_numbers_in_wan():
    fig = go.Figure(go.Bar(x=[12000, 35000.5, 800], y=["城关镇", "东坪镇", "西河镇"], orientation="h", name="面积"))
    fig.update_layout(title="各镇面积")
    assert alt_text(fig, "zh") == "图表「各镇面积」：面积 最大为 东坪镇（3.50万）。"
    assert alt_text(go.Figure(layout={"title": "空"}), "zh") == "图表「空」：无数据。"
