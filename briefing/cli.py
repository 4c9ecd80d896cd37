"""`landdesk briefing`: write the weekly briefing to the archive folder.

    landdesk briefing [--week YYYY-Www] [--lang zh|en|zh,en] [--format pdf,docx,html] [--out DIR] [--db URL]

Defaults: the last complete ISO week of the data (not of today's date), Chinese, all three formats,
the folder $LANDDESK_BRIEFING_DIR or data/briefings. Files are named by week and language
(briefing-2026-W43-zh.pdf), so a rerun replaces them.
"""
from __future__ import annotations

import argparse
import sys

from landdesk.errors import LandDeskError


def add_arguments(sp: argparse.ArgumentParser) -> None:
    """The options of `landdesk briefing` (for cli/main.py's sub-parser; --db comes from its common parent)."""
    sp.add_argument("--week", help="ISO week like 2026-W43 (default: the last complete week of the data)")
    sp.add_argument("--lang", default="zh", help="zh, en or zh,en (default: zh)")
    sp.add_argument("--format", default="pdf,docx,html", help="any of pdf,docx,html, comma-separated (default: all)")
    sp.add_argument("--out", help="archive folder (default: $LANDDESK_BRIEFING_DIR or data/briefings)")
    sp.add_argument("--quiet", action="store_true", help="print only the files written")


def run(args) -> int:
    """Run `landdesk briefing` with parsed `args` (week, lang, format, out, db, quiet); returns the exit code."""
    from briefing.archive import parse_formats, write_briefing
    from briefing.weeks import parse_week, week_label
    from landdesk.i18n import LANGS
    from etl.store import ensure_ready, make_engine

    week = getattr(args, "week", None)
    if week:
        week = week_label(*parse_week(week))
    langs = [x.strip().lower() for x in (getattr(args, "lang", None) or "zh").split(",") if x.strip()]
    bad = [x for x in langs if x not in LANGS]
    if bad or not langs:
        raise LandDeskError(f"Unknown briefing language {', '.join(bad) or args.lang!r}; use zh, en or zh,en.")
    formats = parse_formats(getattr(args, "format", None))
    engine = make_engine(getattr(args, "db", None))
    ensure_ready(engine)
    quiet = getattr(args, "quiet", False)
    progress = None if quiet else (lambda msg: print(f"landdesk briefing: {msg}", file=sys.stderr, flush=True))
    for path in write_briefing(engine, week, langs, formats, getattr(args, "out", None), progress):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m briefing.cli`) until cli/main.py wires the sub-command."""
    p = argparse.ArgumentParser(prog="landdesk briefing", description="Write the weekly briefing.")
    p.add_argument("--db", help="store URL (default: $LANDDESK_DATABASE_URL or sqlite:///data/landdesk.db)")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except LandDeskError as exc:
        print(f"landdesk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
