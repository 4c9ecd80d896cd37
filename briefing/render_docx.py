"""Word rendering (python-docx), editable by the office: real headings, tables and pictures, in the customary 公文
fonts, under a red header (红头) taken from a template file.

Fonts (briefing/fonts.py, GB/T 9704): 标题 方正小标宋简体 二号, 正文 仿宋_GB2312 三号, 一级标题 黑体, 二级标题
楷体_GB2312, tables 仿宋 五号. Chinese text needs the East Asian font on every style and run (`w:rFonts
w:eastAsia`), or Word falls back to a Latin font for CJK characters: we set it on the document defaults, on every
style and on every run. Where a customary font is not installed, Word takes the font table's `w:altName` (the first
stand-in of the role's substitution list) and LibreOffice asks fontconfig (docs/operations.md has the alias file
that maps them to Noto CJK). LANDDESK_DOCX_EASTASIA_FONT replaces the body font.

Template: the red header, page setup and styles come from a .docx (LANDDESK_BRIEFING_TEMPLATE, else the shipped
briefing/templates/redhead.docx). Its `{{ name }}` placeholders (docxtpl's variable syntax, so a template written
for docxtpl's simple variables works) are filled in; the briefing goes where the paragraph `{{ body }}` stands.
python-docx is used directly rather than docxtpl: the body (tables, pictures, numbered headings) is built with
python-docx anyway, and docxtpl would need it as a sub-document (docxcompose) for no gain over filling variables.
"""
from __future__ import annotations

import copy
import io
import re
from pathlib import Path

from briefing.fonts import LATIN_SERIF, RED, ROLES, latin
from briefing.model import Briefing, Table
from briefing.numbering import item_label
from briefing.render_html import ensure_charts
from landdesk.errors import LandDeskError
from landdesk.fmt import fmt_date
from landdesk.i18n import t
from landdesk.settings import settings

STATUS_FILL = {"green": "D7F0DD", "amber": "FCE8C8", "red": "F8D4D4"}
HEAD_FILL = "E8EDF3"
#: The shipped red-header template (python -m briefing.render_docx PATH writes it afresh).
DEFAULT_TEMPLATE = Path(__file__).with_name("templates") / "redhead.docx"
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
#: Which role each Word style takes (the rest take the body's).
STYLE_ROLES = {"Title": "title", "Heading 1": "h1", "Heading 2": "h2", "Heading 3": "h2"}
#: The paragraph properties that come before w:pBdr in CT_PPr's sequence.
PPR_BEFORE_BORDER = {"pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
                     "suppressLineNumbers"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _font(role: str) -> str:
    override = settings().docx_eastasia_font
    return override if override and role in ("body", "table") else ROLES[role].font


def _set_rfonts(rpr, east_asia: str, latin_font: str) -> None:
    from docx.oxml.ns import qn

    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)      # a theme font would override the named fonts
    for attr, value in (("w:ascii", latin_font), ("w:hAnsi", latin_font), ("w:cs", latin_font),
                        ("w:eastAsia", east_asia)):
        rfonts.set(qn(attr), value)
    rfonts.set(qn("w:hint"), "eastAsia")


def _style_fonts(doc) -> None:
    """The role fonts on the document defaults and on every paragraph, character and table style; heading styles
    in black (Word's default headings are blue) and at the 三号 size."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    styles = doc.styles
    defaults = styles.element.find(f"{W}docDefaults")
    if defaults is not None:
        rpr = defaults.find(f".//{W}rPr")
        if rpr is not None:
            _set_rfonts(rpr, _font("body"), LATIN_SERIF)
    for style in styles:
        if style.type in (WD_STYLE_TYPE.PARAGRAPH, WD_STYLE_TYPE.CHARACTER, WD_STYLE_TYPE.TABLE):
            style.element.get_or_add_rPr()
    for rpr in list(styles.element.iter(qn("w:rPr"))):
        _set_rfonts(rpr, _font("body"), LATIN_SERIF)
    for name, role in STYLE_ROLES.items():
        try:
            style = styles[name]
        except KeyError:
            continue
        _set_rfonts(style.element.get_or_add_rPr(), _font(role), latin(role))
        style.font.size = Pt(ROLES[role].size)
        style.font.bold = ROLES[role].bold
        style.font.color.rgb = RGBColor(0, 0, 0)
    styles["Normal"].font.size = Pt(ROLES["body"].size)


def _font_table(doc) -> None:
    """Each customary font in the font table with its stand-in as `w:altName` (what Word shows when it is absent)."""
    from lxml import etree

    part = next((p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"), None)
    if part is None:
        return
    root = etree.fromstring(part.blob)
    have = {f.get(f"{W}name") for f in root.findall(f"{W}font")}
    for role in ROLES.values():
        if role.font in have:
            continue
        have.add(role.font)
        font = etree.SubElement(root, f"{W}font", {f"{W}name": role.font})
        etree.SubElement(font, f"{W}altName", {f"{W}val": role.alt or role.substitutes[0]})
        etree.SubElement(font, f"{W}charset", {f"{W}val": "86"})          # GB2312
        etree.SubElement(font, f"{W}family", {f"{W}val": "modern" if role.generic == "serif" else "swiss"})
        etree.SubElement(font, f"{W}pitch", {f"{W}val": "variable"})
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _run(par, text: str, bold: bool = False, size: float | None = None, colour: str | None = None,
         role: str = "body"):
    from docx.shared import Pt, RGBColor

    run = par.add_run(text)
    run.font.name = latin(role)
    _set_rfonts(run._element.get_or_add_rPr(), _font(role), latin(role))
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
    """一级标题 (level 1) in 黑体, 二级 (level 2) in 楷体_GB2312, both 三号 and black."""
    par = doc.add_heading(level=level)
    role = "h1" if level == 1 else "h2"
    _run(par, text, role=role, size=ROLES[role].size, colour="000000")
    return par


def _para(doc, text: str, style: str | None = None, size: float | None = None, colour: str | None = None,
          bold: bool = False, role: str = "body"):
    par = doc.add_paragraph(style=style)
    _run(par, text, bold=bold, size=size, colour=colour, role=role)
    return par


def _table(doc, tb: Table, heading: bool = True) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    if heading:
        _heading(doc, f"{tb.label}{tb.title}", 2)
    if not tb.rows:
        _para(doc, tb.empty_text or "—", size=10.5, colour="57606A", role="table")
        return
    table = doc.add_table(rows=1, cols=len(tb.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for j, name in enumerate(tb.columns):
        cell = table.rows[0].cells[j]
        cell.paragraphs[0].text = ""
        _run(cell.paragraphs[0], name, bold=True, size=ROLES["table"].size, role="table")
        _shade(cell, HEAD_FILL)
    status_col = len(tb.columns) - 1 if tb.key == "kpis" else 0
    for i, row in enumerate(tb.rows):
        cells = table.add_row().cells
        st = tb.status[i] if i < len(tb.status) else ""
        for j, value in enumerate(row):
            par = cells[j].paragraphs[0]
            _run(par, value, size=ROLES["table"].size, role="table")
            if j < len(tb.numeric) and tb.numeric[j]:
                par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if st and j == status_col:
                _shade(cells[j], STATUS_FILL[st])
    _mark_header_row(table)
    if tb.note:
        _para(doc, tb.note, size=9, colour="57606A", role="table")


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


def template_path() -> Path:
    """The red-header template: LANDDESK_BRIEFING_TEMPLATE, else the shipped one."""
    return Path(settings().briefing_template or DEFAULT_TEMPLATE)


def _open_template(path: Path):
    import zipfile

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    if not path.is_file():
        raise LandDeskError(f"The briefing template {path} (LANDDESK_BRIEFING_TEMPLATE) does not exist.")
    try:
        return Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
        raise LandDeskError(f"The briefing template {path} (LANDDESK_BRIEFING_TEMPLATE) is not a Word .docx "
                            f"file.") from None


def _all_paragraphs(doc):
    """Every paragraph of the body, its tables, and the headers and footers."""
    def walk(container):
        yield from container.paragraphs
        for table in getattr(container, "tables", []):
            for row in table.rows:
                for cell in row.cells:
                    yield from walk(cell)
    yield from walk(doc)
    for sec in doc.sections:
        for part in (sec.header, sec.footer, sec.first_page_header, sec.first_page_footer):
            if not part.is_linked_to_previous:
                yield from walk(part)


def fill_template(doc, values: dict[str, str], path: Path):
    """Fill the `{{ name }}` placeholders; a paragraph left empty (no 密级 mark) goes. Returns the `{{ body }}`
    paragraph (None when the template has none). An unknown placeholder is an error naming it."""
    anchor = None
    for par in list(_all_paragraphs(doc)):
        text = par.text
        names = PLACEHOLDER_RE.findall(text)
        if not names:
            continue
        if names == ["body"] and text.strip() == PLACEHOLDER_RE.search(text).group(0):
            anchor = par
            continue
        unknown = [n for n in names if n not in values]
        if unknown:
            raise LandDeskError(f"The briefing template {path} uses {{{{ {unknown[0]} }}}}, which is not one of "
                                f"{', '.join(sorted(values))} (and body).")
        new = PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)
        if not new.strip():
            par._p.getparent().remove(par._p)
            continue
        runs = par.runs
        runs[0].text = new
        for run in runs[1:]:
            run._r.getparent().remove(run._r)
    return anchor


def template_values(b: Briefing) -> dict[str, str]:
    """What a template's placeholders are filled with."""
    day = fmt_date(b.generated_at.date(), b.lang)
    return {"mark": b.mark, "organ": b.title, "title": b.title, "issue": b.issue, "period": b.subtitle,
            "issuer": b.issuer or b.bureau, "compiled": t("brief_redhead_compiled", b.lang, issuer=b.issuer or b.bureau),
            "date": day}


def _footer_is_empty(section) -> bool:
    return not any(p.text.strip() for p in section.footer.paragraphs) and not section.footer._element.findall(
        f".//{W}fldChar")


def build_document(b: Briefing, charts: bool = True):
    """The briefing as a python-docx Document: the template's red header filled in, the briefing at {{ body }}."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    if charts:
        ensure_charts(b)
    lang = b.lang
    path = template_path()
    doc = _open_template(path)
    _style_fonts(doc)
    _font_table(doc)
    anchor = fill_template(doc, template_values(b), path)
    body = doc.element.body
    existing = set(body)
    sec = doc.sections[-1]
    if _footer_is_empty(sec):
        _page_number_footer(sec, lang)
    props = doc.core_properties
    props.title = f"{b.title} {b.week}"
    props.author = b.bureau
    props.language = "zh-CN" if lang == "zh" else "en"
    props.keywords = b.week

    title = _para(doc, b.subtitle, role="title", size=ROLES["title"].size, bold=True)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for k, v in b.meta:
        par = doc.add_paragraph()
        _run(par, f"{k}：" if lang == "zh" else f"{k}: ", bold=True, size=10, colour="57606A", role="table")
        _run(par, v, size=10, colour="57606A", role="table")
        par.paragraph_format.space_after = Pt(0)
    if b.notices:
        _heading(doc, t("brief_notices", lang), 2)
        for n in b.notices:
            _para(doc, n, colour="8A5A00", size=12)
    _heading(doc, b.labels.get("summary", "") + t("brief_sec_summary", lang), 1)
    for i, s in enumerate(b.narrative, 1):
        par = _para(doc, item_label(i, lang) + s.text, colour="8A1C1C" if s.level == "warning" else None)
        par.paragraph_format.first_line_indent = Pt(2 * ROLES["body"].size)      # 首行缩进两字
    _heading(doc, b.labels.get("kpis", "") + b.kpi_table.title, 1)
    _table(doc, b.kpi_table, heading=False)
    width = sec.page_width - sec.left_margin - sec.right_margin
    for section in b.sections:
        _heading(doc, section.label + section.title, 1)
        for x in section.intro:
            _para(doc, x, size=12, colour="57606A")
        for c in section.charts:
            if c.png:
                doc.add_picture(io.BytesIO(c.png), width=width)
            elif c.note:
                _para(doc, f"{c.title}: {c.note}", size=10, colour="57606A", role="table")
        for tb in section.tables:
            _table(doc, tb)
    _heading(doc, b.labels.get("definitions", "") + t("brief_sec_definitions", lang), 1)
    _table(doc, Table("definitions", "", [t("brief_col_term", lang), t("brief_col_definition", lang)],
                      [[k, v] for k, v in b.definitions]), heading=False)
    if b.issuer:
        for line in (b.issuer, fmt_date(b.generated_at.date(), lang)):
            _para(doc, line).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if anchor is not None:          # move what was added to where the template's {{ body }} stands
        for el in [el for el in body if el not in existing and el.tag != f"{W}sectPr"]:
            anchor._p.addprevious(el)
        anchor._p.getparent().remove(anchor._p)
    return doc


def render_docx(b: Briefing, path, charts: bool = True) -> Path:
    """Write the briefing as a Word document to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    build_document(b, charts).save(str(tmp))
    tmp.replace(path)
    return path


def build_default_template():
    """The shipped red-header template (GB/T 9704 版头): 密级 top left in 黑体, the organ's mark centred in red
    方正小标宋简体, the issue number, the compiling office and the date on one line over the red rule, then
    {{ body }}; A4 with GB/T 9704's margins."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    _style_fonts(doc)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Cm(3.7), Cm(3.5), Cm(2.8), Cm(2.6)
    _para(doc, "{{ mark }}", role="mark", size=ROLES["mark"].size)
    organ = _para(doc, "{{ organ }}", role="organ", size=ROLES["organ"].size, bold=True, colour=RED)
    organ.alignment = WD_ALIGN_PARAGRAPH.CENTER
    organ.paragraph_format.space_before, organ.paragraph_format.space_after = Pt(12), Pt(12)
    _para(doc, "{{ issue }}", size=ROLES["body"].size).alignment = WD_ALIGN_PARAGRAPH.CENTER
    line = doc.add_paragraph()
    _run(line, "{{ compiled }}", size=14)
    _run(line, "\t{{ date }}", size=14)
    line.paragraph_format.tab_stops.add_tab_stop(sec.page_width - sec.left_margin - sec.right_margin,
                                                 WD_TAB_ALIGNMENT.RIGHT)
    ppr = line._p.get_or_add_pPr()
    bdr = ppr.makeelement(qn("w:pBdr"), {})
    bdr.append(bdr.makeelement(qn("w:bottom"), {qn("w:val"): "single", qn("w:sz"): "18", qn("w:space"): "4",
                                                 qn("w:color"): RED}))
    later = [el for el in ppr if el.tag.split("}")[1] not in PPR_BEFORE_BORDER]     # keep the schema's order
    later[0].addprevious(bdr) if later else ppr.append(bdr)
    _para(doc, "{{ body }}")
    return doc


if __name__ == "__main__":      # python -m briefing.render_docx briefing/templates/redhead.docx
    import sys

    build_default_template().save(sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_TEMPLATE))
