"""What a delivery says: the subject, the headline KPIs with their status, an HTML and a plain-text body, and
robot markdown — all from the briefing's own KPI table (the numbers the PDF shows), in the recipient's language."""
from __future__ import annotations

import html
from dataclasses import dataclass

from briefing.model import Briefing
from landdesk.fmt import fmt_day_range
from landdesk.i18n import t
from landdesk.kpispec import KPI_SPEC

#: The KPIs a message leads with (the subject names the first three).
HEADLINE = ("cases_received", "cases_closed", "on_time_rate", "overdue", "backlog", "petitions_received",
            "petition_reply_on_time_rate")
SUBJECT_KPIS = 3
STATUS_COLOURS = {"green": "#1a7f37", "amber": "#9a6700", "red": "#cf222e"}


@dataclass(frozen=True)
class Headline:
    code: str
    name: str
    value: str
    change: str            # week on week, as the briefing writes it
    status: str            # green | amber | red | ""
    status_text: str


def headline(b: Briefing) -> list[Headline]:
    """The headline KPIs of briefing `b`, as its KPI table writes them (row i of the table is KPI_SPEC's i-th)."""
    rows = dict(zip(KPI_SPEC, zip(b.kpi_table.rows, b.kpi_table.status or [""] * len(b.kpi_table.rows))))
    out = []
    for code in HEADLINE:
        if code in rows:
            row, status = rows[code]
            out.append(Headline(code, row[0], row[1], row[3], status or "", row[7]))
    return out


def card_fields(b: Briefing) -> list[tuple[str, str]]:
    """(name, "value (change; status)") per headline KPI: the Feishu card's fields."""
    return [(h.name, f"{h.value} ({h.change}; {h.status_text})") for h in headline(b)]


def worst_status(b: Briefing) -> str:
    """red, amber or green: the worst status among the headline KPIs ("" when none has a target)."""
    found = {h.status for h in headline(b)}
    return next((s for s in ("red", "amber", "green") if s in found), "")


def week_words(b: Briefing) -> str:
    """The week as a person reads it (第20周 / week 20) with its dates."""
    return t("deliver_week", b.lang, week=int(b.week.split("-W")[1]), range=fmt_day_range(b.start, b.end, b.lang))


def subject(b: Briefing, township: str | None = None) -> str:
    heads = ", ".join(f"{h.name} {h.value}" for h in headline(b)[:SUBJECT_KPIS])
    scope = t("deliver_scope_township", b.lang, township=township) if township else ""
    return t("deliver_subject", b.lang, bureau=b.bureau, week=week_words(b), scope=scope, headline=heads)


def text_body(b: Briefing, link: str | None, files: list[str], township: str | None = None) -> str:
    lines = [b.title, week_words(b) + (f" · {township}" if township else ""), ""]
    for h in headline(b):
        lines.append(f"- {h.name}: {h.value} ({t('deliver_change', b.lang, change=h.change)}; {h.status_text})")
    lines += ["", *b.notices]
    if files:
        lines.append(t("deliver_attached", b.lang, files=", ".join(files)))
    if link:
        lines.append(t("deliver_link", b.lang, url=link))
    return "\n".join(lines).strip() + "\n"


def html_body(b: Briefing, link: str | None, files: list[str], township: str | None = None) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(h.name)}</td><td style='text-align:right'>{e(h.value)}</td>"
        f"<td style='text-align:right'>{e(h.change)}</td>"
        f"<td style='color:{STATUS_COLOURS.get(h.status, '#444')}'>{e(h.status_text)}</td></tr>" for h in headline(b))
    cols = "".join(f"<th>{e(t(k, b.lang))}</th>" for k in ("col_kpi", "brief_col_week", "brief_col_change_week",
                                                            "col_status"))
    notices = "".join(f"<p>{e(n)}</p>" for n in b.notices)
    attached = f"<p>{e(t('deliver_attached', b.lang, files=', '.join(files)))}</p>" if files else ""
    link_html = (f"<p><a href='{e(link, quote=True)}'>{e(t('deliver_open_dashboard', b.lang))}</a></p>"
                 if link else "")
    scope = f" · {e(township)}" if township else ""
    return (f"<!DOCTYPE html><html lang='{b.lang}'><head><meta charset='utf-8'></head><body>"
            f"<h2>{e(b.title)}</h2><p>{e(week_words(b))}{scope}</p>"
            f"<table border='1' cellpadding='4' cellspacing='0'><tr>{cols}</tr>{rows}</table>"
            f"{notices}{attached}{link_html}</body></html>")


def markdown(b: Briefing, link: str | None, heading_level: int = 3) -> str:
    """Robot markdown (DingTalk / WeCom / Feishu text): title, one line per headline KPI, the dashboard link."""
    lines = [f"{'#' * heading_level} {b.title}", week_words(b), ""]
    for h in headline(b):
        lines.append(f"- {h.name}: **{h.value}** ({h.change}, {h.status_text})")
    if link:
        lines += ["", f"[{t('deliver_open_dashboard', b.lang)}]({link})"]
    return "\n".join(lines)
