"""The delivery file (YAML): SMTP server, recipients, robots. Secrets are named by environment variable, never
written in the file; bad input is one sentence naming the file and the field."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from landdesk.errors import LandDeskError
from landdesk.i18n import LANGS

FORMATS = ("pdf", "docx", "html")
ROBOTS = ("dingtalk", "wecom", "feishu")
#: Feishu message kinds: the interactive card (default) or the rich-text post.
FEISHU_MESSAGES = ("card", "post")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
#: Keys that would hold a secret in clear: refused, with the *_env key to use instead.
CLEAR_SECRETS = {"password": "password_env", "secret": "secret_env", "token": "secret_env"}


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False                       # SMTPS (port 465) instead of STARTTLS
    user: str | None = None
    password_env: str | None = None
    sender: str = ""
    timeout: float = 30.0
    ca_file: str | None = None              # PEM CA bundle the server's certificate is verified against (else the system's)


@dataclass(frozen=True)
class Recipient:
    email: str
    lang: str = "zh"
    formats: tuple[str, ...] = ("pdf",)
    township: str | None = None             # scoped like a township officer: gets that township's briefing


@dataclass(frozen=True)
class Webhook:
    kind: str
    url: str
    secret_env: str | None = None
    lang: str = "zh"
    message: str = "card"                   # Feishu only: interactive "card" or rich-text "post"

    @property
    def target(self) -> str:
        """The URL without its query (which holds the access token): what the history stores and shows."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True)
class DeliveryConfig:
    source: str
    smtp: Smtp | None = None
    recipients: tuple[Recipient, ...] = ()
    webhooks: tuple[Webhook, ...] = field(default_factory=tuple)


class _Bad(Exception):
    pass


def _mapping(value, where: str, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise _Bad(f"{where} must be a mapping of keys to values")
    for key in value:
        if key in CLEAR_SECRETS:
            raise _Bad(f"{where}.{key} would put a secret in the file; name an environment variable in "
                       f"{where}.{CLEAR_SECRETS[key]} instead")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise _Bad(f"{where} has the unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    return value


def _text(value, where: str, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad(f"{where} is missing")
        return None
    if not isinstance(value, (str, int)):
        raise _Bad(f"{where} must be text")
    return str(value).strip()


def _env_name(value, where: str) -> str | None:
    name = _text(value, where, required=False)
    if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise _Bad(f"{where} {name!r} is not an environment variable name")
    return name


def _lang(value, where: str) -> str:
    lang = (_text(value, where, required=False) or "zh").lower()
    if lang not in LANGS:
        raise _Bad(f"{where} {lang!r} is not one of {', '.join(LANGS)}")
    return lang


def _smtp(doc) -> Smtp:
    for key in ("verify", "insecure", "tls_verify"):
        if isinstance(doc, dict) and key in doc:
            raise _Bad(f"smtp.{key} is not an option: the server's certificate is always verified (name its CA in "
                       f"smtp.ca_file)")
    d = _mapping(doc, "smtp", {"host", "port", "starttls", "ssl", "user", "password_env", "from", "timeout",
                                   "ca_file"})
    port = d.get("port", 587)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise _Bad(f"smtp.port {port!r} is not a port number")
    for flag in ("starttls", "ssl"):
        if not isinstance(d.get(flag, False), bool):
            raise _Bad(f"smtp.{flag} must be true or false")
    if d.get("ssl") and d.get("starttls"):
        raise _Bad("smtp.ssl and smtp.starttls are exclusive: SMTPS (465) is already encrypted")
    timeout = d.get("timeout", 30)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise _Bad(f"smtp.timeout {timeout!r} is not a positive number of seconds")
    sender = _text(d.get("from"), "smtp.from")
    ca_file = _text(d.get("ca_file"), "smtp.ca_file", required=False)
    if ca_file is not None and not Path(ca_file).is_file():
        raise _Bad(f"smtp.ca_file {ca_file!r} is not a file (a PEM bundle of the CA that signed the server's certificate)")
    return Smtp(host=_text(d.get("host"), "smtp.host"), port=port, starttls=d.get("starttls", not d.get("ssl", False)),
                ssl=bool(d.get("ssl", False)), user=_text(d.get("user"), "smtp.user", required=False),
                password_env=_env_name(d.get("password_env"), "smtp.password_env"), sender=sender,
                timeout=float(timeout), ca_file=ca_file)


def _recipient(doc, i: int) -> Recipient:
    where = f"recipients[{i}]"
    d = _mapping(doc, where, {"email", "lang", "formats", "township"})
    email = _text(d.get("email"), f"{where}.email")
    if not EMAIL_RE.match(email):
        raise _Bad(f"{where}.email {email!r} is not an e-mail address")
    formats = d.get("formats", ["pdf"])
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",")]
    if not isinstance(formats, list) or not formats:
        raise _Bad(f"{where}.formats must be a list of {', '.join(FORMATS)}")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise _Bad(f"{where}.formats has {bad[0]!r}, which is not one of {', '.join(FORMATS)}")
    return Recipient(email, _lang(d.get("lang"), f"{where}.lang"), tuple(dict.fromkeys(formats)),
                     _text(d.get("township"), f"{where}.township", required=False))


def _webhook(doc, i: int) -> Webhook:
    where = f"webhooks[{i}]"
    d = _mapping(doc, where, {"kind", "url", "secret_env", "lang", "message"})
    kind = (_text(d.get("kind"), f"{where}.kind") or "").lower()
    if kind not in ROBOTS:
        raise _Bad(f"{where}.kind {kind!r} is not one of {', '.join(ROBOTS)}")
    url = _text(d.get("url"), f"{where}.url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Bad(f"{where}.url is not an http(s) URL")
    message = (_text(d.get("message"), f"{where}.message", required=False) or "card").lower()
    if kind != "feishu" and d.get("message") is not None:
        raise _Bad(f"{where}.message is for Feishu robots only (DingTalk and WeCom get markdown)")
    if message not in FEISHU_MESSAGES:
        raise _Bad(f"{where}.message {message!r} is not one of {', '.join(FEISHU_MESSAGES)}")
    return Webhook(kind, url, _env_name(d.get("secret_env"), f"{where}.secret_env"), _lang(d.get("lang"), f"{where}.lang"),
                   message)


def parse_config(doc, source: str = "the delivery file") -> DeliveryConfig:
    """A parsed YAML document as a DeliveryConfig; LandDeskError (one sentence) for anything wrong."""
    try:
        d = _mapping(doc, "the file", {"smtp", "recipients", "webhooks"})
        recipients = d.get("recipients") or []
        webhooks = d.get("webhooks") or []
        if not isinstance(recipients, list) or not isinstance(webhooks, list):
            raise _Bad("recipients and webhooks must be lists")
        if not recipients and not webhooks:
            raise _Bad("it names no recipients and no webhooks, so nothing would be delivered")
        if recipients and d.get("smtp") is None:
            raise _Bad("recipients need an smtp section (the mail server that sends to them)")
        smtp = _smtp(d["smtp"]) if d.get("smtp") is not None else None
        return DeliveryConfig(source, smtp, tuple(_recipient(r, i) for i, r in enumerate(recipients)),
                              tuple(_webhook(w, i) for i, w in enumerate(webhooks)))
    except _Bad as exc:
        raise LandDeskError(f"{source}: {exc}.") from None


def load_config(path) -> DeliveryConfig:
    """Read and check a delivery file."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LandDeskError(f"There is no delivery file at {p}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LandDeskError(f"{p} cannot be read ({exc}).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise LandDeskError(f"{p} is not valid YAML{at}.") from None
    return parse_config(doc, str(p))


def secret_from_env(name: str | None, where: str) -> str | None:
    """The value of the environment variable `name` (named in the delivery file); None when no name is given.
    A named variable that is not set is an error: delivering unauthenticated would fail or, worse, go unsigned."""
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise LandDeskError(f"The environment variable {name}, named by {where} in the delivery file, is not set.")
    return value
