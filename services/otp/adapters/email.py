"""E-mail through an SMTP relay (the standard library's client, run in a worker thread so the
event loop never blocks). In dev and tests the relay is the sandbox world's mail server."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from services.otp.domain.ports import EmailDeliveryError
from shared import tracing
from shared.tracing import SpanKind

SMTP_TIMEOUT_SECONDS = 10.0


class SmtpEmailSender:
    def __init__(self, host: str, port: int, mail_from: str, *, username: str | None = None,
                 password: str | None = None, starttls: bool = False) -> None:
        self._host = host
        self._port = port
        self._from = mail_from
        self._username = username
        self._password = password
        self._starttls = starttls

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            with tracing.span("email.send", SpanKind.CLIENT, {"peer.service": "smtp"}):
                await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as exc:
            # The class only: the text of an SMTP error may echo the address.
            raise EmailDeliveryError(type(exc).__name__) from exc

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT_SECONDS) as client:
            if self._starttls:
                client.starttls(context=ssl.create_default_context())
            if self._username and self._password:
                client.login(self._username, self._password)
            client.send_message(message)
