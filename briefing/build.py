"""Assemble one week's briefing (周报) from the analytics exports.

Every number comes from an analytics export read by name through the service layer (`service.results.read`) —
the same functions behind `landdesk export` and the dashboard pages; the petition hot spots are the
`petition-spikes` export's spikes of the week (the petitions page's definition). Sections whose data the store
lacks say so instead of failing. Narrative sentences are filled from templates in the translation catalogues
(`landdesk.i18n`); each cites only numbers that stand in one of the briefing's tables.
"""
from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import dataclass, field, replace

import pandas as pd
from sqlalchemy.engine import Engine

from analytics.petitions import near_limit
from analytics.scope import Scope
from briefing import charts as ch
from service import results
from briefing.model import Briefing, Chart, Section, Sentence, Table
from briefing.numbering import number_briefing
from briefing.weeks import data_range, default_week, parse_week, week_bounds, week_label
from landdesk.i18n import LANGS, bureau_name, t
from landdesk.fmt import fmt_count, fmt_day, fmt_day_range, fmt_model, fmt_number, fmt_rate, missing
from landdesk.kpispec import KPI_SPEC, fmt_change, fmt_change_pct, fmt_kpi
from landdesk.errors import LandDeskError
from landdesk.settings import settings

#: KPIs compared week on week in the "largest movers" sentence (cultivated land changes yearly).
MOVER_KPIS = ("cases_received", "cases_closed", "on_time_rate", "median_throughput", "backlog", "overdue",
              "online_rate", "good_rating_rate", "petitions_received", "petition_reply_on_time_rate")
MOVER_MIN_REL = 0.05          # a mover changes by at least 5 % of its previous value
MOVERS = 3
TREND_WEEKS = 12              # weeks in the arrivals/completions chart
BOTTLENECK_WEEKS = 4          # window of the bottleneck ranking (a single week has too few events)
BOTTLENECK_ROWS, BOTTLENECK_BARS = 5, 8
FORECAST_HORIZON, FORECAST_MIN_WEEKS, FORECAST_HISTORY_WEEKS = 4, 12, 156
OVERDUE_ROWS = 30
PETITION_ROWS = 20            # petitions near their legal limit listed (analytics.petitions.near_limit)
LAND_WARN_YEARS = 5           # cultivated land projected to fall below its target within 5 years
NUMERALS = {"zh": {4: "四", 8: "八", 12: "十二"}, "en": {4: "four", 8: "eight", 12: "twelve"}}


def fmt_kpi_change(code: str, change, lang: str) -> str:
    """A KPI's change in a briefing table: landdesk.kpispec.fmt_change, a dash when there is nothing to compare."""
    return fmt_change(code, change, lang) or "—"


def fmt_kpi_change_pct(code: str, change, change_pct, lang: str) -> str:
    """A KPI's 同比/环比 in a briefing table: the change and its rate (landdesk.kpispec.fmt_change_pct), or a dash."""
    return fmt_change_pct(code, change, change_pct, lang) or "—"


# ---------- context ----------

@dataclass
class _Ctx:
    engine: Engine
    lang: str
    week: str
    start: dt.date
    end: dt.date
    first: dt.date | None            # first day with data in the store
    last: dt.date | None             # last day with data
    principal: object = None         # who the briefing is for (service.auth.Principal; None: the whole county)
    warnings: list[str] = field(default_factory=list)

    @property
    def scope(self) -> Scope:
        return Scope(self.start, self.end)

    def tr(self, key: str, **fmt) -> str:
        return t(key, self.lang, **fmt)

    def read(self, name: str, scope: Scope, unit: str = "workdays", by: str | None = None) -> pd.DataFrame:
        """An export as the briefing's reader may see it (the briefing as a whole is audited, not each read)."""
        return results.read(self.engine, name, scope, unit, by, principal=self.principal, audited=False)

    def n(self, k: int) -> str:
        """A small constant in words (keeps digits out of sentences that must cite table numbers only)."""
        return NUMERALS[self.lang].get(k, str(k))

    def covered(self, start: dt.date, end: dt.date) -> bool:
        """Whether the data reach into [start, end] at all."""
        return self.first is not None and self.last is not None and start <= self.last and end >= self.first


def _safe(ctx: _Ctx, key: str, build):
    """Run a section builder; an unexpected failure becomes a note in the section, not a lost briefing."""
    try:
        return build(ctx)
    except LandDeskError:
        raise
    except Exception as exc:  # noqa: BLE001 — reported in the briefing and on stderr
        msg = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        print(f"landdesk briefing: section {key} could not be computed: {msg}", file=sys.stderr)
        ctx.warnings.append(f"{key}: {msg}")
        return Section(key, ctx.tr(f"brief_sec_{key}"), intro=[ctx.tr("brief_section_failed", error=msg)]), []


# ---------- KPI table ----------

def _kpi_rows(ctx: _Ctx) -> pd.DataFrame:
    """The kpis export of the week twice: compared with the week before (环比, Scope.compare "previous" on the
    week grain) and with the same days a year earlier (同比, "year") — values, changes, change rates and the
    comparison periods all as the export computes them (no second change formula here)."""
    week = Scope(ctx.start, ctx.end, grain="week")
    mom = ctx.read("kpis", week).set_index("kpi")
    yoy = ctx.read("kpis", replace(week, compare="year")).set_index("kpi")
    df = mom.copy()
    df["year_before"], df["change_yoy"], df["change_yoy_pct"] = yoy["previous"], yoy["change"], yoy["change_pct"]
    df.attrs["baselines"] = {
        "pstart": mom["baseline_start"].iloc[0], "pend": mom["baseline_end"].iloc[0],
        "ly_start": yoy["baseline_start"].iloc[0], "ly_end": yoy["baseline_end"].iloc[0]}
    return df


def _kpi_table(ctx: _Ctx, df: pd.DataFrame) -> Table:
    lang = ctx.lang
    rows, status = [], []
    for code in KPI_SPEC:
        r = df.loc[code]
        st = r["status"] or ""
        rows.append([
            ctx.tr(f"kpi_{code}"), fmt_kpi(code, r["value"], lang), fmt_kpi(code, r["previous"], lang),
            fmt_kpi_change_pct(code, r["change"], r["change_pct"], lang), fmt_kpi(code, r["year_before"], lang),
            fmt_kpi_change_pct(code, r["change_yoy"], r["change_yoy_pct"], lang),
            fmt_kpi(code, r["target"], lang) if not missing(r["target"]) else ctx.tr("no_target"),
            ctx.tr(f"status_{st}") if st else "—",
        ])
        status.append(st)
    cols = [ctx.tr(k) for k in ("col_kpi", "brief_col_week", "brief_col_prev_week", "brief_col_change_week",
                                "brief_col_last_year", "brief_col_change_year", "col_target", "col_status")]
    note = ctx.tr("brief_kpi_note", **df.attrs["baselines"])
    return Table("kpis", ctx.tr("brief_sec_kpis"), cols, rows, note=note, status=status,
                 numeric=[False] + [True] * 6 + [False])


def _kpi_sentences(ctx: _Ctx, df: pd.DataFrame) -> list[Sentence]:
    lang, out = ctx.lang, []
    v = df["value"]
    f = lambda code, col="value": fmt_kpi(code, df.loc[code, col], lang)  # noqa: E731
    if v["cases_received"] == 0 and v["cases_closed"] == 0 and v["petitions_received"] == 0:
        return [Sentence(ctx.tr("brief_s_no_activity"), level="warning")]
    nums = [f("cases_received"), f("cases_closed"), f("backlog"), f("overdue")]
    out.append(Sentence(ctx.tr("brief_s_headline", received=nums[0], closed=nums[1], backlog=nums[2],
                               overdue=nums[3]), nums))
    if not missing(df.loc["cases_received", "year_before"]):
        ly = f("cases_received", "year_before")
        if df.loc["cases_received", "change_yoy"] == 0:
            out.append(Sentence(ctx.tr("brief_s_yoy_same", year_before=ly), [ly]))
        else:
            yoy = fmt_kpi_change_pct("cases_received", df.loc["cases_received", "change_yoy"],
                                     df.loc["cases_received", "change_yoy_pct"], lang)
            out.append(Sentence(ctx.tr("brief_s_yoy", year_before=ly, change=yoy), [ly, yoy]))
    # largest movers against the previous week
    movers = []
    for code in MOVER_KPIS:
        now, prev = df.loc[code, "value"], df.loc[code, "previous"]
        if missing(now) or missing(prev) or now == prev:
            continue
        rel = abs(now - prev) / abs(prev) if prev else math.inf
        if rel >= MOVER_MIN_REL:
            movers.append((rel, code))
    movers.sort(key=lambda x: (-x[0], list(KPI_SPEC).index(x[1])))
    parts, cited = [], []
    for _rel, code in movers[:MOVERS]:
        direction = KPI_SPEC[code].direction
        delta = df.loc[code, "change"]
        judgement = "" if direction == 0 else ctx.tr("brief_better" if delta * direction > 0 else "brief_worse")
        vals = [f(code), f(code, "previous"), fmt_kpi_change_pct(code, delta, df.loc[code, "change_pct"], lang)]
        parts.append(ctx.tr("brief_mover", kpi=ctx.tr(f"kpi_{code}"), value=vals[0], previous=vals[1],
                            change=vals[2], judgement=judgement))
        cited += vals
    if parts:
        out.append(Sentence(ctx.tr("brief_s_movers", movers=ctx.tr("brief_list_sep").join(parts)), cited))
    elif not missing(df.loc["cases_received", "previous"]):
        out.append(Sentence(ctx.tr("brief_s_no_movers")))
    # targets
    missed = [code for code in KPI_SPEC if df.loc[code, "status"] in ("red", "amber")]
    met = [code for code in KPI_SPEC if df.loc[code, "status"] == "green"]
    if missed:
        parts, cited = [], []
        for code in missed:
            vals = [f(code), f(code, "target")]
            parts.append(ctx.tr("brief_missed_item", kpi=ctx.tr(f"kpi_{code}"), value=vals[0], target=vals[1]))
            cited += vals
        out.append(Sentence(ctx.tr("brief_s_missed", items=ctx.tr("brief_list_sep").join(parts)), cited,
                            level="warning"))
    if met:
        out.append(Sentence(ctx.tr("brief_s_met", items=ctx.tr("brief_name_sep").join(
            ctx.tr(f"kpi_{c}") for c in met))))
    # backlog building up
    if not missing(df.loc["backlog", "change"]) and df.loc["backlog", "change"] > 0 and v["cases_received"] > v["cases_closed"]:
        vals = [fmt_kpi_change("backlog", df.loc["backlog", "change"], lang).lstrip("+"), f("backlog")]
        out.append(Sentence(ctx.tr("brief_s_backlog_up", change=vals[0], backlog=vals[1]), vals, level="warning"))
    return out


# ---------- sections ----------

def _flow_section(ctx: _Ctx):
    """Arrivals and completions per week: the cockpit's trend chart and the last four weeks as a table."""
    sec = Section("flow", ctx.tr("brief_sec_flow"))
    start = ctx.start - dt.timedelta(weeks=TREND_WEEKS - 1)
    flow = ctx.read("weekly-flow", Scope(start, ctx.end))
    if not ctx.covered(start, ctx.end):
        sec.intro.append(ctx.tr("brief_no_cases"))
        return sec, []
    labels = {"received": ctx.tr("received"), "closed": ctx.tr("closed"), "week": ctx.tr("week"),
              "count": f"{ctx.tr('count_cases')} ({ctx.tr('unit_cases')})"}
    sec.charts.append(Chart("trend", ctx.tr("brief_chart_trend", n=ctx.n(TREND_WEEKS)),
                            ch.trend_figure(flow, labels, ctx.tr("brief_chart_trend", n=ctx.n(TREND_WEEKS)),
                                            lang=ctx.lang)))
    recent = flow.tail(BOTTLENECK_WEEKS)
    cols = [ctx.tr("week"), ctx.tr("received"), ctx.tr("closed"), ctx.tr("brief_col_net")]
    has_backlog = "backlog" in recent.columns
    if has_backlog:
        cols.append(ctx.tr("brief_col_backlog_end"))
    rows = []
    for _, r in recent.iterrows():
        monday = pd.Timestamp(r["week"]).date()
        iso = monday.isocalendar()
        row = [f"{week_label(iso.year, iso.week)} ({monday:%m-%d})", fmt_count(r["received"], ctx.lang),
               fmt_count(r["closed"], ctx.lang), f"{int(r['received']) - int(r['closed']):+d}"]
        if has_backlog:
            row.append(fmt_count(r["backlog"], ctx.lang))
        rows.append(row)
    sec.tables.append(Table("flow", ctx.tr("brief_tbl_flow", n=ctx.n(BOTTLENECK_WEEKS)), cols, rows,
                            numeric=[False] + [True] * (len(cols) - 1)))
    return sec, []


def _bottleneck_section(ctx: _Ctx):
    sec = Section("bottlenecks", ctx.tr("brief_sec_bottlenecks"))
    start = ctx.end - dt.timedelta(weeks=BOTTLENECK_WEEKS) + dt.timedelta(days=1)
    bn = ctx.read("bottlenecks", Scope(start, ctx.end))
    sec.intro.append(ctx.tr("brief_bottleneck_scope", n=ctx.n(BOTTLENECK_WEEKS), start=start, end=ctx.end))
    bn = bn[bn["impact_total"] > 0] if len(bn) else bn
    if bn.empty:
        sec.intro.append(ctx.tr("brief_no_events"))
        return sec, []
    unit = ctx.tr("unit_workdays")
    cols = [ctx.tr("brief_col_rank"), ctx.tr("brief_col_stage"), ctx.tr("brief_col_events"),
            ctx.tr("brief_col_median", unit=unit), ctx.tr("brief_col_p25", unit=unit),
            ctx.tr("brief_col_impact", unit=unit)]
    rows = []
    for _, r in bn.head(BOTTLENECK_ROWS).iterrows():
        rows.append([str(int(r["rank"])), str(r["stage"]), fmt_count(r["count"], ctx.lang), fmt_number(r["median"]),
                     fmt_number(r["p25"]), fmt_number(r["impact_total"])])
    sec.tables.append(Table("bottlenecks", ctx.tr("brief_tbl_bottlenecks"), cols, rows,
                            numeric=[True, False, True, True, True, True]))
    top = bn.head(BOTTLENECK_BARS)
    title = ctx.tr("brief_chart_bottlenecks", n=ctx.n(BOTTLENECK_WEEKS))
    sec.charts.append(Chart("bottlenecks", title, ch.bar_figure(
        [str(s) for s in top["stage"]], [round(float(x), 1) for x in top["impact_total"]], title,
        ctx.tr("brief_col_impact", unit=unit), height=max(260, 60 + 36 * len(top)), lang=ctx.lang)))
    first = bn.iloc[0]
    vals = [str(first["stage"]), fmt_count(first["count"], ctx.lang), fmt_number(first["median"]),
            fmt_number(first["impact_total"])]
    return sec, [Sentence(ctx.tr("brief_s_bottleneck", n=ctx.n(BOTTLENECK_WEEKS), stage=vals[0], count=vals[1],
                                 median=vals[2], impact=vals[3]), vals[1:])]


def _petitions_in_store(ctx: _Ctx) -> bool:
    """Whether the store holds any petition (the petition-trend export over the whole data range)."""
    if ctx.first is None or ctx.last is None:
        return False
    trend = ctx.read("petition-trend", Scope(ctx.first, ctx.last))
    return bool(len(trend)) and int(trend["petitions"].sum()) > 0


def _week_counts(ctx: _Ctx, scope: Scope, by: str) -> pd.Series:
    """Petitions received in `scope` per `by` value (topic | township), most first, zeros left out: the
    petitions export's counts."""
    return _export_counts(ctx, scope, by)


def _spikes(ctx: _Ctx) -> pd.DataFrame:
    """This week's petition spikes (topic × township) from the petition-spikes export — the one spike
    definition, the petitions page's — most petitions first."""
    sp = ctx.read("petition-spikes", ctx.scope)
    unknown = ctx.tr("brief_unknown")
    sp = sp.assign(township=sp["township"].replace("(unknown)", unknown).astype(str),
                   topic=sp["topic"].replace("(unknown)", unknown).astype(str))
    return sp.sort_values(["count", "township", "topic"], ascending=[False, True, True], kind="stable")


def _petition_section(ctx: _Ctx):
    sec = Section("petitions", ctx.tr("brief_sec_petitions"))
    if not _petitions_in_store(ctx):
        sec.intro.append(ctx.tr("brief_no_petition_data"))
        return sec, [Sentence(ctx.tr("brief_no_petition_data"), level="warning")]
    by_topic = _week_counts(ctx, ctx.scope, "topic")
    if by_topic.empty:
        sec.intro.append(ctx.tr("brief_no_petitions_week"))
        return sec, [Sentence(ctx.tr("brief_no_petitions_week"))]
    lang = ctx.lang
    prev_topic = _week_counts(ctx, Scope(ctx.start - dt.timedelta(days=7), ctx.start - dt.timedelta(days=1)), "topic")
    rows = []
    for topic, n in by_topic.items():
        p = int(prev_topic.get(topic, 0))
        rows.append([topic, fmt_count(n, lang), fmt_count(p, lang), f"{int(n) - p:+d}"])
    cols = [ctx.tr("brief_col_topic"), ctx.tr("brief_col_week"), ctx.tr("brief_col_prev_week"),
            ctx.tr("brief_col_change_week")]
    sec.tables.append(Table("petition_topics", ctx.tr("brief_tbl_petition_topics"), cols, rows,
                            numeric=[False, True, True, True]))
    title = ctx.tr("brief_chart_petitions")
    sec.charts.append(Chart("petitions", title, ch.bar_figure(
        list(by_topic.index), [int(x) for x in by_topic.values], title, ctx.tr("brief_col_count"),
        height=max(260, 60 + 36 * len(by_topic)), lang=ctx.lang)))
    by_town = _week_counts(ctx, ctx.scope, "township")
    sentences = []
    if len(by_town):
        sec.tables.append(Table("petition_townships", ctx.tr("brief_tbl_petition_townships"),
                                [ctx.tr("township"), ctx.tr("brief_col_week")],
                                [[town, fmt_count(n, lang)] for town, n in by_town.head(5).items()],
                                numeric=[False, True]))
        top_topic, top_n = by_topic.index[0], int(by_topic.iloc[0])
        top_town, town_n = by_town.index[0], int(by_town.iloc[0])
        vals = [fmt_count(int(by_topic.sum()), lang), fmt_count(top_n, lang), fmt_count(town_n, lang)]
        sentences.append(Sentence(ctx.tr("brief_s_petitions", total=vals[0], topic=top_topic, topic_n=vals[1],
                                         town=top_town, town_n=vals[2]), vals))
        petition_map = _petition_map(ctx, by_town)
        if petition_map is not None:
            sec.charts.append(petition_map)
    # hot spots: the petition-spikes export's spikes of this week (township × topic above its forecast bound)
    hot = _spikes(ctx)
    if len(hot):
        rows = [[r.township, r.topic, fmt_count(int(r.count), lang), f"{r.expected:.1f}", f"{r.upper_95:.0f}"]
                for r in hot.itertuples()]
        sec.tables.append(Table("petition_hotspots", ctx.tr("brief_tbl_hotspots"),
                                [ctx.tr("township"), ctx.tr("brief_col_topic"), ctx.tr("brief_col_week"),
                                 ctx.tr("brief_col_expected"), ctx.tr("brief_col_upper")], rows,
                                numeric=[False, False, True, True, True]))
        town, topic, n, expected, upper = rows[0]
        vals = [n, upper, expected]
        sentences.append(Sentence(ctx.tr("brief_s_hotspot", town=town, topic=topic, n=n, upper=upper,
                                         expected=expected), vals, level="warning"))
    sentences += _petition_handling(ctx, sec)
    sentences += _petition_countdown(ctx, sec)
    return sec, sentences


def _export_counts(ctx: _Ctx, scope: Scope, by: str) -> pd.Series:
    df = ctx.read("petitions", scope, by=by)
    if df.empty:
        return pd.Series(dtype=int)
    keys = df[by].astype(object).where(df[by].notna(), ctx.tr("brief_unknown")).astype(str)
    counts = pd.Series(df["received"].astype(int).to_numpy(), index=keys)
    counts = counts[counts > 0]
    return counts.sort_values(ascending=False, kind="stable")


def _petition_map(ctx: _Ctx, by_town: pd.Series) -> Chart | None:
    """The week's petitions per 10,000 residents by township on the township map (None without boundaries)."""
    from analytics.geo import per_10k
    from briefing.maps import choropleth
    shapes = ctx.read("region-shapes", ctx.scope)
    if shapes.empty or shapes["geometry"].isna().all():
        return None
    pop = shapes.set_index("name")["population"]
    frame = pd.DataFrame({"township": by_town.index, "n": by_town.to_numpy()})
    frame["rate"] = per_10k(frame["n"], frame["township"].map(pop)).to_numpy()
    title = ctx.tr("brief_chart_petition_map")
    fig = choropleth(shapes, frame, "township", "rate", title, ctx.tr("map_petitions_unit"), classes="natural",
                     no_data=ctx.tr("map_no_data"), height=480)
    fig.update_layout(width=900)
    return Chart("petition_map", title, fig, height=480)


def _petition_handling(ctx: _Ctx, sec: Section) -> list[Sentence]:
    """信访办理: timely acceptance, on-time reply, satisfaction and repeats this week vs the previous week."""
    now = ctx.read("petitions", ctx.scope)
    before = ctx.read("petitions", Scope(ctx.start - dt.timedelta(days=7), ctx.start - dt.timedelta(days=1)))
    if now.empty:
        return []
    now, before = now.iloc[0], (before.iloc[0] if len(before) else None)
    metrics = (("timely_acceptance_rate", "rate"), ("reply_on_time_rate", "rate"), ("satisfaction_rate", "rate"),
               ("repeat_petitions", "count"))
    rows = []
    for code, kind in metrics:
        f = (lambda v: fmt_rate(v)) if kind == "rate" else (lambda v: fmt_count(v, ctx.lang))
        prev = before[code] if before is not None else math.nan
        rows.append([ctx.tr(f"brief_pet_{code}"), f(now[code]), f(prev)])
    sec.tables.append(Table("petition_handling", ctx.tr("brief_tbl_petition_handling"),
                            [ctx.tr("brief_col_metric"), ctx.tr("brief_col_week"), ctx.tr("brief_col_prev_week")],
                            rows, numeric=[False, True, True]))
    if now["repeat_petitions"] and now["repeat_petitions"] > 0:
        n = fmt_count(now["repeat_petitions"], ctx.lang)
        return [Sentence(ctx.tr("brief_s_repeats", n=n), [n])]
    return []


def _petition_countdown(ctx: _Ctx, sec: Section) -> list[Sentence]:
    """Open petitions past or within a week of their acceptance/reply limit at the week's end (no personal data)."""
    df = ctx.read("petition-countdown", ctx.scope)
    if df.empty:
        return []
    df = near_limit(df)
    if df.empty:
        return []
    late = int(df["overdue"].sum())
    near = int(len(df) - late)
    rows, status = [], []
    for _, r in df.head(PETITION_ROWS).iterrows():
        step = ctx.tr("brief_step_accept") if r["days_left"] == r["days_left_accept"] else ctx.tr("brief_step_reply")
        rows.append([str(r["petition_id"]), f"{pd.Timestamp(r['received_at']):%Y-%m-%d}", str(r["topic"] or ""),
                     str(r["township"] or ""), str(r["department"] or ""), step, fmt_number(r["days_left"])])
        status.append("red" if r["overdue"] else "amber")
    note = ctx.tr("brief_petition_countdown_note")
    if len(df) > PETITION_ROWS:
        note += " " + ctx.tr("brief_truncated", shown=PETITION_ROWS, total=len(df))
    summary = Table("petition_countdown_summary", ctx.tr("brief_tbl_petition_countdown_summary"),
                    [ctx.tr("brief_col_category"), ctx.tr("brief_col_count")],
                    [[ctx.tr("brief_petition_past"), fmt_count(late, ctx.lang)],
                     [ctx.tr("brief_petition_near"), fmt_count(near, ctx.lang)]], numeric=[False, True])
    sec.tables += [summary, Table(
        "petition_countdown", ctx.tr("brief_tbl_petition_countdown"),
        [ctx.tr("brief_col_petition"), ctx.tr("brief_col_received"), ctx.tr("brief_col_topic"), ctx.tr("township"),
         ctx.tr("brief_col_department"), ctx.tr("brief_col_step"), ctx.tr("brief_col_days_left_cal")],
        rows, note=note, status=status, numeric=[False] * 6 + [True])]
    vals = [fmt_count(late, ctx.lang), fmt_count(near, ctx.lang)]
    return [Sentence(ctx.tr("brief_s_petition_countdown", late=vals[0], near=vals[1]), vals,
                     level="warning" if late else "info")]


def _land_section(ctx: _Ctx):
    """耕地保护: regions below their cultivated-land target or projected to cross it soon."""
    sec = Section("land", ctx.tr("brief_sec_land"))
    df = ctx.read("cultivated-target", ctx.scope)
    if df.empty:
        sec.intro.append(ctx.tr("brief_no_land_data"))
        return sec, []
    soon = ctx.end.year + LAND_WARN_YEARS
    cross = pd.to_numeric(df["projected_cross_year"], errors="coerce")
    watch = df[(df["status"] == "below") | ((df["status"] == "crossing") & (cross <= soon))]
    sec.intro.append(ctx.tr("brief_land_scope", n=ctx.n(LAND_WARN_YEARS)))
    if watch.empty:
        sec.intro.append(ctx.tr("brief_land_ok"))
        return sec, [Sentence(ctx.tr("brief_land_ok"))]
    rows, status, sentences = [], [], []
    for _, r in watch.iterrows():
        name = r["region_name"] if isinstance(r["region_name"], str) else ctx.tr("all_townships")
        year = "" if pd.isna(r["projected_cross_year"]) else str(int(r["projected_cross_year"]))
        st = "red" if r["status"] == "below" else "amber"
        cells = [name, str(int(r["latest_year"])), f"{r['area_ha']:,.1f}", f"{r['target_ha']:,.1f}",
                 f"{r['gap_ha']:+,.1f}", year or "—"]
        rows.append([cells[0], cells[1], cells[2], cells[3], cells[4], ctx.tr(f"brief_land_{r['status']}"), cells[5]])
        status.append(st)
        if r["status"] == "below":
            sentences.append(Sentence(ctx.tr("brief_s_land_below", region=name, year=cells[1], area=cells[2],
                                             target=cells[3]), cells[1:4], level="warning"))
        else:
            sentences.append(Sentence(ctx.tr("brief_s_land_crossing", region=name, area=cells[2], target=cells[3],
                                             cross=year), [cells[2], cells[3], year], level="warning"))
    unit = ctx.tr("unit_ha")
    sec.tables.append(Table("land", ctx.tr("brief_tbl_land"),
                            [ctx.tr("brief_col_region"), ctx.tr("brief_col_survey_year"),
                             ctx.tr("brief_col_area", unit=unit), ctx.tr("brief_col_target_area", unit=unit),
                             ctx.tr("brief_col_gap", unit=unit), ctx.tr("col_status"),
                             ctx.tr("brief_col_cross_year")],
                            rows, status=status, numeric=[False, True, True, True, True, False, True]))
    return sec, sentences


def _forecast_section(ctx: _Ctx):
    sec = Section("forecast", ctx.tr("brief_sec_forecast"))
    from analytics.forecast import forecast

    if ctx.first is None or ctx.first > ctx.end:
        sec.intro.append(ctx.tr("brief_forecast_short", n=0))
        return sec, []
    start = max(ctx.first, ctx.end - dt.timedelta(weeks=FORECAST_HISTORY_WEEKS) + dt.timedelta(days=1))
    flow = ctx.read("weekly-flow", Scope(start, ctx.end))
    # the first week of the data is usually partial: drop it when it does not start on a Monday
    if len(flow) and ctx.first > pd.Timestamp(flow["week"].iloc[0]).date():
        flow = flow.iloc[1:]
    if len(flow) < FORECAST_MIN_WEEKS:
        sec.intro.append(ctx.tr("brief_forecast_short", n=len(flow)))
        return sec, []
    df = pd.DataFrame({"unique_id": "received", "ds": pd.to_datetime(flow["week"]), "y": flow["received"]})
    fc, report = forecast(df, "W", FORECAST_HORIZON, level=(80, 95), fill="zero")
    fc = fc.assign(yhat=fc["yhat"].clip(lower=0), lower=fc["yhat_lower_80"].clip(lower=0),
                   upper=fc["yhat_upper_80"].clip(lower=0))
    lang = ctx.lang
    rows = []
    for _, r in fc.iterrows():
        monday = pd.Timestamp(r["ds"]).date()
        iso = monday.isocalendar()
        rows.append([f"{week_label(iso.year, iso.week)} ({monday:%m-%d})", fmt_count(round(r["yhat"]), lang),
                     f"{fmt_count(round(r['lower']), lang)}–{fmt_count(round(r['upper']), lang)}"])
    rep = report.iloc[0]
    note = ctx.tr("brief_forecast_note", model=fmt_model(rep["model"], ctx.lang), mase=fmt_number(rep["mase"], 2),
                  snaive=fmt_number(rep["snaive_mase"], 2), n=int(rep["n_obs"]))
    sec.tables.append(Table("forecast", ctx.tr("brief_tbl_forecast"),
                            [ctx.tr("week"), ctx.tr("brief_col_forecast"), ctx.tr("brief_col_interval")],
                            rows, note=note, numeric=[False, True, True]))
    history = flow.tail(26)
    labels = {"actual": ctx.tr("brief_actual"), "forecast": ctx.tr("brief_col_forecast"),
              "band": ctx.tr("brief_col_interval"), "week": ctx.tr("week"),
              "count": f"{ctx.tr('count_cases')} ({ctx.tr('unit_cases')})"}
    title = ctx.tr("brief_chart_forecast")
    sec.charts.append(Chart("forecast", title, ch.forecast_figure(history, fc, labels, title, lang=ctx.lang)))
    first = fc.iloc[0]
    vals = [fmt_count(round(first["yhat"]), lang), fmt_count(round(first["lower"]), lang),
            fmt_count(round(first["upper"]), lang)]
    low, high = (fmt_count(round(x), lang) for x in (fc["yhat"].min(), fc["yhat"].max()))
    if low == high:
        return sec, [Sentence(ctx.tr("brief_s_forecast_flat", yhat=vals[0], lower=vals[1], upper=vals[2],
                                     n=ctx.n(FORECAST_HORIZON)), vals)]
    return sec, [Sentence(ctx.tr("brief_s_forecast", yhat=vals[0], lower=vals[1], upper=vals[2],
                                 n=ctx.n(FORECAST_HORIZON), low=low, high=high), vals + [low, high])]



def _overdue_section(ctx: _Ctx):
    sec = Section("overdue", ctx.tr("brief_sec_overdue"))
    df = ctx.read("overdue-cases", ctx.scope)
    lang = ctx.lang
    late = int(df["overdue"].sum()) if len(df) else 0
    near = int(len(df) - late)
    sec.tables.append(Table("overdue_summary", ctx.tr("brief_tbl_overdue_summary"),
                            [ctx.tr("brief_col_category"), ctx.tr("brief_col_count")],
                            [[ctx.tr("brief_overdue_open"), fmt_count(late, lang)],
                             [ctx.tr("brief_near_limit"), fmt_count(near, lang)]],
                            numeric=[False, True]))
    if df.empty:
        sec.intro.append(ctx.tr("brief_no_overdue"))
        return sec, [Sentence(ctx.tr("brief_no_overdue"))]
    cols = [ctx.tr("brief_col_case"), ctx.tr("brief_col_case_type"), ctx.tr("brief_col_department"),
            ctx.tr("township"), ctx.tr("brief_col_received"), ctx.tr("brief_col_promised"),
            ctx.tr("brief_col_age"), ctx.tr("brief_col_days_left")]
    rows, status = [], []
    for _, r in df.head(OVERDUE_ROWS).iterrows():
        rows.append([str(r["case_id"]), str(r["case_type"] or ""), str(r["department"] or ""),
                     str(r["township"] or ""), f"{pd.Timestamp(r['received_at']):%Y-%m-%d}",
                     fmt_number(r["promised_days"]), fmt_number(r["age"]), fmt_number(r["days_left"])])
        status.append("red" if r["overdue"] else "amber")
    note = ctx.tr("brief_overdue_note")
    if len(df) > OVERDUE_ROWS:
        note += " " + ctx.tr("brief_truncated", shown=OVERDUE_ROWS, total=len(df))
    sec.tables.append(Table("overdue_list", ctx.tr("brief_tbl_overdue_list"), cols, rows, note=note,
                            status=status, numeric=[False] * 5 + [True] * 3))
    vals = [fmt_count(late, lang), fmt_count(near, lang)]
    return sec, [Sentence(ctx.tr("brief_s_overdue", late=vals[0], near=vals[1]), vals,
                          level="warning" if late else "info")]


# ---------- the briefing ----------

def _definitions(ctx: _Ctx) -> list[tuple[str, str]]:
    out = [(ctx.tr(f"kpi_{code}"), ctx.tr(f"brief_def_{code}")) for code in KPI_SPEC]
    for key in ("compare", "status", "overdue_list", "bottleneck", "hotspot", "petition_limits", "land",
                "forecast"):
        out.append((ctx.tr(f"brief_term_{key}"), ctx.tr(f"brief_def_{key}")))
    return out


def _data_as_of(engine: Engine) -> tuple:
    """(last event, last load, years the business calendar does not know) — times in the bureau's zone."""
    from analytics.coverage import activity_range, data_as_of, last_event
    from analytics.workcal import load_calendar
    from landdesk.settings import to_local

    with engine.connect() as conn:
        return (to_local(last_event(conn)), to_local(data_as_of(conn)),
                load_calendar(conn).uncovered_years(*activity_range(conn)))


def _last_complete_week(engine: Engine, last: dt.date) -> str:
    from analytics.workcal import load_calendar
    from briefing.weeks import last_complete_week
    return last_complete_week(last, load_calendar(engine))


def build_briefing(engine: Engine, week: str | None = None, lang: str = "zh", *, bureau: str | None = None,
                   charts: bool = True, principal=None) -> Briefing:
    """The briefing of ISO week `week` (default: the last complete week of the data) in `lang`, as `principal`
    may see it (None: the whole county; a township officer's briefing holds only their township).

    `charts=False` skips the chart figures (faster; the renderers then show no charts).
    """
    if lang not in LANGS:
        raise LandDeskError(f"{lang!r} is not a briefing language; use one of {', '.join(LANGS)}.")
    week = week or default_week(engine)
    start, end = week_bounds(week)
    first, last = data_range(engine)
    year, number = parse_week(week)
    ctx = _Ctx(engine, lang, week_label(year, number), start, end, first, last, principal=principal)

    notices = []
    if first is None:
        notices.append(ctx.tr("brief_notice_empty_store"))
    elif end < first:
        notices.append(ctx.tr("brief_notice_before_data", first=first))
    elif start > last:
        notices.append(ctx.tr("brief_notice_after_data", last=last))
    elif end > last and ctx.week > _last_complete_week(engine, last):
        # incomplete only by the tool's own rule (briefing.weeks.last_complete_week): data ending on a Friday or
        # Saturday before a weekend (or holidays) complete their week
        notices.append(ctx.tr("brief_notice_partial", last=last))
    if first is not None and start <= first <= end:
        notices.append(ctx.tr("brief_notice_first_week"))
    event_at, as_of, uncovered = _data_as_of(engine)
    if uncovered:
        from analytics.workcal import official_last_year
        notices.append(ctx.tr("calendar_uncovered", last=official_last_year(), years=", ".join(map(str, uncovered))))

    kpi_df = _kpi_rows(ctx)
    narrative = _kpi_sentences(ctx, kpi_df)
    sections = []
    for key, builder in (("flow", _flow_section), ("bottlenecks", _bottleneck_section),
                         ("petitions", _petition_section), ("land", _land_section), ("forecast", _forecast_section),
                         ("overdue", _overdue_section)):
        sec, sentences = _safe(ctx, key, builder)
        sections.append(sec)
        narrative += sentences
    if not charts:
        for sec in sections:
            sec.charts = []

    as_of_text = "—"
    if event_at is not None:
        as_of_text = f"{event_at:%Y-%m-%d %H:%M}"
        if as_of is not None:
            as_of_text = ctx.tr("data_as_of_detail", event=as_of_text, loaded=f"{as_of:%Y-%m-%d %H:%M}")
    elif as_of is not None:
        as_of_text = f"{as_of:%Y-%m-%d %H:%M}"
    meta = [
        (ctx.tr("brief_meta_period"), ctx.tr("brief_period", start=start, end=end)),
        (ctx.tr("brief_meta_compare"), ctx.tr("brief_compare", **kpi_df.attrs["baselines"])),
        (ctx.tr("data_as_of"), as_of_text),
        (ctx.tr("brief_meta_last_data"), last.isoformat() if last else "—"),
    ]
    bureau = bureau or bureau_name(lang)
    b = Briefing(
        lang=lang, week=ctx.week, start=start, end=end, bureau=bureau,
        title=ctx.tr("brief_title", bureau=bureau),
        subtitle=ctx.tr("brief_subtitle", week=number, range=fmt_day_range(start, end, lang)),
        meta=meta, kpi_table=_kpi_table(ctx, kpi_df), narrative=narrative, sections=sections,
        definitions=_definitions(ctx), notices=notices,
        mark=settings().briefing_mark or "", issuer=settings().briefing_issuer or bureau,
        issue=ctx.tr("brief_issue", year=year, n=number),
    )
    number_briefing(b)
    b.meta.append((ctx.tr("brief_meta_generated"), f"{b.generated_at:%Y-%m-%d %H:%M}"))
    return b
