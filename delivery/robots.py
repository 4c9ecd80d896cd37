"""Chat robots: each platform's documented webhook message and signature.

- DingTalk (钉钉自定义机器人): {"msgtype": "markdown", "markdown": {"title", "text"}}; with a secret the URL gets
  `&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")))>`; reply errcode 0.
- WeCom (企业微信群机器人): {"msgtype": "markdown", "markdown": {"content"}}; reply errcode 0.
- Feishu (飞书自定义机器人): an interactive card {"msg_type": "interactive", "card": {"config", "header": {"title":
  {"tag": "plain_text", "content"}, "template"}, "elements": [div with lark_md fields, hr, action/button, note]}}
  (the message-card JSON 1.0 a custom bot takes, the card as an object), or the rich-text post {"msg_type": "post",
  "content": {"post": {"zh_cn"|"en_us": {"title", "content"}}}}; with a secret the body gets "timestamp" (seconds)
  and "sign" = base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b"")); reply code 0.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 15.0


class RobotError(Exception):
    """A robot refused the message (HTTP error, or the platform's error code in the reply)."""


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a timestamp (milliseconds), url-encoded as the URL carries it."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature of a timestamp (seconds): the key is "timestamp\\nsecret", the message empty."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk(url: str, title: str, text: str, secret: str | None = None, now: float | None = None) -> tuple[str, dict]:
    """(URL, body) of a DingTalk markdown message, signed when `secret` is given."""
    if secret:
        ts = int((now if now is not None else time.time()) * 1000)
        url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
    return url, {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def wecom(url: str, title: str, text: str, secret: str | None = None, now: float | None = None) -> tuple[str, dict]:
    """(URL, body) of a WeCom markdown message (WeCom robots have no signature: the key in the URL is the secret)."""
    return url, {"msgtype": "markdown", "markdown": {"content": text}}


def feishu(url: str, title: str, text: str, secret: str | None = None, now: float | None = None,
           lang: str = "zh", link: tuple[str, str] | None = None) -> tuple[str, dict]:
    """(URL, body) of a Feishu rich-text (post) message: one text paragraph per line, the link as an `a` tag."""
    content = [[{"tag": "text", "text": line}] for line in text.splitlines() if line.strip()]
    if link:
        content.append([{"tag": "a", "text": link[0], "href": link[1]}])
    body: dict = {"msg_type": "post",
                  "content": {"post": {"zh_cn" if lang == "zh" else "en_us": {"title": title, "content": content}}}}
    return url, _feishu_signed(body, secret, now)


#: Card header colours (Feishu's `template` names) by the worst headline status.
CARD_TEMPLATES = {"red": "red", "amber": "orange", "green": "green", "": "blue"}


def _feishu_signed(body: dict, secret: str | None, now: float | None) -> dict:
    if not secret:
        return body
    ts = int(now if now is not None else time.time())
    return {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}


def feishu_card(url: str, title: str, subtitle: str, fields: list[tuple[str, str]], note: str = "",
                status: str = "", secret: str | None = None, now: float | None = None,
                link: tuple[str, str] | None = None) -> tuple[str, dict]:
    """(URL, body) of a Feishu interactive card: a coloured header (red/orange/green by `status`), the week line,
    one short lark_md field per (name, value) pair, a button to the dashboard, a note; signed when `secret` is given."""
    def md(text: str) -> dict:
        return {"tag": "lark_md", "content": text}

    elements: list[dict] = [{"tag": "div", "text": md(subtitle)},
                            {"tag": "div", "fields": [{"is_short": True, "text": md(f"**{name}**\n{value}")}
                                                      for name, value in fields]}]
    if link:
        elements += [{"tag": "hr"}, {"tag": "action", "actions": [{
            "tag": "button", "text": {"tag": "plain_text", "content": link[0]}, "type": "primary", "url": link[1]}]}]
    if note:
        elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": note}]})
    card = {"config": {"wide_screen_mode": True, "enable_forward": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": CARD_TEMPLATES.get(status, "blue")},
            "elements": elements}
    return url, _feishu_signed({"msg_type": "interactive", "card": card}, secret, now)


def post(url: str, body: dict, timeout: float = TIMEOUT) -> dict:
    """POST `body` as JSON; the platform's reply, or RobotError when it is not a success."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise RobotError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RobotError(f"cannot reach the robot ({getattr(exc, 'reason', exc)})") from None
    try:
        reply = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RobotError("the robot's reply is not JSON") from None
    code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
    if code not in (0, None):
        raise RobotError(f"the robot answered code {code}: {reply.get('errmsg') or reply.get('msg') or ''}".strip())
    return reply
