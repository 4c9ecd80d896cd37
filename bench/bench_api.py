"""The exchange API's cost (issue 19): what `kpis` over HTTP adds to the export's own time.

    .venv/bin/python bench/bench_api.py [--db URL] [--scale 1] [--runs 20]

Builds the sample county (×scale) through the real ETL in a temp dir unless --db names a store, starts
`landdesk api` on a free loopback port, and times, median of --runs after a warm-up:
- the export's own time: service.results.read("kpis", the default period) as the API calls it, in this process;
- the same over HTTP (a fresh 200 with the full JSON body, no ETag), measured by the client;
- a 304 Not Modified (If-None-Match: the ETag of the first answer);
- 20 parallel clients each asking for kpis 5 times (throughput and the slowest answer).
The own and HTTP reads alternate, so a busy machine slows both alike. Target: HTTP − own ≤ 50 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str, etag: str | None = None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                               **({"If-None-Match": etag} if etag else {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers.get("ETag"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("ETag"), e.read()


def _median(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from analytics.coverage import default_period
    from analytics.scope import Scope
    from etl.store import make_engine
    from service import results, tokens

    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            url = args.db
        else:
            from bench_pages import build_store
            url = build_store(Path(tmp), args.scale)
        engine = make_engine(url)
        name = f"bench-{os.getpid()}"
        token = tokens.add_token(engine, name, "leader")
        principal = tokens.authenticate(engine, token)
        with engine.connect() as conn:
            start, end = default_period(conn)
        scope = Scope(start, end)
        def own_read():
            results.read(engine, "kpis", scope, principal=principal, client="bench")

        port = _port()
        env = dict(os.environ, LANDDESK_API_RATE_LIMIT="1000000")
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api", "--db", url, "--port", str(port)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            for _ in range(300):
                try:
                    if urllib.request.urlopen(base + "/health", timeout=2).status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            kpis = f"{base}/exports/kpis"
            status, etag, body = _get(kpis, token)
            assert status == 200, body
            rows = len(json.loads(body)["data"])
            # interleaved, so a busy machine slows both alike; the added time is the median of the pairs' differences
            own_read(), _get(kpis, token)
            pairs = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                own_read()
                t1 = time.perf_counter()
                _get(kpis, token)
                pairs.append((t1 - t0, time.perf_counter() - t1))
            own = statistics.median(p[0] for p in pairs)
            http = statistics.median(p[1] for p in pairs)
            added = statistics.median(p[1] - p[0] for p in pairs)
            not_modified = _median(lambda: _get(kpis, token, etag), args.runs)

            def client(_):
                out = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    out.append((_get(kpis, token)[0], time.perf_counter() - t0))
                return out
            t0 = time.perf_counter()
            with ThreadPoolExecutor(20) as pool:
                answers = [a for batch in pool.map(client, range(20)) for a in batch]
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        tokens.revoke_token(engine, name)
        engine.dispose()

    errors = sum(1 for status, _ in answers if status != 200)
    print(f"store: {url if args.db else f'the sample county x{args.scale:g} (temp)'}; kpis {start}..{end}, {rows} rows")
    print(f"| measure | seconds |\n| --- | --- |")
    print(f"| kpis, the export's own time (service.results.read) | {own:.4f} |")
    print(f"| kpis over HTTP (200, JSON) | {http:.4f} |")
    print(f"| added by the API (median of the paired differences) | {added:.4f} (target ≤ 0.050) |")
    print(f"| 304 Not Modified | {not_modified:.4f} |")
    print(f"| 20 parallel clients × 5 kpis: wall / slowest answer | {wall:.2f} / {max(t for _, t in answers):.2f} "
          f"({errors} errors) |")
    return 0 if added <= 0.050 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
