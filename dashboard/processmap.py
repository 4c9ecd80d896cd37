"""The process map tab (流程图) of the bottlenecks page: activity and path sliders, frequency / performance
measure, the map laid out by Graphviz on the server (SVG drawn in the page by dashboard.mapview, cached per DOT
text; st.graphviz_chart in the browser when the server has no Graphviz), a click on a stage or link — or the picker
of them beside it — that drills down to their cases, DOT / SVG / PNG downloads through the one download path, and the tables. Kept in the URL (?pm_act=,
?pm_paths=, ?pm_measure=, ?pm_size=). The tab is a fragment: a slider move redraws the map, not the page."""
from __future__ import annotations

import streamlit as st

from analytics.dfg import (FREQUENCY, PERFORMANCE, default_activity_share, default_path_share, keep_paths)
from analytics.process import END, START
from dashboard import dotmap, mapview, params
from dashboard.ui import cols, guidance, label_value, lang, table, tr, tr_data, url_corrected
from landdesk.i18n import t

_SEEDED = "_pm_seeded"
KINDS = ("frequency", "performance")
_CLICKED = "_pm_clicked"          # the map item a click named, kept by the component's callback for its run


def _seed_from_url(n_activities: int) -> None:
    state, qp = st.session_state, st.query_params
    raw = {k: qp.get(k) for k in ("pm_act", "pm_paths", "pm_measure", "pm_size") if k in qp}
    notes = []
    if "pm_act" in raw:
        state["pm_act"], fix = params.parse_share(raw, "pm_act", default_activity_share(n_activities))
        notes.append(fix)
    if "pm_paths" in raw:
        state["pm_paths"], fix = params.parse_share(raw, "pm_paths", 100)
        notes.append(fix)
    measure, fix = params.parse_choice(raw, "pm_measure", FREQUENCY + PERFORMANCE, "cases")
    notes.append(fix)
    state["pm_kind"] = "frequency" if measure in FREQUENCY else "performance"
    state["pm_measure_" + state["pm_kind"]] = measure
    state["pm_size"], fix = params.parse_choice(raw, "pm_size", dotmap.SIZES, "fit")
    notes.append(fix)
    url_corrected(notes)


def _share_slider(label_key: str, key: str, default: int, help_text: str) -> int:
    value = st.session_state.get(key, default)
    if not isinstance(value, int) or not 0 <= value <= 100:
        st.session_state[key] = default
    if key in st.session_state:
        return st.slider(tr(label_key), 0, 100, key=key, format="%d%%", help=help_text)
    return st.slider(tr(label_key), 0, 100, default, key=key, format="%d%%", help=help_text)


def _item_label(item, language: str | None = None) -> str:
    kind, a, b = item
    language = language or lang()
    return _end_name(a, language) if kind == "node" else f"{_end_name(a, language)} → {_end_name(b, language)}"


def _end_name(name, language: str) -> str:
    """An activity as the map names it: its own name, or 开始 / 结束 (Start / End) for the map's two ends."""
    return t("pm_start", language) if name == START else t("pm_end", language) if name == END else str(name)


@st.fragment
def process_map_tab(page) -> None:
    """The tab: everything it shows comes from the `dfg` / `dfg-nodes` exports of the page's (filtered) scope. A
    fragment: its sliders, measure, size and drill-down rerun the tab only, not the page's filters and cards."""
    st.subheader(tr("bn_process_map"))
    u = tr("unit_" + page.unit)
    everything = page.export("dfg-nodes")
    activities = everything[~everything["activity"].isin([START, END])] if len(everything) else everything
    n = len(activities)
    if n == 0:
        guidance("no_events_period")
        return
    if not st.session_state.get(_SEEDED):
        _seed_from_url(n)
        st.session_state[_SEEDED] = True
    controls = st.columns([2, 2, 3])
    with controls[0]:
        act = _share_slider("pm_activities", "pm_act", default_activity_share(n), tr("pm_activities_help"))
    kept = max(1, -(-act * n // 100))
    projected = page.export("dfg", options={"activities": act})
    with controls[1]:
        paths = _share_slider("pm_paths", "pm_paths", default_path_share(len(projected)), tr("pm_paths_help"))
    with controls[2]:
        kind = st.radio(tr("pm_kind"), KINDS, key="pm_kind", horizontal=True, format_func=lambda k, lang=lang(): t("pm_kind_" + k, lang))
        options = FREQUENCY if kind == "frequency" else PERFORMANCE
        measure = st.radio(tr("pm_measure"), options, key="pm_measure_" + kind, horizontal=True,
                           format_func=lambda m, lang=lang(): t("pm_measure_" + m, lang))
    qp = st.query_params
    qp["pm_act"], qp["pm_paths"], qp["pm_measure"] = str(act), str(paths), measure
    edges = keep_paths(projected, paths)
    nodes = page.export("dfg-nodes", options={"activities": act})
    shown_nodes = nodes[nodes["activity"].isin(set(edges["source"]) | set(edges["target"]))
                        | ~nodes["activity"].isin([START, END])].reset_index(drop=True)
    st.caption(tr("pm_caption", kept=kept, n=n, edges=len(edges), total=len(projected)))
    dot = dotmap.to_dot(shown_nodes, edges, measure, u, tr("pm_start"), tr("pm_end"))
    left, right = st.columns([4, 1])
    with right:
        size = st.radio(tr("pm_size"), dotmap.SIZES, key="pm_size", format_func=lambda s, lang=lang(): t("pm_size_" + s, lang))
        qp["pm_size"] = size
        _downloads(dot)
    with left:
        clicked = dotmap.clicked_item(st.session_state.pop(_CLICKED, None), shown_nodes, edges)
        if clicked is not None:                  # a click on the map: the drill-down lists it in this run
            st.session_state["pm_drill"] = clicked
        ends = tuple(dotmap.item_ref(("node", end, None), shown_nodes, edges) for end in (START, END))
        draw_map(dot, size, dotmap.item_ref(st.session_state.get("pm_drill"), shown_nodes, edges), ends)
        st.caption(tr("pm_help_" + ("frequency" if measure in FREQUENCY else "performance"),
                      measure=tr("pm_measure_" + measure)))
    _drill(page, shown_nodes, edges, act, u)
    stages = int((~shown_nodes["activity"].isin([START, END])).sum())
    tables = st.expander(tr("pm_tables", edges=len(edges), nodes=stages), key="pm_tables",
                         on_change="rerun", icon=":material/table_rows:")
    if tables.open:                  # drawn when asked for: two grids fewer on the map's first draw
        with tables:
            table(_end_names(edges, "source", "target"), "dfg",
                  cols("source", "target", "count", "cases", "median", "mean", "p90", "total", "median_wait"),
                  height=260)
            table(_end_names(shown_nodes, "activity"), "dfg-nodes",
                  cols("activity", "count", "cases", "median", "mean", "p90", "total"), height=260)


def _end_names(frame, *columns):
    """The tables name the map's start and end as the map does (开始 / 结束), not by their symbols."""
    language = lang()
    ends = {END: _end_name(END, language), START: _end_name(START, language)}
    return frame.assign(**{c: frame[c].map(lambda v: ends.get(v, v)) for c in columns}) if len(frame) else frame


def draw_map(dot: str, size: str = "fit", selected: str | None = None, ends: tuple = (None, None)) -> None:
    """The map laid out on the server by Debian's Graphviz and drawn in the page as its SVG (seconds faster than the
    browser's viz.js on thousands of edges; st.html's sanitiser strips SVG), clickable (a click is kept for the
    run it starts), in a box that scrolls (at actual size opening on the start), `selected` outlined, the start and
    end circles (`ends`, as dotmap.item_ref names them) not clickable. Without Graphviz, st.graphviz_chart with a
    caption (not clickable: the picker drills down); a layout that fails or runs out of time
    (dotmap.LAYOUT_TIMEOUT) is said in a caption, never a hang."""
    if not dotmap.dot_available():
        st.graphviz_chart(dot, width="stretch")
        st.caption(tr("pm_browser_layout"))
        return
    try:
        svg = dotmap.render(dot, "svg", timeout=dotmap.LAYOUT_TIMEOUT)
    except dotmap.LayoutError:
        st.caption(tr("pm_layout_failed", seconds=dotmap.LAYOUT_TIMEOUT))
        return
    text, height = dotmap.page_svg(svg, size)
    mapview.show_map(text, height, key="pm_map", label=tr("bn_process_map"), broken=tr("pm_map_broken"),
                     selected=selected, focus=ends[0] if size == "natural" else None,
                     ends=tuple(e for e in ends if e), on_click=_keep_click)


def _keep_click(item: str) -> None:
    st.session_state[_CLICKED] = item


def _downloads(dot: str) -> None:
    """The map as DOT source, and as SVG / PNG when the server has Graphviz — through data.deferred_download."""
    from dashboard import data, session
    who = session.principal()
    if who is not None and not who.can("download"):
        return
    st.download_button("DOT", data.deferred_download(lambda: dot.encode("utf-8"), "process-map.dot", kind="map"),
                       "process-map.dot", "text/vnd.graphviz", key="pm-dot", icon=":material/download:",
                       on_click="ignore")
    if not dotmap.dot_available():
        st.caption(tr("pm_no_graphviz"))
        return
    for fmt, mime in (("svg", "image/svg+xml"), ("png", "image/png")):
        st.download_button(fmt.upper(), data.deferred_download(lambda f=fmt: dotmap.render(dot, f),
                                                               f"process-map.{fmt}", kind="map"),
                           f"process-map.{fmt}", mime, key=f"pm-{fmt}", icon=":material/download:",
                           on_click="ignore")


def _drill(page, nodes, edges, act: int, unit_label: str) -> None:
    """A picker of the map's activities and edges and the cases behind the one picked (or clicked on the map: the
    picker then shows it); none is picked until the analyst asks (the page opens without a case list)."""
    st.subheader(tr("pm_drill_title"))
    items = [("node", a, None) for a in nodes["activity"] if a not in (START, END)]
    items += [("edge", s, t) for s, t in zip(edges["source"], edges["target"])]
    if not items:
        return
    if st.session_state.get("pm_drill") not in items:
        st.session_state.pop("pm_drill", None)
    item = st.selectbox(tr("pm_drill_pick"), items, index=None, key="pm_drill", placeholder=tr("pm_drill_none"),
                        format_func=lambda i, lang=lang(): _item_label(i, lang))
    if item is None:               # nothing is listed until asked for: the map's first draw stays light
        st.caption(tr("pm_drill_hint"))
        return
    kind, a, b = item
    found, total = page.map_cases(a if kind == "node" else None, (a, b) if kind == "edge" else None, act)
    found = found.assign(status=[label_value("status", v) for v in found["status"]])
    st.caption(tr_data("pm_drill_caption", item=_item_label(item), shown=len(found), total=total, unit=unit_label))
    table(found, "map-cases", cols("case_id", "passes", "time", "case_type", "department", "township", "status",
                                   "received_at", "closed_at", "throughput", "age"), height=300)
