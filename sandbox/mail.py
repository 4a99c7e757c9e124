"""The sandbox's mail server: a small SMTP server (RFC 5321's minimum: HELO/EHLO, MAIL,
RCPT, DATA, RSET, NOOP, QUIT) that keeps every message it receives, so the services' real
SMTP adapter talks to it as to any relay, and tests and the /dev routes read the mailbox.

Dev, demo and tests only: no authentication, no TLS, no relaying anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from shared.logging import get_logger

log = get_logger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    to: tuple[str, ...]
    subject: str
    body: str
    received_at: datetime

    def to_inbox(self) -> dict[str, Any]:
        return {"from": self.mail_from, "to": list(self.to), "subject": self.subject,
                "body": self.body,
                "received_at": self.received_at.isoformat().replace("+00:00", "Z")}


@dataclass
class Mailbox:
    clock: Callable[[], datetime]
    messages: list[ReceivedMail] = field(default_factory=list)

    def receive(self, mail_from: str, to: list[str], data: bytes) -> ReceivedMail:
        parsed = cast(EmailMessage, message_from_bytes(data, policy=policy.default))
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content().replace("\r\n", "\n") if part is not None else ""
        mail = ReceivedMail(mail_from, tuple(a.lower() for a in to), str(parsed["subject"] or ""),
                            str(body), self.clock())
        self.messages.append(mail)
        return mail

    def inbox(self, address: str | None = None) -> list[ReceivedMail]:
        """Messages to ``address`` (or all), newest first."""
        found = [m for m in self.messages if address is None or address.lower() in m.to]
        return list(reversed(found))


class SmtpServer:
    def __init__(self, mailbox: Mailbox, host: str, port: int) -> None:
        self._mailbox = mailbox
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, self._host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await self._converse(reader, writer)
        writer.close()

    async def _converse(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            writer.write(f"{line}\r\n".encode())
            await writer.drain()

        await reply("220 sandbox.dvcid ESMTP")
        mail_from: str | None = None
        to: list[str] = []
        while True:
            raw = await reader.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in {"HELO", "EHLO"}:
                await reply("250 sandbox.dvcid")
            elif verb == "MAIL":
                mail_from, to = _address(command), []
                await reply("250 OK")
            elif verb == "RCPT":
                to.append(_address(command))
                await reply("250 OK")
            elif verb == "DATA" and mail_from is not None and to:
                await reply("354 End data with <CR><LF>.<CR><LF>")
                self._mailbox.receive(mail_from, to, await _data(reader))
                log.info("mail received", recipients=len(to))
                mail_from, to = None, []
                await reply("250 OK")
            elif verb == "RSET":
                mail_from, to = None, []
                await reply("250 OK")
            elif verb == "NOOP":
                await reply("250 OK")
            elif verb == "QUIT":
                await reply("221 Bye")
                return
            else:
                await reply("503 Bad sequence of commands")


def _address(command: str) -> str:
    start, end = command.find("<"), command.rfind(">")
    return command[start + 1:end].strip() if 0 <= start < end else ""


async def _data(reader: asyncio.StreamReader) -> bytes:
    lines: list[bytes] = []
    size = 0
    while True:
        line = await reader.readline()
        if not line or line.rstrip(b"\r\n") == b".":
            return b"".join(lines)
        size += len(line)
        if size <= MAX_MESSAGE_BYTES:
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-stuffing
