"""The full process map (100 % activities, 100 % paths) of the real receipt log equals PM4Py's: discover_dfg's
edges, start and end activities, discover_performance_dfg's median edge times (to the second) and get_variants's
variant counts, PM4Py reading the XES file itself. PM4Py is a bench extra: skipped when it is not installed."""
from __future__ import annotations

import datetime as dt

import pytest

from analytics import dfg
from analytics import bottlenecks as bn
from analytics.process import END, START, closed_case_paths, scoped_measured
from analytics.scope import Scope
from analytics.workcal import WorkCalendar
from etl.load import load_mapping

from test_bottlenecks_realdata import MAPPINGS, REALDATA

XES = REALDATA / "receipt" / "receipt_WABO_CoSeLoG.xes.gz"
EVERYTHING = Scope(dt.date(1990, 1, 1), dt.date(2030, 12, 31))

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not XES.is_file(), reason=f"real data not found at {REALDATA}")]


def test_receipt_map_equals_pm4py(sqlite_engine):
    pm4py = pytest.importorskip("pm4py", reason="pm4py is a bench extra (pip install -e '.[bench]')")
    assert load_mapping(sqlite_engine, MAPPINGS / "receipt.yaml").status == "loaded"
    cal = WorkCalendar()
    with sqlite_engine.connect() as conn:
        ev = scoped_measured(conn, EVERYTHING, cal, "hours")
        var = bn.variants(closed_case_paths(conn, EVERYTHING), cal, "hours")
    edges = dfg.process_map(ev, cal, "hours", 100, 100).edges
    log = pm4py.read_xes(str(XES))
    graph, starts, ends = pm4py.discover_dfg(log)
    perf, _, _ = pm4py.discover_performance_dfg(log)
    inner = edges[(edges["source"] != START) & (edges["target"] != END)]
    assert {(s, t): int(c) for s, t, c in zip(inner["source"], inner["target"], inner["count"])} == \
        {k: int(v) for k, v in graph.items()}
    assert len(graph) > 50
    first = edges[edges["source"] == START]
    last = edges[edges["target"] == END]
    assert dict(zip(first["target"], first["count"].astype(int))) == {k: int(v) for k, v in starts.items()}
    assert dict(zip(last["source"], last["count"].astype(int))) == {k: int(v) for k, v in ends.items()}
    ours = {(s, t): m * 3600 for s, t, m in zip(inner["source"], inner["target"], inner["median_wait"])}
    for edge, stats in perf.items():
        assert ours[edge] == pytest.approx(stats["median"], abs=1.0), edge
    variants = pm4py.get_variants(log)
    counts = sorted(len(v) if isinstance(v, list) else int(v) for v in variants.values())
    assert counts == sorted(var["cases"].astype(int))
    by_path = {" → ".join(k): (len(v) if isinstance(v, list) else int(v)) for k, v in variants.items()}
    assert by_path == dict(zip(var["variant"], var["cases"].astype(int)))
