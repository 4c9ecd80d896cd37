"""Deliver a week's briefing as a delivery file says: e-mail to each recipient (in their language, scoped to their
township when they have one, with the formats they asked for) and a headline message to each robot. A failed
recipient is retried with backoff and reported; the others still get theirs. Every outcome is recorded."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from delivery import content, robots
from delivery.config import DeliveryConfig, Recipient, Webhook, secret_from_env
from delivery.email import build_message, send_message
from delivery.history import record
from delivery.retry import with_retries
from landdesk.errors import LandDeskError
from landdesk.i18n import t
from landdesk.settings import settings


@dataclass(frozen=True)
class Outcome:
    channel: str           # email | dingtalk | wecom | feishu
    target: str            # the address, or the robot URL without its token
    ok: bool
    attempts: int
    error: str | None = None

    def summary(self) -> str:
        what = "delivered" if self.ok else f"FAILED after {self.attempts} attempts ({self.error})"
        return f"{self.channel} {self.target}: {what}"


def dashboard_link(page: str = "briefing") -> str | None:
    """The dashboard page's address under LANDDESK_PUBLIC_URL (None when it is not set)."""
    base = settings().public_url
    return f"{base.rstrip('/')}/{page}" if base else None


def _principal(township: str | None):
    """Whom a scoped briefing is built for: a township officer of `township` (None: the whole county)."""
    if not township:
        return None
    from service.auth import Principal
    return Principal("delivery", "township_officer", township=township)


class _Briefings:
    """Each (language, township) briefing built once, and its files rendered once per format."""

    def __init__(self, engine, week, charts, archive):
        self.engine, self.week, self.charts, self.archive = engine, week, charts, archive
        self._built, self._files = {}, {}

    def get(self, lang: str, township: str | None):
        key = (lang, township)
        if key not in self._built:
            from briefing import build_briefing
            b = build_briefing(self.engine, self.week, lang, charts=self.charts, principal=_principal(township))
            if self.charts and b.charts:
                from briefing.render_html import ensure_charts
                ensure_charts(b)
            self._built[key] = b
        return self._built[key]

    def file(self, lang: str, township: str | None, fmt: str) -> tuple[str, bytes]:
        """(file name, bytes): the archived file of a county briefing when there is one (re-delivery sends what
        was archived), else rendered from the built briefing."""
        key = (lang, township, fmt)
        if key not in self._files:
            from briefing import briefing_bytes, file_name
            b = self.get(lang, township)
            name = file_name(b.week, lang, fmt)
            if township:
                name = name.replace(f"-{lang}.", f"-{township}-{lang}.")
            archived = Path(self.archive) / name if self.archive and not township else None
            data = archived.read_bytes() if archived is not None and archived.is_file() else briefing_bytes(b, fmt)
            self._files[key] = (name, data)
        return self._files[key]


def check_secrets(config: DeliveryConfig) -> dict[str, str | None]:
    """Every secret the file names, read from the environment now (before any work): a missing one is an error."""
    out = {}
    if config.smtp and config.smtp.password_env:
        out["smtp"] = secret_from_env(config.smtp.password_env, "smtp.password_env")
    for i, w in enumerate(config.webhooks):
        out[f"webhook{i}"] = secret_from_env(w.secret_env, f"webhooks[{i}].secret_env")
    return out


def _email(config: DeliveryConfig, password, briefings: _Briefings, r: Recipient):
    b = briefings.get(r.lang, r.township)
    files = [briefings.file(r.lang, r.township, fmt) for fmt in r.formats]
    names = [n for n, _ in files]
    link = dashboard_link()
    msg = build_message(config.smtp.sender, r.email, content.subject(b, r.township),
                        content.text_body(b, link, names, r.township), content.html_body(b, link, names, r.township),
                        files)
    return lambda: send_message(config.smtp, password, msg)


def robot_request(w: Webhook, secret: str | None, b, link: str | None) -> tuple[str, dict]:
    """(signed URL, JSON body) of the headline message for robot `w`."""
    title = f"{b.title} {content.week_words(b)}"
    if w.kind == "dingtalk":
        return robots.dingtalk(w.url, title, content.markdown(b, link), secret)
    if w.kind == "wecom":
        return robots.wecom(w.url, title, content.markdown(b, link), secret)
    dash = (t("deliver_open_dashboard", b.lang), link) if link else None
    if w.message == "card":
        return robots.feishu_card(w.url, b.title, content.week_words(b), content.card_fields(b),
                                  note=" ".join(b.notices), status=content.worst_status(b), secret=secret, link=dash)
    text = content.markdown(b, None).split("\n", 1)[1]          # Feishu posts carry the title separately
    return robots.feishu(w.url, title, text.replace("**", ""), secret, lang=b.lang,
                         link=dash)


def deliver_briefing(engine: Engine, week: str | None, config: DeliveryConfig, *, archive=None, charts: bool = True,
                     sleep=time.sleep, progress=None) -> list[Outcome]:
    """Deliver `week`'s briefing (default: the last complete week of the data) to everyone in `config`; returns one
    Outcome per recipient and robot (all are recorded in `deliveries` and the audit log)."""
    from briefing.weeks import default_week, parse_week, week_label
    from briefing import out_dir

    say = progress or (lambda _m: None)
    secrets = check_secrets(config)
    week = week_label(*parse_week(week)) if week else default_week(engine)
    s = settings()
    briefings = _Briefings(engine, week, charts, archive if archive is not None else out_dir())
    outcomes, rows = [], []

    def attempt(channel, target, action, **row):
        say(f"delivering the {week} briefing to {channel} {target}")
        try:
            send = action()
        except LandDeskError:
            raise
        result = with_retries(send, s.delivery_attempts, s.delivery_backoff, sleep)
        outcomes.append(Outcome(channel, target, result.ok, result.attempts, result.error))
        rows.append({"subject": "briefing", "week": week, "channel": channel, "target": target,
                     "status": "sent" if result.ok else "failed", "attempts": result.attempts,
                     "error": result.error, **row})

    for r in config.recipients:
        attempt("email", r.email, lambda r=r: _email(config, secrets.get("smtp"), briefings, r),
                lang=r.lang, township=r.township, formats=",".join(r.formats))
    for i, w in enumerate(config.webhooks):
        def robot(w=w, i=i):
            url, body = robot_request(w, secrets.get(f"webhook{i}"), briefings.get(w.lang, None), dashboard_link())
            return lambda: robots.post(url, body)
        attempt(w.kind, w.target, robot, lang=w.lang)
    record(engine, rows)
    _audit(engine, week, outcomes)
    return outcomes


def _audit(engine, week, outcomes) -> None:
    from service.audit import os_user, record as audit
    try:
        audit(engine, "delivery", os_user(), {"week": week, "sent": sum(o.ok for o in outcomes),
                                              "failed": [o.target for o in outcomes if not o.ok]}, "cli")
    except Exception:  # noqa: BLE001 - the deliveries table already holds every outcome
        pass
