"""The weekly briefing (briefing/): content against the exports, the three renderings, edge weeks, CLI.

The sample county store (session fixture `sample_store_url`, built by the real ETL) gives week
2026-W43; PDF text is read with poppler's pdftotext and fonts with pdffonts (CI installs
poppler-utils, chromium and fonts-noto-cjk). Without chromium/kaleido/weasyprint/poppler the
affected tests skip locally but fail under CI=true, so CI cannot silently lose them.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from analytics.exports import run_export
from landdesk.kpispec import KPI_SPEC
from analytics.scope import Scope
from briefing import build_briefing, list_briefings, render_docx, render_html, render_pdf, write_briefing
from briefing.build import fmt_kpi
from briefing.model import numbers_in
from kpitext import expected_kpi_text
from briefing.weeks import default_week, last_complete_week, parse_week, same_week_last_year, week_bounds
from landdesk.i18n import t
from landdesk.fmt import fmt_count
from etl.store import make_engine
from landdesk.errors import LandDeskError

WEEK = "2026-W43"
LANGS = ("zh", "en")


def _need(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing but CI=true: the briefing tests must run in CI.")
    pytest.skip(f"{what} is not available here")


def _need_tools(*tools: str) -> None:
    for tool in tools:
        _need(shutil.which(tool) is not None, tool)


def _need_pdf() -> None:
    try:
        import weasyprint  # noqa: F401
        ok = True
    except (ImportError, OSError):
        ok = False
    _need(ok, "weasyprint (with Pango)")


def _need_charts() -> None:
    try:
        import kaleido  # noqa: F401
        ok = True
    except ImportError:
        ok = False
    _need(ok, "kaleido")
    from briefing.charts import browser_path
    _need(browser_path() is not None, "chromium")


def _flat(text: str) -> str:
    """Text without whitespace: table cells and wrapped labels compare regardless of layout."""
    return re.sub(r"\s+", "", text)


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _docx_text(path: Path) -> tuple[str, list[list[list[str]]]]:
    from docx import Document

    doc = Document(str(path))
    paras = "\n".join(p.text for p in doc.paragraphs)
    tables = [[[c.text for c in row.cells] for row in tb.rows] for tb in doc.tables]
    return paras, tables


@pytest.fixture(scope="module")
def sample_engine(sample_store_url):
    engine = make_engine(sample_store_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def kpis_export(sample_engine):
    start, end = week_bounds(WEEK)
    return run_export(sample_engine, "kpis", Scope(start, end)).set_index("kpi")


@pytest.fixture(scope="module")
def rendered(sample_engine, tmp_path_factory):
    """The W43 briefing in both languages, written in all three formats (charts drawn when possible)."""
    _need_pdf()
    out = tmp_path_factory.mktemp("briefings")
    paths = write_briefing(sample_engine, WEEK, LANGS, ("pdf", "docx", "html"), out)
    briefings = {lang: build_briefing(sample_engine, WEEK, lang, charts=False) for lang in LANGS}
    return out, paths, briefings


# ---------- weeks ----------

def test_parse_week_and_bounds():
    assert parse_week("2026-W43") == (2026, 43)
    assert parse_week("2026w05") == (2026, 5)
    assert week_bounds("2026-W43") == (dt.date(2026, 10, 19), dt.date(2026, 10, 25))
    assert week_bounds("2026-W53") == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert same_week_last_year("2026-W53") == "2025-W52"
    for bad in ("2026-43", "W43", "2026-W00", "2025-W53", "next week", ""):
        with pytest.raises(LandDeskError, match="week"):
            parse_week(bad)


def test_last_complete_week_of_the_data():
    # a Friday cut-off completes its week (the weekend has no work); a Wednesday one does not
    assert last_complete_week(dt.date(2026, 10, 23)) == "2026-W43"
    assert last_complete_week(dt.date(2026, 10, 21)) == "2026-W42"
    assert last_complete_week(dt.date(2026, 10, 25)) == "2026-W43"


def test_default_week_is_the_data_s_not_today_s(sample_engine):
    # the sample's last activity is Friday 2026-10-30; the weekend after it has no working day
    assert default_week(sample_engine) == "2026-W44"


# ---------- content ----------

@pytest.mark.parametrize("lang", LANGS)
def test_kpi_table_matches_the_kpis_export(sample_engine, kpis_export, lang):
    b = build_briefing(sample_engine, WEEK, lang, charts=False)
    rows = {r[0]: r for r in b.kpi_table.rows}
    for code in KPI_SPEC:
        row = rows[t(f"kpi_{code}", lang)]
        assert expected_kpi_text(code, kpis_export.loc[code, "value"], lang) in row[1]
        assert expected_kpi_text(code, kpis_export.loc[code, "previous"], lang) in row[2]
    # the same-days-last-year column is the kpis export compared with the year before (同比: 2025-10-19 … 25)
    yoy = run_export(sample_engine, "kpis", Scope(*week_bounds(WEEK), compare="year")).set_index("kpi")
    assert rows[t("kpi_cases_received", lang)][4] == fmt_count(yoy.loc["cases_received", "previous"], lang)
    assert yoy.loc["cases_received", "baseline_start"] == "2025-10-19"


@pytest.mark.parametrize("week", [WEEK, "2025-W37", "2025-W40", "2026-W08", "2024-W01", "2025-W27"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_narrative_number_stands_in_a_table(sample_engine, week, lang):
    b = build_briefing(sample_engine, week, lang, charts=False)
    assert b.narrative
    assert b.unbacked_numbers() == []
    cells = b.table_numbers()
    for s in b.narrative:
        for n in s.numbers:          # the numbers a sentence says it cites are in its text and the tables
            assert n in s.text
            assert all(x in cells for x in numbers_in(n)), (s.text, n)


def test_narrative_names_the_planted_facts(sample_engine):
    b = build_briefing(sample_engine, WEEK, "zh", charts=False)
    text = "\n".join(s.text for s in b.narrative)
    assert "规划审核" in text                       # the review bottleneck since mid-2025
    assert "城关镇耕地 1,132.1 公顷" in text        # below its target since 2024
    assert any("东坪镇" in s.text and "2027" in s.text for s in b.narrative)   # drifting toward its target
    spike = build_briefing(sample_engine, "2025-W37", "zh", charts=False)   # 征地补偿 spike in 东坪镇
    hot = [s.text for s in spike.narrative if "信访热点" in s.text]
    assert hot and "东坪镇" in hot[0] and "征地补偿" in hot[0]


@pytest.mark.parametrize("week", ["2025-W37", "2025-W40", WEEK])
def test_hot_spots_are_the_spike_exports_spikes(sample_engine, week):
    """One spike definition: the briefing's hot spots are exactly the petition-spikes export's spikes of
    the week (the petitions page's), with the same counts, expected values and bounds."""
    start, end = week_bounds(week)
    spikes = run_export(sample_engine, "petition-spikes", Scope(start, end))
    b = build_briefing(sample_engine, week, "en", charts=False)
    sec = next(s for s in b.sections if s.key == "petitions")
    table = next((tb for tb in sec.tables if tb.key == "petition_hotspots"), None)
    got = {(r[0], r[1], int(r[2]), r[3], r[4]) for r in table.rows} if table else set()
    want = {(r.township, r.topic, int(r.count), f"{r.expected:.1f}", f"{r.upper_95:.0f}") for r in spikes.itertuples()}
    assert got == want
    if week == "2025-W37":                      # the planted 征地补偿 spike in 东坪镇
        assert ("东坪镇", "征地补偿") in {(g[0], g[1]) for g in got}
    hot = [s for s in b.narrative if s.text.startswith("Hot spot")]
    assert len(hot) == (1 if want else 0)


def test_no_untranslated_keys(sample_engine):
    for lang in LANGS:
        html = render_html(build_briefing(sample_engine, WEEK, lang, charts=False), charts=False)
        assert "brief_" not in html and "kpi_" not in html


# ---------- renderings ----------

@pytest.mark.parametrize("lang", LANGS)
def test_pdf_text_has_the_kpis_and_the_narrative(rendered, kpis_export, lang):
    _need_tools("pdftotext")
    out, _paths, briefings = rendered
    text = _flat(_pdftotext(out / f"briefing-{WEEK}-{lang}.pdf"))
    for code in KPI_SPEC:
        assert _flat(t(f"kpi_{code}", lang)) in text, code
        assert _flat(expected_kpi_text(code, kpis_export.loc[code, "value"], lang)) in text, code
    for s in briefings[lang].narrative:
        assert _flat(s.text) in text, s.text
    assert _flat(briefings[lang].title) in text


def test_pdf_fonts_are_embedded_and_cjk(rendered):
    _need_tools("pdffonts", "pdftoppm")
    out, _paths, _b = rendered
    for lang in LANGS:
        pdf = out / f"briefing-{WEEK}-{lang}.pdf"
        lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()
        fonts = lines[2:]
        assert fonts, "no fonts in the PDF"
        for line in fonts:
            cols = line.split()
            emb, _sub, uni = cols[-5], cols[-4], cols[-3]
            assert emb == "yes" and uni == "yes", line
            assert "Type 3" not in line, line       # outlines, not bitmaps or unnamed glyph procedures
        assert any("CJK" in line for line in fonts), fonts
        # a page renders (poppler finds every font it needs)
        png = out / f"page-{lang}"
        res = subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", "-png", str(pdf), str(png)],
                             capture_output=True, text=True)
        assert res.returncode == 0 and not re.search(r"(?i)font", res.stderr), res.stderr


def test_no_character_lacks_a_glyph(sample_engine):
    """Every character the briefing writes is in the embedded Noto Sans CJK SC (no tofu boxes)."""
    _need_tools("fc-match")
    from fontTools.ttLib import TTCollection, TTFont

    spec = subprocess.run(["fc-match", "-f", "%{file}:%{index}", "Noto Sans CJK SC"], capture_output=True,
                          text=True).stdout
    path, _, index = spec.rpartition(":")
    _need("CJK" in path, "fonts-noto-cjk")
    font = TTCollection(path).fonts[int(index)] if path.endswith(".ttc") else TTFont(path)
    cmap = font.getBestCmap()
    for lang in LANGS:
        b = build_briefing(sample_engine, WEEK, lang, charts=False)
        strings = [b.title, b.subtitle, b.bureau, *(v for kv in b.meta for v in kv), *(s.text for s in b.narrative),
                   *(x for kv in b.definitions for x in kv), *b.notices]
        for tb in b.tables:
            strings += [tb.title, tb.note, *tb.columns, *(c for row in tb.rows for c in row)]
        for sec in b.sections:
            strings += [sec.title, *sec.intro]
        missing = {ch for s in strings for ch in s if not ch.isspace() and ord(ch) not in cmap}
        assert not missing, missing


@pytest.mark.parametrize("lang", LANGS)
def test_docx_paragraphs_and_tables(rendered, kpis_export, lang):
    out, _paths, briefings = rendered
    path = out / f"briefing-{WEEK}-{lang}.docx"
    paras, tables = _docx_text(path)
    for s in briefings[lang].narrative:
        assert s.text in paras
    kpi = {row[0]: row for row in tables[0][1:]}
    for code in KPI_SPEC:
        row = kpi[t(f"kpi_{code}", lang)]
        assert expected_kpi_text(code, kpis_export.loc[code, "value"], lang) in row[1]
    # East Asian fonts on styles and runs, and no theme font overriding them
    import zipfile
    with zipfile.ZipFile(path) as z:
        styles = z.read("word/styles.xml").decode()
        document = z.read("word/document.xml").decode()
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert 'w:eastAsia="' in styles and "eastAsiaTheme" not in styles and "asciiTheme" not in styles
    assert document.count('w:eastAsia="') > 100
    from briefing.charts import browser_path
    if browser_path():
        assert len(media) == 5            # trend, bottlenecks, petitions, forecast, the petitions map


@pytest.mark.parametrize("lang", LANGS)
def test_html_is_self_contained(rendered, kpis_export, lang):
    out, _paths, briefings = rendered
    html = (out / f"briefing-{WEEK}-{lang}.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert html.count('src="data:image/png;base64,') in (0, 5)
    for code in KPI_SPEC:
        assert expected_kpi_text(code, kpis_export.loc[code, "value"], lang).replace("<", "&lt;") in html


def test_charts_are_drawn(rendered):
    _need_charts()
    out, _paths, _b = rendered
    for lang in LANGS:
        html = (out / f"briefing-{WEEK}-{lang}.html").read_text(encoding="utf-8")
        assert html.count('src="data:image/png;base64,') == 5


def test_the_briefing_maps_petitions_per_10k_by_township(rendered):
    """The week's petitions per 10,000 residents on the township map, in the PDF and the DOCX as well."""
    out, _paths, _briefings = rendered
    _need_charts()
    from docx import Document
    for lang in LANGS:
        doc = Document(str(out / f"briefing-{WEEK}-{lang}.docx"))
        assert len(doc.inline_shapes) == 5
        pdf = subprocess.run(["pdfimages", "-list", str(out / f"briefing-{WEEK}-{lang}.pdf")], capture_output=True,
                             text=True, check=True).stdout
        assert len([line for line in pdf.splitlines()[2:] if line.strip() and " smask " not in line]) >= 5


def test_files_are_named_by_week_and_reruns_replace(rendered, sample_engine):
    out, paths, _b = rendered
    names = sorted(p.name for p in paths)
    assert names == sorted(f"briefing-{WEEK}-{lang}.{fmt}" for lang in LANGS for fmt in ("pdf", "docx", "html"))
    before = {p.name for p in out.iterdir()}
    write_briefing(sample_engine, WEEK, ("en",), ("html",), out)
    assert {p.name for p in out.iterdir()} == before            # replaced, not duplicated
    listed = list_briefings(out)
    assert {(a.week, a.lang, a.format) for a in listed} == {(WEEK, lang, fmt) for lang in LANGS
                                                             for fmt in ("pdf", "docx", "html")}
    assert not any(p.name.endswith(".part") for p in out.iterdir())


# ---------- empty and partial weeks ----------

def _copy_store(url: str, dest: Path, sql: list[str]) -> str:
    src = sqlite3.connect(url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    for stmt in sql:
        dst.execute(stmt)
    dst.commit()
    dst.close()
    return f"sqlite:///{dest.as_posix()}"


def _render_all(b, out: Path) -> dict[str, Path]:
    paths = {"html": out / "b.html", "docx": out / "b.docx"}
    paths["html"].write_text(render_html(b, charts=False), encoding="utf-8")
    render_docx(b, paths["docx"], charts=False)
    try:
        import weasyprint  # noqa: F401
        paths["pdf"] = render_pdf(b, out / "b.pdf")
    except (ImportError, OSError):
        pass
    return paths


def test_empty_store_gives_a_briefing_that_says_so(sqlite_engine, tmp_path):
    for lang in LANGS:
        b = build_briefing(sqlite_engine, None, lang, charts=False)
        assert t("brief_notice_empty_store", lang) in b.notices
        assert [s.text for s in b.narrative][0] == t("brief_s_no_activity", lang)
        assert b.unbacked_numbers() == []
        paths = _render_all(b, tmp_path)
        assert t("brief_notice_empty_store", lang) in paths["html"].read_text(encoding="utf-8")


def test_week_without_petitions_and_store_without_petitions(sample_store_url, tmp_path):
    from analytics.scope import Scope
    week = Scope(*week_bounds(WEEK))          # the bureau's week, as the instants the store keeps
    url = _copy_store(sample_store_url, tmp_path / "no_w43_petitions.db",
                      [f"DELETE FROM petitions WHERE received_at >= '{week.start_ts}' AND received_at < '{week.end_ts}'"])
    engine = make_engine(url)
    b = build_briefing(engine, WEEK, "zh", charts=False)
    assert t("brief_no_petitions_week", "zh") in [s.text for s in b.narrative]
    assert b.unbacked_numbers() == []
    _render_all(b, tmp_path)
    engine.dispose()

    url = _copy_store(sample_store_url, tmp_path / "no_petitions.db", ["DELETE FROM petitions"])
    engine = make_engine(url)
    for lang in LANGS:
        b = build_briefing(engine, WEEK, lang, charts=False)
        sec = next(s for s in b.sections if s.key == "petitions")
        assert sec.intro == [t("brief_no_petition_data", lang)] and not sec.tables
        assert b.unbacked_numbers() == []
        _render_all(b, tmp_path)
    engine.dispose()


def test_first_week_and_weeks_without_data(sample_engine):
    first = build_briefing(sample_engine, "2024-W01", "zh", charts=False)
    assert t("brief_notice_first_week", "zh") in first.notices
    assert all(row[2] == "—" for row in first.kpi_table.rows)       # nothing to compare with
    assert all(row[4] == "—" for row in first.kpi_table.rows)
    later = build_briefing(sample_engine, "2030-W01", "en", charts=False)
    assert any("after the latest data" in n for n in later.notices)
    assert later.narrative[0].text == t("brief_s_no_activity", "en")
    before = build_briefing(sample_engine, "2023-W10", "en", charts=False)
    assert any("before the earliest data" in n for n in before.notices)
    partial = build_briefing(sample_engine, "2026-W44", "zh", charts=False)
    assert partial.week == "2026-W44"


def test_a_section_whose_export_fails_says_so_and_the_rest_stands(sample_engine, monkeypatch):
    """Every analytics module is part of the product now (no optional sections); what can still happen is an
    export failing on odd data: that section carries one sentence, the others and their tables stand."""
    from service import results

    full = build_briefing(sample_engine, WEEK, "en", charts=False)
    real = results.read

    def failing(engine, name, *args, **kwargs):
        if name in ("bottlenecks", "overdue-cases", "cultivated-target"):
            raise ValueError(f"{name} broke")
        return real(engine, name, *args, **kwargs)
    monkeypatch.setattr(results, "read", failing)
    b = build_briefing(sample_engine, WEEK, "en", charts=False)
    for key, export in (("bottlenecks", "bottlenecks"), ("overdue", "overdue-cases"), ("land", "cultivated-target")):
        sec = next(s for s in b.sections if s.key == key)
        assert sec.intro == [f"This section could not be computed (ValueError: {export} broke)."] and not sec.tables
    assert b.unbacked_numbers() == []
    same = {s.key: s for s in full.sections}["petitions"].tables[0]
    assert {s.key: s for s in b.sections}["petitions"].tables[0].rows == same.rows


# ---------- command line ----------

def test_cli_writes_the_files(sample_store_url, tmp_path, capsys):
    from briefing.cli import run

    args = argparse.Namespace(week="2026-w43", lang="en", format="html,docx", out=str(tmp_path), db=sample_store_url,
                              quiet=True)
    assert run(args) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["briefing-2026-W43-en.html", "briefing-2026-W43-en.docx"]


@pytest.mark.parametrize("option, value, message", [
    ("week", "2026-W60", "not a week of 2026"), ("week", "43", "not an ISO week"),
    ("lang", "fr", "Unknown briefing language"), ("format", "pdf,xls", "Unknown briefing format"),
])
def test_cli_bad_input_is_one_sentence(sample_store_url, tmp_path, option, value, message, capsys):
    from briefing.cli import main, run

    args = dict(week=None, lang="zh", format="html", out=str(tmp_path), db=sample_store_url, quiet=True)
    args[option] = value
    with pytest.raises(LandDeskError, match=message):
        run(argparse.Namespace(**args))
    argv = ["--db", sample_store_url, "--out", str(tmp_path), f"--{option}", value]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("landdesk: ") and "Traceback" not in err[0]


def test_fmt_kpi_matches_the_dashboard_conventions():
    assert fmt_kpi("on_time_rate", 0.9259, "zh") == "92.6%"
    assert fmt_kpi("cases_received", 12345, "zh") == "1.23万"
    assert fmt_kpi("cases_received", 12345, "en") == "12,345"
    assert fmt_kpi("median_throughput", 1, "en") == "1.0 working days"
    assert fmt_kpi("backlog", math.nan, "zh") == "—"
