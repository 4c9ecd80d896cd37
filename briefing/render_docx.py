"""Word rendering (python-docx), editable by the office: real headings, tables and pictures.

Chinese text needs an East Asian font on every style and run (`w:rFonts w:eastAsia`), or Word
falls back to a Latin font for CJK characters. We set it on the document defaults, on every style
we use and on every run. The East Asian font is 微软雅黑 (Microsoft YaHei, on every Chinese Windows;
LibreOffice substitutes Noto Sans CJK through fontconfig); set LANDDESK_DOCX_EASTASIA_FONT to
choose another (e.g. 宋体 / SimSun, or Noto Sans CJK SC).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from briefing.model import Briefing, Table
from briefing.render_html import ensure_charts
from landdesk.fmt import fmt_date
from landdesk.i18n import t
from landdesk.settings import settings

EAST_ASIA_FONT = "Microsoft YaHei"
LATIN_FONT = "Arial"
STATUS_FILL = {"green": "D7F0DD", "amber": "FCE8C8", "red": "F8D4D4"}
HEAD_FILL = "E8EDF3"


def _fonts():
    return settings().docx_eastasia_font or EAST_ASIA_FONT, LATIN_FONT


def _set_rfonts(rpr, east_asia: str, latin: str) -> None:
    from docx.oxml.ns import qn

    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)      # a theme font would override the named fonts
    for attr, value in (("w:ascii", latin), ("w:hAnsi", latin), ("w:cs", latin), ("w:eastAsia", east_asia)):
        rfonts.set(qn(attr), value)
    rfonts.set(qn("w:hint"), "eastAsia")


def _style_fonts(doc) -> None:
    """East Asian font on the document defaults and on every paragraph, character and table style."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn

    east_asia, latin = _fonts()
    styles = doc.styles
    defaults = styles.element.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}docDefaults")
    if defaults is not None:
        rpr = defaults.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rPr")
        if rpr is not None:
            _set_rfonts(rpr, east_asia, latin)
    for style in styles:
        if style.type in (WD_STYLE_TYPE.PARAGRAPH, WD_STYLE_TYPE.CHARACTER, WD_STYLE_TYPE.TABLE):
            style.element.get_or_add_rPr()
    # every run-properties element of every style, table-style conditional formats included
    for rpr in list(styles.element.iter(qn("w:rPr"))):
        _set_rfonts(rpr, east_asia, latin)


def _run(par, text: str, bold: bool = False, size: float | None = None, colour: str | None = None):
    from docx.shared import Pt, RGBColor

    run = par.add_run(text)
    east_asia, latin = _fonts()
    run.font.name = latin
    _set_rfonts(run._element.get_or_add_rPr(), east_asia, latin)
    run.bold = bold or None
    if size:
        run.font.size = Pt(size)
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)
    return run


def _shade(cell, fill: str) -> None:
    from docx.oxml.ns import qn

    tcpr = cell._element.get_or_add_tcPr()
    shd = tcpr.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): fill})
    tcpr.append(shd)


def _heading(doc, text: str, level: int):
    par = doc.add_heading(level=level)
    _run(par, text)
    return par


def _para(doc, text: str, style: str | None = None, size: float | None = None, colour: str | None = None,
          bold: bool = False):
    par = doc.add_paragraph(style=style)
    _run(par, text, bold=bold, size=size, colour=colour)
    return par


def _table(doc, tb: Table, heading: bool = True) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    if heading:
        _heading(doc, tb.title, 3)
    if not tb.rows:
        _para(doc, tb.empty_text or "—", size=9, colour="57606A")
        return
    table = doc.add_table(rows=1, cols=len(tb.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for j, name in enumerate(tb.columns):
        cell = table.rows[0].cells[j]
        cell.paragraphs[0].text = ""
        _run(cell.paragraphs[0], name, bold=True, size=9)
        _shade(cell, HEAD_FILL)
    status_col = len(tb.columns) - 1 if tb.key == "kpis" else 0
    for i, row in enumerate(tb.rows):
        cells = table.add_row().cells
        st = tb.status[i] if i < len(tb.status) else ""
        for j, value in enumerate(row):
            par = cells[j].paragraphs[0]
            _run(par, value, size=9)
            if j < len(tb.numeric) and tb.numeric[j]:
                par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if st and j == status_col:
                _shade(cells[j], STATUS_FILL[st])
    _mark_header_row(table)
    if tb.note:
        _para(doc, tb.note, size=8.5, colour="57606A")


def _mark_header_row(table) -> None:
    """Repeat the header row on every page the table spans."""
    from docx.oxml.ns import qn

    trpr = table.rows[0]._tr.get_or_add_trPr()
    trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def _page_number_footer(section, lang: str) -> None:
    """Footer: 'Page N of M' with Word fields."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    par = section.footer.paragraphs[0]
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    template = t("brief_page_of", lang)
    before, rest = template.split("{page}")
    middle, after = rest.split("{pages}")

    def field(instr: str):
        run = _run(par, "", size=8)
        for kind in ("begin", None, "separate", "end"):
            if kind is None:
                el = run._element.makeelement(qn("w:instrText"), {qn("xml:space"): "preserve"})
                el.text = f" {instr} "
            else:
                el = run._element.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): kind})
            run._element.append(el)
            if kind == "separate":
                txt = run._element.makeelement(qn("w:t"), {})
                txt.text = "1"
                run._element.append(txt)

    _run(par, before, size=8)
    field("PAGE")
    _run(par, middle, size=8)
    field("NUMPAGES")
    _run(par, after, size=8)


def build_document(b: Briefing, charts: bool = True):
    """The briefing as a python-docx Document."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    if charts:
        ensure_charts(b)
    lang = b.lang
    doc = Document()
    _style_fonts(doc)
    doc.styles["Normal"].font.size = Pt(10.5)
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.0)
    sec.top_margin, sec.bottom_margin = Cm(1.8), Cm(1.8)
    _page_number_footer(sec, lang)
    props = doc.core_properties
    props.title = f"{b.title} {b.week}"
    props.author = b.bureau
    props.language = "zh-CN" if lang == "zh" else "en"
    props.keywords = b.week

    if b.mark:
        _para(doc, b.mark, size=11, bold=True).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _para(doc, b.bureau, size=10, colour="57606A")
    title = doc.add_heading(level=0)
    _run(title, b.title)
    _para(doc, b.subtitle, size=12, bold=True)
    for k, v in b.meta:
        par = doc.add_paragraph()
        _run(par, f"{k}：" if lang == "zh" else f"{k}: ", bold=True, size=9, colour="57606A")
        _run(par, v, size=9, colour="57606A")
        par.paragraph_format.space_after = Pt(0)
    if b.notices:
        _heading(doc, t("brief_notices", lang), 2)
        for n in b.notices:
            _para(doc, n, colour="8A5A00")
    _heading(doc, t("brief_sec_summary", lang), 1)
    for s in b.narrative:
        _para(doc, s.text, style="List Bullet", colour="8A1C1C" if s.level == "warning" else None)
    _heading(doc, b.kpi_table.title, 1)
    _table(doc, b.kpi_table, heading=False)
    width = sec.page_width - sec.left_margin - sec.right_margin
    for section in b.sections:
        _heading(doc, section.title, 1)
        for x in section.intro:
            _para(doc, x, size=9.5, colour="57606A")
        for c in section.charts:
            if c.png:
                doc.add_picture(io.BytesIO(c.png), width=width)
            elif c.note:
                _para(doc, f"{c.title}: {c.note}", size=9, colour="57606A")
        for tb in section.tables:
            _table(doc, tb)
    _heading(doc, t("brief_sec_definitions", lang), 1)
    _table(doc, Table("definitions", "", [t("brief_col_term", lang), t("brief_col_definition", lang)],
                      [[k, v] for k, v in b.definitions]), heading=False)
    if b.issuer:
        for line in (b.issuer, fmt_date(b.generated_at.date(), lang)):
            _para(doc, line).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return doc


def render_docx(b: Briefing, path, charts: bool = True) -> Path:
    """Write the briefing as a Word document to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    build_document(b, charts).save(str(tmp))
    tmp.replace(path)
    return path
