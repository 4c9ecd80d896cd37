"""The briefing archive: one folder, files named by week and language, so a rerun replaces its files.

    briefings/briefing-2026-W43-zh.pdf
    briefings/briefing-2026-W43-zh.docx
    briefings/briefing-2026-W43-zh.html
    briefings/briefing-2026-W43-en.pdf …

The folder is --out, else $LANDDESK_BRIEFING_DIR, else data/briefings (beside the default store).
Files are written to a `.part` name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from landdesk.errors import LandDeskError
from landdesk.settings import settings

FORMATS = ("pdf", "docx", "html")
DEFAULT_OUT_DIR = Path("data") / "briefings"
NAME_RE = re.compile(r"^briefing-(\d{4}-W\d{2})-(zh|en)\.(pdf|docx|html)$")


def out_dir(explicit: str | os.PathLike | None = None) -> Path:
    return Path(explicit or settings().briefing_dir or DEFAULT_OUT_DIR)


def file_name(week: str, lang: str, fmt: str) -> str:
    return f"briefing-{week}-{lang}.{fmt}"


@dataclass(frozen=True)
class ArchivedBriefing:
    week: str
    lang: str
    format: str
    path: Path
    size: int
    modified: dt.datetime


def list_briefings(directory: str | os.PathLike | None = None) -> list[ArchivedBriefing]:
    """Past briefings in the archive folder, newest week first (then language, format)."""
    root = out_dir(directory)
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        m = NAME_RE.match(p.name)
        if m and p.is_file():
            st = p.stat()
            out.append(ArchivedBriefing(m.group(1), m.group(2), m.group(3), p, st.st_size,
                                        dt.datetime.fromtimestamp(st.st_mtime).replace(microsecond=0)))
    out.sort(key=lambda a: (a.week, a.lang == "zh", FORMATS.index(a.format)), reverse=True)
    out.sort(key=lambda a: a.week, reverse=True)
    return out


def parse_formats(text: str | None) -> list[str]:
    if not text:
        return list(FORMATS)
    fmts = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise LandDeskError(f"Unknown briefing format {', '.join(bad) or text!r}; use any of {','.join(FORMATS)}.")
    return list(dict.fromkeys(fmts))


def write_briefing(engine: Engine, week: str | None = None, langs=("zh",), formats=FORMATS,
                   directory: str | os.PathLike | None = None, progress=None) -> list[Path]:
    """Build and write the briefing of `week` in each language and format; returns the files written.

    `progress(message)` is called before each step (the CLI prints it).
    """
    from briefing.build import build_briefing
    from briefing.render_docx import render_docx
    from briefing.render_html import ensure_charts, render_html
    from briefing.render_pdf import render_pdf
    from briefing.weeks import default_week

    say = progress or (lambda _msg: None)
    root = out_dir(directory)
    root.mkdir(parents=True, exist_ok=True)
    week = week or default_week(engine)
    written = []
    for lang in langs:
        t0 = time.perf_counter()
        say(f"building the {week} briefing ({lang})")
        b = build_briefing(engine, week, lang)
        if b.charts:
            say(f"drawing {len(b.charts)} charts")
            ensure_charts(b)
        html_text = render_html(b) if ("html" in formats or "pdf" in formats) else None
        for fmt in formats:
            path = root / file_name(b.week, lang, fmt)
            say(f"writing {path}")
            if fmt == "html":
                tmp = path.with_name(path.name + ".part")
                tmp.write_text(html_text, encoding="utf-8")
                tmp.replace(path)
            elif fmt == "pdf":
                render_pdf(b, path, html_text)
            else:
                render_docx(b, path)
            written.append(path)
        say(f"{lang} done in {time.perf_counter() - t0:.1f} s")
    return written


def briefing_bytes(b, fmt: str) -> bytes:
    """The briefing `b` rendered as `fmt` (pdf | docx | html) in memory — for a page's download button."""
    import io

    from briefing.render_docx import build_document
    from briefing.render_html import render_html
    from briefing.render_pdf import pdf_bytes

    if fmt == "html":
        return render_html(b).encode("utf-8")
    if fmt == "pdf":
        return pdf_bytes(b)
    if fmt == "docx":
        buf = io.BytesIO()
        build_document(b).save(buf)
        return buf.getvalue()
    raise LandDeskError(f"Unknown briefing format {fmt!r}; use any of {','.join(FORMATS)}.")
