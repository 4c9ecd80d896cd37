"""The weekly briefing (周报): one ISO week's headline numbers, narrative, charts and lists as PDF, DOCX, HTML.

    from briefing import build_briefing, render_html, render_docx, render_pdf
    b = build_briefing(engine, "2026-W43", lang="zh")
    render_pdf(b, "out/briefing-2026-W43-zh.pdf")

`write_briefing` does build + render in every requested format with the archive's file names;
`list_briefings` lists an archive folder (the Briefing page's list of past briefings).
"""
from briefing.archive import (DEFAULT_OUT_DIR, FORMATS, briefing_bytes, file_name, list_briefings, out_dir,
                              write_briefing)
from briefing.build import build_briefing
from briefing.model import Briefing, Chart, Section, Sentence, Table
from briefing.render_docx import render_docx
from briefing.render_html import render_html
from briefing.render_pdf import render_pdf
from briefing.weeks import default_week, parse_week, week_bounds

__all__ = ["Briefing", "Chart", "DEFAULT_OUT_DIR", "FORMATS", "Section", "Sentence", "Table", "briefing_bytes",
           "build_briefing",
           "default_week", "file_name", "list_briefings", "out_dir", "parse_week", "render_docx", "render_html",
           "render_pdf", "week_bounds", "write_briefing"]
