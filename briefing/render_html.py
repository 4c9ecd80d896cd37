"""HTML rendering: one self-contained page (CSS inline, charts as base64 PNG), also the PDF's source."""
from __future__ import annotations

import base64
import html
import re

from briefing.charts import render_charts
from briefing.fonts import RED, css_stack
from briefing.model import Briefing, Chart, Table
from landdesk.fmt import fmt_date
from briefing.numbering import item_label
from landdesk.i18n import t

STATUS_COLOURS = {"green": "#1a7f37", "amber": "#b35900", "red": "#c62828"}

#: The page as GB/T 9704 sets it: A4, 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm; in English a report's margins.
PAGE_MARGINS = {"zh": "37mm 26mm 35mm 28mm", "en": "20mm 18mm 20mm 20mm"}
#: Body text size: 三号 (16 pt) in a 公文; English prose reads better smaller.
BODY_SIZE = {"zh": "16pt", "en": "12pt"}

CSS = """
:root { --ink: #1f2328; --muted: #57606a; --rule: #b8c0c8; --head: #f3f5f7; --red: #RED; }
* { box-sizing: border-box; }
body { font-family: F_BODY; color: var(--ink); font-size: BODYSIZE; line-height: 1.6; margin: 0 auto;
       max-width: 170mm; padding: 8mm 6mm; }
.redhead { margin-bottom: 6mm; }
.redhead .mark { font-family: F_MARK; font-size: 16pt; text-align: left; margin: 0 0 3mm; }
.redhead h1.organ { font-family: F_ORGAN; font-weight: bold; color: var(--red); text-align: center; font-size: 26pt;
                    letter-spacing: .05em; line-height: 1.25; margin: 2mm 0 3mm; }
.redhead .issue { text-align: center; font-size: 16pt; margin: 0 0 2mm; }
.redhead .compiled { display: flex; justify-content: space-between; font-size: 14pt; margin: 0 1em; }
.redhead hr.red-rule { border: 0; border-top: 2px solid var(--red); margin: 1.5mm 0 0; }
h1.title { font-family: F_TITLE; font-weight: bold; font-size: 22pt; text-align: center; line-height: 1.35;
           margin: 6mm 0 2mm; color: var(--ink); }
.subtitle { text-align: center; font-size: 16pt; margin: 0 0 3mm; }
.issuer { text-align: right; margin: 10mm 2em 4mm; }
.issuer p { margin: 0; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 4mm; margin: 2mm 0 4mm; font-size: 9.5pt;
          color: var(--muted); font-family: F_TABLE; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
h2 { font-family: F_H1; font-size: 16pt; font-weight: normal; margin: 6mm 0 2mm; page-break-after: avoid;
     break-after: avoid; }
h3 { font-family: F_H2; font-size: 16pt; font-weight: normal; margin: 3mm 0 1.5mm; page-break-after: avoid;
     break-after: avoid; }
.notices { border: 1px solid #e0b252; background: #fff8e5; padding: 2mm 4mm; margin: 3mm 0; font-size: 11pt; }
.notices p { margin: 1mm 0; }
ol.narrative { list-style: none; padding: 0; margin: 0; } ol.narrative li { margin: 1mm 0; text-indent: 2em; }
ol.narrative li.warning { color: #8a1c1c; }
html[lang="en"] .redhead h1.organ { font-size: 20pt; } html[lang="en"] ol.narrative li { text-indent: 0; }
table { border-collapse: collapse; width: 100%; font-family: F_TABLE; font-size: 10.5pt; line-height: 1.4;
        margin: 1mm 0 1mm; page-break-inside: auto; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 1px solid var(--rule); padding: 1mm 1.5mm; vertical-align: top; }
th { background: var(--head); text-align: center; font-weight: bold; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table[data-key="kpis"] { font-size: 9.5pt; }
table[data-key="kpis"] td:first-child { white-space: nowrap; }
td.status { white-space: nowrap; font-weight: bold; }
td.status::before { content: "● "; }
.status-green { color: #1a7f37; } .status-amber { color: #b35900; } .status-red { color: #c62828; }
tr.row-red td:first-child { border-left: 3px solid #c62828; } tr.row-amber td:first-child { border-left: 3px solid #e09400; }
p.note, figcaption, p.intro { color: var(--muted); font-size: 9.5pt; margin: 1mm 0 2mm; font-family: F_TABLE; }
p.intro { font-size: 11pt; }
figure { margin: 2mm 0 4mm; page-break-inside: avoid; break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
.missing { border: 1px dashed var(--rule); padding: 4mm; color: var(--muted); font-size: 9pt; }
table.definitions td:first-child { white-space: nowrap; font-weight: bold; width: 22%; }
footer { margin-top: 8mm; border-top: 1px solid var(--rule); color: var(--muted); font-size: 8pt; padding-top: 2mm;
         font-family: F_TABLE; }
@page { size: A4; margin: MARGINS;
        @top-right { content: "RUNNING"; font-family: F_TABLE; font-size: 8pt; color: #57606a; }
        @bottom-center { content: PAGE; font-family: F_TABLE; font-size: 10pt; color: #57606a; } }
@media print { body { max-width: none; padding: 0; } }
"""


def _css(b: Briefing) -> str:
    """The style sheet for `b`: the role fonts (briefing.fonts), the page, the running header."""
    css = CSS.replace("#RED", "#" + RED).replace("BODYSIZE", BODY_SIZE[b.lang]).replace("MARGINS", PAGE_MARGINS[b.lang])
    for role, name in (("organ", "F_ORGAN"), ("title", "F_TITLE"), ("body", "F_BODY"), ("h1", "F_H1"), ("h2", "F_H2"),
                       ("table", "F_TABLE"), ("mark", "F_MARK")):
        css = css.replace(name, css_stack(role))
    return css.replace("PAGE", _page_content(b.lang)).replace('"RUNNING"', _css_string(f"{b.bureau} · {b.week}"))


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
        out.append(f"<h3>{_e(tb.label)}{_e(tb.title)}</h3>")
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


def _redhead(b: Briefing) -> str:
    """The red header (红头, GB/T 9704 版头): 密级 top left, the issuing organ's mark in red, the issue number, the
    compiling office and date, the red rule."""
    mark = f'<div class="mark">{_e(b.mark)}</div>' if b.mark else ""
    compiled = t("brief_redhead_compiled", b.lang, issuer=b.issuer or b.bureau)
    return (f'<div class="redhead">{mark}<h1 class="organ">{_e(b.title)}</h1><p class="issue">{_e(b.issue)}</p>'
            f'<div class="compiled"><span>{_e(compiled)}</span><span>{_e(fmt_date(b.generated_at.date(), b.lang))}'
            f'</span></div><hr class="red-rule"></div>')


def render_html(b: Briefing, charts: bool = True) -> str:
    """The briefing as one self-contained HTML document (no external files or scripts)."""
    if charts:
        ensure_charts(b)
    lang = b.lang
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="LandDesk briefing"><meta name="landdesk-week" content="{_e(b.week)}">',
        f"<title>{_e(b.title)} {_e(b.week)}</title><style>{_css(b)}</style></head><body>",
        _redhead(b),
        f'<header><h1 class="title">{_e(b.subtitle)}</h1><dl class="meta">',
    ]
    parts.extend(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in b.meta)
    parts.append("</dl></header>")
    if b.notices:
        parts.append(f'<section class="notices"><strong>{_e(t("brief_notices", lang))}</strong>')
        parts.extend(f"<p>{_e(n)}</p>" for n in b.notices)
        parts.append("</section>")
    labels = b.labels
    parts.append(f'<section id="summary"><h2>{_e(labels.get("summary", ""))}{_e(t("brief_sec_summary", lang))}</h2>'
                 '<ol class="narrative">')
    parts.extend(f'<li class="{s.level}">{_e(item_label(i, lang))}{_e(s.text)}</li>'
                 for i, s in enumerate(b.narrative, 1))
    parts.append("</ol></section>")
    parts.append(f'<section id="kpis"><h2>{_e(labels.get("kpis", ""))}{_e(b.kpi_table.title)}</h2>'
                 f'{_table(b.kpi_table, heading=False)}</section>')
    for sec in b.sections:
        parts.append(f'<section id="{_e(sec.key)}"><h2>{_e(sec.label)}{_e(sec.title)}</h2>')
        parts.extend(f'<p class="intro">{_e(x)}</p>' for x in sec.intro)
        parts.extend(_chart(c, lang) for c in sec.charts)
        parts.extend(_table(tb) for tb in sec.tables)
        parts.append("</section>")
    parts.append(f'<section id="definitions"><h2>{_e(labels.get("definitions", ""))}'
                 f'{_e(t("brief_sec_definitions", lang))}</h2>'
                 f'<table class="definitions"><thead><tr><th>{_e(t("brief_col_term", lang))}</th>'
                 f'<th>{_e(t("brief_col_definition", lang))}</th></tr></thead><tbody>')
    parts.extend(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in b.definitions)
    parts.append("</tbody></table></section>")
    if b.issuer:
        parts.append(f'<div class="issuer"><p>{_e(b.issuer)}</p><p>{_e(fmt_date(b.generated_at.date(), lang))}</p></div>')
    parts.append(f"<footer>{_e(t('brief_footer', lang))} · {_e(b.generated_at.strftime('%Y-%m-%d %H:%M'))}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)
