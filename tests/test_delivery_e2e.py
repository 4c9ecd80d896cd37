"""Delivery end to end (issue 17): `landdesk briefing --week … --deliver delivery.yaml` run as a real process against
a real SMTP server on loopback (aiosmtpd) and a local robot receiver (http.server), then everything that arrived
parsed back — subject, HTML and plain parts, attachments (the PDF's text holds the kpis export's values), each
robot's payload and signature — and the delivery history and audit the run left in the store. And STARTTLS: an
aiosmtpd that requires it, with a certificate signed by a CA made here (`cryptography`); the client verifies it
against `smtp.ca_file` and refuses it without."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kpitext import expected_kpi_text

from test_delivery import (CHECKS, SECRET, _Mailbox, _free_port, _pdftotext, robot_server, smtp_server,  # noqa: F401
                           store)

WEEK = "2026-W43"


def _landdesk(*args: str, env: dict) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("landdesk")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cli.main"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=600)


def test_briefing_deliver_end_to_end(store, smtp_server, robot_server, tmp_path):
    pytest.importorskip("weasyprint")
    from analytics.exports import run_export
    from analytics.scope import Scope
    from briefing.weeks import week_bounds
    from delivery.history import history
    from service.audit import recent

    box, port = smtp_server()
    base = robot_server["base"]
    cfg = tmp_path / "delivery.yaml"
    cfg.write_text(yaml.safe_dump({
        "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "from": "青山县自然资源局 <landdesk@bureau.example>"},
        "recipients": [{"email": "chief@bureau.example", "lang": "zh", "formats": ["pdf"]},
                       {"email": "planner@bureau.example", "lang": "zh", "formats": ["pdf", "docx"], "township": "东坪镇"},
                       {"email": "liaison@bureau.example", "lang": "en", "formats": ["html"]}],
        "webhooks": [{"kind": "dingtalk", "url": f"{base}/robot/send?access_token=tok123", "secret_env": "T_DING"},
                     {"kind": "wecom", "url": f"{base}/cgi-bin/webhook/send?key=k456"},
                     {"kind": "feishu", "url": f"{base}/open-apis/bot/v2/hook/abc", "secret_env": "T_FEISHU"}],
    }, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "archive"
    env = {**os.environ, "LANDDESK_DELIVERY_ATTEMPTS": "2", "LANDDESK_DELIVERY_BACKOFF": "0",
           "LANDDESK_PUBLIC_URL": "https://landdesk.bureau.example", "T_DING": SECRET, "T_FEISHU": SECRET,
           "LANDDESK_BRIEFING_MARK": "内部资料", "LANDDESK_AUTH": "none"}
    res = _landdesk("briefing", "--db", str(store.url), "--week", WEEK, "--lang", "zh,en", "--format", "pdf,docx,html",
                    "--out", str(out), "--deliver", str(cfg), "--quiet", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": delivered") == 6 and "FAILED" not in res.stdout + res.stderr
    assert (out / f"briefing-{WEEK}-zh.pdf").is_file()

    # ---- e-mail, as the SMTP server received it
    start, end = week_bounds(WEEK)
    kpis = run_export(store, "kpis", Scope(start, end)).set_index("kpi")
    heads = ("cases_received", "cases_closed", "on_time_rate", "overdue", "backlog")
    msgs = {rcpts[0]: email.message_from_bytes(raw, policy=email.policy.default) for rcpts, raw in box.messages}
    assert set(msgs) == {"chief@bureau.example", "planner@bureau.example", "liaison@bureau.example"}
    chief = msgs["chief@bureau.example"]
    assert chief["Subject"].startswith("青山县自然资源局") and "第43周" in chief["Subject"]
    assert expected_kpi_text("cases_received", kpis.loc["cases_received", "value"]) in chief["Subject"]
    assert chief.get_content_type() == "multipart/mixed"
    plain, html_part = chief.get_body(("plain",)).get_content(), chief.get_body(("html",)).get_content()
    for code in heads:
        value = expected_kpi_text(code, kpis.loc[code, "value"])
        assert value in plain and value in html_part, code
    assert "https://landdesk.bureau.example/briefing" in html_part
    (pdf_part,) = list(chief.iter_attachments())
    assert pdf_part.get_filename() == f"briefing-{WEEK}-zh.pdf" and pdf_part.get_content_type() == "application/pdf"
    pdf = pdf_part.get_content()
    assert pdf == (out / f"briefing-{WEEK}-zh.pdf").read_bytes()           # the archived file, as written
    text = "".join(_pdftotext(pdf, tmp_path).split())
    for code in heads:
        assert expected_kpi_text(code, kpis.loc[code, "value"]).replace(" ", "") in text, code
    assert "内部资料" in text and "一、" in text and "同比" in text and "环比" in text

    planner = msgs["planner@bureau.example"]
    names = [a.get_filename() for a in planner.iter_attachments()]
    assert names == [f"briefing-{WEEK}-东坪镇-zh.pdf", f"briefing-{WEEK}-东坪镇-zh.docx"]
    town = run_export(store, "kpis", Scope(start, end, township="东坪镇")).set_index("kpi")
    assert town.loc["cases_received", "value"] != kpis.loc["cases_received", "value"]
    from docx import Document
    docx = next(a for a in planner.iter_attachments() if a.get_filename().endswith(".docx")).get_content()
    kpi_rows = {r.cells[0].text: [c.text for c in r.cells] for r in Document(io.BytesIO(docx)).tables[0].rows}
    assert kpi_rows["收件量"][1] == expected_kpi_text("cases_received", town.loc["cases_received", "value"])

    liaison = msgs["liaison@bureau.example"]
    assert "week 43" in liaison["Subject"] and [a.get_filename() for a in liaison.iter_attachments()] == [
        f"briefing-{WEEK}-en.html"]

    # ---- robots, as the receiver got them (the receiver checked each schema and signature)
    assert robot_server["errors"] == []
    got = {path: body for path, _q, body in robot_server["received"]}
    assert set(got) == set(CHECKS)
    card = got["/open-apis/bot/v2/hook/abc"]
    assert card["msg_type"] == "interactive" and "sign" in card
    card_text = json.dumps(card, ensure_ascii=False)
    for code in heads:
        value = expected_kpi_text(code, kpis.loc[code, "value"])
        assert value in got["/robot/send"]["markdown"]["text"] and value in card_text, code
        assert value in got["/cgi-bin/webhook/send"]["markdown"]["content"], code

    # ---- what the run recorded
    hist = history(store, WEEK)
    assert len(hist) == 6 and set(hist["status"]) == {"sent"} and set(hist["attempts"]) == {1}
    assert sorted(hist["channel"]) == ["dingtalk", "email", "email", "email", "feishu", "wecom"]
    assert not hist["target"].str.contains("tok123|k456").any()
    assert hist.set_index("target").loc["planner@bureau.example", "township"] == "东坪镇"
    audit = recent(store, 5, action="delivery")
    assert json.loads(audit["detail"].iloc[0]) == {"week": WEEK, "sent": 6, "failed": []}


# ---------- STARTTLS ----------

def _certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files: ca, cert, key)."""
    crypto = pytest.importorskip("cryptography")  # noqa: F841
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LandDesk test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class _TlsMailbox(_Mailbox):
    """Also notes whether each message came over TLS (aiosmtpd's session.ssl after STARTTLS)."""

    def __init__(self):
        super().__init__()
        self.tls = []

    async def handle_DATA(self, server, session, envelope):
        self.tls.append(session.ssl is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def starttls_server(tmp_path):
    controller = pytest.importorskip("aiosmtpd.controller")
    import ssl
    ca, cert, key = _certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    box = _TlsMailbox()
    ctl = controller.Controller(box, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                                require_starttls=True)
    ctl.start()
    yield box, ctl.port, ca
    ctl.stop()


def _tls_config(tmp_path: Path, port: int, **smtp) -> Path:
    path = tmp_path / "tls.yaml"
    path.write_text(yaml.safe_dump({
        "smtp": {"host": "127.0.0.1", "port": port, "from": "landdesk@bureau.example", "timeout": 10, **smtp},
        "recipients": [{"email": "chief@bureau.example", "formats": ["html"]}]}), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _one_attempt(monkeypatch):
    monkeypatch.setenv("LANDDESK_DELIVERY_ATTEMPTS", "1")
    monkeypatch.setenv("LANDDESK_DELIVERY_BACKOFF", "0")


def test_starttls_verified_against_the_configured_ca(store, starttls_server, tmp_path):
    from delivery import deliver_briefing, load_config
    box, port, ca = starttls_server
    (outcome,) = deliver_briefing(store, WEEK, load_config(_tls_config(tmp_path, port, starttls=True,
                                                                       ca_file=str(ca))), charts=False)
    assert outcome.ok, outcome.error
    assert box.tls == [True] and [r for r, _ in box.messages] == [["chief@bureau.example"]]
    msg = email.message_from_bytes(box.messages[0][1], policy=email.policy.default)
    assert "第43周" in msg["Subject"]


def test_starttls_refuses_a_certificate_it_cannot_verify(store, starttls_server, tmp_path):
    """Without the CA the self-signed chain does not verify: the delivery fails and says why (never sent in clear
    or unverified)."""
    from delivery import deliver_briefing, load_config
    box, port, _ca = starttls_server
    (outcome,) = deliver_briefing(store, WEEK, load_config(_tls_config(tmp_path, port, starttls=True)), charts=False)
    assert not outcome.ok and "CERTIFICATE_VERIFY_FAILED" in outcome.error and box.messages == []


def test_a_server_requiring_starttls_refuses_plain_smtp(store, starttls_server, tmp_path):
    from delivery import deliver_briefing, load_config
    box, port, _ca = starttls_server
    (outcome,) = deliver_briefing(store, WEEK, load_config(_tls_config(tmp_path, port, starttls=False)), charts=False)
    assert not outcome.ok and "530" in outcome.error and box.messages == []
