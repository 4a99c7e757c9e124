"""The sandbox's SMTP server, spoken to by the standard library's SMTP client (as the otp
service's adapter does): the message is in the mailbox and on /dev/mail."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage

from dvcid.servers import free_port
from sandbox.mail import Mailbox, SmtpServer

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _send(port: int) -> None:
    message = EmailMessage()
    message["From"] = "no-reply@dichvucong.gov.vn"
    message["To"] = "An.Nguyen@example.vn"
    message["Subject"] = "Tài khoản vừa đổi mật khẩu"
    message.set_content("Nếu không phải bạn, hãy đổi mật khẩu ngay.\n.\nHết.")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(message)


async def test_a_message_sent_over_smtp_lands_in_the_mailbox() -> None:
    mailbox = Mailbox(lambda: T0)
    port = free_port()
    server = SmtpServer(mailbox, "127.0.0.1", port)
    await server.start()
    try:
        await asyncio.to_thread(_send, port)
    finally:
        await server.stop()
    [mail] = mailbox.inbox("an.nguyen@example.vn")
    assert mail.subject == "Tài khoản vừa đổi mật khẩu"
    assert "Nếu không phải bạn" in mail.body and "\n.\nHết." in mail.body
    assert mail.to_inbox()["to"] == ["an.nguyen@example.vn"]
    assert mailbox.inbox("other@example.vn") == []
