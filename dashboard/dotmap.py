"""The process map as Graphviz DOT and, where Debian's `graphviz` is installed, laid out on the server as SVG (shown
inline by the page, cached per DOT text) and as SVG / PNG files for download. Without Graphviz the page falls back to
st.graphviz_chart (laid out in the browser, seconds on thousands of edges). No Streamlit import.

Edge thickness and colour carry the chosen measure (frequency: blues; performance: yellow to red), so do the
nodes' fill; labels carry the values. Every name is escaped for a DOT string: data never becomes DOT syntax.
"""
from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess

import pandas as pd

from analytics.dfg import FREQUENCY
from analytics.process import END, START
from landdesk.fmt import dot_text

FONT = "Noto Sans CJK SC"
BLUES = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
HEAT = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]
MIN_PEN, MAX_PEN = 1.0, 8.0
RENDER_TIMEOUT = 60
#: The page's server-side layout gives up after this many seconds (and says so) rather than hold the page: sfdp
#: lays out 400 activities / 5,401 edges in ≈ 0.7 s, dot 57 edges in ≈ 0.1 s (docs/performance.md, issue 14).
LAYOUT_TIMEOUT = 20
#: How many laid-out maps (DOT text → SVG) the server keeps: the same DOT gives the same SVG, so a slider moved
#: back, a rerun or a second analyst on the same view costs no layout. A 5,401-edge SVG is ≈ 2.5 MB.
LAYOUT_CACHE = 32
#: Above this many edges the map is laid out by sfdp (force-directed, near-linear) with overlap=scale, and the
#: edge values move from labels into tooltips. Graphviz's `dot` grows much faster than linear on these maps
#: (synthetic 400 / 5,000 log, server side): 114 edges 0.28 s, 150 1.26 s, 180 2.8 s, 243 6.6 s, 299 > 20 s,
#: 5,401 > 150 s; sfdp takes 0.05 s on 433 edges and 0.9 s on 5,401 (docs/performance.md, issue 14).
LARGE_MAP_EDGES = 120


#: A DOT double-quoted string of a value, drawn as its own characters (the one DOT escaper, landdesk.fmt).
quote = dot_text


def _scale(values: pd.Series) -> pd.Series:
    """Values mapped to 0–1 (a square root for frequencies keeps the weak edges visible); all equal: 0.5."""
    v = pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float)
    lo, hi = v.min() if len(v) else 0.0, v.max() if len(v) else 0.0
    if not len(v) or hi <= lo:
        return pd.Series(0.5, index=v.index)
    return ((v - lo) / (hi - lo)).clip(0, 1)


def _colour(x: float, palette: list[str]) -> str:
    return palette[min(len(palette) - 1, int(x * len(palette)))]


def fmt_value(value, measure: str, unit_label: str) -> str:
    """A measure's value as the map shows it: counts whole with separators, times with one decimal and unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if measure in FREQUENCY:
        return f"{int(value):,}"
    return f"{float(value):,.1f} {unit_label}"


def to_dot(nodes: pd.DataFrame, edges: pd.DataFrame, measure: str = "cases", unit_label: str = "",
           start_label: str = START, end_label: str = END) -> str:
    """The DOT source of a map (analytics.dfg.ProcessMap's frames) with `measure` on every node and edge (on a
    map of more than LARGE_MAP_EDGES edges: as the edges' tooltips, laid out by sfdp)."""
    frequency = measure in FREQUENCY
    large = len(edges) > LARGE_MAP_EDGES
    palette = BLUES if frequency else HEAT
    ids = node_ids(nodes, edges)
    layout = ", layout=sfdp, overlap=scale" if large else ""
    lines = ["digraph process_map {",
             f"  graph [rankdir=TB, fontname={quote(FONT)}, nodesep=0.3, ranksep=0.4{layout}];",
             f"  node [shape=box, style=\"rounded,filled\", fontname={quote(FONT)}, fontsize=11, "
             "color=\"#555555\"];",
             f"  edge [fontname={quote(FONT)}, fontsize=9, arrowsize=0.7];"]
    node_measure = measure if measure in nodes.columns else "cases"
    inner = nodes[~nodes["activity"].isin([START, END])]
    shade = dict(zip(inner["activity"].tolist(), _scale(inner[node_measure]).tolist())) if len(inner) else {}
    for name, cases, value in zip(nodes["activity"].tolist(), nodes["cases"].tolist(),
                                  nodes[node_measure].tolist()):
        if name in (START, END):
            label = f"{start_label if name == START else end_label}\n{fmt_value(cases, 'cases', '')}"
            lines.append(f"  {ids[name]} [label={quote_multiline(label)}, shape=circle, fillcolor=\"#e5e5e5\", "
                         "width=0.5, fixedsize=false];")
            continue
        x = float(shade.get(name, 0.5))
        label = f"{name}\n{fmt_value(value, measure, unit_label)}"
        font = "white" if x > 0.6 else "black"
        lines.append(f"  {ids[name]} [label={quote_multiline(label)}, fillcolor=\"{_colour(x, palette)}\", "
                     f"fontcolor={font}];")
    width = _scale(edges[measure]).tolist() if len(edges) else []
    for s, t, value, x in zip(edges["source"].tolist(), edges["target"].tolist(), edges[measure].tolist(), width):
        pen = MIN_PEN + (MAX_PEN - MIN_PEN) * (math.sqrt(x) if frequency else x)
        text = quote(fmt_value(value, measure, unit_label))
        lines.append(f"  {ids[s]} -> {ids[t]} [{'tooltip' if large else 'label'}={text}, "
                     f"penwidth={pen:.2f}, color=\"{_colour(max(x, 0.25), palette)}\"];")
    lines.append("}")
    return "\n".join(lines)


def node_ids(nodes: pd.DataFrame, edges: pd.DataFrame) -> dict:
    """Each activity's DOT node id (n0, n1, …, in the nodes' order, then any end only an edge names): the ids
    the SVG's <title>s carry, so a click on the map reads back to its activity (clicked_item)."""
    ids = {name: f"n{i}" for i, name in enumerate(nodes["activity"])}
    for name in list(edges["source"]) + list(edges["target"]):
        ids.setdefault(name, f"n{len(ids)}")
    return ids


def clicked_item(clicked: str | None, nodes: pd.DataFrame, edges: pd.DataFrame):
    """The map item a click names — ("node", activity, None) or ("edge", source, target) — from the component's
    "node:<id>" / "edge:<id>-><id>" (dashboard.mapview); None for the start and end circles, an edge not on the
    map, or anything else."""
    if not clicked or ":" not in str(clicked):
        return None
    kind, _, ref = str(clicked).partition(":")
    names = {v: k for k, v in node_ids(nodes, edges).items()}
    if kind == "node" and ref in names and names[ref] not in (START, END):
        return ("node", names[ref], None)
    if kind == "edge" and "->" in ref:
        a, b = (names.get(x.strip()) for x in ref.split("->", 1))
        if a is not None and b is not None and ((edges["source"] == a) & (edges["target"] == b)).any():
            return ("edge", a, b)
    return None


def item_ref(item, nodes: pd.DataFrame, edges: pd.DataFrame) -> str | None:
    """The component's name of a drill-down item ("node:<id>" / "edge:<id>-><id>"), the inverse of
    clicked_item; None when it is not on this map."""
    if not item:
        return None
    kind, a, b = item
    ids = node_ids(nodes, edges)
    if kind == "node" and a in ids:
        return f"node:{ids[a]}"
    if kind == "edge" and a in ids and b in ids:
        return f"edge:{ids[a]}->{ids[b]}"
    return None


def quote_multiline(text: str) -> str:
    """Like quote, but each line of `text` kept as a DOT centred line break (\\n)."""
    return '"' + "\\n".join(quote(part)[1:-1] for part in str(text).split("\n")) + '"'


def dot_available() -> bool:
    """Whether Debian's graphviz (`dot`) is on this machine: SVG / PNG downloads need it."""
    return shutil.which("dot") is not None


class LayoutError(RuntimeError):
    """Graphviz is missing, failed or ran out of time on a map: one sentence, the page says so and goes on."""


def render(dot_source: str, fmt: str = "svg", timeout: float = RENDER_TIMEOUT) -> bytes:
    """The map drawn by `dot -T<fmt>` (svg or png; the DOT's own `layout=` picks sfdp for large maps), cached per
    (DOT text, format); LayoutError (a RuntimeError) with one sentence when dot is missing, fails or takes longer
    than `timeout` seconds — the failure is cached too, so a rerun does not wait again."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"the map is drawn as svg or png, not {fmt!r}")
    ok, out = _render_cached(dot_source, fmt, float(timeout))
    if not ok:
        raise LayoutError(out)
    return out


@functools.lru_cache(maxsize=LAYOUT_CACHE)
def _render_cached(dot_source: str, fmt: str, timeout: float) -> tuple[bool, bytes | str]:
    exe = shutil.which("dot")
    if exe is None:
        return False, "Graphviz (`dot`) is not installed on the server (Debian: apt-get install graphviz)."
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, f"Graphviz did not lay out the map within {timeout:.0f} s."
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        return False, f"Graphviz could not draw the map ({reason[0] if reason else done.returncode})."
    return True, done.stdout


_SVG_OPEN = re.compile(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"')
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_EDGE_TIP = re.compile(r'<g id="(edge\d+)" class="edge">\n<title>([^<]*)</title>\n<g id="a_edge\d+"><a xlink:title="([^"]*)">\n'
                       r"(.*?)</a>\n</g>\n</g>", re.S)
#: The class of the map's root <svg> (devtools.synthlog.wait_for_map finds the map by it).
MAP_CLASS = "ld-process-map"


#: How the page shows the map: scaled to its column's width, or at Graphviz's own size in a box that scrolls
#: (labels at their true size: a map of 30 stages fitted to the column has labels of a few pixels).
SIZES = ("fit", "natural")
MAX_FRAME = 900          # px: the tallest box the page gives the map (it scrolls inside)


def page_svg(svg: bytes, size: str = "fit") -> tuple[str, int]:
    """Graphviz's SVG made fit for the page, and the height (CSS px) of the box that shows it: with size "fit" as
    wide as its box (the height follows the viewBox), with "natural" at its own size (1 pt = 4/3 px); the box
    scrolls when the map is larger. No XML prologue / DOCTYPE, the root marked with MAP_CLASS, edge tooltips as
    plain <title>s (_plain_edge). Labels are Graphviz's escaped <text> (names were quoted in the DOT); the page
    draws it with dashboard.mapview."""
    text = _PROLOGUE.sub("", svg.decode("utf-8", "replace"), count=1)
    found = _SVG_OPEN.search(text)
    w, h = (float(found.group(1)), float(found.group(2))) if found else (600.0, 400.0)
    if size == "natural":
        text = text.replace("<svg ", f'<svg class="{MAP_CLASS}" ', 1)
        height = h * 4 / 3 + 20                      # room for a horizontal scroll bar
    else:
        text = _SVG_OPEN.sub(f'<svg class="{MAP_CLASS}" width="100%"', text, count=1)
        column = 750.0                               # the map column (4/5 of the main area) on a desktop, px
        height = min(h * 4 / 3, column * h / max(w, 1.0))
    text = _EDGE_TIP.sub(_plain_edge, text)
    return text, int(min(MAX_FRAME, max(240, height + 16)))


def _plain_edge(m: re.Match) -> str:
    """A large map's edge without its <a xlink:title> wrapper: the value becomes the edge's <title> (the same
    tooltip), its ends move to data-ends. A third fewer elements: Chromium draws 5,401 edges ≈ 40 % sooner."""
    return (f'<g id="{m.group(1)}" class="edge" data-ends="{m.group(2)}">\n<title>{m.group(3)}</title>\n'
            f"{m.group(4)}</g>")
