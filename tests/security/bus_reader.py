"""Reads what the bus keeps (the event stream and the dead-letter stream), message by message,
as someone with read access to JetStream would (the operator identity, the one the
permission map lets read both streams): for the tests that look for secrets in it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from nats.js.errors import NotFoundError

from dvcid.devstack import DevStack
from shared.bus import connect_nats
from shared.events import DLQ_STREAM, EVENTS_STREAM


@dataclass(frozen=True)
class Stored:
    stream: str
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return None


async def _read(stack: DevStack, stream: str) -> list[Stored]:
    nc = await connect_nats(stack.nats_url, name="bus-reader-test",
                            seed_file=stack.nats_seed("operator"), identity="operator")
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return []
        stored: list[Stored] = []
        if not info.state.messages:
            return stored  # an empty stream's first sequence is 0, which no message has
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except NotFoundError:
                continue  # deleted (a discarded dead letter)
            stored.append(Stored(stream, seq, msg.subject or "", dict(msg.headers or {}),
                                 msg.data or b""))
        return stored
    finally:
        await nc.close()


def read_stream(stack: DevStack, stream: str) -> list[Stored]:
    return asyncio.run(_read(stack, stream))


def read_events(stack: DevStack) -> list[Stored]:
    return read_stream(stack, EVENTS_STREAM)


def read_dead_letters(stack: DevStack) -> list[Stored]:
    return read_stream(stack, DLQ_STREAM)
