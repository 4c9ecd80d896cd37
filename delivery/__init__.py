"""Delivery: the weekly briefing and the alerts reach people — e-mail (SMTP) and chat robots (DingTalk, WeCom,
Feishu), each attempt retried with backoff and recorded (the `deliveries` table and the audit log).

    from delivery import load_config, deliver_briefing
    outcomes = deliver_briefing(engine, "2026-W20", load_config("delivery.yaml"))

Layer: above briefing (it may import briefing, service, analytics, etl, landdesk); only cli and the dashboard use it.
"""
from delivery.config import DeliveryConfig, Recipient, Smtp, Webhook, load_config
from delivery.run import Outcome, deliver_briefing

__all__ = ["DeliveryConfig", "Outcome", "Recipient", "Smtp", "Webhook", "deliver_briefing", "load_config"]
