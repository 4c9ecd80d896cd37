"""Reading the process map a page served, for AppTest: the server-side Graphviz SVG (the map component of
dashboard.processmap.draw_map) or, without Graphviz, the DOT of st.graphviz_chart — as the same
{(source name, target name): edge value} so that the tests check what an analyst sees either way."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def map_svg(at) -> str | None:
    """The SVG text of the served map (None when the page shows no server-laid-out map): the data of the page's
    map component (dashboard.mapview)."""
    for element in at.get("bidi_component"):
        proto = element.proto
        if proto.component_name == "landdesk_process_map" and proto.json:
            svg = json.loads(proto.json)["svg"]
            if 'class="ld-process-map"' in svg:
                return svg
    return None


def map_dot(at) -> str | None:
    """The DOT of the browser-laid-out map (st.graphviz_chart), None when there is none."""
    charts = at.get("graphviz_chart")
    return charts[0].proto.spec if charts else None


def svg_graph(svg: str) -> tuple[dict[str, list[str]], dict[tuple[str, str], str]]:
    """(node id → its label lines, (source name, target name) → the edge's value) of a Graphviz SVG; the value
    is the edge's label, or its tooltip on a large map."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class")
        if kind == "node":
            nodes[g.find(f"{SVG}title").text] = [t.text or "" for t in g.iter(f"{SVG}text")]
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "edge":
            title = g.find(f"{SVG}title").text
            ends = g.get("data-ends")                     # a large map: the value is the title (the tooltip)
            a, b = (ends or title).split("->")
            texts = [t.text or "" for t in g.iter(f"{SVG}text")]
            tips = [title] if ends else [e.get(f"{XLINK}title") for e in g.iter(f"{SVG}a") if e.get(f"{XLINK}title")]
            edges[(nodes[a][0], nodes[b][0])] = texts[0] if texts else tips[0]
    return nodes, edges


def dot_edges(dot: str) -> dict[tuple[str, str], str]:
    names = dict(re.findall(r'^\s*(n\d+) \[label="([^"\\]*)', dot, flags=re.M))
    out = {}
    for a, b, label in re.findall(r'^\s*(n\d+) -> (n\d+) \[(?:label|tooltip)="([^"]*)"', dot, flags=re.M):
        out[(names[a], names[b])] = label
    return out


def map_edges(at) -> dict[tuple[str, str], str]:
    """The served map's edges with their values, from its SVG or (no Graphviz on the server) its DOT."""
    svg = map_svg(at)
    if svg is not None:
        return svg_graph(svg)[1]
    dot = map_dot(at)
    assert dot is not None, "the process map is drawn"
    return dot_edges(dot)


def has_map(at) -> bool:
    return map_svg(at) is not None or map_dot(at) is not None
