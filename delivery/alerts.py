"""`landdesk alerts check`: evaluate the alert rules (analytics.alerts) on the store as of the data's last day,
keep each occurrence once in the `alerts` table (deduplicated by key; re-sent only when what it says changes;
resolved when it clears), and deliver the new and changed ones to the delivery file's recipients and robots."""
from __future__ import annotations

import datetime as dt
import html
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from analytics import alerts as A
from analytics.scope import Scope
from delivery import robots
from delivery.config import DeliveryConfig
from delivery.email import build_message, send_message
from delivery.history import record
from delivery.retry import with_retries
from etl.schema import alerts as alerts_table
from landdesk.errors import LandDeskError
from landdesk.i18n import t
from landdesk.settings import settings, utc_now

#: The export each data rule watches.
WATCHES = {"case_due": "overdue-cases", "petition_due": "petition-countdown", "on_time_rate": "kpis",
           "petition_spike": "petition-spikes"}


def load_rules(path) -> list[A.Rule]:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LandDeskError(f"There is no rules file at {p}.") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LandDeskError(f"{p} is not a readable YAML file ({type(exc).__name__}).") from None
    return A.parse_rules(doc, str(p))


def evaluate(engine: Engine, rules: list[A.Rule], now: dt.datetime | None = None) -> pd.DataFrame:
    """Every rule's alerts as of the data's last event day (the ETL rules: as of `now`, UTC)."""
    from analytics.coverage import data_end
    from etl.load import list_batches
    from service import results

    now = now or utc_now()
    with engine.connect() as conn:
        end = data_end(conn)
    frames = []
    batches = None
    for rule in rules:
        if rule.name in ("etl_failed", "etl_stale"):
            batches = list_batches(engine, limit=10_000) if batches is None else batches
            frames.append(A.etl_failed(batches) if rule.name == "etl_failed" else A.etl_stale(batches, now, rule["days"]))
            continue
        if end is None:
            continue
        days = {"on_time_rate": rule.params.get("days", 30), "petition_spike": 7 * rule.params.get("weeks", 1)}
        scope = Scope(end - dt.timedelta(days=days.get(rule.name, 1) - 1), end)
        frame = results.read(engine, WATCHES[rule.name], scope, audited=False)
        if rule.name == "case_due":
            frames.append(A.case_due(frame, rule["within_days"]))
        elif rule.name == "petition_due":
            frames.append(A.petition_due(frame, rule["within_days"]))
        elif rule.name == "on_time_rate":
            frames.append(A.on_time_rate(frame, rule["target"]))
        else:
            frames.append(A.petition_spike(frame))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=A.ALERT_COLUMNS)
    return pd.concat(frames, ignore_index=True).drop_duplicates("key").reset_index(drop=True)   # a rule listed twice


@dataclass(frozen=True)
class Sync:
    new: list[int]
    changed: list[int]
    unchanged: list[int]
    resolved: list[int]


def sync(engine: Engine, found: pd.DataFrame, rules: list[A.Rule], now: dt.datetime | None = None) -> Sync:
    """Store the occurrences in `found` (one transaction): a new key is a new active alert; a known one whose
    fingerprint changed is updated and marked unsent; an active alert of an evaluated rule no longer found is
    resolved (the next time it fires is a new occurrence)."""
    now = (now or utc_now()).replace(microsecond=0)
    names = {r.name for r in rules}
    new, changed, unchanged, resolved = [], [], [], []
    with engine.begin() as conn:
        active = {r.key: r for r in conn.execute(select(alerts_table).where(alerts_table.c.status == "active"))}
        seen = set()
        for row in found.to_dict("records"):
            fp, key = A.fingerprint(row), row["key"]
            seen.add(key)
            town = row["township"] if isinstance(row["township"], str) and row["township"] else None
            detail = json.dumps({"township": town, "value": row["value"], "threshold": row["threshold"],
                                 "ids": list(row["ids"])}, ensure_ascii=False, default=str)
            old = active.get(key)
            if old is None:
                res = conn.execute(alerts_table.insert().values(
                    rule=row["rule"], key=key, fingerprint=fp, status="active", first_seen=now, last_seen=now,
                    detail=detail))
                new.append(int(res.inserted_primary_key[0]))
            elif old.fingerprint != fp:
                conn.execute(update(alerts_table).where(alerts_table.c.id == old.id).values(
                    fingerprint=fp, last_seen=now, detail=detail, sent_at=None))
                changed.append(old.id)
            else:
                conn.execute(update(alerts_table).where(alerts_table.c.id == old.id).values(last_seen=now))
                unchanged.append(old.id)
        for key, old in active.items():
            if key not in seen and old.rule in names:
                conn.execute(update(alerts_table).where(alerts_table.c.id == old.id).values(
                    status="resolved", resolved_at=now))
                resolved.append(old.id)
    return Sync(new, changed, unchanged, resolved)


def unsent(engine: Engine) -> pd.DataFrame:
    """Active alerts not delivered since they last changed."""
    q = select(alerts_table).where(alerts_table.c.status == "active", alerts_table.c.sent_at.is_(None)) \
        .order_by(alerts_table.c.id)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in alerts_table.c])


def recent_alerts(engine: Engine, township: str | None = None, limit: int = 100) -> pd.DataFrame:
    """Alerts newest first with their detail parsed (township, value, threshold, ids): the cockpit's history.
    `township`: only that township's alerts and the county-wide ones."""
    q = select(alerts_table).order_by(alerts_table.c.last_seen.desc(), alerts_table.c.id.desc()).limit(limit * 4)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in alerts_table.c])
    details = [json.loads(d) for d in df["detail"]]
    for col in ("township", "value", "threshold", "ids"):
        df[col] = [d.get(col) for d in details]
    if township:
        df = df[df["township"].isna() | (df["township"] == township)]
    return df.head(limit).reset_index(drop=True)


def _num(x) -> str:
    """A count or a limit as written in a message: whole numbers without decimals, others to one decimal."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "—"
    x = float(x)
    return f"{x:.0f}" if x.is_integer() else f"{x:.1f}"


def message(row, lang: str) -> str:
    """One alert as a sentence in `lang` (ids only, no personal data)."""
    ids = list(row["ids"] or [])
    town = row["township"] or t("all_townships", lang)
    fields = dict(township=town, value=_num(row["value"]), threshold=_num(row["threshold"]), ids=", ".join(ids[:20]),
                  more=max(len(ids) - 20, 0))
    if row["rule"] == "on_time_rate":
        fields.update(value=f"{float(row['value']):.1%}", threshold=f"{float(row['threshold']):.1%}")
    if row["rule"] == "petition_spike":
        fields.update(topic=ids[0] if ids else "", week=ids[1] if len(ids) > 1 else "")
    text = t(f"alert_msg_{row['rule']}", lang, **fields)
    if fields["more"] and row["rule"] in ("case_due", "petition_due"):
        text += t("alert_more_ids", lang, more=fields["more"])
    return text


def _expand(df: pd.DataFrame) -> pd.DataFrame:
    details = [json.loads(d) for d in df["detail"]]
    return df.assign(**{c: [d.get(c) for d in details] for c in ("township", "value", "threshold", "ids")})


def deliver_alerts(engine: Engine, config: DeliveryConfig, sleep=time.sleep) -> list:
    """Send the unsent active alerts: one e-mail per recipient (a township recipient: its township's and the
    county-wide alerts only), one message per robot; an alert that reached anyone is marked sent."""
    from delivery.run import Outcome, check_secrets, dashboard_link

    pending = unsent(engine)
    if pending.empty:
        return []
    pending = _expand(pending)
    secrets = check_secrets(config)
    s = settings()
    link = dashboard_link("cockpit")
    outcomes, rows, reached = [], [], set()

    def attempt(channel, target, send, ids, **row):
        res = with_retries(send, s.delivery_attempts, s.delivery_backoff, sleep)
        outcomes.append(Outcome(channel, target, res.ok, res.attempts, res.error))
        if res.ok:
            reached.update(ids)
        for alert_id in ids:
            rows.append({"subject": "alert", "alert_id": int(alert_id), "channel": channel, "target": target,
                         "status": "sent" if res.ok else "failed", "attempts": res.attempts, "error": res.error,
                         **row})

    for r in config.recipients:
        mine = pending[pending["township"].isna() | (pending["township"] == r.township)] if r.township else pending
        if mine.empty:
            continue
        lines = [message(a, r.lang) for _, a in mine.iterrows()]
        subject = t("alert_subject", r.lang, bureau=_bureau(r.lang), n=len(lines))
        text = "\n".join(f"- {line}" for line in lines) + (f"\n\n{t('deliver_link', r.lang, url=link)}" if link else "")
        body = "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>" + (
            f"<p><a href='{html.escape(link, quote=True)}'>{html.escape(t('deliver_open_dashboard', r.lang))}</a></p>"
            if link else "")
        msg = build_message(config.smtp.sender, r.email, subject, text, body, [])
        attempt("email", r.email, lambda msg=msg: send_message(config.smtp, secrets.get("smtp"), msg),
                list(mine["id"]), lang=r.lang, township=r.township)
    for i, w in enumerate(config.webhooks):
        lines = [message(a, w.lang) for _, a in pending.iterrows()]
        title = t("alert_subject", w.lang, bureau=_bureau(w.lang), n=len(lines))
        md = "\n".join([f"### {title}", *(f"- {line}" for line in lines)])
        secret = secrets.get(f"webhook{i}")
        if w.kind == "dingtalk":
            url, body = robots.dingtalk(w.url, title, md + (f"\n\n[{t('deliver_open_dashboard', w.lang)}]({link})"
                                                            if link else ""), secret)
        elif w.kind == "wecom":
            url, body = robots.wecom(w.url, title, md + (f"\n\n[{t('deliver_open_dashboard', w.lang)}]({link})"
                                                         if link else ""), secret)
        else:
            url, body = robots.feishu(w.url, title, "\n".join(lines), secret, lang=w.lang,
                                      link=(t("deliver_open_dashboard", w.lang), link) if link else None)
        attempt(w.kind, w.target, lambda url=url, body=body: robots.post(url, body), list(pending["id"]), lang=w.lang)
    record(engine, rows)
    if reached:
        with engine.begin() as conn:
            conn.execute(update(alerts_table).where(alerts_table.c.id.in_([int(x) for x in reached]))
                         .values(sent_at=utc_now().replace(microsecond=0)))
    return outcomes


def _bureau(lang: str) -> str:
    from landdesk.i18n import bureau_name
    return bureau_name(lang)


def check(engine: Engine, rules: list[A.Rule], config: DeliveryConfig | None, now: dt.datetime | None = None,
          sleep=time.sleep) -> tuple[Sync, list]:
    """Evaluate, store, deliver (when a delivery file is given); audited as one `alert` row."""
    found = evaluate(engine, rules, now)
    state = sync(engine, found, rules, now)
    outcomes = deliver_alerts(engine, config, sleep) if config is not None else []
    from service.audit import os_user, record as audit
    try:
        audit(engine, "alert", os_user(), {"new": len(state.new), "changed": len(state.changed),
                                           "resolved": len(state.resolved), "sent": sum(o.ok for o in outcomes),
                                           "failed": sum(not o.ok for o in outcomes)}, "cli")
    except Exception:  # noqa: BLE001 - the alerts table holds the state either way
        pass
    return state, outcomes
