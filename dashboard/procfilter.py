"""The filter bar of the process tabs (流程筛选): period mode, variants, activities, endpoints, case duration,
handler and the case and event attributes (several values each: township, case type, department, source system,
event department), kept in the URL (?pf_…, parsed and corrected by dashboard.params) and carried by the page's scope
(`Scope.cases`), so every process export of the page answers for the same cases.

The bar's widgets are drawn only while it is open: a closed bar costs the browser nothing, which matters on logs
with hundreds of activities (four pickers of every activity, the variants, the handlers). The chosen values are
kept in session state beside the widgets (`_VALUES`), so they hold while the bar is closed and across pages."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analytics.casefilter import PERIOD_MODES, CaseFilter
from analytics.process import UNKNOWN
from dashboard import params
from dashboard.ui import lang, tr, url_corrected
from landdesk.i18n import t

#: The variants offered in the picker (the most frequent first); a URL may still name any variant of the data.
VARIANT_CHOICES = 200
_VALUES = "_pf_values"     # {URL parameter: value} of the filter, kept while the widgets are not drawn
_DRAWN = "_pf_drawn"       # whether the last run drew the widgets (else they start from _VALUES)
OPEN = "pf_open"           # the expander's state; a link that sets a filter opens it


#: The attribute multiselects: (URL parameter, page.status list the values come from; None = the events').
ATTRIBUTES = (("pf_township", "townships"), ("pf_case_type", "case_types"), ("pf_department", "departments"),
              ("pf_system", "systems"), ("pf_event_department", None))


def _named(frame, column: str) -> list[str]:
    return sorted({str(v) for v in frame[column] if v != UNKNOWN and v == v}) if len(frame) else []


def _known(page) -> dict[str, list[str]]:
    """What the filters may name, from the unfiltered scope: activities, variants (most frequent first), handlers,
    event departments; the case attributes from the store's values (an officer's township only)."""
    stages = page.export("stage-times")
    found = page.export("variants")
    status = page.status or {}
    known = {"activities": sorted(stages["stage"].astype(str)) if len(stages) else [],
             "variants": list(found["variant"]) if len(found) else [],
             "handlers": _named(page.export("workload", by="handler"), "handler"),
             "event_departments": _named(page.export("workload", by="department"), "department")}
    for param, pool in ATTRIBUTES:
        if pool is not None:
            known[params.PROCESS_POOLS[param]] = [str(v) for v in status.get(pool) or [] if v]
    return known


def _raw_url() -> dict:
    qp = st.query_params
    return {k: (qp.get_all(k) if k in params.PROCESS_LISTS else qp.get(k)) for k in params.PROCESS_PARAMS if k in qp}


def _values(f: CaseFilter) -> dict:
    """The widgets' values for filter `f` ({URL parameter: value})."""
    values = {"pf_period": f.period, "pf_top": f.top_variants,
              "pf_cover": None if f.variant_coverage is None else round(f.variant_coverage * 100, 4),
              "pf_dmin": f.duration_min, "pf_dmax": f.duration_max,
              "pf_slowest": None if f.slowest is None else round(f.slowest * 100, 4)}
    values.update({param: list(getattr(f, name)) for param, name in params.PROCESS_LISTS.items()})
    return values


def _from_values(values: dict, unit: str, known: dict) -> CaseFilter:
    """The filter the values say (a contradiction, e.g. maximum below minimum, dropped with a notice)."""
    f, notes = params.parse_process_filter({k: values.get(k) for k in params.PROCESS_PARAMS}, known, unit)
    url_corrected(notes)
    return f


def _widgets(page, known: dict) -> None:
    """The bar's widgets (drawn inside the open expander); their keys are the URL parameters."""
    state = st.session_state
    top, mid, low = st.columns(3), st.columns(4), st.columns(4)
    top[0].selectbox(tr("pf_period"), PERIOD_MODES, key="pf_period", format_func=lambda m, lang=lang(): t("pf_period_" + m, lang))
    variants = known["variants"][:VARIANT_CHOICES]
    variants += [v for v in state.get("pf_variant") or [] if v not in variants]
    top[1].multiselect(tr("pf_variant"), variants, key="pf_variant", placeholder=tr("pf_any"))
    with top[2]:
        a, b = st.columns(2)
        a.number_input(tr("pf_top"), min_value=1, max_value=10_000, step=1, key="pf_top", placeholder=tr("pf_any"))
        b.number_input(tr("pf_cover"), min_value=1.0, max_value=100.0, step=5.0, key="pf_cover",
                       placeholder=tr("pf_any"))
    for col, param in zip(mid, ("pf_has", "pf_lacks", "pf_start", "pf_end")):
        col.multiselect(tr(param), known["activities"], key=param, placeholder=tr("pf_any"))
    u = tr("unit_" + page.unit)
    low[0].number_input(f"{tr('pf_dmin')} ({u})", min_value=0.0, step=1.0, key="pf_dmin", placeholder=tr("pf_any"))
    low[1].number_input(f"{tr('pf_dmax')} ({u})", min_value=0.0, step=1.0, key="pf_dmax", placeholder=tr("pf_any"))
    low[2].number_input(tr("pf_slowest"), min_value=1.0, max_value=100.0, step=5.0, key="pf_slowest",
                        placeholder=tr("pf_any"))
    low[3].multiselect(tr("pf_handler"), known["handlers"], key="pf_handler", placeholder=tr("pf_any"))
    for col, (param, _) in zip(st.columns(len(ATTRIBUTES)), ATTRIBUTES):
        col.multiselect(tr(param), known[params.PROCESS_POOLS[param]], key=param, placeholder=tr("pf_any"))
    st.caption(tr("pf_help"))


def process_filters(page):
    """Draw the filter bar of the process tabs and return `page` with its scope narrowed to the chosen cases."""
    known = _known(page)
    state = st.session_state
    if _VALUES not in state:                      # the session's first run of the bar: from the URL
        f, notes = params.parse_process_filter(_raw_url(), known, page.unit)
        url_corrected(notes)
        state[_VALUES], state[_DRAWN] = _values(f), False
        state[OPEN] = not f.is_empty()
    values = state[_VALUES]
    pools = {param: set(known[params.PROCESS_POOLS[param]]) for param in params.PROCESS_LISTS}
    for param, pool in pools.items():             # values no longer in the data (another period) are dropped
        values[param] = [v for v in values.get(param) or [] if v in pool]
    chosen_count = sum(bool(values.get(p)) for p in params.PROCESS_PARAMS if p != "pf_period") + \
        (values.get("pf_period", "events") != "events")
    label = tr("pf_title") + (f" · {tr('pf_active', n=chosen_count)}" if chosen_count else "")
    # The label (its count) is part of the expander's identity: `expanded` carries the state to a relabelled one.
    bar = st.expander(label, expanded=bool(state.get(OPEN)), key=OPEN, on_change="rerun",
                      icon=":material/filter_alt:")
    if bar.open:
        for param in params.PROCESS_PARAMS:       # widgets the last run did not draw start from the kept values
            if not state.get(_DRAWN) or param not in state:
                state[param] = values[param]
            elif param in pools:
                state[param] = [v for v in state[param] or [] if v in pools[param]]
        with bar:
            _widgets(page, known)
        values.update({param: state[param] for param in params.PROCESS_PARAMS})
    state[_DRAWN] = bool(bar.open)
    f = _from_values(values, page.unit, known)
    qp = st.query_params
    wanted = params.process_filter_params(f)
    for k in params.PROCESS_PARAMS:
        if k not in wanted and k in qp:
            del qp[k]
    for k, v in wanted.items():
        qp[k] = v
    return page if f.is_empty() else replace(page, scope=replace(page.scope, cases=f))
