"""The process map drawn in the page by an st.components.v2 component: Graphviz's SVG, parsed as SVG and stripped
of anything active (scripts, event handlers, foreign content, outside links), with its stages and links clickable —
a click (or Enter on a focused one) sends "node:<DOT id>" or "edge:<DOT id>-><DOT id>" to Python, which reruns
the process-map fragment and lists that item's cases (dotmap.clicked_item reads the id back)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

import streamlit as st

#: The component's root element; devtools.synthlog finds the map inside it (in its shadow root).
BOX_CLASS = "ld-map-box"

_CSS = f"""
.{BOX_CLASS} {{ overflow: auto; border: 1px solid rgba(49, 51, 63, 0.15); border-radius: 0.5rem; }}
.{BOX_CLASS} svg {{ display: block; }}
.{BOX_CLASS} g.node, .{BOX_CLASS} g.edge {{ cursor: pointer; }}
.{BOX_CLASS} g.node:hover polygon, .{BOX_CLASS} g.node:hover ellipse,
.{BOX_CLASS} g.node:focus polygon, .{BOX_CLASS} g.node:focus ellipse {{ stroke: #d62728; stroke-width: 2.5; }}
.{BOX_CLASS} g.edge:hover path, .{BOX_CLASS} g.edge:focus path {{ stroke: #d62728; }}
.{BOX_CLASS} g:focus {{ outline: none; }}
.{BOX_CLASS} g.node.ld-selected polygon, .{BOX_CLASS} g.node.ld-selected path,
.{BOX_CLASS} g.node.ld-selected ellipse {{ stroke: #d62728; stroke-width: 3; }}
.{BOX_CLASS} g.edge.ld-selected path {{ stroke: #d62728; stroke-width: 3; }}
.{BOX_CLASS} g.edge.ld-selected polygon {{ stroke: #d62728; fill: #d62728; }}
"""

# The SVG is Graphviz's own output with every name escaped as text (dotmap.quote); it is still parsed as SVG, not
# HTML, and anything that could run or navigate is removed before it enters the page (docs/security.md).
_JS = f"""
const ACTIVE = 'script, foreignObject, iframe, object, embed, use, animate, set, handler';
function clean(svg) {{
  svg.querySelectorAll(ACTIVE).forEach((e) => e.remove());
  for (const el of [svg, ...svg.querySelectorAll('*')]) {{
    for (const a of [...el.attributes]) {{
      const n = a.name.toLowerCase();
      if (n.startsWith('on') || ((n === 'href' || n.endsWith(':href')) && !a.value.startsWith('#'))) {{
        el.removeAttribute(a.name);
      }}
    }}
  }}
  for (const g of svg.querySelectorAll('g.node, g.edge')) {{
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'button');
    const words = [...g.querySelectorAll('text')].map((t) => t.textContent).join(' ');
    g.setAttribute('aria-label', words || (g.querySelector('title') || {{}}).textContent || '');
  }}
  return svg;
}}
function itemOf(target) {{
  const g = target && target.closest ? target.closest('g.node, g.edge') : null;
  if (!g) return null;
  if (g.classList.contains('node')) return 'node:' + (g.querySelector('title') || {{}}).textContent;
  return 'edge:' + (g.dataset.ends || (g.querySelector('title') || {{}}).textContent);
}}
function reveal(box, item) {{           // a map larger than its box opens on `item` (the start), not on blank space
  const g = [...box.querySelectorAll('g.node')].find((n) => itemOf(n) === item);
  if (!g) return;
  const r = g.getBoundingClientRect(), b = box.getBoundingClientRect();
  box.scrollLeft += r.left - b.left - Math.max(0, (b.width - r.width) / 2);
  box.scrollTop += r.top - b.top - 16;
}}
function select(box, item) {{
  box.querySelectorAll('g.ld-selected').forEach((g) => g.classList.remove('ld-selected'));
  if (!item) return;
  for (const g of box.querySelectorAll('g.node, g.edge')) {{
    if (itemOf(g) === item) {{ g.classList.add('ld-selected'); break; }}
  }}
}}
export default function (component) {{
  const {{ data, parentElement, setTriggerValue }} = component;
  let box = parentElement.querySelector('div.{BOX_CLASS}');
  if (!box) {{
    box = document.createElement('div');
    box.className = '{BOX_CLASS}';
    box.setAttribute('role', 'figure');
    parentElement.appendChild(box);
  }}
  box.style.height = data.height + 'px';
  box.setAttribute('aria-label', data.label);
  if (box.dataset.digest !== data.digest) {{
    const doc = new DOMParser().parseFromString(data.svg, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.nodeName !== 'svg' || doc.getElementsByTagName('parsererror').length) {{
      box.textContent = data.broken;
    }} else {{
      box.replaceChildren(document.adoptNode(clean(svg)));
      if (data.focus) requestAnimationFrame(() => reveal(box, data.focus));
    }}
    box.dataset.digest = data.digest;
    box.dataset.shown = '';
  }}
  const sel = data.selected || '';         // what the drill-down lists (a click's own run already names it)
  if (sel !== box.dataset.shown) select(box, sel);
  box.dataset.shown = sel;
  const pick = (e) => {{
    const item = itemOf(e.target);
    if (!item) return;
    select(box, item);                     // outlined at once, before the rerun lists its cases
    box.dataset.shown = item;
    setTriggerValue('click', item);
  }};
  box.onclick = pick;
  box.onkeydown = (e) => {{
    if (e.key === 'Enter' || e.key === ' ') {{ e.preventDefault(); pick(e); }}
  }};
}}
"""

_MAP = st.components.v2.component("landdesk_process_map", css=_CSS, js=_JS)


def show_map(svg_text: str, height: int, *, key: str, label: str, broken: str, selected: str | None = None,
             focus: str | None = None, on_click: Callable[[str], None] | None = None) -> None:
    """Draw `svg_text` in a box `height` px high (it scrolls when the map is larger, opening on the node `focus`),
    `selected` (an item as dotmap.item_ref names it) outlined. A click calls `on_click` with the item ("node:n3", "edge:n1->n4") before
    the rerun, so that the run it starts already lists and outlines it. `label` names the figure for screen
    readers; `broken` is the one sentence shown if the browser cannot parse the SVG."""
    digest = hashlib.blake2b(svg_text.encode("utf-8"), digest_size=12).hexdigest()

    def clicked() -> None:
        item = (st.session_state.get(key) or {}).get("click")
        if item and on_click is not None:
            on_click(str(item))

    _MAP(key=key, data={"svg": svg_text, "digest": digest, "height": int(height), "label": label,
                        "broken": broken, "selected": selected, "focus": focus}, on_click_change=clicked)
