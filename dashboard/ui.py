"""Shared UI parts: language switch, the filter bar (kept in the URL), KPI cards."""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Callable

import pandas as pd
import streamlit as st

from analytics.scope import Scope
from landdesk.i18n import DEFAULT_LANG, LANGS, has, keys, language_name, t
from landdesk.fmt import fmt_count, to_area_unit
from landdesk.kpispec import KPI_SPEC, fmt_change, fmt_kpi
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


URL_FILTERS = ("from", "to", *FILTER_DIMS, SYSTEM_DIM, "unit", "area")
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
    if "period" not in st.session_state and KEEP + "period" not in st.session_state:
        st.session_state["period"], corrections = params.parse_period(raw, status["first"], status["last"], today)
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
    period = st.sidebar.date_input(tr("period"), key="period", min_value=lo, max_value=hi)
    _keep("period")
    for dim in dims:
        st.sidebar.selectbox(tr(dim), choices[dim], key=dim,
                             format_func=lambda x, d=dim: x or tr(all_labels[d]))
        _keep(dim)
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:
        start = end = period[0] if isinstance(period, (tuple, list)) and period else last
    qp["from"], qp["to"] = start.isoformat(), end.isoformat()
    chosen = {}
    if SYSTEM_DIM not in dims and SYSTEM_DIM in qp:
        del qp[SYSTEM_DIM]
    for dim in dims:
        chosen[dim] = st.session_state[dim] or None
        if chosen[dim]:
            qp[dim] = chosen[dim]
        elif dim in qp:
            del qp[dim]
    return Scope(start, end, **chosen)


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
                     format_func=lambda u: tr("unit_name_" + u))
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
                     format_func=lambda u: tr("unit_" + u))
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
    kwargs = dict(on_select="rerun", selection_mode=("points", "box"), key=key) if select else {"key": key}
    event = st.plotly_chart(fig, width="stretch", config={"displaylogo": False}, **kwargs)
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
    opened). `sections` are (translation key of the tab label, function drawing it); the open tab is in the URL
    (?PREFIX_view=label, the page's `tabs` in landdesk.pages) so a view can be shared, and stays open when the language changes.
    Returns the open tab's key."""
    key = PAGES[page].tabs + "_view"
    names = [name for name, _ in sections]
    labels = [tr(name) for name in names]
    shadow = KEEP + key
    asked = st.query_params.get(key)
    known = {t(name, code) for name in names for code in LANGS} | set(names)   # a tab named in any language
    told = st.session_state.setdefault("_tab_corrected", set())
    if asked is not None and asked not in known and (key, asked) not in told:   # a tab that does not exist
        from dashboard.params import Correction
        told.add((key, asked))
        try:
            st.query_params.pop(key, None)
        except Exception:  # noqa: BLE001 - bound to the tabs already: they fall back to the first tab themselves
            pass
        url_corrected([Correction(key, asked, labels[0])])
    kept = st.session_state.get(shadow, names[0])
    default = labels[names.index(kept)] if kept in names else labels[0]
    tabs = st.tabs(labels, key=key, default=default, on_change="rerun", bind="query-params")
    opened = names[0]
    for (name, draw), tab in zip(sections, tabs):
        if tab.open:
            opened = name
            with tab:
                draw()
    st.session_state[shadow] = opened
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


def guidance(key: str, **fmt) -> None:
    st.info(tr(key, **fmt), icon=":material/info:")


def format_kpi(code: str, value: float, unit: str = "workdays") -> str:
    """A KPI card's value (landdesk.kpispec.fmt_kpi with the card's short duration unit)."""
    return fmt_kpi(code, value, lang(), unit, card=True)


def kpi_card(code: str, row: pd.Series, unit: str = "workdays") -> None:
    """One KPI: value, change against the previous period (coloured by its direction), target and status."""
    direction = KPI_SPEC[code].direction
    st.metric(
        tr("kpi_" + code), format_kpi(code, row["value"], unit),
        delta=fmt_change(code, row["change"], lang()),
        delta_color="normal" if direction > 0 else ("inverse" if direction < 0 else "off"),
        help=tr("vs_previous"),
    )
    if isinstance(row["target"], float) and not math.isnan(row["target"]):
        colour = STATUS_BADGE[row["status"]]
        st.caption(f":{colour}-badge[{tr('status_' + row['status'])}] "
                   f"{tr('target')} {format_kpi(code, row['target'], unit)}")
    else:
        st.caption(f":gray-badge[{tr('no_target')}]")


def plotly_layout(fig, title: str):
    fig.update_layout(title=title, font_family=CJK_FONT, margin=dict(l=10, r=10, t=50, b=10),
                      legend_title_text="", hovermode="x unified")
    return fig


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


def table(df: pd.DataFrame, name: str, column_labels: dict[str, str] | None = None, height: int | None = None) -> None:
    """A table with CSV and Excel downloads (formulas neutralised); labels translated for display. The source
    system column is shown only when the rows come from more than one system."""
    from landdesk.spreadsheet import to_csv_bytes, to_xlsx_bytes

    if "system" in df.columns and df["system"].nunique(dropna=True) <= 1:
        df = df.drop(columns="system")
    column_labels = {"system": tr("system"), **(column_labels or {})}
    shown = df.rename(columns=column_labels)
    kwargs = {"height": height} if height else {}
    config = {}
    for original in df.columns:
        label = (column_labels or {}).get(original, original)
        if str(original).endswith(("_rate", "share", "_pct_share", "participation", "compression")) and \
                pd.api.types.is_float_dtype(df[original]):
            config[label] = st.column_config.NumberColumn(format="percent")
        elif pd.api.types.is_float_dtype(df[original]):
            whole = df[original].dropna()
            whole = len(whole) > 0 and bool((whole == whole.round()).all())
            config[label] = st.column_config.NumberColumn(format="%d" if whole else "%.2f")
        elif pd.api.types.is_datetime64_any_dtype(df[original]):
            t = df[original].dropna()
            midnight = len(t) > 0 and bool((t == t.dt.normalize()).all())
            config[label] = st.column_config.DatetimeColumn(format="YYYY-MM-DD" if midnight else "YYYY-MM-DD HH:mm")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config or None, **kwargs)
    from dashboard import data, session
    who = session.principal()
    if who is not None and not who.can("download"):
        return

    def audited(build, filename):   # checked (session still valid) and audited when the file is produced
        return data.deferred_download(build, filename, kind="table", rows=len(shown))

    left, right, _ = st.columns([1, 1, 6])
    # deferred: the files are built only when a download is clicked, and clicking does not rerun the page
    left.download_button("CSV", audited(lambda: to_csv_bytes(shown), f"{name}.csv"), f"{name}.csv", "text/csv",
                         key=f"csv-{name}", icon=":material/download:", on_click="ignore")
    right.download_button("Excel", audited(lambda: to_xlsx_bytes(shown, name[:31]), f"{name}.xlsx"), f"{name}.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"xlsx-{name}",
                          icon=":material/download:", on_click="ignore")


def cols(*keys: str) -> dict[str, str]:
    """Display labels for column names: `col_<name>` from the translation table."""
    return {k: tr("col_" + k) for k in keys}


# --- pages (issue 6) --------------------------------------------------------------------------

CHANNELS = ("window", "online", "mobile", "mail", "other", "letter", "visit", "hotline")


def label_value(dim: str, value) -> str:
    """A display label for a group value: channels, statuses and stage markers are codes in the store."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if dim == "channel" and value in CHANNELS:
        return tr("channel_" + value)
    if dim == "status" and value in ("open", "closed", "withdrawn", "rejected"):
        return tr("case_status_" + value)
    return str(value)


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
    previous = scope.previous()
    st.caption(tr("period_caption", start=scope.start, end=scope.end, pstart=previous.start, pend=previous.end))


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


def auto_cols(df: pd.DataFrame) -> dict[str, str]:
    """Translated labels for whichever columns have a `col_<name>` entry (for exports whose columns vary)."""
    return {c: tr("col_" + c) for c in df.columns if has("col_" + str(c))}
