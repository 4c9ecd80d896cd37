"""Load: 10 concurrent browser sessions (one Chromium, a context each) browse every page of `landdesk serve
--no-auth` on the sample store by the sidebar, as visitors do (bench/bench_load.py: arrivals a few seconds apart,
a few seconds' reading per page). Asserts no exception boxes, page errors, time-outs or wrong pages, and that all
ten were open at once; prints the p50/p95 page-ready times (the target p95 ≤ 6 s is reported, not asserted)."""
import sys
import time
from pathlib import Path

import pytest

from devtools import CHROMIUM, LocalServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


def test_ten_concurrent_sessions_browse_every_page_without_errors(sample_store_url):
    import bench_load
    with LocalServer(sample_store_url) as server:
        warm = bench_load.warm_up(server.url)
        assert not warm.errors, warm.errors
        t0 = time.perf_counter()
        result = bench_load.run_load(server.url, sessions=10, timeout_ms=60_000)
        print("\n" + bench_load.report(result, 10, time.perf_counter() - t0))
    assert not result.errors, result.errors
    assert all(len(v) == 10 for v in result.times.values())
    assert result.overlap()[0] == 10
