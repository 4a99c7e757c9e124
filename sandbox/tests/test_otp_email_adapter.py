"""The otp service's SMTP adapter against the sandbox's mail server: what dev and the e2e
tests run, minus the processes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dvcid.servers import free_port
from sandbox.mail import Mailbox, SmtpServer
from services.otp.adapters.email import SmtpEmailSender
from services.otp.domain.ports import EmailDeliveryError


async def test_the_adapter_delivers_to_the_sandbox_mailbox() -> None:
    mailbox = Mailbox(lambda: datetime(2026, 3, 1, tzinfo=UTC))
    port = free_port()
    server = SmtpServer(mailbox, "127.0.0.1", port)
    await server.start()
    try:
        sender = SmtpEmailSender("127.0.0.1", port, "no-reply@dichvucong.gov.vn")
        await sender.send("an.nguyen@example.vn", "Tài khoản vừa đổi email", "Nội dung.")
    finally:
        await server.stop()
    [mail] = mailbox.inbox("an.nguyen@example.vn")
    assert (mail.subject, mail.body.strip()) == ("Tài khoản vừa đổi email", "Nội dung.")


async def test_an_unreachable_relay_is_a_delivery_error() -> None:
    sender = SmtpEmailSender("127.0.0.1", free_port(), "no-reply@dichvucong.gov.vn")
    with pytest.raises(EmailDeliveryError):
        await sender.send("an.nguyen@example.vn", "x", "y")
