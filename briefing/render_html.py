"""HTML rendering: one self-contained page (CSS inline, charts as base64 PNG), also the PDF's source."""
from __future__ import annotations

import base64
import html
import re

from briefing.charts import render_charts
from briefing.model import Briefing, Chart, Table
from landdesk.fmt import fmt_date
from landdesk.i18n import t

FONT_STACK = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
STATUS_COLOURS = {"green": "#1a7f37", "amber": "#b35900", "red": "#c62828"}

CSS = """
:root { --ink: #1f2328; --muted: #57606a; --rule: #d0d7de; --head: #f3f5f7; --accent: #1d4e89; }
* { box-sizing: border-box; }
body { font-family: FONTS; color: var(--ink); font-size: 10.5pt; line-height: 1.55; margin: 0 auto;
       max-width: 190mm; padding: 8mm 6mm; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 4mm; margin-bottom: 5mm; }
header .bureau { color: var(--muted); font-size: 10pt; letter-spacing: .08em; }
h1 { font-size: 20pt; margin: 1mm 0; color: var(--accent); }
.subtitle { font-size: 12pt; margin: 0 0 2mm; }
.mark { text-align: right; font-weight: bold; font-size: 11pt; margin: 0 0 2mm; }
.issuer { text-align: right; margin: 8mm 0 4mm; }
.issuer p { margin: 0; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 4mm; margin: 2mm 0 0; font-size: 9pt;
          color: var(--muted); }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
h2 { font-size: 14pt; color: var(--accent); border-left: 4px solid var(--accent); padding-left: 2mm;
     margin: 7mm 0 3mm; page-break-after: avoid; break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm; page-break-after: avoid; break-after: avoid; }
.notices { border: 1px solid #e0b252; background: #fff8e5; padding: 2mm 4mm; margin: 3mm 0; }
.notices p { margin: 1mm 0; }
ul.narrative { padding-left: 5mm; margin: 0; } ul.narrative li { margin: 1mm 0; }
ul.narrative li.warning { color: #8a1c1c; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 1mm 0 1mm; page-break-inside: auto; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 1px solid var(--rule); padding: 1mm 1.5mm; vertical-align: top; }
th { background: var(--head); text-align: left; font-weight: bold; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.status { white-space: nowrap; font-weight: bold; }
td.status::before { content: "● "; }
.status-green { color: #1a7f37; } .status-amber { color: #b35900; } .status-red { color: #c62828; }
tr.row-red td:first-child { border-left: 3px solid #c62828; } tr.row-amber td:first-child { border-left: 3px solid #e09400; }
p.note, figcaption, p.intro { color: var(--muted); font-size: 8.5pt; margin: 1mm 0 2mm; }
p.intro { font-size: 9.5pt; }
figure { margin: 2mm 0 4mm; page-break-inside: avoid; break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
.missing { border: 1px dashed var(--rule); padding: 4mm; color: var(--muted); font-size: 9pt; }
table.definitions td:first-child { white-space: nowrap; font-weight: bold; width: 22%; }
footer { margin-top: 8mm; border-top: 1px solid var(--rule); color: var(--muted); font-size: 8pt; padding-top: 2mm; }
@page { size: A4; margin: 14mm 12mm 16mm;
        @top-right { content: "RUNNING"; font-family: FONTS; font-size: 8pt; color: #57606a; }
        @bottom-center { content: PAGE; font-family: FONTS; font-size: 8pt; color: #57606a; } }
@media print { body { max-width: none; padding: 0; } }
"""


def ensure_charts(b: Briefing) -> None:
    """Draw every chart that has a figure and no PNG yet (one browser session for all)."""
    render_charts(b.charts, t("brief_chart_missing", b.lang))


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _page_content(lang: str) -> str:
    """The page-number template as a CSS `content` value with counter(page) / counter(pages)."""
    parts = re.split(r"(\{page\}|\{pages\})", t("brief_page_of", lang))
    out = []
    for part in parts:
        if part == "{page}":
            out.append("counter(page)")
        elif part == "{pages}":
            out.append("counter(pages)")
        elif part:
            out.append(_css_string(part))
    return " ".join(out)


def _table(tb: Table, heading: bool = True) -> str:
    out = []
    if heading:
        out.append(f"<h3>{_e(tb.title)}</h3>")
    if not tb.rows:
        out.append(f'<p class="intro">{_e(tb.empty_text or "—")}</p>')
        return "\n".join(out)
    out.append(f'<table class="data" data-key="{_e(tb.key)}"><thead><tr>')
    out.extend(f"<th>{_e(c)}</th>" for c in tb.columns)
    out.append("</tr></thead><tbody>")
    status_col = len(tb.columns) - 1 if tb.key == "kpis" else None
    for i, row in enumerate(tb.rows):
        st = tb.status[i] if i < len(tb.status) else ""
        cls = f' class="row-{st}"' if st and tb.key != "kpis" else ""
        out.append(f"<tr{cls}>")
        for j, cell in enumerate(row):
            classes = []
            if j < len(tb.numeric) and tb.numeric[j]:
                classes.append("num")
            if j == status_col and st:
                classes += ["status", f"status-{st}"]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            out.append(f"<td{attr}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    if tb.note:
        out.append(f'<p class="note">{_e(tb.note)}</p>')
    return "\n".join(out)


def _chart(c: Chart, lang: str) -> str:
    if c.png:
        data = base64.b64encode(c.png).decode("ascii")
        return f'<figure data-key="{_e(c.key)}"><img alt="{_e(c.title)}" src="data:image/png;base64,{data}"></figure>'
    if c.note:
        return f'<div class="missing">{_e(c.title)}: {_e(c.note)}</div>'
    return ""


def render_html(b: Briefing, charts: bool = True) -> str:
    """The briefing as one self-contained HTML document (no external files or scripts)."""
    if charts:
        ensure_charts(b)
    lang = b.lang
    css = (CSS.replace("FONTS", FONT_STACK).replace("PAGE", _page_content(lang))
           .replace('"RUNNING"', _css_string(f"{b.bureau} · {b.week}")))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="LandDesk briefing"><meta name="landdesk-week" content="{_e(b.week)}">',
        f"<title>{_e(b.title)} {_e(b.week)}</title><style>{css}</style></head><body>",
        (f'<div class="mark">{_e(b.mark)}</div>' if b.mark else "") +
        f'<header><div class="bureau">{_e(b.bureau)}</div><h1>{_e(b.title)}</h1>'
        f'<p class="subtitle">{_e(b.subtitle)}</p><dl class="meta">',
    ]
    parts.extend(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in b.meta)
    parts.append("</dl></header>")
    if b.notices:
        parts.append(f'<section class="notices"><strong>{_e(t("brief_notices", lang))}</strong>')
        parts.extend(f"<p>{_e(n)}</p>" for n in b.notices)
        parts.append("</section>")
    parts.append(f'<section id="summary"><h2>{_e(t("brief_sec_summary", lang))}</h2><ul class="narrative">')
    parts.extend(f'<li class="{s.level}">{_e(s.text)}</li>' for s in b.narrative)
    parts.append("</ul></section>")
    parts.append(f'<section id="kpis"><h2>{_e(b.kpi_table.title)}</h2>{_table(b.kpi_table, heading=False)}</section>')
    for sec in b.sections:
        parts.append(f'<section id="{_e(sec.key)}"><h2>{_e(sec.title)}</h2>')
        parts.extend(f'<p class="intro">{_e(x)}</p>' for x in sec.intro)
        parts.extend(_chart(c, lang) for c in sec.charts)
        parts.extend(_table(tb) for tb in sec.tables)
        parts.append("</section>")
    parts.append(f'<section id="definitions"><h2>{_e(t("brief_sec_definitions", lang))}</h2>'
                 f'<table class="definitions"><thead><tr><th>{_e(t("brief_col_term", lang))}</th>'
                 f'<th>{_e(t("brief_col_definition", lang))}</th></tr></thead><tbody>')
    parts.extend(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in b.definitions)
    parts.append("</tbody></table></section>")
    if b.issuer:
        parts.append(f'<div class="issuer"><p>{_e(b.issuer)}</p><p>{_e(fmt_date(b.generated_at.date(), lang))}</p></div>')
    parts.append(f"<footer>{_e(t('brief_footer', lang))} · {_e(b.generated_at.strftime('%Y-%m-%d %H:%M'))}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)
