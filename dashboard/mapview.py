"""The process map drawn in the page by an st.components.v2 component: Graphviz's SVG, parsed as SVG and cut down
to Graphviz's own vocabulary (an allowlist of elements and attributes: nothing that runs, loads or navigates), with
its stages and links clickable — a click (or Enter on the focused one; arrow keys move between them) sends
"<map digest>|node:<DOT id>" or "…|edge:<DOT id>-><DOT id>" to Python, which reruns the process-map fragment and
lists that item's cases (dotmap.clicked_item reads the id back; a click on a map already replaced is ignored)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

import streamlit as st

#: The component's root element; devtools.synthlog finds the map inside it (in its shadow root).
BOX_CLASS = "ld-map-box"

_CSS = """
.BOX { overflow: auto; border: 1px solid rgba(49, 51, 63, 0.15); border-radius: 0.5rem; }
.BOX svg { display: block; }
.BOX g.node, .BOX g.edge { cursor: pointer; }
.BOX g.ld-end { cursor: default; }
.BOX g.node:hover polygon, .BOX g.node:hover path, .BOX g.node:focus polygon, .BOX g.node:focus path
  { stroke: #d62728; stroke-width: 2.5; }
.BOX g.ld-end:hover ellipse { stroke: inherit; }
.BOX g.edge:hover path, .BOX g.edge:focus path { stroke: #d62728; }
.BOX g:focus { outline: none; }
.BOX g.node.ld-selected polygon, .BOX g.node.ld-selected path { stroke: #d62728; stroke-width: 3; }
.BOX g.edge.ld-selected path { stroke: #d62728; stroke-width: 3; }
.BOX g.edge.ld-selected polygon { stroke: #d62728; fill: #d62728; }
""".replace("BOX", BOX_CLASS)

# The SVG is Graphviz's output with every name quoted as text (dotmap.quote); it is parsed as SVG, never as HTML,
# and only Graphviz's own elements and presentation attributes survive into the page (docs/security.md).
_JS = """
const SVG_NS = 'http://www.w3.org/2000/svg';
const ELEMENTS = new Set(['svg', 'g', 'title', 'text', 'polygon', 'polyline', 'path', 'ellipse']);
const ATTRIBUTES = new Set(['id', 'class', 'transform', 'points', 'd', 'cx', 'cy', 'rx', 'ry', 'x', 'y', 'width',
  'height', 'viewBox', 'preserveAspectRatio', 'fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity',
  'stroke-dasharray', 'opacity', 'font-family', 'font-size', 'font-weight', 'font-style', 'text-anchor',
  'data-ends']);
function keepAttributes(el) {
  for (const a of [...el.attributes]) {
    if (a.namespaceURI !== null || !ATTRIBUTES.has(a.name)) el.removeAttributeNode(a);
  }
}
function prune(el) {                     // depth first: an element outside the allowlist goes with its subtree
  for (const child of [...el.children]) {
    if (child.namespaceURI !== SVG_NS || !ELEMENTS.has(child.localName)) { child.remove(); continue; }
    keepAttributes(child);
    prune(child);
  }
}
const words = (g) => [...g.querySelectorAll('text')].map((t) => t.textContent).join(' ');
function clean(svg, ends) {
  keepAttributes(svg);
  prune(svg);
  const names = {};
  const items = [];
  for (const g of svg.querySelectorAll('g.node, g.edge')) {
    const title = g.querySelector('title') || g.insertBefore(document.createElementNS(SVG_NS, 'title'), g.firstChild);
    if (g.classList.contains('node')) {
      g.dataset.id = title.textContent.trim();
      names[g.dataset.id] = (g.querySelector('text') || {}).textContent || g.dataset.id;
      title.textContent = words(g);            // the tooltip names the stage, not its DOT id
      if (ends.includes('node:' + g.dataset.id)) { g.classList.add('ld-end'); continue; }
    } else {
      const value = g.dataset.ends ? title.textContent : words(g);
      g.dataset.ends = (g.dataset.ends || title.textContent).trim();
      const [a, b] = g.dataset.ends.split('->').map((x) => names[x.trim()] || x.trim());
      title.textContent = `${a} → ${b}: ${value}`;
    }
    g.setAttribute('role', 'button');
    g.setAttribute('tabindex', '-1');
    g.setAttribute('aria-label', title.textContent);
    items.push(g);
  }
  if (items.length) items[0].setAttribute('tabindex', '0');   // one tab stop; arrow keys move within the map
  return svg;
}
function itemOf(target) {
  const g = target && target.closest ? target.closest('g.node, g.edge') : null;
  if (!g || g.classList.contains('ld-end')) return null;
  return g.classList.contains('node') ? 'node:' + g.dataset.id : 'edge:' + g.dataset.ends;
}
function reveal(box, item) {           // a map larger than its box opens on `item` (the start), not on blank space
  const g = [...box.querySelectorAll('g.node')].find((n) => 'node:' + n.dataset.id === item);
  if (!g) return;
  const r = g.getBoundingClientRect(), b = box.getBoundingClientRect();
  box.scrollLeft += r.left - b.left - Math.max(0, (b.width - r.width) / 2);
  box.scrollTop += r.top - b.top - 16;
}
function select(box, item) {
  box.querySelectorAll('g.ld-selected').forEach((g) => g.classList.remove('ld-selected'));
  if (!item) return;
  for (const g of box.querySelectorAll('g.node, g.edge')) {
    if (itemOf(g) === item) { g.classList.add('ld-selected'); break; }
  }
}
function move(box, from, step) {       // roving focus: the arrow keys walk the map's stages and links
  const items = [...box.querySelectorAll('g[role="button"]')];
  const next = items[(Math.max(0, items.indexOf(from)) + step + items.length) % items.length];
  if (!next) return;
  items.forEach((g) => g.setAttribute('tabindex', '-1'));
  next.setAttribute('tabindex', '0');
  next.focus();
}
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let box = parentElement.querySelector('div.BOX');
  if (!box) {
    box = document.createElement('div');
    box.className = 'BOX';
    box.setAttribute('role', 'figure');
    parentElement.appendChild(box);
  }
  box.style.height = data.height + 'px';
  box.setAttribute('aria-label', data.label);
  if (box.dataset.digest !== data.digest) {
    const doc = new DOMParser().parseFromString(data.svg, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.namespaceURI !== SVG_NS || svg.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) {
      box.textContent = data.broken;
    } else {
      box.replaceChildren(document.adoptNode(clean(svg, data.ends || [])));
      if (data.focus) requestAnimationFrame(() => reveal(box, data.focus));
    }
    box.dataset.digest = data.digest;
    box.dataset.shown = '';
  }
  const sel = data.selected || '';         // what the drill-down lists (a click's own run already names it)
  if (sel !== box.dataset.shown) select(box, sel);
  box.dataset.shown = sel;
  const pick = (e) => {
    const item = itemOf(e.target);
    if (!item) return;
    select(box, item);                     // outlined at once, before the rerun lists its cases
    box.dataset.shown = item;
    setTriggerValue('click', box.dataset.digest + '|' + item);
  };
  box.onclick = pick;
  box.onkeydown = (e) => {
    const g = e.target && e.target.closest ? e.target.closest('g[role="button"]') : null;
    if (!g) return;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(e); }
    else if (e.key === 'ArrowRight' || e.key === 'ArrowDown') { e.preventDefault(); move(box, g, 1); }
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') { e.preventDefault(); move(box, g, -1); }
  };
}
""".replace("BOX", BOX_CLASS)

_MAP = st.components.v2.component("landdesk_process_map", css=_CSS, js=_JS)
_DIGEST = "_ld_map_digest"        # session key: the digest of the map last drawn under each component key


def digest(svg_text: str) -> str:
    """The map's version: a click names the map it was made on, so one on a map already replaced is ignored."""
    return hashlib.blake2b(svg_text.encode("utf-8"), digest_size=12).hexdigest()


def show_map(svg_text: str, height: int, *, key: str, label: str, broken: str, selected: str | None = None,
             focus: str | None = None, ends: tuple[str, ...] = (), on_click: Callable[[str], None] | None = None
             ) -> None:
    """Draw `svg_text` in a box `height` px high (it scrolls when the map is larger, opening on the node `focus`),
    `selected` (an item as dotmap.item_ref names it) outlined, the items `ends` (the start and end circles) not
    clickable. A click calls `on_click` with the item ("node:n3", "edge:n1->n4") before the rerun, so that the run
    it starts already lists and outlines it. `label` names the figure for screen readers; `broken` is the one
    sentence shown if the browser cannot parse the SVG."""
    version = digest(svg_text)
    drawn = st.session_state.setdefault(_DIGEST, {})

    def clicked() -> None:
        raw = str((st.session_state.get(key) or {}).get("click") or "")
        made_on, _, item = raw.partition("|")
        if item and made_on == drawn.get(key) and on_click is not None:
            on_click(item)

    drawn[key] = version
    _MAP(key=key, data={"svg": svg_text, "digest": version, "height": int(height), "label": label,
                        "broken": broken, "selected": selected, "focus": focus, "ends": list(ends)},
         on_click_change=clicked)
