"""Process map at real-log scale (issue 14): the default view and the 100 %/100 % view, beside PM4Py.

    .venv/bin/python bench/bench_process_map.py [--no-browser] [--million DIR] [--runs 3]

Logs: the receipt log (../shared/realdata/receipt, through the shipped CSV mapping) and a synthetic log with 400
activities and 5,000 directly-follows edges (devtools/synthlog.py, seeded), each in its own SQLite store.
Per log, cold (no cached event frame) and warm:
- server: fetch + measure (analytics.process.scoped_measured), the map (analytics.dfg.process_map) and its DOT
  (dashboard.dotmap.to_dot), for the default view (analytics.dfg.default_shares) and for 100 %/100 %;
- browser (unless --no-browser): `landdesk serve` + headless Chromium on the map tab: (a) from navigation until
  the map's SVG has settled (its node count unchanged for 0.5 s), for both views; (b) a slider move in the open
  page (keyboard on the thumb) until the new map has settled;
- PM4Py (the bench extra) on the same events: discover_dfg, discover_performance_dfg, get_variants, timed, and
  the counts (edges, start / end activities, variants) and median edge times checked equal (to the second).
With --million DIR: the sample county ×30 (≈ 1M events; bench/bench_analytics.py's build, kept in DIR), every
process export with no filter, a variant, --has-activity and --duration-min, for three months, cold, min of
--million-runs (--million-only: just that table).
Targets: default view ≤ 2 s (server + browser) at 400 activities / 5,000 edges; 100 %/100 % ≤ 5 s; each
filtered export ≤ 2 s at a million events.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analytics import dfg  # noqa: E402
from analytics.process import END, START, clear_measured_cache, scoped_measured  # noqa: E402
from analytics.scope import Scope  # noqa: E402
from analytics.workcal import load_calendar  # noqa: E402
from dashboard import dotmap  # noqa: E402
from etl.store import make_engine  # noqa: E402

REALDATA = Path(os.environ.get("LANDDESK_REALDATA") or ROOT.parent / "shared" / "realdata")
EVERYTHING = Scope(dt.date(1990, 1, 1), dt.date(2030, 12, 31), tz="UTC")
UNIT = "hours"


def build_receipt(tmp: Path) -> str | None:
    from cli.main import main as cli
    mapping = ROOT / "sample_data" / "mappings" / "real" / "receipt_csv.yaml"
    if not (REALDATA / "receipt" / "receipt.csv").is_file():
        return None
    url = f"sqlite:///{(tmp / 'receipt.db').as_posix()}"
    cli(["db", "upgrade", "--db", url])
    cli(["etl", "load", str(mapping), "--db", url, "--quiet"])
    return url


def build_synthetic(tmp: Path) -> tuple[str, dict]:
    from cli.main import main as cli
    from devtools.synthlog import fill
    url = f"sqlite:///{(tmp / 'synthetic.db').as_posix()}"
    cli(["db", "upgrade", "--db", url])
    info = fill(make_engine(url), activities=400, edges=5000)
    return url, info


def server_times(url: str, runs: int) -> dict:
    """Seconds (median of runs) for the default and the full view, cold and warm, and the views' sizes."""
    engine = make_engine(url)
    out: dict = {}
    for label, cold in (("cold", True), ("warm", False)):
        times = {"default": [], "full": []}
        for _ in range(runs):
            for view in ("default", "full"):
                if cold:
                    clear_measured_cache()
                t0 = time.perf_counter()
                with engine.connect() as conn:
                    cal = load_calendar(conn)
                    ev = scoped_measured(conn, EVERYTHING, cal, UNIT)
                shares = dfg.default_shares(ev, cal, UNIT) if view == "default" else (100, 100)
                m = dfg.process_map(ev, cal, UNIT, *shares)
                dotmap.to_dot(m.nodes, m.edges, "cases", "h")
                times[view].append(time.perf_counter() - t0)
                out[f"{view}_shares"] = shares
                out[f"{view}_size"] = (len(m.nodes) - 2, len(m.edges))
        for view, ts in times.items():
            out[f"{view}_{label}"] = statistics.median(ts)
    with engine.connect() as conn:
        cal = load_calendar(conn)
        out["events"] = scoped_measured(conn, EVERYTHING, cal, UNIT)
        out["cal"] = cal
    engine.dispose()
    return out


def pm4py_compare(ev: pd.DataFrame, cal, url: str) -> dict:
    """PM4Py's DFG, performance DFG and variants of the same events, timed and checked against ours."""
    import pm4py
    from analytics import bottlenecks as bn
    from analytics.process import closed_case_paths
    log = pd.DataFrame({"case:concept:name": ev["case_key"].astype(str), "concept:name": ev["stage"],
                        "time:timestamp": pd.to_datetime(ev["completed_at"])})
    log = pm4py.format_dataframe(log, case_id="case:concept:name", activity_key="concept:name",
                                 timestamp_key="time:timestamp")
    out = {}
    t0 = time.perf_counter()
    graph, starts, ends = pm4py.discover_dfg(log)
    out["pm4py_dfg_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    perf, _, _ = pm4py.discover_performance_dfg(log)
    out["pm4py_perf_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    variants = pm4py.get_variants(log)
    out["pm4py_variants_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = dfg.process_map(ev, cal, UNIT).edges
    out["ours_dfg_s"] = time.perf_counter() - t0
    engine = make_engine(url)
    with engine.connect() as conn:       # the paths' fetch timed apart: PM4Py's variants start from a log in memory
        closed_case_paths(conn, EVERYTHING)                     # (a warm connection, as the page's)
        t0 = time.perf_counter()
        paths = closed_case_paths(conn, EVERYTHING)
        out["ours_paths_fetch_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        var = bn.variants(paths, cal, UNIT)
        out["ours_variants_s"] = time.perf_counter() - t0
    engine.dispose()
    inner = ours[(ours["source"] != START) & (ours["target"] != END)]
    mine = {(s, t): int(c) for s, t, c in zip(inner["source"], inner["target"], inner["count"])}
    out["dfg_equal"] = mine == {k: int(v) for k, v in graph.items()}
    out["starts_equal"] = {t: int(c) for t, c in zip(ours.loc[ours["source"] == START, "target"],
                                                     ours.loc[ours["source"] == START, "count"])} == dict(starts)
    out["ends_equal"] = {s: int(c) for s, c in zip(ours.loc[ours["target"] == END, "source"],
                                                   ours.loc[ours["target"] == END, "count"])} == dict(ends)
    med = {(s, t): m * 3600 for s, t, m in zip(inner["source"], inner["target"], inner["median_wait"])}
    worst = max((abs(med[k] - v["median"]) for k, v in perf.items()), default=0.0)
    out["median_worst_s"] = worst
    out["variants_equal"] = sorted(int(len(v) if not isinstance(v, (int, np.integer)) else v)
                                   for v in variants.values()) == sorted(var["cases"].astype(int))
    out["edges"], out["variants"] = len(graph), len(variants)
    return out


def browser_times(url: str, shares: tuple[int, int], runs: int = 2) -> dict:
    """Seconds an analyst waits, in Chromium on `landdesk serve`: (a) navigation (a full page load) to a settled
    map SVG, for the default view and 100 %/100 %; (b) a slider move in the open page (keyboard on the slider's
    thumb) until the new map has settled: the activities slider one step up from the default view (10 % down
    when it is at 100 %), and the paths
    slider to 100 % from 100 %/99 % (so the full map). The slider moves come first, on layouts the server has not
    cached yet; each navigation is timed `runs` times (the first cold for the layout cache, the rest warm)."""
    from playwright.sync_api import sync_playwright

    from devtools import CHROMIUM, CHROMIUM_ARGS, LocalServer
    from devtools.synthlog import mark_map, wait_for_map
    out = {}
    from urllib.parse import quote

    from landdesk.i18n import t
    base = f"from=1990-01-01&to=2030-12-31&unit=hours&lang=en&bn_view={quote(t('bn_tab_map', 'en'))}"

    def slider(page, key):
        box = page.locator('[data-testid="stSlider"]').filter(has_text=t(key, "en"))
        return box.locator('input[type="range"]').first

    def move(page, key, press, label):
        mark_map(page)
        thumb = slider(page, key)
        if press is None:      # one step up, or (at 100 %, e.g. the receipt log's default) one page (10 %) down
            press = "ArrowRight" if int(thumb.get_attribute("value")) < 100 else "PageDown"
        thumb.focus()
        t0 = time.perf_counter()
        thumb.press(press)
        nodes, settled = wait_for_map(page, timeout=120, fresh=True)
        out[f"slider_{label}"], out[f"slider_{label}_nodes"] = settled - t0, nodes

    with LocalServer(url) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/bottlenecks?{base}", timeout=300_000)   # warm the server (first run of the script)
        wait_for_map(page, timeout=300)
        try:
            move(page, "pm_activities", None, "default")
            page.goto(f"{server.url}/bottlenecks?{base}&pm_act=100&pm_paths=99", timeout=300_000)
            wait_for_map(page, timeout=300)
            move(page, "pm_paths", "End", "full")
        except Exception as exc:  # noqa: BLE001 - a move that does not settle is a figure too
            print(f"  browser slider: {type(exc).__name__}: {exc}", flush=True)
        for label, query in (("default", ""), ("full", "&pm_act=100&pm_paths=100")):
            ts = []
            nodes = 0
            for _ in range(runs):
                t0 = time.perf_counter()
                try:
                    page.goto(f"{server.url}/bottlenecks?{base}{query}", timeout=300_000)
                    nodes, settled = wait_for_map(page, timeout=300)
                except Exception as exc:  # noqa: BLE001 - a view that does not settle is a figure too
                    print(f"  browser {label}: {type(exc).__name__}: {exc}", flush=True)
                    ts.append(float("inf"))
                    break
                ts.append(settled - t0)
            out[f"browser_{label}"] = min(ts)
            out[f"browser_{label}_runs"] = ts
            out[f"browser_{label}_nodes"] = nodes
        browser.close()
        log = server.output()
        out["server_output"] = (len(log.encode()), log.count("\n"), log.splitlines()[-3:])
    return out


def million(workdir: Path, runs: int = 2) -> None:
    """Every process export (those that take the case filters, and the conformance pair) on the county ×30, three
    months, with no filter and with each typical filter (a variant, --has-activity, --duration-min); cold (no
    cached event frame), the min of `runs`; prints a Markdown table of seconds."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_analytics import build
    from analytics.casefilter import CaseFilter
    from analytics.exports import registry, run_export
    from analytics.memo import clear_all
    info = build(workdir, 30.0, None)
    engine = make_engine(info["sqlite_url"])
    from etl.store import upgrade
    upgrade(engine)                      # a store kept from an older build gets the newer tables (reference_process)
    scope = Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    clear_measured_cache()
    stages = run_export(engine, "stage-times", scope)
    variant = run_export(engine, "variants", scope)["variant"].iloc[1]      # the second most frequent path
    rare = stages.sort_values("count", kind="stable")["stage"].iloc[0]
    filters = {"none": None, "variant": CaseFilter(variants=(variant,)), f"has {rare}": CaseFilter(has_activity=(rare,)),
               "duration ≥ 20 workdays": CaseFilter(duration_min=20)}
    names = [n for n, e in registry().items() if e.filters_cases] + ["conformance", "conformance-stages"]
    print(f"  variant = {variant!r}; {machine_note()}", flush=True)
    print("| export | " + " | ".join(filters) + " | rows (variant) |")
    print("| --- | " + " | ".join("---:" for _ in filters) + " | ---: |")
    worst = 0.0
    for name in names:
        cells, rows = [], ""
        for label, f in filters.items():
            if f is not None and not registry()[name].filters_cases:
                cells.append("(no case filter)")
                continue
            best = float("inf")
            for _ in range(runs):
                clear_measured_cache()
                clear_all()
                t0 = time.perf_counter()
                got = run_export(engine, name, scope if f is None else replace(scope, cases=f))
                best = min(best, time.perf_counter() - t0)
            worst = max(worst, best)
            cells.append(f"{best:.2f}")
            if label == "variant":
                rows = f"{len(got):,}"
        print(f"| {name} | " + " | ".join(cells) + f" | {rows} |", flush=True)
    print(f"  worst {worst:.2f} s; store: {info['counts'].get('approval_events.xes.gz', 0):,} events; {machine_note()}")


def machine_note() -> str:
    """The load average and a fixed pure-Python loop's time (≈ 0.2 s on an idle core of this machine), so that
    figures taken while other sessions share the two cores can be read for what they are."""
    import os
    t0 = time.perf_counter()
    sum(range(10_000_000))
    return f"load average {os.getloadavg()[0]:.1f}, reference loop {time.perf_counter() - t0:.2f} s (idle ≈ 0.2 s)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--million", type=Path, help="also the filtered exports on the county ×30 built (kept) in DIR")
    ap.add_argument("--million-only", action="store_true", help="only the --million table")
    ap.add_argument("--million-runs", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"machine: {machine_note()}", flush=True)
    if args.million and args.million_only:
        million(args.million, args.million_runs)
        return 0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        logs = []
        receipt = build_receipt(tmp)
        if receipt:
            logs.append(("receipt", receipt))
        else:
            print(f"receipt log not found under {REALDATA}: skipped")
        synth, info = build_synthetic(tmp)
        logs.append((f"synthetic ({info['activities']} activities, {info['events']:,} events)", synth))
        for name, url in logs:
            s = server_times(url, args.runs)
            print(f"{name}: {len(s['events']):,} events ({machine_note()})")
            print(f"  server  default view {s['default_shares'][0]} %/{s['default_shares'][1]} % "
                  f"({s['default_size'][0]} activities, {s['default_size'][1]} edges): cold {s['default_cold']:.2f} s, "
                  f"warm {s['default_warm']:.2f} s")
            print(f"  server  100 %/100 % ({s['full_size'][0]} activities, {s['full_size'][1]} edges): "
                  f"cold {s['full_cold']:.2f} s, warm {s['full_warm']:.2f} s")
            try:
                p = pm4py_compare(s["events"], s["cal"], url)
                print(f"  pm4py   discover_dfg {p['pm4py_dfg_s']:.3f} s, discover_performance_dfg "
                      f"{p['pm4py_perf_s']:.3f} s, get_variants {p['pm4py_variants_s']:.3f} s")
                print(f"  ours    dfg {p['ours_dfg_s']:.3f} s (ratio to pm4py dfg+perf "
                      f"{p['ours_dfg_s'] / max(p['pm4py_dfg_s'] + p['pm4py_perf_s'], 1e-9):.2f}), variants "
                      f"{p['ours_variants_s']:.3f} s (ratio {p['ours_variants_s'] / max(p['pm4py_variants_s'], 1e-9):.2f}; "
                      f"the closed cases' paths fetched from the store beforehand in {p['ours_paths_fetch_s']:.3f} s)")
                print(f"  equal   dfg {p['dfg_equal']} ({p['edges']} edges), start {p['starts_equal']}, end "
                      f"{p['ends_equal']}, variants {p['variants_equal']} ({p['variants']}), median edge time "
                      f"worst difference {p['median_worst_s']:.3f} s")
            except ImportError:
                print("  pm4py is not installed (pip install -e '.[bench]'): comparison skipped")
            if not args.no_browser:
                b = browser_times(url, s["default_shares"])
                runs = lambda k: ", ".join(f"{x:.2f}" for x in b[f"browser_{k}_runs"])  # noqa: E731
                print(f"  browser navigation: default view {b['browser_default']:.2f} s "
                      f"({b['browser_default_nodes']} nodes; runs {runs('default')}), 100 %/100 % "
                      f"{b['browser_full']:.2f} s ({b['browser_full_nodes']} nodes; runs {runs('full')}) "
                      f"(min of runs; {machine_note()})")
                if "slider_full" in b:
                    print(f"  browser slider move: activities ±1 step from the default view {b['slider_default']:.2f} s "
                          f"({b['slider_default_nodes']} nodes), paths 99 → 100 % at 100 % activities "
                          f"{b['slider_full']:.2f} s ({b['slider_full_nodes']} nodes) ({machine_note()})")
                size, lines, tail = b["server_output"]
                print(f"  server output during the browser phase: {size:,} bytes, {lines:,} lines; last: {tail}")
    if args.million:
        print("one-million-event store, filtered dfg exports (cold):")
        million(args.million, args.million_runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
