"""Issue 14: the process map is laid out on the server by Graphviz (not in the browser) and served as its SVG to the
page's map component (dashboard.mapview, which strips anything active before drawing it); the same DOT is laid out once (cached); a layout that runs out of time is one
caption; without Graphviz the page falls back to st.graphviz_chart and says so. On the hand-made log of
test_process_map: 4 activities + ▶ and ■, 7 edges, counted by hand."""
from __future__ import annotations

import json
import re

import pytest

from dashboard import dotmap
from landdesk.i18n import t

from pmap_helpers import map_svg, svg_graph  # noqa: E402
from test_process_map import DAYS, TRACES  # noqa: E402
from test_process_map_page import _open, _store  # noqa: E402

needs_dot = pytest.mark.skipif(not dotmap.dot_available(), reason="Graphviz (dot) is not installed")


@needs_dot
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_served_map_is_graphviz_svg_of_the_hand_made_log(sqlite_engine, monkeypatch, lang):
    _store(sqlite_engine, TRACES, DAYS)
    at = _open(monkeypatch, sqlite_engine, lang)
    assert not at.get("graphviz_chart"), "laid out on the server, not in the browser"
    maps = [e for e in at.get("bidi_component") if e.proto.component_name == "landdesk_process_map"]
    assert len(maps) == 1 and not at.get("iframe"), "drawn in the page by the map component, not in a frame"
    data = json.loads(maps[0].proto.json)
    assert data["label"] == t("bn_process_map", lang) and data["broken"] == t("pm_map_broken", lang)
    assert "<script" not in data["svg"]
    nodes, edges = svg_graph(map_svg(at))
    start, end = t("pm_start", lang), t("pm_end", lang)
    assert sorted(lines[0] for lines in nodes.values()) == sorted([start, end, "a", "b", "c", "d"])
    assert {lines[0]: lines[1] for lines in nodes.values()}[start] == "4"           # four cases start
    assert edges == {(start, "a"): "4", ("a", "b"): "3", ("b", "c"): "2", ("b", "b"): "1", ("a", "d"): "1",
                     ("d", "c"): "1", ("c", end): "3"}
    # a slider move lays out a new DOT: 50 % of the activities keeps a and b
    at.session_state["pm_act"] = 50
    at.run()
    assert not at.exception
    nodes, edges = svg_graph(map_svg(at))
    assert sorted(lines[0] for lines in nodes.values()) == sorted([start, end, "a", "b"])


def test_without_graphviz_the_browser_lays_out_the_map(sqlite_engine, monkeypatch):
    monkeypatch.setattr(dotmap, "dot_available", lambda: False)
    _store(sqlite_engine, TRACES, DAYS)
    at = _open(monkeypatch, sqlite_engine, "en")
    assert map_svg(at) is None
    dot = at.get("graphviz_chart")[0].proto.spec
    assert dot.count(" -> ") == 7 and '[label="a\\n' in dot
    captions = " ".join(c.value for c in at.caption)
    assert t("pm_browser_layout", "en") in captions and t("pm_no_graphviz", "en") in captions


@needs_dot
def test_a_layout_out_of_time_is_one_caption(sqlite_engine, monkeypatch):
    monkeypatch.setattr(dotmap, "LAYOUT_TIMEOUT", 0.001)
    _store(sqlite_engine, TRACES, DAYS)
    at = _open(monkeypatch, sqlite_engine, "en")
    assert map_svg(at) is None and not at.get("graphviz_chart")
    assert t("pm_layout_failed", "en", seconds=0.001) in " ".join(c.value for c in at.caption)
    at.session_state["pm_tables"] = True
    at.run()
    assert not at.exception
    assert any(d.value is not None for d in at.dataframe), "the tables are still there"


@needs_dot
def test_render_is_cached_per_dot_text_and_times_out_cleanly():
    import pandas as pd
    from analytics.process import END, START
    nodes = pd.DataFrame({"activity": [START, "x", "y", END], "cases": [2, 2, 1, 2]})
    edges = pd.DataFrame({"source": [START, "x", "y", "x"], "target": ["x", "y", END, END], "cases": [2, 1, 1, 1]})
    dot = dotmap.to_dot(nodes, edges)
    before = dotmap._render_cached.cache_info().hits
    first = dotmap.render(dot, "svg", timeout=30)
    assert dotmap.render(dot, "svg", timeout=30) is first                # the same DOT: laid out once
    assert dotmap._render_cached.cache_info().hits == before + 1
    assert first.count(b'class="node"') == 4 and first.count(b'class="edge"') == 4
    big = dotmap.to_dot(*_grid(60, 1500))
    with pytest.raises(dotmap.LayoutError, match="within"):
        dotmap.render(big, "svg", timeout=0.001)


@needs_dot
def test_names_stay_text_in_the_svg():
    """Markup, quotes and Graphviz escapes in activity names come out as the same characters in <text>."""
    import pandas as pd
    from analytics.process import END, START
    odd = ['<script>alert(1)</script>', 'a "quoted" \\N name', "x & y <b>"]
    nodes = pd.DataFrame({"activity": [START, *odd, END], "cases": 1})
    edges = pd.DataFrame({"source": [START, odd[0], odd[1], odd[2]], "target": [odd[0], odd[1], odd[2], END],
                          "cases": 1})
    svg, _ = dotmap.page_svg(dotmap.render(dotmap.to_dot(nodes, edges), "svg"))
    assert "<script" not in svg and "<b>" not in svg
    names, _ = svg_graph(svg)
    assert sorted(lines[0] for lines in names.values()) == sorted([START, END, *odd])


def _grid(n: int, n_edges: int):
    import pandas as pd
    from analytics.process import END, START
    names = [f"a{i}" for i in range(n)]
    pairs = [(a, b) for a in names for b in names if a != b][:n_edges]
    return (pd.DataFrame({"activity": [START, *names, END], "cases": 1}),
            pd.DataFrame({"source": [p[0] for p in pairs], "target": [p[1] for p in pairs],
                          "cases": range(1, len(pairs) + 1)}))


@needs_dot
def test_a_large_maps_edge_values_are_plain_tooltips():
    """Over LARGE_MAP_EDGES edges the values are tooltips: on the page each is the edge's own <title> (no <a>
    wrapper), and every edge keeps its ends and its value."""
    nodes, edges = _grid(60, dotmap.LARGE_MAP_EDGES + 100)
    svg, _ = dotmap.page_svg(dotmap.render(dotmap.to_dot(nodes, edges), "svg"))
    assert "<a " not in svg and svg.count("data-ends=") == len(edges)
    _, shown = svg_graph(svg)
    assert shown == {(s, t): f"{c:,}" for s, t, c in zip(edges["source"], edges["target"], edges["cases"])}


@needs_dot
def test_natural_size_keeps_graphvizs_own_size_and_fit_follows_the_frame():
    """"Fit" scales the map to its frame's width; "natural" keeps Graphviz's size in points (labels at 14 pt)
    and the frame scrolls: its height is the map's, capped at MAX_FRAME."""
    nodes, edges = _grid(12, 30)
    svg = dotmap.render(dotmap.to_dot(nodes, edges), "svg")
    w, h = (float(x) for x in re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg.decode()).groups())
    fit, fit_height = dotmap.page_svg(svg, "fit")
    natural, natural_height = dotmap.page_svg(svg, "natural")
    assert 'width="100%"' in fit and f'width="{w:g}pt"' not in fit
    assert f'width="{w:g}pt" height="{h:g}pt"' in natural and 'class="ld-process-map"' in natural
    assert natural_height == int(min(dotmap.MAX_FRAME, max(240, h * 4 / 3 + 36)))
    assert fit_height <= natural_height or w * 4 / 3 <= 750
    assert svg_graph(fit)[1] == svg_graph(natural)[1]          # the same map either way


def test_a_click_on_the_map_reads_back_to_its_stage_or_link():
    """The map component returns the DOT ids Graphviz puts in the SVG's <title>s; dotmap reads them back to the
    drill-down's items, and names an item for the component's outline (the inverse), on the hand-made map."""
    import pandas as pd
    from analytics.process import END, START
    nodes = pd.DataFrame({"activity": [START, "a", "b", "c", END], "cases": [4, 4, 3, 2, 3]})
    edges = pd.DataFrame({"source": [START, "a", "b", "b", "c"], "target": ["a", "b", "c", "b", END],
                          "cases": [4, 3, 2, 1, 3]})
    ids = dotmap.node_ids(nodes, edges)
    assert ids == {START: "n0", "a": "n1", "b": "n2", "c": "n3", END: "n4"}
    assert dotmap.clicked_item("node:n2", nodes, edges) == ("node", "b", None)
    assert dotmap.clicked_item("edge:n2->n2", nodes, edges) == ("edge", "b", "b")
    assert dotmap.clicked_item("edge:n1->n2", nodes, edges) == ("edge", "a", "b")
    for nothing in ("node:n0", "node:n4", "edge:n1->n3", "node:n9", "edge:n1", "n1", "", None, "node:"):
        assert dotmap.clicked_item(nothing, nodes, edges) is None, nothing      # ends, absent links, junk
    refs = {("node", "c", None): "node:n3", ("edge", "b", "c"): "edge:n2->n3", ("edge", START, "a"): "edge:n0->n1",
            ("node", START, None): "node:n0"}
    for item, ref in refs.items():
        assert dotmap.item_ref(item, nodes, edges) == ref
        if ref != "node:n0":                                                   # the start circle drills nothing
            assert dotmap.clicked_item(ref, nodes, edges) == item
    assert dotmap.item_ref(("node", "zz", None), nodes, edges) is None and dotmap.item_ref(None, nodes, edges) is None
    # the ids are the SVG's: every node's <title> is its id
    if dotmap.dot_available():
        svg, _ = dotmap.page_svg(dotmap.render(dotmap.to_dot(nodes, edges), "svg"))
        assert set(svg_graph(svg)[0]) == set(ids.values())


def test_names_with_entities_and_control_characters_are_drawn_as_their_characters():
    """Graphviz decodes entities in labels and copies control characters into its SVG (which then does not parse):
    the one DOT escaper (landdesk.fmt.dot_text) writes & as &amp; and XML-forbidden characters as U+FFFD, for the
    process map and the handover network alike."""
    import pandas as pd
    import xml.etree.ElementTree as ET
    from analytics.resources import handover_dot
    from landdesk.fmt import dot_text
    names = ["a&amp;b", "&lt;script&gt;", "x\x01y", "&#xD800;z", "普通"]
    assert dot_text("a&b \"q\"") == '"a&amp;b \\"q\\""' and dot_text("x\x01y") == '"x\ufffdy"'
    if not dotmap.dot_available():
        pytest.skip("Graphviz (dot) is not installed")
    nodes = pd.DataFrame({"activity": names, "cases": [1] * 5})
    edges = pd.DataFrame({"source": names[:-1], "target": names[1:], "cases": [1] * 4})
    svg, _ = dotmap.page_svg(dotmap.render(dotmap.to_dot(nodes, edges), "svg"))
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]   # it parses
    assert {"a&amp;b", "&lt;script&gt;", "x\ufffdy", "&#xD800;z", "普通"} <= set(texts)
    hand = pd.DataFrame({"source": ["a&amp;b"], "target": ["x\x01y"], "count": [2], "median_handoff": [1.0]})
    drawn = dotmap.render(handover_dot(hand, "h", "n", "m"), "svg").decode()
    assert "a&amp;amp;b" in drawn and "x\ufffdy" in drawn and "\x01" not in drawn
