"""The briefing's official-document (公文) conventions (issue 17): Chinese day ranges, a week label a person reads
(第20周), and no "data incomplete" notice for a week the tool's own rule calls complete."""
from __future__ import annotations

import datetime as dt

import pytest

from briefing import build_briefing
from briefing.weeks import data_range, last_complete_week
from etl.store import make_engine
from landdesk.fmt import fmt_day_range
from landdesk.i18n import t


@pytest.mark.parametrize("start, end, zh, en", [
    (dt.date(2026, 5, 11), dt.date(2026, 5, 17), "2026年5月11日—17日", "11–17 May 2026"),
    (dt.date(2026, 4, 27), dt.date(2026, 5, 3), "2026年4月27日—5月3日", "27 Apr – 3 May 2026"),
    (dt.date(2025, 12, 29), dt.date(2026, 1, 4), "2025年12月29日—2026年1月4日", "29 Dec 2025 – 4 Jan 2026"),
])
def test_day_ranges_as_official_documents_write_them(start, end, zh, en):
    assert fmt_day_range(start, end, "zh") == zh and fmt_day_range(start, end, "en") == en


@pytest.fixture(scope="module")
def sample_engine(sample_store_url):
    engine = make_engine(sample_store_url)
    yield engine
    engine.dispose()


def test_week_label_and_no_false_incomplete_notice(sample_engine):
    _first, last = data_range(sample_engine)
    week = last_complete_week(last)                    # the sample's data end on a Saturday: its week is complete
    assert last.weekday() >= 4 and week.endswith(f"W{last.isocalendar().week:02d}")
    b = build_briefing(sample_engine, week, "zh", charts=False)
    assert not any("不完整" in n for n in b.notices), b.notices
    number = int(week.split("-W")[1])
    assert b.subtitle == f"第{number}周（{fmt_day_range(b.start, b.end, 'zh')}）"
    # the week after the data is still flagged, as "after the latest data"
    nxt = build_briefing(sample_engine, f"{b.end + dt.timedelta(days=1):%G-W%V}", "en", charts=False)
    assert any("after the latest data" in n for n in nxt.notices)
    assert t("brief_notice_partial", "en", last=last) not in nxt.notices


def test_classification_mark_and_issuer_in_every_rendering(sample_engine, monkeypatch, tmp_path):
    import io

    from docx import Document

    from briefing import briefing_bytes
    from landdesk.fmt import fmt_date
    monkeypatch.setenv("LANDDESK_BRIEFING_MARK", "内部资料 注意保存")
    monkeypatch.setenv("LANDDESK_BRIEFING_ISSUER", "青山县自然资源局办公室")
    b = build_briefing(sample_engine, "2026-W43", "zh", charts=False)
    day = fmt_date(b.generated_at.date(), "zh")
    html_text = briefing_bytes(b, "html").decode("utf-8")
    # the red header: 密级 first, then the organ's mark, the compiling office; the issuer also signs at the end
    assert html_text.index("内部资料 注意保存") < html_text.index('<h1 class="organ">') < html_text.index(
        "青山县自然资源局办公室编")
    assert html_text.rindex("青山县自然资源局办公室") > html_text.index('id="definitions"') and day in html_text
    paras = [p.text for p in Document(io.BytesIO(briefing_bytes(b, "docx"))).paragraphs]
    assert paras[0] == "内部资料 注意保存" and paras[-2:] == ["青山县自然资源局办公室", day]
    monkeypatch.delenv("LANDDESK_BRIEFING_MARK")
    monkeypatch.delenv("LANDDESK_BRIEFING_ISSUER")
    plain = build_briefing(sample_engine, "2026-W43", "zh", charts=False)
    assert plain.mark == "" and plain.issuer == plain.bureau


# ---------- 公文 numbering, 同比/环比, fonts, the red header, templates ----------

def test_chinese_numerals_and_labels():
    from briefing.numbering import cn_number, label
    assert [cn_number(n) for n in (1, 9, 10, 11, 19, 20, 23, 99)] == ["一", "九", "十", "十一", "十九", "二十", "二十三",
                                                                       "九十九"]
    assert (label(1, 3, "zh"), label(2, 2, "zh"), label(3, 4, "zh")) == ("三、", "（二）", "4.")
    assert (label(1, 3, "en"), label(2, 2, "en"), label(3, 4, "en")) == ("3. ", "(b) ", "4. ")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sections_are_numbered_in_every_rendering(sample_engine, lang):
    import io
    import re

    from docx import Document

    from briefing import briefing_bytes
    b = build_briefing(sample_engine, "2026-W43", lang, charts=False)
    html_text = briefing_bytes(b, "html").decode("utf-8")
    h2 = re.findall(r"<h2>([^<]*)</h2>", html_text)
    first = ["一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、", "九、"] if lang == "zh" else \
        [f"{n}. " for n in range(1, 10)]
    assert len(h2) == len(b.sections) + 3 and [h[:len(first[i])] for i, h in enumerate(h2)] == first[:len(h2)]
    assert h2[0].endswith(t("brief_sec_summary", lang)) and h2[-1].endswith(t("brief_sec_definitions", lang))
    overdue = next(s for s in b.sections if s.key == "overdue")            # two tables: （一） and （二）
    assert [tb.label for tb in overdue.tables] == (["（一）", "（二）"] if lang == "zh" else ["(a) ", "(b) "])
    assert f"<h3>{overdue.tables[1].label}{overdue.tables[1].title}</h3>" in html_text
    items = re.findall(r'<li class="(?:info|warning)">([^<]*)</li>', html_text)
    assert len(items) == len(b.narrative) and all(
        item.startswith(f"{i}.") for i, item in enumerate(items, 1))
    paras = [p.text for p in Document(io.BytesIO(briefing_bytes(b, "docx"))).paragraphs]
    assert f"{h2[1]}" in paras and f"1.{'' if lang == 'zh' else ' '}{b.narrative[0].text}" in paras
    assert f"{overdue.tables[0].label}{overdue.tables[0].title}" in paras


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_yoy_and_mom_are_the_kpis_exports_with_their_rates(sample_engine, lang):
    """环比 is the kpis export on the week grain (the week before), 同比 the same export compared with the same days
    a year earlier; each count's change carries its rate, computed here from the export's two values."""
    from dataclasses import replace

    from analytics.exports import run_export
    from analytics.scope import Scope
    from briefing.weeks import week_bounds
    from landdesk.kpispec import KPI_SPEC, kind
    start, end = week_bounds("2026-W43")
    week = Scope(start, end, grain="week")
    mom = run_export(sample_engine, "kpis", week).set_index("kpi")
    yoy = run_export(sample_engine, "kpis", replace(week, compare="year")).set_index("kpi")
    assert (yoy["baseline_start"].iloc[0], yoy["baseline_end"].iloc[0]) == ("2025-10-19", "2025-10-25")
    b = build_briefing(sample_engine, "2026-W43", lang, charts=False)
    rows = dict(zip(KPI_SPEC, b.kpi_table.rows))
    checked = 0
    for code, row in rows.items():
        for frame, col in ((mom, 3), (yoy, 5)):
            now, before = frame.loc[code, "value"], frame.loc[code, "previous"]
            if before != before or now != now:          # NaN: nothing to compare
                assert row[col] == "—"
                continue
            if kind(code) == "rate":
                assert row[col] == f"{(now - before) * 100:+.1f} {t('unit_pp', lang)}" and "%" not in row[col]
            elif before:
                assert row[col].endswith(f"{(now - before) / abs(before) * 100:+.1f}%{'）' if lang == 'zh' else ')'}")
                checked += 1
    assert checked >= 6
    assert t("brief_col_change_week", lang) in b.kpi_table.columns and t("brief_col_change_year", lang) in \
        b.kpi_table.columns
    assert "2025-10-19" in b.kpi_table.note and "2026-10-12" in b.kpi_table.note      # the comparisons are named


def test_docx_customary_fonts_and_substitutes(sample_engine):
    import io
    import zipfile

    from docx import Document

    from briefing import briefing_bytes
    from briefing.fonts import ROLES
    data = briefing_bytes(build_briefing(sample_engine, "2026-W43", "zh", charts=False), "docx")
    doc = Document(io.BytesIO(data))
    ea = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"

    def fonts_of(par):
        return {r._element.rPr.rFonts.get(ea) for r in par.runs if r.text.strip()}

    by_text = {p.text: p for p in doc.paragraphs}
    assert fonts_of(by_text["一、本周要点"]) == {"黑体"} and by_text["一、本周要点"].style.name == "Heading 1"
    assert fonts_of(next(p for t_, p in by_text.items() if t_.startswith("第43周"))) == {"方正小标宋简体"}
    assert fonts_of(next(p for t_, p in by_text.items() if t_.startswith("1."))) == {"仿宋_GB2312"}
    assert fonts_of(next(p for t_, p in by_text.items() if t_.startswith("（一）"))) == {"楷体_GB2312"}
    first_item = next(p for t_, p in by_text.items() if t_.startswith("1."))
    assert first_item.runs[0].font.size is None and doc.styles["Normal"].font.size.pt == 16      # 三号
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        table = z.read("word/fontTable.xml").decode()
    for role in ROLES.values():                     # Word's stand-in where the customary font is absent
        assert f'w:name="{role.font}"><w:altName w:val="{role.alt}"/>' in table


def test_the_font_substitution_list_is_documented():
    from pathlib import Path

    from briefing.fonts import substitution_table
    doc = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    for font, alt, chain, open_font in substitution_table():
        assert f"| {font} | {alt} | {chain} | {open_font} |" in doc, font


def test_red_header_in_docx_and_pdf(sample_engine, monkeypatch, tmp_path):
    import io
    import shutil
    import subprocess

    from docx import Document

    from briefing import briefing_bytes
    from briefing.fonts import RED
    monkeypatch.setenv("LANDDESK_BRIEFING_MARK", "秘密★1年")
    b = build_briefing(sample_engine, "2026-W43", "zh", charts=False)
    assert b.issue == "2026年第43期"
    doc = Document(io.BytesIO(briefing_bytes(b, "docx")))
    p = doc.paragraphs
    assert [x.text for x in p[:4]] == ["秘密★1年", b.title, "2026年第43期", f"{b.issuer}编\t{fmt_date_zh(b)}"]
    assert str(p[1].runs[0].font.color.rgb) == RED and p[1].runs[0].font.size.pt == 26
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    bottom = p[3]._p.find(f"{w}pPr/{w}pBdr/{w}bottom")
    assert bottom is not None and bottom.get(f"{w}color") == RED            # the red rule
    # the PDF: the red header is red on the page, and the fonts are the installed CJK serif and sans
    pytest.importorskip("weasyprint")
    if not (shutil.which("pdftoppm") and shutil.which("pdffonts")):
        pytest.skip("poppler-utils is not installed")
    from PIL import Image
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(briefing_bytes(b, "pdf"))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Noto-Serif-CJK-SC-Bold" in fonts and "Noto-Serif-CJK-SC" in fonts and "Noto-Sans-CJK-SC" in fonts
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "p")], check=True)
    page = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
    w_, h_ = page.size
    reds = [(x, y) for x in range(w_) for y in range(h_)
            if (lambda c: c[0] > 150 and c[1] < 60 and c[2] < 60)(page.getpixel((x, y)))]
    header = [(x, y) for x, y in reds if y < h_ * 0.4]
    assert len(header) > 200 and len(header) >= 0.95 * len(reds)          # red, in the header (warnings are darker)
    rows = {}
    for x, y in header:
        rows.setdefault(y, []).append(x)
    assert any(max(xs) - min(xs) > 0.6 * w_ and len(xs) > 0.5 * w_ for xs in rows.values())   # the red rule


def fmt_date_zh(b) -> str:
    from landdesk.fmt import fmt_date
    return fmt_date(b.generated_at.date(), "zh")


def test_a_bureau_template_gives_the_red_header(sample_engine, monkeypatch, tmp_path):
    import io

    from docx import Document

    from briefing import briefing_bytes
    from landdesk.errors import LandDeskError
    tpl = Document()
    tpl.add_paragraph("{{ organ }}（{{ issue }}）")
    tpl.add_paragraph("青山县自然资源局 本局自制红头")
    tpl.add_paragraph("{{ body }}")
    tpl.add_paragraph("抄送：县政府办公室")
    path = tmp_path / "ours.docx"
    tpl.save(str(path))
    monkeypatch.setenv("LANDDESK_BRIEFING_TEMPLATE", str(path))
    b = build_briefing(sample_engine, "2026-W43", "zh", charts=False)
    paras = [p.text for p in Document(io.BytesIO(briefing_bytes(b, "docx"))).paragraphs]
    assert paras[:2] == [f"{b.title}（2026年第43期）", "青山县自然资源局 本局自制红头"]
    assert paras[-1] == "抄送：县政府办公室" and "{{ body }}" not in paras
    assert paras.index("一、本周要点") < paras.index(b.issuer) < len(paras) - 1     # the body sits where {{ body }} was
    # a template naming an unknown field, a missing file, a file that is not Word: one sentence each
    tpl.add_paragraph("{{ secretary }}")
    tpl.save(str(path))
    for target, says in ((path, "uses {{ secretary }}"), (tmp_path / "none.docx", "does not exist"),
                         (tmp_path / "x.docx", "is not a Word .docx file")):
        if target.name == "x.docx":
            target.write_text("not a zip", encoding="utf-8")
        monkeypatch.setenv("LANDDESK_BRIEFING_TEMPLATE", str(target))
        with pytest.raises(LandDeskError) as err:
            briefing_bytes(b, "docx")
        assert says in str(err.value) and "\n" not in str(err.value)


def test_the_shipped_template_is_what_the_builder_makes():
    from docx import Document

    from briefing.render_docx import DEFAULT_TEMPLATE, build_default_template
    shipped = [p.text for p in Document(str(DEFAULT_TEMPLATE)).paragraphs]
    assert shipped == [p.text for p in build_default_template().paragraphs]
    assert shipped == ["{{ mark }}", "{{ organ }}", "{{ issue }}", "{{ compiled }}\t{{ date }}", "{{ body }}"]
