"""E-mail: a MIME message (HTML body with a plain-text alternative, the briefing files attached) sent over SMTP
with STARTTLS or SMTPS (the server's certificate verified against the system's CAs or the file's `smtp.ca_file`)
and a login when the delivery file names a user."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from delivery.config import Smtp

MIME_TYPES = {"pdf": ("application", "pdf"), "html": ("text", "html"),
              "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")}


def build_message(sender: str, to: str, subject: str, text: str, html_text: str,
                  attachments: list[tuple[str, bytes]]) -> EmailMessage:
    """The message: multipart/mixed of (multipart/alternative text + HTML) and one part per file (name, bytes)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or None)
    msg.set_content(text)
    msg.add_alternative(html_text, subtype="html")
    for name, data in attachments:
        maintype, subtype = MIME_TYPES.get(name.rsplit(".", 1)[-1], ("application", "octet-stream"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def tls_context(smtp: Smtp) -> ssl.SSLContext:
    """A verifying TLS context: the system's CAs, or the delivery file's `smtp.ca_file` (a bureau's own CA).
    Certificate and host name are always checked; there is no option to turn that off."""
    return ssl.create_default_context(cafile=smtp.ca_file) if smtp.ca_file else ssl.create_default_context()


def send_message(smtp: Smtp, password: str | None, msg: EmailMessage) -> None:
    """Send `msg` through the server; any refusal or network failure raises (the caller retries)."""
    context = tls_context(smtp)
    if smtp.ssl:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        client.ehlo()
        if smtp.starttls and not smtp.ssl:
            client.starttls(context=context)
            client.ehlo()
        if smtp.user:
            client.login(smtp.user, password or "")
        refused = client.send_message(msg)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
