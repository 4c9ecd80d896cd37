"""Speed of the weekly briefing: build one week and write it as PDF, DOCX and HTML.

    python bench/bench_briefing.py [--db URL] [--week 2026-W43] [--lang zh] [--repeat 1]

Without --db the sample county is loaded through the real ETL into a temporary SQLite store first
(not timed). Prints the seconds of each step and the total; target (issue 7): all three formats for
one week in at most 20 s. Exit status 1 when the target is missed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_S = 20.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", help="store URL (default: a fresh sample-county store in a temp folder)")
    p.add_argument("--week", default="2026-W43")
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args(argv)

    from briefing.build import build_briefing
    from briefing.render_docx import render_docx
    from briefing.render_html import ensure_charts, render_html
    from briefing.render_pdf import render_pdf
    from etl.store import make_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db
        if not url:
            from etl.load import run_sources
            from landdesk.settings import SAMPLE_DIR
            url = f"sqlite:///{Path(tmp, 'sample.db').as_posix()}"
            engine = make_engine(url)
            upgrade(engine)
            t0 = time.perf_counter()
            run_sources(engine, SAMPLE_DIR / "sources.yaml")
            print(f"sample store loaded in {time.perf_counter() - t0:.1f} s (not counted)")
            engine.dispose()
        engine = make_engine(url)
        worst = 0.0
        for i in range(args.repeat):
            out = Path(tmp, f"out{i}")
            steps = {}
            t_all = time.perf_counter()
            t0 = time.perf_counter()
            b = build_briefing(engine, args.week, args.lang)
            steps["build (queries, narrative, forecast)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            ensure_charts(b)
            steps[f"charts ({len(b.charts)}, kaleido + Chromium)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            html = render_html(b)
            out.mkdir()
            (out / f"{b.file_stem()}.html").write_text(html, encoding="utf-8")
            steps["html"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            render_pdf(b, out / f"{b.file_stem()}.pdf", html)
            steps["pdf (WeasyPrint)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            render_docx(b, out / f"{b.file_stem()}.docx")
            steps["docx"] = time.perf_counter() - t0
            total = time.perf_counter() - t_all
            worst = max(worst, total)
            for name, secs in steps.items():
                print(f"  {name:40} {secs:6.2f} s")
            sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 1024:.0f} KiB" for p in sorted(out.iterdir()))
            print(f"briefing {args.week} ({args.lang}), pdf+docx+html: {total:.2f} s  [{sizes}]")
        engine.dispose()
    ok = worst <= TARGET_S
    print(f"{'OK' if ok else 'SLOW'}: {worst:.2f} s (target <= {TARGET_S:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
