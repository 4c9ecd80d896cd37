"""Delivery (issue 17): a real SMTP server on loopback (aiosmtpd) receives the briefing, parsed back with the
`email` package (the PDF attachment's text, read by pdftotext, holds the KPI values); a local HTTP receiver checks
each robot's payload against its platform's documented schema and DingTalk's / Feishu's signatures; flaky
receivers make the retries happen; the history records every outcome.

The sample county store (session fixture `sample_store_url`) gives week 2026-W43."""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from briefing import build_briefing
from delivery import deliver_briefing, load_config
from delivery.config import parse_config
from delivery.content import headline
from delivery.history import history
from delivery.retry import with_retries
from etl.store import make_engine
from landdesk.errors import LandDeskError

WEEK = "2026-W43"
SECRET = "SEC-test-secret-0123456789"


# ---------- loopback receivers ----------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Mailbox:
    """aiosmtpd handler: keeps every message; refuses the first `fail` DATA commands with a 451."""

    def __init__(self, fail: int = 0, refuse: set[str] = frozenset()):
        self.messages, self.fail, self.refuse, self.attempts = [], fail, refuse, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= self.fail:
            return "451 4.3.0 try again later"
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    servers = []

    def start(**kw):
        box = _Mailbox(**kw)
        ctl = aiosmtpd.Controller(box, hostname="127.0.0.1", port=_free_port())
        ctl.start()
        servers.append(ctl)
        return box, ctl.port
    yield start
    for ctl in servers:
        ctl.stop()


def _check_dingtalk(query: dict, body: dict) -> None:
    assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
    assert isinstance(body["markdown"]["title"], str) and isinstance(body["markdown"]["text"], str)
    ts, sign = query["timestamp"][0], query["sign"][0]     # parse_qs has url-decoded the sign once
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert sign == expected.decode(), "DingTalk signature does not verify"


def _check_wecom(query: dict, body: dict) -> None:
    assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
    assert set(body["markdown"]) == {"content"} and len(body["markdown"]["content"].encode()) <= 4096


#: Feishu's documented card header colours (message card JSON 1.0, `header.template`).
CARD_TEMPLATES = {"blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple",
                  "indigo", "grey"}


def _check_feishu_text(obj) -> None:
    assert set(obj) == {"tag", "content"} and obj["tag"] in ("plain_text", "lark_md") and isinstance(obj["content"], str)


def _check_feishu_card(card: dict) -> None:
    """The message card a custom bot takes (JSON 1.0: config, header, elements)."""
    assert set(card) <= {"config", "header", "elements", "card_link"}
    assert isinstance(card["config"].get("wide_screen_mode", True), bool)
    header = card["header"]
    assert header["title"]["tag"] == "plain_text" and header["title"]["content"].strip()
    assert header.get("template", "blue") in CARD_TEMPLATES
    assert card["elements"]
    for el in card["elements"]:
        tag = el["tag"]
        assert tag in ("div", "hr", "action", "note"), tag
        if tag == "div":
            assert "text" in el or "fields" in el
            if "text" in el:
                _check_feishu_text(el["text"])
            for f in el.get("fields", []):
                assert isinstance(f["is_short"], bool)
                _check_feishu_text(f["text"])
        elif tag == "action":
            for button in el["actions"]:
                assert button["tag"] == "button" and button["type"] in ("default", "primary", "danger")
                _check_feishu_text(button["text"])
                assert button["url"].startswith("https://")
        elif tag == "note":
            for x in el["elements"]:
                _check_feishu_text(x)
        else:
            assert set(el) == {"tag"}


def _check_feishu(query: dict, body: dict) -> None:
    assert body["msg_type"] in ("post", "interactive")
    assert set(body) <= {"msg_type", "content", "card", "timestamp", "sign"}
    if body["msg_type"] == "interactive":
        _check_feishu_card(body["card"])
    else:
        post = body["content"]["post"]["zh_cn"]
        assert isinstance(post["title"], str)
        for para in post["content"]:
            for el in para:
                assert el["tag"] in ("text", "a") and isinstance(el["text"], str)
                assert el["tag"] != "a" or el["href"].startswith("https://")
    if "sign" in body:
        ts = body["timestamp"]
        expected = base64.b64encode(hmac.new(f"{ts}\n{SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
        assert body["sign"] == expected, "Feishu signature does not verify"


CHECKS = {"/robot/send": _check_dingtalk, "/cgi-bin/webhook/send": _check_wecom,
          "/open-apis/bot/v2/hook/abc": _check_feishu}
OK_REPLY = {"/robot/send": {"errcode": 0, "errmsg": "ok"}, "/cgi-bin/webhook/send": {"errcode": 0, "errmsg": "ok"},
            "/open-apis/bot/v2/hook/abc": {"code": 0, "msg": "success", "data": {}}}


@pytest.fixture
def robot_server():
    """A robot receiver on 127.0.0.1: validates each payload (a schema failure answers 400 and is kept) and
    fails the first `fail[path]` requests of a path with a 503."""
    state = {"received": [], "errors": [], "fail": {}}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            parts = urllib.parse.urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
            if state["fail"].get(parts.path, 0) > 0:
                state["fail"][parts.path] -= 1
                self.send_response(503)
                self.end_headers()
                return
            try:
                CHECKS[parts.path](urllib.parse.parse_qs(parts.query), body)
            except (AssertionError, KeyError, TypeError) as exc:
                state["errors"].append((parts.path, repr(exc)))
                self._reply(400, {"errcode": 40035, "errmsg": "bad payload"})
                return
            state["received"].append((parts.path, urllib.parse.parse_qs(parts.query), body))
            self._reply(200, OK_REPLY[parts.path])

        def _reply(self, code, doc):
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["base"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(sample_store_url, tmp_path):
    """A private copy of the sample store (the delivery history is written to it)."""
    src = Path(sample_store_url.removeprefix("sqlite:///"))
    dest = tmp_path / "store.db"
    shutil.copy(src, dest)
    engine = make_engine(f"sqlite:///{dest.as_posix()}")
    yield engine
    engine.dispose()


def _config(tmp_path, port, robots_base=None, recipients=None, **smtp):
    doc = {"smtp": {"host": "127.0.0.1", "port": port, "starttls": False,
                    "from": "青山县自然资源局 <landdesk@bureau.example>", **smtp},
           "recipients": recipients if recipients is not None else [
               {"email": "chief@bureau.example", "lang": "zh", "formats": ["pdf"]},
               {"email": "planner@bureau.example", "lang": "zh", "formats": ["pdf", "docx"], "township": "东坪镇"}]}
    if robots_base:
        doc["webhooks"] = [
            {"kind": "dingtalk", "url": f"{robots_base}/robot/send?access_token=tok123", "secret_env": "T_DING"},
            {"kind": "wecom", "url": f"{robots_base}/cgi-bin/webhook/send?key=k456"},
            {"kind": "feishu", "url": f"{robots_base}/open-apis/bot/v2/hook/abc", "secret_env": "T_FEISHU"}]
    import yaml
    path = tmp_path / "delivery.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setenv("LANDDESK_DELIVERY_ATTEMPTS", "3")
    monkeypatch.setenv("LANDDESK_DELIVERY_BACKOFF", "0")
    monkeypatch.setenv("LANDDESK_PUBLIC_URL", "https://landdesk.bureau.example")
    monkeypatch.setenv("T_DING", SECRET)
    monkeypatch.setenv("T_FEISHU", SECRET)


def _pdftotext(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    p = tmp_path / "attached.pdf"
    p.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(p), "-"], check=True, capture_output=True,
                          text=True).stdout


# ---------- e-mail ----------

def test_email_reaches_a_real_smtp_server_and_parses_back(store, smtp_server, tmp_path):
    pytest.importorskip("weasyprint")
    box, port = smtp_server()
    outcomes = deliver_briefing(store, WEEK, load_config(_config(tmp_path, port)), archive=tmp_path / "none",
                                charts=False)
    assert [o.ok for o in outcomes] == [True, True]
    by_rcpt = {rcpts[0]: email.message_from_bytes(raw, policy=email.policy.default) for rcpts, raw in box.messages}
    assert set(by_rcpt) == {"chief@bureau.example", "planner@bureau.example"}

    county = build_briefing(store, WEEK, "zh", charts=False)
    heads = headline(county)
    msg = by_rcpt["chief@bureau.example"]
    assert "青山县自然资源局" in msg["From"] and "第43周" in msg["Subject"]
    assert all(f"{h.name} {h.value}" in msg["Subject"] for h in heads[:3])
    html_part = msg.get_body(("html",)).get_content()
    text_part = msg.get_body(("plain",)).get_content()
    for h in heads:
        assert h.value in html_part and h.value in text_part and h.status_text in html_part
    assert "https://landdesk.bureau.example/briefing" in html_part
    files = {a.get_filename(): a for a in msg.iter_attachments()}
    assert list(files) == [f"briefing-{WEEK}-zh.pdf"]
    pdf = files[f"briefing-{WEEK}-zh.pdf"].get_content()
    assert pdf.startswith(b"%PDF")
    pdf_text = "".join(_pdftotext(pdf, tmp_path).split())
    for h in heads:
        assert h.value.replace(" ", "") in pdf_text, h

    # the township recipient gets that township's briefing, PDF and DOCX
    scoped = by_rcpt["planner@bureau.example"]
    names = [a.get_filename() for a in scoped.iter_attachments()]
    assert names == [f"briefing-{WEEK}-东坪镇-zh.pdf", f"briefing-{WEEK}-东坪镇-zh.docx"]
    from service.auth import Principal
    town = build_briefing(store, WEEK, "zh", charts=False, principal=Principal("x", "township_officer", "东坪镇"))
    received = {h.code: h.value for h in headline(town)}
    assert received != {h.code: h.value for h in heads}       # not the county's numbers
    assert all(v in scoped.get_body(("plain",)).get_content() for v in received.values())
    import io
    from docx import Document
    docx = next(a for a in scoped.iter_attachments() if a.get_filename().endswith(".docx")).get_content()
    assert Document(io.BytesIO(docx)).paragraphs                # the attachment opens

    hist = history(store, WEEK)
    assert sorted(hist["target"]) == ["chief@bureau.example", "planner@bureau.example"]
    assert set(hist["status"]) == {"sent"} and set(hist.loc[hist.township.notna(), "township"]) == {"东坪镇"}


def test_a_refused_recipient_is_retried_reported_and_the_others_served(store, smtp_server, tmp_path):
    box, port = smtp_server(fail=1, refuse={"gone@bureau.example"})
    cfg = _config(tmp_path, port, recipients=[
        {"email": "gone@bureau.example", "formats": ["html"]},
        {"email": "chief@bureau.example", "formats": ["html"]}])
    outcomes = deliver_briefing(store, WEEK, load_config(cfg), archive=tmp_path / "none", charts=False)
    gone, chief = outcomes
    assert not gone.ok and gone.attempts == 3 and "550" in gone.error
    # the chief's first DATA was answered 451 (box.fail=1): the retry delivered it
    assert chief.ok and chief.attempts == 2 and [r for r, _ in box.messages] == [["chief@bureau.example"]]
    hist = history(store, WEEK).set_index("target")
    assert hist.loc["gone@bureau.example", "status"] == "failed" and hist.loc["gone@bureau.example", "attempts"] == 3
    assert hist.loc["chief@bureau.example", "status"] == "sent"
    from service.audit import recent
    audit = json.loads(recent(store, 5, action="delivery")["detail"].iloc[0])
    assert audit == {"week": WEEK, "sent": 1, "failed": ["gone@bureau.example"]}


# ---------- robots ----------

def test_robots_get_their_platforms_payloads_signed(store, robot_server, tmp_path):
    cfg = load_config(_config(tmp_path, 25, robot_server["base"], recipients=[]))
    outcomes = deliver_briefing(store, WEEK, cfg, charts=False)
    assert robot_server["errors"] == [] and all(o.ok for o in outcomes), (robot_server["errors"], outcomes)
    got = {path: (q, body) for path, q, body in robot_server["received"]}
    assert set(got) == set(CHECKS)
    heads = headline(build_briefing(store, WEEK, "zh", charts=False))
    ding = got["/robot/send"][1]["markdown"]["text"]
    wecom = got["/cgi-bin/webhook/send"][1]["markdown"]["content"]
    feishu = json.dumps(got["/open-apis/bot/v2/hook/abc"][1], ensure_ascii=False)
    for text in (ding, wecom, feishu):
        assert all(h.value in text for h in heads) and "https://landdesk.bureau.example/briefing" in text
    assert got["/robot/send"][0]["access_token"] == ["tok123"]          # the token stays in the URL it was given
    card = got["/open-apis/bot/v2/hook/abc"][1]
    assert "sign" in card and card["msg_type"] == "interactive"         # Feishu gets the card by default
    fields = {f["text"]["content"].split("\n")[0].strip("*"): f["text"]["content"]
              for el in card["card"]["elements"] if el["tag"] == "div" for f in el.get("fields", [])}
    assert list(fields) == [h.name for h in heads] and all(h.value in fields[h.name] for h in heads)
    worst = next((s for s in ("red", "amber", "green") if s in {h.status for h in heads}), "")
    assert card["card"]["header"]["template"] == {"red": "red", "amber": "orange", "green": "green", "": "blue"}[worst]
    buttons = [b for el in card["card"]["elements"] if el["tag"] == "action" for b in el["actions"]]
    assert [b["url"] for b in buttons] == ["https://landdesk.bureau.example/briefing"]
    hist = history(store, WEEK)
    assert not hist["target"].str.contains("tok123|k456").any()       # tokens never reach the history


def test_feishu_post_on_request(store, robot_server, tmp_path):
    """`message: post` keeps the rich-text post (older Feishu groups, or a bureau that prefers it)."""
    import yaml
    doc = {"webhooks": [{"kind": "feishu", "url": f"{robot_server['base']}/open-apis/bot/v2/hook/abc",
                         "secret_env": "T_FEISHU", "message": "post"}]}
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert all(o.ok for o in deliver_briefing(store, WEEK, load_config(path), charts=False)), robot_server["errors"]
    (_path, _q, body), = robot_server["received"]
    assert body["msg_type"] == "post" and "sign" in body


def test_a_flaky_robot_is_retried_and_a_dead_one_reported(store, robot_server, tmp_path):
    robot_server["fail"] = {"/cgi-bin/webhook/send": 2, "/robot/send": 99}
    cfg = load_config(_config(tmp_path, 25, robot_server["base"], recipients=[]))
    outcomes = {o.channel: o for o in deliver_briefing(store, WEEK, cfg, charts=False)}
    assert outcomes["wecom"].ok and outcomes["wecom"].attempts == 3
    assert not outcomes["dingtalk"].ok and "503" in outcomes["dingtalk"].error
    assert outcomes["feishu"].ok and outcomes["feishu"].attempts == 1


def test_a_robot_error_code_is_a_failure(store, robot_server, tmp_path, monkeypatch):
    monkeypatch.setenv("T_DING", "a-wrong-secret")            # the receiver's signature check answers 40035
    cfg = load_config(_config(tmp_path, 25, robot_server["base"], recipients=[]))
    ding = next(o for o in deliver_briefing(store, WEEK, cfg, charts=False) if o.channel == "dingtalk")
    assert not ding.ok and "400" in ding.error and robot_server["errors"]


# ---------- retries, configuration ----------

def test_backoff_doubles_and_the_last_error_is_reported():
    waits, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise ConnectionError(f"down {len(calls)}")
    assert with_retries(flaky, 4, 1.5, waits.append).ok and waits == [1.5, 3.0, 6.0]
    calls.clear()
    waits.clear()
    res = with_retries(flaky, 2, 1.0, waits.append)
    assert not res.ok and res.attempts == 2 and res.error == "ConnectionError: down 2" and waits == [1.0]


@pytest.mark.parametrize("doc, says", [
    ({"smtp": {"host": "h", "from": "a@b.c", "password": "x"}, "recipients": [{"email": "a@b.c"}]},
     "would put a secret in the file"),
    ({"smtp": {"host": "h", "from": "a@b.c"}, "recipients": [{"email": "not-an-address"}]}, "is not an e-mail"),
    ({"smtp": {"host": "h", "from": "a@b.c"}, "recipients": [{"email": "a@b.c", "lang": "fr"}]}, "'fr' is not one"),
    ({"smtp": {"host": "h", "from": "a@b.c"}, "recipients": [{"email": "a@b.c", "formats": ["xls"]}]}, "'xls'"),
    ({"recipients": [{"email": "a@b.c"}]}, "need an smtp section"),
    ({"webhooks": [{"kind": "slack", "url": "https://x"}]}, "'slack' is not one of"),
    ({"webhooks": [{"kind": "wecom", "url": "ftp://x"}]}, "is not an http(s) URL"),
    ({}, "names no recipients"),
    ({"webhooks": [{"kind": "wecom", "url": "https://x", "message": "card"}]}, "for Feishu robots only"),
    ({"webhooks": [{"kind": "feishu", "url": "https://x", "message": "poster"}]}, "'poster' is not one of"),
    ({"smtp": {"host": "h", "from": "a@b.c", "verify": False}, "recipients": [{"email": "a@b.c"}]},
     "always verified"),
    ({"smtp": {"host": "h", "from": "a@b.c", "ca_file": "/nonexistent/ca.pem"}, "recipients": [{"email": "a@b.c"}]},
     "is not a file"),
    ([1, 2], "must be a mapping"),
])
def test_a_bad_delivery_file_is_one_sentence(doc, says):
    with pytest.raises(LandDeskError) as err:
        parse_config(doc, "d.yaml")
    msg = str(err.value)
    assert msg.startswith("d.yaml: ") and says in msg and msg.endswith(".") and "\n" not in msg


def test_a_missing_secret_stops_before_any_delivery(store, robot_server, tmp_path, monkeypatch):
    monkeypatch.delenv("T_DING")
    cfg = load_config(_config(tmp_path, 25, robot_server["base"], recipients=[]))
    with pytest.raises(LandDeskError, match="T_DING.*is not set"):
        deliver_briefing(store, WEEK, cfg, charts=False)
    assert robot_server["received"] == [] and history(store).empty


def test_cli_deliver(store, smtp_server, tmp_path, capsys):
    from cli.main import main
    box, port = smtp_server()
    cfg = _config(tmp_path, port, recipients=[{"email": "chief@bureau.example", "formats": ["html"]}])
    db = str(store.url)
    assert main(["deliver", "--db", db, "--week", WEEK, "--config", str(cfg), "--out", str(tmp_path), "--quiet"]) == 0
    assert "chief@bureau.example: delivered" in capsys.readouterr().out and len(box.messages) == 1
    assert main(["deliver", "--db", db, "--week", WEEK, "--config", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "There is no delivery file" in err
    box.refuse = {"chief@bureau.example"}
    assert main(["deliver", "--db", db, "--week", WEEK, "--config", str(cfg), "--out", str(tmp_path), "--quiet"]) == 3
    assert "1 of 1 deliveries failed" in capsys.readouterr().err
