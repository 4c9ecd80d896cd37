"""Shared UI parts: language switch, the filter bar (kept in the URL), KPI cards."""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from analytics.periods import (COMPARES, DEFAULT_COMPARE, DEFAULT_PRESET, PRESET_GRAIN, PRESETS, matching_preset,
                               preset_range)
from analytics.scope import Scope
from landdesk.i18n import DEFAULT_LANG, LANGS, has, keys, language_name, t
from landdesk.fmt import DASH, fmt_count, fmt_model, missing, to_area_unit
from landdesk.colspec import column_help
from landdesk.kpispec import KPI_SPEC, fmt_change, fmt_kpi, kpi_help
from landdesk.pages import PAGES

STATUS_BADGE = {"green": "green", "amber": "orange", "red": "red", "": "gray"}
CJK_FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANG)


def tr(key: str, **fmt) -> str:
    return t(key, lang(), **fmt)


#: Characters that start or close a Markdown construct anywhere in a line (emphasis, code, links and images,
#: raw HTML and entities, strike-through, tables, `$…$` math, `:color[…]` directives and `http://` autolinks):
#: each is backslash-escaped in a data value. Block constructs (headings, lists, quotes) only start a line, so
#: only a value's first character needs escaping for them.
_INLINE = frozenset("\\`*_[]<>!~$&|:")
_LINE_START = re.compile(r"^([#+\-=>]|\d+[.)])")
_WWW = re.compile(r"(?i)\b(www)\.")


def text(value) -> str:
    """A data value (a stage name, a file name, an error message quoting a file) as literal text inside a
    Markdown element (st.markdown, st.caption, st.info, st.metric's label and value …): every Markdown, HTML and
    Streamlit-directive character escaped, line breaks flattened. `![t](http://host/x.png) :red[紧急]` shows as
    those characters, fetches nothing and is not red. The one way data reaches Markdown (issue 16, finding 5)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    flat = " ".join(str(value).split())
    out = "".join("\\" + c if c in _INLINE else c for c in flat)
    out = _WWW.sub(r"\1\\.", out)
    return _LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], out, count=1)


def tr_data(key: str, **fields) -> str:
    """Catalogue text `key` (whose own Markdown stays) with every field a data value shown as text (`text`)."""
    return tr(key, **{k: text(v) for k, v in fields.items()})


def language_switch() -> None:
    """A sidebar radio; the choice lives in session state and the URL (?lang=en)."""
    if "lang" not in st.session_state:
        from dashboard import params
        st.session_state["lang"], fix = params.parse_choice(dict(st.query_params), "lang", LANGS, DEFAULT_LANG)
        if fix is not None:
            st.sidebar.caption(tr_data("url_corrected", param=fix.param, value=fix.quoted, used=fix.used))
    st.sidebar.radio(t("language", lang()), LANGS, key="lang", horizontal=True,
                     format_func=language_name)
    st.query_params["lang"] = st.session_state["lang"]


FILTER_DIMS = ("township", "case_type", "department")
#: The source-system choice: shown only when the store holds records of more than one system.
SYSTEM_DIM = "system"
UNITS = ("workdays", "days", "hours")
_MISSING = object()
KEEP = "_keep_"   # session-state shadow of a widget's value, kept while a page without that widget runs


def _seed(key: str, default) -> None:
    """Give widget `key` its value before it is drawn: the kept value (from another page), else `default`.

    Each page draws its own widget for a shared key, and a new widget would start from its default; assigning
    the kept value again (the documented way to carry widget state across pages) makes it start from the value
    the user chose. A value the user has just changed differs from the kept one and is left alone."""
    kept = st.session_state.get(KEEP + key, _MISSING)
    if key not in st.session_state:
        st.session_state[key] = default if kept is _MISSING else kept
    elif kept is not _MISSING and st.session_state[key] == kept:
        st.session_state[key] = kept


def _keep(key: str) -> None:
    st.session_state[KEEP + key] = st.session_state[key]


URL_FILTERS = ("from", "to", "preset", "compare", *FILTER_DIMS, SYSTEM_DIM, "unit", "area")
_OPENED_WITH = "_opened_with"


def remember_opening_url() -> None:
    """Keep the filters of the URL a session was opened with (the router calls this on every run, before the
    page): a shared link to a page without the filter bar (data, briefing) still carries its filters to the
    pages the visitor goes on to, although Streamlit drops them from the address on the first page switch."""
    if _OPENED_WITH not in st.session_state:
        qp = st.query_params
        st.session_state[_OPENED_WITH] = {k: qp[k] for k in URL_FILTERS if k in qp}


def _url(name: str, default=None):
    """A filter from the current URL, else from the URL the session was opened with, else `default`."""
    qp = st.query_params
    if name in qp:
        return qp[name]
    return st.session_state.get(_OPENED_WITH, {}).get(name, default)


def url_corrected(corrections) -> None:
    """One short notice per URL parameter the page could not use as it was (dashboard.params), naming what it
    shows instead; the value is quoted as text. The corrected value replaces the one the session was opened
    with, so the notice is said once."""
    opened = st.session_state.setdefault(_OPENED_WITH, {})
    for c in [c for c in corrections if c is not None]:
        st.warning(tr_data("url_corrected", param=c.param, value=c.quoted, used=c.used or tr("url_all")),
                   icon=":material/link_off:")
        if c.param in opened:
            opened[c.param] = c.used


def _raw_url(names) -> dict[str, str]:
    return {k: str(v) for k in names if (v := _url(k)) is not None}


def filter_bar(status: dict) -> Scope:
    """Period, township, case type and department (and the source system, when the store has several): shared
    by all pages, kept in session and the URL. Every URL value goes through dashboard.params (a date outside the
    data, an unknown township: corrected, with a notice); a township officer asking for another township is
    narrowed and audited once (scope_forced)."""
    from dashboard import params
    today = dt.date.today()
    lo, hi = params.date_bounds(status["first"], status["last"], today)
    last = status["last"] or today
    qp = st.query_params
    raw = _raw_url(URL_FILTERS)
    corrections = []
    fresh = "period" not in st.session_state and KEEP + "period" not in st.session_state
    if fresh:
        preset, fix = params.parse_preset(raw)
        corrections.append(fix)
        st.session_state["preset"] = preset
        if preset == "custom":
            st.session_state["period"], notes = params.parse_period(raw, status["first"], status["last"], today)
            corrections += notes
        else:
            st.session_state["period"] = params.clamp_period(preset_range(preset, last), status["first"],
                                                             status["last"], today)
    compare, fix = params.parse_choice(raw, "compare", COMPARES, DEFAULT_COMPARE, shown_as=tr("compare_" + DEFAULT_COMPARE))
    corrections.append(fix)
    _seed("preset", DEFAULT_PRESET)
    _seed("compare", compare)
    _seed("period", None)
    fixed = params.clamp_period(st.session_state.get("period"), status["first"], status["last"], today)
    if fixed != st.session_state.get("period"):
        st.session_state["period"] = fixed if fixed else (max(last - dt.timedelta(days=params.DEFAULT_DAYS - 1), lo), min(last, hi))
    options = {"township": status["townships"], "case_type": status["case_types"],
               "department": status["departments"], SYSTEM_DIM: status.get("systems") or []}
    dims = FILTER_DIMS + ((SYSTEM_DIM,) if len(options[SYSTEM_DIM]) > 1 else ())
    from dashboard import session
    who = session.principal()
    officer = who is not None and who.is_officer
    # a township officer's only township choice is their own (the data layer forces it anyway)
    choices = {dim: ([] if dim == "township" and officer else [""]) + list(options[dim]) for dim in dims}
    if officer:
        choices["township"] = [who.township]
    all_labels = {"township": "all_townships", "case_type": "all_case_types", "department": "all_departments",
                  SYSTEM_DIM: "all_systems"}
    for dim in dims:
        wanted, fix = params.parse_choice(raw, dim, choices[dim], choices[dim][0],
                                          shown_as=choices[dim][0] or tr(all_labels[dim]))
        if fix is not None and dim == "township" and officer:
            _forced_once(who, fix.value)
        corrections.append(fix)
        _seed(dim, wanted)
        if st.session_state[dim] not in choices[dim]:
            st.session_state[dim] = choices[dim][0]
    url_corrected(corrections)
    st.sidebar.subheader(tr("filters"))
    st.sidebar.selectbox(tr("preset"), PRESETS, key="preset", format_func=lambda p, lg=lang(): t("preset_" + p, lg),
                         on_change=_preset_chosen, args=(last, status, today), help=tr("preset_help"))
    _keep("preset")
    period = st.sidebar.date_input(tr("period"), key="period", min_value=lo, max_value=hi,
                                   on_change=_period_chosen, args=(last,))
    _keep("period")
    st.sidebar.radio(tr("compare"), COMPARES, key="compare", horizontal=True,
                     format_func=lambda c, lg=lang(): t("compare_" + c, lg), help=tr("compare_help"))
    _keep("compare")
    for dim in dims:
        st.sidebar.selectbox(tr(dim), choices[dim], key=dim,
                             format_func=lambda x, d=dim, lg=lang(): x or t(all_labels[d], lg))
        _keep(dim)
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:
        start = end = period[0] if isinstance(period, (tuple, list)) and period else last
    qp["from"], qp["to"] = start.isoformat(), end.isoformat()
    preset, compare = st.session_state["preset"], st.session_state["compare"]
    qp["preset"], qp["compare"] = preset, compare
    chosen = {}
    if SYSTEM_DIM not in dims and SYSTEM_DIM in qp:
        del qp[SYSTEM_DIM]
    for dim in dims:
        chosen[dim] = st.session_state[dim] or None
        if chosen[dim]:
            qp[dim] = chosen[dim]
        elif dim in qp:
            del qp[dim]
    return Scope(start, end, compare=compare, grain=PRESET_GRAIN.get(preset, ""), **chosen)


def _preset_chosen(last: dt.date, status: dict, today: dt.date) -> None:
    """A preset picked: the period picker shows its days."""
    from dashboard import params
    preset = st.session_state["preset"]
    if preset != "custom":
        st.session_state["period"] = params.clamp_period(preset_range(preset, last), status["first"],
                                                         status["last"], today)


def _period_chosen(last: dt.date) -> None:
    """Days picked by hand: the preset they happen to equal, else custom."""
    period = st.session_state.get("period")
    if isinstance(period, (tuple, list)) and len(period) == 2:
        st.session_state["preset"] = matching_preset(period[0], period[1], last)
    else:
        st.session_state["preset"] = "custom"


_FORCED = "_scope_forced_audited"


def _forced_once(principal, asked: str) -> None:
    """A township officer's URL names another township: the filter bar narrows it (so no read ever asks for
    it) and this writes the probe to the audit log as scope_forced — once per session and township asked,
    not once per export of the page or per rerun (service.access.scoped does the narrowing and the audit)."""
    from dashboard import data, session
    from service.access import scoped
    seen = st.session_state.setdefault(_FORCED, set())
    if asked in seen:
        return
    seen.add(asked)
    try:
        scoped(Scope(dt.date.today(), dt.date.today(), township=asked[:100]), principal, engine=data.engine(),
               client=session.client(), what="url")
    except Exception:  # noqa: BLE001 - the page is narrowed anyway; an audit row that cannot be written is logged
        import logging
        logging.getLogger(__name__).exception("could not audit scope_forced")


def unit_selector() -> str:
    """Time unit for durations (workdays by default): a sidebar choice kept across pages and in the URL (?unit=)."""
    from dashboard import params
    wanted, fix = params.parse_choice(_raw_url(["unit"]), "unit", UNITS, "workdays",
                                      shown_as=tr("unit_name_workdays"))
    url_corrected([fix])
    _seed("unit", wanted)
    st.sidebar.radio(tr("time_unit"), UNITS, key="unit", horizontal=True,
                     format_func=lambda u, lg=lang(): t("unit_name_" + u, lg))
    _keep("unit")
    if st.session_state["unit"] == "workdays":
        st.query_params.pop("unit", None)
    else:
        st.query_params["unit"] = st.session_state["unit"]
    return st.session_state["unit"]


def area_unit_selector() -> str:
    """公顷 or 亩 for land areas, kept across pages and in the URL (?area=mu)."""
    from dashboard import params
    wanted, fix = params.parse_choice(_raw_url(["area"]), "area", ("ha", "mu"), "ha", shown_as=tr("unit_ha"))
    url_corrected([fix])
    _seed("area_unit", wanted)
    st.sidebar.radio(tr("area_unit"), ("ha", "mu"), key="area_unit", horizontal=True,
                     format_func=lambda u, lg=lang(): t("unit_" + u, lg))
    _keep("area_unit")
    if st.session_state["area_unit"] == "ha":
        st.query_params.pop("area", None)
    else:
        st.query_params["area"] = "mu"
    return st.session_state["area_unit"]


def unit_label(unit: str) -> str:
    return tr("unit_" + unit)


def count_slider(label: str, low: int, high: int, value: int, key: str) -> int:
    """A whole-number slider built from data (e.g. the process map's minimum edge count). Degenerate data is
    normal: with low >= high there is nothing to choose (Streamlit refuses min = max), so no slider is drawn and
    `low` is the answer; a default or a kept value outside the range is moved inside it."""
    low, high = int(low), int(high)
    if high <= low:
        st.session_state.pop(key, None)
        return low
    value = min(max(int(value), low), high)
    kept = st.session_state.get(key)
    if kept is not None and not (isinstance(kept, int) and low <= kept <= high):
        st.session_state[key] = min(max(int(kept), low), high) if isinstance(kept, (int, float)) else value
    if key in st.session_state:
        return st.slider(label, low, high, key=key)
    return st.slider(label, low, high, value, key=key)


def range_select(label: str, options: list, value: tuple, key: str) -> tuple:
    """A (from, to) pick among ordered options built from data (e.g. surveyed years): none → (None, None), one →
    (it, it), no widget in either case; a default or kept pair that is not among the options falls back to the
    first and last option."""
    options = list(options)
    if not options:
        return None, None
    if len(options) == 1:
        st.session_state.pop(key, None)
        return options[0], options[0]

    def valid(pair) -> bool:
        return isinstance(pair, (tuple, list)) and len(pair) == 2 and all(v in options for v in pair)
    value = tuple(value) if valid(value) else (options[0], options[-1])
    if key in st.session_state and not valid(st.session_state[key]):
        st.session_state[key] = value
    if key in st.session_state:
        return tuple(st.select_slider(label, options=options, key=key))
    return tuple(st.select_slider(label, options=options, value=value, key=key))


def chart(fig, caption: str, key: str | None = None, select: bool = False):
    """A Plotly chart (title and units set by its builder) with its one-line caption; returns the selection
    event when `select` (point or box selection re-runs the page)."""
    from dashboard.charts import localize
    kwargs = dict(on_select="rerun", selection_mode=("points", "box"), key=key) if select else {"key": key}
    from dashboard import layout
    event = st.plotly_chart(localize(fig, lang()), width="stretch", config={"displaylogo": False}, **kwargs)
    layout.alt(fig, lang())
    st.caption(caption)
    return event


def page_views(page: str) -> tuple[str | None, list[str]]:
    """(URL parameter, tab label keys) of a page's tabs; (None, []) for a page without tabs."""
    prefix = PAGES[page].tabs
    if prefix is None:
        return None, []
    return prefix + "_view", [k for k in keys() if k.startswith(prefix + "_tab_")]


def views(page: str, sections: list[tuple[str, Callable[[], None]]]) -> str:
    """The page's sections as tabs of which only the open one runs and is drawn (the others cost nothing until
    opened). `sections` are (translation key of the tab label, function drawing it). The open tab is in the URL
    as a stable ASCII id (?PREFIX_view=map for bn_tab_map, the page's `tabs` in landdesk.pages; params.tab_id),
    the same in every language, so a view can be shared; a link naming a tab by its label (links made before the
    ids) opens that tab too, and the URL is rewritten to its id. The open tab stays open when the language
    changes. Returns the open tab's key."""
    from dashboard import params
    key = PAGES[page].tabs + "_view"
    names = [name for name, _ in sections]
    labels = [tr(name) for name in names]
    shadow, written = KEEP + key, "_url_" + key
    asked = st.query_params.get(key)
    wanted = None
    if asked is not None and asked != st.session_state.get(written):     # the URL says so (a link, a new URL)
        wanted = params.parse_tab(asked, names, {n: [t(n, code) for code in LANGS] for n in names})
        told = st.session_state.setdefault("_tab_corrected", set())
        if wanted is None and (key, asked) not in told:                   # a tab that does not exist
            told.add((key, asked))
            url_corrected([params.Correction(key, asked, labels[0])])
    if wanted is not None:
        st.session_state[key] = labels[names.index(wanted)]
    elif st.session_state.get(key) not in labels:                       # first run, or the language changed
        kept = st.session_state.get(shadow, names[0])
        st.session_state[key] = labels[names.index(kept)] if kept in names else labels[0]
    tabs = st.tabs(labels, key=key, on_change="rerun")
    opened = names[0]
    for (name, draw), tab in zip(sections, tabs):
        if tab.open:
            opened = name
            with tab:
                draw()
    st.session_state[shadow] = opened
    st.session_state[written] = params.tab_id(opened)
    st.query_params[key] = params.tab_id(opened)
    return opened


def selected_points(event, field: str = "x") -> list:
    """Values of `field` ('x', 'y', 'label' …) of the points picked in a chart's selection event, as the data
    values they were drawn from (the charts escape label text, dashboard.charts.label_text)."""
    import html
    try:
        points = event["selection"]["points"]
    except (TypeError, KeyError):
        return []
    values = (p.get(field) for p in points if p.get(field) is not None)
    return list(dict.fromkeys(html.unescape(v) if isinstance(v, str) else v for v in values))


def section_failed(what: str, error: str) -> None:
    st.warning(tr("section_failed", what=what, error=text(error)), icon=":material/error:")


#: Guidance that an empty period gives, and the dataset whose rows the period missed.
EMPTY_PERIOD = {"no_cases_period": "cases", "no_events_period": "case_events", "no_petitions_period": "petitions"}
_STATUS = "_page_status"


def guidance(key: str, **fmt) -> None:
    """A short note on what to do. When the period holds none of a dataset's rows but the store has some, the
    note says where they are and offers their last DEFAULT_PERIOD_DAYS in one click."""
    st.info(tr(key, **fmt), icon=":material/info:")
    status = st.session_state.get(_STATUS) or {}
    first, last = (status.get("ranges") or {}).get(EMPTY_PERIOD.get(key), (None, None))
    if last is None:
        return
    from analytics.periods import preset_range
    start, end = preset_range("recent", last)
    start = max(start, first)
    st.caption(tr("data_range_" + EMPTY_PERIOD[key], first=first, last=last))
    st.button(tr("show_period", start=start, end=end), key=f"show-{key}", icon=":material/date_range:",
              on_click=_show_period, args=(start, end))


def _show_period(start: dt.date, end: dt.date) -> None:
    st.session_state["period"] = (start, end)
    st.session_state["preset"] = "custom"


def format_kpi(code: str, value: float, unit: str = "workdays") -> str:
    """A KPI card's value (landdesk.kpispec.fmt_kpi with the card's short duration unit)."""
    return fmt_kpi(code, value, lang(), unit, card=True)


def kpi_card(code: str, row: pd.Series, unit: str = "workdays") -> None:
    """One KPI: value, change against the comparison period (环比 or 同比, coloured by its direction; no arrow
    and no colour when unchanged), target and status."""
    direction = KPI_SPEC[code].direction
    change = row["change"]
    unchanged = isinstance(change, (int, float)) and change == 0
    st.metric(
        tr("kpi_" + code), format_kpi(code, row["value"], unit),
        delta=fmt_change(code, change, lang()),
        delta_color="off" if unchanged else ("normal" if direction > 0 else ("inverse" if direction < 0 else "off")),
        delta_arrow="off" if unchanged else "auto",
        delta_description=tr("vs_short_" + row.get("compare", "previous")),
        help=kpi_help(code, lang(), unit),
    )
    if isinstance(row["target"], float) and not math.isnan(row["target"]):
        colour = STATUS_BADGE[row["status"]]
        st.caption(f":{colour}-badge[{tr('status_' + row['status'])}] "
                   f"{tr('target')} {format_kpi(code, row['target'], unit)}")
    else:
        st.caption(f":gray-badge[{tr('no_target')}]")


def plotly_layout(fig, title: str):
    from dashboard.charts import localize
    fig.update_layout(title=title, font_family=CJK_FONT, margin=dict(l=10, r=10, t=50, b=10),
                      legend_title_text="", hovermode="x unified")
    return localize(fig, lang())


def store_down_message(exc: BaseException) -> str:
    """The store cannot be reached (PostgreSQL down, a file gone): one catalogue sentence in the session's
    language naming the store without its password and the driver's first line with any password scrubbed."""
    from dashboard import data
    try:
        url = data.engine().url
        store, password = url.render_as_string(hide_password=True), url.password
    except Exception:  # noqa: BLE001 - no engine at all: the sentence without the store
        store, password = "", None
    cause = exc.__context__ if exc.__class__.__name__ == "StoreUnavailable" and exc.__context__ else exc
    cause = getattr(cause, "orig", None) or cause
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else type(cause).__name__
    if password:
        reason = reason.replace(str(password), "***")
    return tr_data("store_unavailable", store=store, reason=reason[:300])


def store_down(exc: BaseException) -> None:
    st.error(store_down_message(exc), icon=":material/error:")


def store_status() -> tuple[str, dict]:
    """The store's batch key and data status; stops the page with guidance when unreachable or empty."""
    from sqlalchemy.exc import SQLAlchemyError

    from analytics.exports import StoreUnavailable

    from dashboard import data
    from landdesk.errors import LandDeskError
    try:
        key = data.batch_key()
        status = data.data_status(key)
    except SQLAlchemyError as exc:
        store_down(exc)
        st.stop()
    except StoreUnavailable as exc:
        store_down(exc)
        st.stop()
    except LandDeskError as exc:   # AccessDenied: one clear sentence
        st.error(text(exc), icon=":material/error:")
        st.stop()
    if status["last"] is None:
        st.info(tr("no_data"))
        st.stop()
    st.session_state[_STATUS] = status
    return key, status


def data_as_of_text(status: dict) -> str | None:
    """"Data as of" + the last event's time, with the last load's beside it (both in the bureau's zone)."""
    from landdesk.settings import to_local
    event, loaded = to_local(status.get("last_event")), to_local(status.get("as_of"))
    if event is None:
        return f"{tr('data_as_of')} {loaded:%Y-%m-%d %H:%M}" if loaded else None
    text = f"{event:%Y-%m-%d %H:%M}"
    if loaded:
        text = tr("data_as_of_detail", event=text, loaded=f"{loaded:%Y-%m-%d %H:%M}")
    return f"{tr('data_as_of')} {text}"


def calendar_warning(status: dict) -> str | None:
    """The one-sentence warning when the data reach years the business calendar does not know."""
    years = status.get("uncovered_years") or []
    if not years:
        return None
    from analytics.workcal import official_last_year
    return tr("calendar_uncovered", last=official_last_year(), years=", ".join(map(str, years)))


def data_badge(status: dict) -> None:
    """The "data as of" badge (last event, last load) and, when due, the calendar-coverage banner."""
    text = data_as_of_text(status)
    if text:
        st.badge(text, icon=":material/update:", color="blue")
    warning = calendar_warning(status)
    if warning:
        st.warning(warning, icon=":material/calendar_month:")


# --- codes and empty values (issue 15): one rule for every table and group label -------------------------------

#: The coded columns of the store (etl.schema's code lists) and of the analytics (trends, statuses), with the
#: catalogue prefixes their labels live under, tried in order: a table or a chart label shows the label in the
#: session's language, never the code (`online`, `trend_`); a value without a label (a township, a topic) is data
#: and stays as it is.
CODED: dict[str, tuple[str, ...]] = {
    "channel": ("channel_",),
    "status": ("case_status_", "batch_status_", "status_", "land_status_"),
    "result": ("result_",),
    "satisfaction": ("satisfaction_",),
    "trend": ("trend_",),
    "dataset": ("dataset_",),
    "extended": ("bool_",),
    "overdue": ("bool_",),
    "on_time": ("bool_",),
    "level": ("region_level_",),
    "type": ("field_type_",),
}


def code_label(column: str, value) -> str:
    """The label of `value` in the coded `column` (CODED) in the session's language; the dash for an empty
    value (landdesk.fmt.missing); any other value as text."""
    if missing(value):
        return DASH
    for prefix in CODED.get(column, ()):
        key = prefix + (str(value).lower() if isinstance(value, bool) else str(value))
        if has(key):
            return tr(key)
    return str(value)


def series_label(unique_id: str) -> str:
    """A forecast series id (`cases_received:total`, `petitions:城关镇`) as its measure and group in words."""
    measure, _, part = str(unique_id).partition(":")
    if not has("fc_measure_" + measure):
        return str(unique_id)
    return f"{tr('fc_measure_' + measure)} · {tr('fc_total') if part == 'total' else part}"


#: Columns whose values are names built by the analytics, shown through their formatter.
FORMATTED: dict[str, Callable] = {
    "model": lambda v: fmt_model(v, lang()),
    "unique_id": series_label,
}


def _other_language_columns(columns) -> list[str]:
    """Of the paired columns `X_zh` / `X_en` (a land class in both languages), the ones not in the session's
    language: a table shows each name once, in the reader's language."""
    other = [c for c in LANGS if c != lang()]
    cols_ = set(map(str, columns))
    return [f"{base}_{code}" for c in cols_ for code in other
            if c.endswith("_" + lang()) and (base := c[: -len(lang()) - 1]) and f"{base}_{code}" in cols_]


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The frame as a reader sees it: coded columns as their labels (CODED), empty text cells as the dash, ±inf as
    empty, one language of paired name columns. Numbers stay numbers (sorting and downloads keep working); their
    empty cells get the dash from `table`'s formatting."""
    out = df.drop(columns=_other_language_columns(df.columns))
    for c in out.columns:
        s = out[c]
        if c in FORMATTED:
            out[c] = [DASH if missing(v) else FORMATTED[c](v) for v in s]
        elif c in CODED and not pd.api.types.is_bool_dtype(s):      # a bool column is drawn as check boxes
            out[c] = [code_label(c, v) for v in s]
        elif pd.api.types.is_bool_dtype(s):
            continue
        elif pd.api.types.is_float_dtype(s):
            out[c] = s.where(~s.isin([np.inf, -np.inf]))
        elif pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[c] = [DASH if missing(v) else v for v in s]
    return out


def is_year_column(name) -> bool:
    """A column of calendar years (year, latest_year, projected_cross_year …): written 2038, never 2,038."""
    name = str(name)
    return name == "year" or (name.endswith("_year") and not name.endswith("per_year"))


def _empty_cell_formats(df: pd.DataFrame, config: dict, years: set = frozenset()) -> dict:
    """Per column holding an empty number or time: its formatter (matching its column format), so the table
    shows the dash there rather than `None`, `nan` or `NaT`. `years`: the labels of year columns."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_object_dtype(s) or not s.isna().any():
            continue
        kind = ((config.get(c) or {}).get("type_config") or {}).get("format")
        if c in years and pd.api.types.is_numeric_dtype(s):
            out[c] = lambda v: f"{v:.0f}"
        elif pd.api.types.is_datetime64_any_dtype(s):
            pattern = "%Y-%m-%d" if kind == "YYYY-MM-DD" else "%Y-%m-%d %H:%M"
            out[c] = lambda v, p=pattern: v.strftime(p)
        elif kind == "percent":
            out[c] = lambda v: f"{v * 100:.1f}%"
        elif kind == WHOLE:
            out[c] = lambda v: f"{v:,.0f}"
        elif pd.api.types.is_numeric_dtype(s):
            out[c] = lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
        else:
            out[c] = lambda v: str(v)
    return out


#: The grid's format of whole numbers: with the browser's digit grouping (7,572), as text cells and the page's
#: other figures write them; calendar years (is_year_column) stay 2038.
WHOLE = "localized"


def table(df: pd.DataFrame, name: str, column_labels: dict[str, str] | None = None, height: int | None = None) -> None:
    """A table with CSV and Excel downloads (formulas neutralised); labels translated for display. The source
    system column is shown only when the rows come from more than one system."""
    from landdesk.spreadsheet import to_csv_bytes, to_xlsx_bytes

    if "system" in df.columns and df["system"].nunique(dropna=True) <= 1:
        df = df.drop(columns="system")
    df = display_frame(df)
    column_labels = {"system": tr("system"), **(column_labels or {})}
    shown = df.rename(columns=column_labels)
    kwargs = {"height": height} if height else {}
    config = {}
    for original in df.columns:
        label = (column_labels or {}).get(original, original)
        helped = column_help(str(original), lang())   # the column's one-line definition (landdesk.colspec), as the
                                                       # column header's tooltip
        if str(original).endswith(("_rate", "share", "_pct_share", "participation", "compression")) and \
                pd.api.types.is_float_dtype(df[original]):
            config[label] = st.column_config.NumberColumn(format="percent")
        elif pd.api.types.is_float_dtype(df[original]):
            whole = df[original].dropna()
            whole = len(whole) > 0 and bool((whole == whole.round()).all())
            config[label] = st.column_config.NumberColumn(format=WHOLE if whole else "%.2f")
        elif pd.api.types.is_integer_dtype(df[original]) and not pd.api.types.is_bool_dtype(df[original]) \
                and not is_year_column(original):
            config[label] = st.column_config.NumberColumn(format=WHOLE)
        elif pd.api.types.is_datetime64_any_dtype(df[original]):
            t = df[original].dropna()
            midnight = len(t) > 0 and bool((t == t.dt.normalize()).all())
            config[label] = st.column_config.DatetimeColumn(format="YYYY-MM-DD" if midnight else "YYYY-MM-DD HH:mm")
        if helped:
            config.setdefault(label, st.column_config.Column())["help"] = helped
    # the grid draws an empty number or time as "None" whatever its format: such a column is shown as its
    # formatted text with the dash (right-aligned like a number); the downloads keep the numbers
    data = shown.copy()
    years = {(column_labels or {}).get(c, c) for c in df.columns if is_year_column(c)}
    for label, fmt in _empty_cell_formats(shown, config, years).items():
        data[label] = [DASH if missing(v) else fmt(v) for v in shown[label]]
        config[label] = st.column_config.TextColumn(alignment="right", help=(config.get(label) or {}).get("help"))
    from dashboard import layout
    if layout.print_view():
        layout.print_table(data, lang())
        return
    st.dataframe(data, hide_index=True, width="stretch", column_config=config or None, **kwargs)
    from dashboard import data, session
    who = session.principal()
    if who is not None and not who.can("download"):
        return

    def audited(build, filename):   # checked (session still valid) and audited when the file is produced
        return data.deferred_download(build, filename, kind="table", rows=len(shown))

    row = st.container(horizontal=True, gap="small")     # as wide as their labels, also in a narrow column
    # deferred: the files are built only when a download is clicked, and clicking does not rerun the page
    row.download_button("CSV", audited(lambda: to_csv_bytes(shown), f"{name}.csv"), f"{name}.csv", "text/csv",
                         key=f"csv-{name}", icon=":material/download:", on_click="ignore")
    row.download_button("Excel", audited(lambda: to_xlsx_bytes(shown, name[:31]), f"{name}.xlsx"), f"{name}.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"xlsx-{name}",
                          icon=":material/download:", on_click="ignore")


def cols(*keys: str) -> dict[str, str]:
    """Display labels for column names: `col_<name>` from the translation table."""
    return {k: tr("col_" + k) for k in keys}


# --- pages (issue 6) --------------------------------------------------------------------------


def label_value(dim: str, value) -> str:
    """A display label for a group value: channels, statuses and stage markers are codes in the store."""
    return code_label(dim, value)


def duration(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.1f} {tr('unit_' + unit)}"


def area(value_ha: float, area_unit: str) -> str:
    """An area given in hectares, shown in the chosen unit (公顷/亩)."""
    if value_ha is None or (isinstance(value_ha, float) and math.isnan(value_ha)):
        return "—"
    value = to_area_unit(value_ha, area_unit)
    return f"{fmt_count(round(value, 1), lang())} {tr('unit_' + area_unit)}"


def period_caption(scope: Scope) -> None:
    """The period and the one it is compared with (环比 or 同比)."""
    base = scope.baseline()
    st.caption(tr("period_caption_" + scope.compare, start=scope.start, end=scope.end, pstart=base.start,
                  pend=base.end))


def page_header(title_key: str, durations: bool = False, areas: bool = False):
    """Title, store status (stops with guidance when empty), the shared filter bar, the unit choices and the
    data badge — the common head of every analysis page. Returns the page's `dashboard.data.Page`."""
    from dashboard import data
    st.title(tr(title_key))
    key, status = store_status()
    scope = filter_bar(status)
    unit = unit_selector() if durations else "workdays"
    area_unit = area_unit_selector() if areas else "ha"
    data_badge(status)
    return data.Page(key, status, scope, unit, area_unit)


def field_label(name: str) -> str:
    """A store field's display label (`col_<name>`), else its name."""
    return tr("col_" + name) if has("col_" + name) else name


def auto_cols(df: pd.DataFrame) -> dict[str, str]:
    """Translated labels for whichever columns have a `col_<name>` entry (for exports whose columns vary)."""
    return {c: tr("col_" + c) for c in df.columns if has("col_" + str(c))}
