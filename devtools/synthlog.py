"""A synthetic event log at real-log scale for the process-map benchmark and browser test: N activities and about
E distinct directly-follows edges (municipal permit logs have 300–400 activities and 2,000–5,000 edges).

Cases walk a random sparse graph: each activity has E / N successors with Zipf-like weights, a case starts at
one of a few entry activities and stops with a small probability per step, so a few paths dominate and a long
tail of rare edges remains, as in real logs. Seeded: the same arguments give the same log."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import insert

STEP_HOURS = (1, 72)


def traces(activities: int = 400, edges: int = 5000, cases: int | None = None, seed: int = 14) -> list[list[str]]:
    """Activity sequences until about `edges` distinct edges are seen (or `cases` cases when given)."""
    rng = np.random.default_rng(seed)
    names = [f"A{i:03d} 环节" for i in range(activities)]
    fan = max(2, edges // activities + 1)
    succ = [rng.choice(activities, size=fan, replace=False) for _ in range(activities)]
    weights = 1 / np.arange(1, fan + 1) ** 1.1
    weights /= weights.sum()
    entries = rng.choice(activities, size=min(5, activities), replace=False)
    seen: set[tuple[int, int]] = set()
    out: list[list[str]] = []
    picks = iter(())
    stops = iter(())
    while (cases is None and len(seen) < edges and len(out) < 200_000) or (cases is not None and len(out) < cases):
        node = int(entries[min(len(entries) - 1, int(rng.geometric(0.6)) - 1)])
        path = [node]
        while len(path) < 60:
            stop = next(stops, None)
            if stop is None:                     # random numbers drawn in blocks: one call per 100,000 steps
                stops = iter(rng.random(100_000).tolist())
                picks = iter(rng.choice(fan, size=100_000, p=weights).tolist())
                stop = next(stops)
            if stop < 0.06:
                break
            nxt = int(succ[node][next(picks)])
            seen.add((node, nxt))
            node = nxt
            path.append(node)
        out.append([names[i] for i in path])
    return out


def frames(paths: list[list[str]], seed: int = 14, start: dt.datetime = dt.datetime(2026, 1, 5, 1)):
    """(cases rows, case_events rows) of the traces: completion times step forward 1–72 hours, cases closed at
    their last event, received an hour before their first."""
    rng = np.random.default_rng(seed + 1)
    case_rows, event_rows = [], []
    for k, path in enumerate(paths):
        t = start + dt.timedelta(hours=int(rng.integers(0, 24 * 300)))
        received = t
        cid = f"S{k:06d}"
        for seq, stage in enumerate(path, 1):
            t = t + dt.timedelta(hours=int(rng.integers(*STEP_HOURS)))
            event_rows.append(dict(case_id=cid, seq=seq, stage=stage, completed_at=t, result="pass",
                                   handler_key=f"h{int(rng.integers(0, 40))}"))
        case_rows.append(dict(case_id=cid, case_type="建设用地规划许可", township="东坪镇", department="审批科",
                              channel="online", received_at=received, closed_at=t, status="closed"))
    return case_rows, event_rows


def fill(engine, activities: int = 400, edges: int = 5000, cases: int | None = None, seed: int = 14) -> dict:
    """Write the synthetic log into a migrated store; returns its size and period."""
    case_rows, event_rows = frames(traces(activities, edges, cases, seed), seed)
    with engine.begin() as conn:
        for i in range(0, len(case_rows), 5000):
            conn.execute(insert_cases(), case_rows[i:i + 5000])
        for i in range(0, len(event_rows), 20000):
            conn.execute(insert_events(), event_rows[i:i + 20000])
    times = pd.to_datetime([e["completed_at"] for e in event_rows])
    return {"cases": len(case_rows), "events": len(event_rows),
            "activities": len({e["stage"] for e in event_rows}),
            "first": min(c["received_at"] for c in case_rows).date(), "last": times.max().date()}


def insert_cases():
    from etl.schema import cases
    return insert(cases)


def insert_events():
    from etl.schema import case_events
    return insert(case_events)


#: The process map's SVG on the page: drawn by the server's Graphviz in the map component's shadow root
#: (<svg class="ld-process-map">, dashboard.mapview) or, without Graphviz on the server, by the browser
#: (st.graphviz_chart). Only the map: the handover network is another tab and another class.
_FIND_MAP = """const q = 'svg.ld-process-map, [data-testid="stGraphVizChart"] svg';
  let svg = document.querySelector(q);
  if (!svg) for (const host of document.querySelectorAll('*')) {
    if (host.shadowRoot && (svg = host.shadowRoot.querySelector(q))) break; }"""
#: The number of nodes of the map, or -1 while there is none (or, with `fresh`, while it is still the one
#: mark_map marked).
MAP_NODES_JS = "(fresh) => { " + _FIND_MAP + """
  if (!svg || (fresh && svg.dataset.ldOld)) return -1;
  return svg.querySelectorAll('g.node').length; }"""
MARK_MAP_JS = "() => { " + _FIND_MAP + """
  if (svg) svg.dataset.ldOld = '1'; return !!svg; }"""


MAP_EDGES_JS = "() => { " + _FIND_MAP + """
  return svg ? svg.querySelectorAll('g.edge').length : -1; }"""


def map_edges(page) -> int:
    """The number of edges of the process map's SVG on the page (-1 while there is none)."""
    return max(_in_frames(page, MAP_EDGES_JS), default=-1)


MAP_TEXTS_JS = "() => { " + _FIND_MAP + """
  return svg ? [...svg.querySelectorAll('text')].map(e => e.textContent) : []; }"""


def map_texts(page) -> list[str]:
    """The texts the process map shows (its nodes' and edges' labels)."""
    return [text for texts in _in_frames(page, MAP_TEXTS_JS) for text in texts]


def _in_frames(page, js: str, arg=None) -> list:
    """`js` evaluated in every frame of the page (the browser-laid-out map or a page embedded in a frame); frames
    that go away meanwhile are skipped."""
    out = []
    for frame in page.frames:
        try:
            out.append(frame.evaluate(js, arg) if arg is not None else frame.evaluate(js))
        except Exception:  # noqa: BLE001 - a frame going away while it is read
            continue
    return out


def mark_map(page) -> bool:
    """Mark the map now on the page as old, so that wait_for_map(fresh=True) waits for the next one (after a
    slider move the old map stays until the new one replaces it, and may have as many nodes)."""
    return any(_in_frames(page, MARK_MAP_JS))


def wait_for_map(page, timeout: float = 120, settle: float = 0.5, fresh: bool = False) -> tuple[int, float]:
    """Wait (Playwright sync page) until the process map's SVG is drawn (with `fresh`: one not marked by
    mark_map) and its node count has not changed for `settle` seconds; returns (node count, time.perf_counter()
    when it last changed: when the map settled). TimeoutError after `timeout` seconds."""
    import time
    deadline = time.perf_counter() + timeout
    last, since = None, time.perf_counter()
    while time.perf_counter() < deadline:
        n = max(_in_frames(page, MAP_NODES_JS, fresh), default=-1)
        if n != last:
            last, since = n, time.perf_counter()
        elif n > 0 and time.perf_counter() - since >= settle:
            return n, since
        time.sleep(0.05)
    raise TimeoutError(f"the process map's SVG did not settle within {timeout:.0f} s (nodes: {last})")
