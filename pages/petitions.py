"""信访 — petitions: volume by topic, channel and township; timeliness and satisfaction; repeat petitioners
(counts only); countdowns to the legal limits; topics discovered in summaries and spikes when available."""
import pandas as pd
import streamlit as st

from analytics.petitions import NEAR_LIMIT_DAYS, near_limit
from dashboard import charts, data, maps
from landdesk.fmt import fmt_count, fmt_rate
from dashboard.ui import (auto_cols, chart, cols, guidance, label_value, page_header, period_caption,
                          section_failed, table, tr, views)


page = page_header("page_petitions")
key, status, scope = page.key, page.status, page.scope
period_caption(scope)

if not data.dataset_rows(key)["petitions"]:
    guidance("no_petitions_loaded")
    st.stop()
overall = page.export("petitions")
countdown = page.export("petition-countdown")
row = overall.iloc[0] if len(overall) else None
if row is None or not row["received"] and countdown.empty:
    guidance("no_petitions_period")
    st.stop()

near = near_limit(countdown)
cards = [("pet_received", fmt_count(row["received"])),
         ("pet_timely_acceptance_rate", fmt_rate(row["timely_acceptance_rate"])),
         ("pet_reply_on_time_rate", fmt_rate(row["reply_on_time_rate"])),
         ("pet_satisfaction_rate", fmt_rate(row["satisfaction_rate"])),
         ("pet_participation_rate", fmt_rate(row["participation_rate"])),
         ("pet_repeat_petitions", fmt_count(row["repeat_petitions"])),
         ("pet_repeat_petitioners", fmt_count(row["repeat_petitioners"])),
         ("pet_near_limit", fmt_count(len(near)))]
for chunk in (cards[:4], cards[4:]):
    for col, (label, value) in zip(st.columns(4), chunk):
        with col, st.container(border=True):
            st.metric(tr(label), value, help=tr(label + "_help"))


def by_dimension(dim: str) -> pd.DataFrame:
    df = page.export("petitions", by=dim)
    df = df[df["received"] > 0].sort_values("received", ascending=False)
    return df.assign(label=[label_value("channel" if dim == "channel" else dim, v) for v in df[dim]])


def volume() -> None:
    """Petitions received by topic, channel and township."""
    st.subheader(tr("pet_volume"))
    left, right = st.columns(2)
    for dim, where in (("topic", left), ("channel", right), ("township", None)):
        df = by_dimension(dim)
        with where if where is not None else st.container():
            if df.empty:
                guidance("no_petitions_period")
                continue
            fig = charts.bar(df, "label", "received", tr("pet_chart_volume", dim=tr(dim)), tr(dim),
                             f"{tr('pet_count')} ({tr('unit_items')})", horizontal=where is not None,
                             color=charts.PALETTE[["topic", "channel", "township"].index(dim)], height=360)
            chart(fig, tr("pet_chart_volume_help", dim=tr(dim)), key=f"pet_vol_{dim}")
    maps.petitions_map(page)


def timeliness() -> None:
    """Acceptance, reply and satisfaction rates per group, and the weekly volume by topic."""
    st.subheader(tr("pet_timeliness"))
    by = st.segmented_control(tr("group_by"), ("topic", "channel", "township"), key="pet_by", default="topic",
                              required=True, format_func=tr) or "topic"
    groups = by_dimension(by)
    if not groups.empty:
        fig = charts.grouped_bars(groups, "label", {"timely_acceptance_rate": tr("pet_timely_acceptance_rate"),
                                                    "reply_on_time_rate": tr("pet_reply_on_time_rate"),
                                                    "satisfaction_rate": tr("pet_satisfaction_rate")},
                                  tr("pet_chart_rates", dim=tr(by)), tr(by), tr("rate_pct"), percent=True, height=380)
        chart(fig, tr("pet_chart_rates_help"), key="pet_rates")
        table(groups.drop(columns=["label", "period_start", "period_end"]), f"petitions-{by}",
              cols(by, "received", "accepted", "timely_acceptance_rate", "replied", "reply_on_time_rate", "concluded",
                   "answered", "participation_rate", "satisfaction_rate", "repeat_petitions", "repeat_petitioners"))
    trend = page.export("petition-trend")
    if not trend.empty and len(trend["week"].unique()) > 1:
        fig = charts.long_lines(trend, "week", "petitions", "topic", tr("pet_chart_trend"), tr("week"),
                                f"{tr('pet_count')} ({tr('unit_items')})", stacked=True, height=360)
        chart(fig, tr("pet_chart_trend_help"), key="pet_trend")


def countdowns() -> None:
    """Open petitions and the working days left to their legal limits, the most urgent first."""
    st.subheader(tr("pet_countdown"))
    st.caption(tr("pet_countdown_help", end=scope.end, n=NEAR_LIMIT_DAYS))
    only_near = st.toggle(tr("pet_only_near", n=NEAR_LIMIT_DAYS), value=True, key="pet_only_near")
    listed = near if only_near else countdown
    listed = listed.assign(channel=[label_value("channel", v) for v in listed["channel"]])
    table(listed, "petition-countdown", cols("petition_id", "received_at", "channel", "topic", "township",
                                             "department", "extended", "days_left_accept", "days_left_reply",
                                             "days_left", "overdue", "summary"), height=300)


def topics_and_spikes() -> None:
    """Topics discovered in the summaries and unusual weekly spikes, when those analyses are installed."""
    st.subheader(tr("pet_topics_spikes"))
    for name in ("petition-topics", "petition-spikes"):
        df, error = page.try_export(name)
        if error:
            section_failed(tr("export_" + name), error)
        elif df.empty:
            guidance("pet_none_" + name)
        else:
            st.markdown(f"**{tr('export_' + name)}**")
            table(df, name, auto_cols(df), height=260)


views("petitions", [("pet_tab_volume", volume), ("pet_tab_timeliness", timeliness),
                   ("pet_tab_countdown", countdowns), ("pet_tab_topics", topics_and_spikes)])
