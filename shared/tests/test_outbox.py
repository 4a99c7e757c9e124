"""The outbox relay wakes at each commit (shared/outbox.py), including a commit made while a
pass over the outbox is publishing: its event leaves at once, not at the next poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from shared.outbox import OutboxRelay
from shared.storage import OUTBOX


class FakeCursor:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self._docs = docs

    def sort(self, _keys: Any) -> FakeCursor:
        return self

    async def _iterate(self, limit: int) -> AsyncIterator[dict[str, Any]]:
        for doc in self._docs[:limit]:
            yield doc

    def limit(self, limit: int) -> AsyncIterator[dict[str, Any]]:
        return self._iterate(limit)


class FakeOutbox:
    """The outbox collection: what a pass's query sees is fixed when the query runs."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    def find(self, _query: Any) -> FakeCursor:
        return FakeCursor(list(self.docs))

    async def delete_one(self, query: dict[str, Any]) -> None:
        self.docs = [d for d in self.docs if d["_id"] != query["_id"]]


class FakeJetStream:
    """Publishes are recorded; the first one waits until the test lets it go."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.first_started = asyncio.Event()
        self.release_first = asyncio.Event()
        self._changed = asyncio.Condition()

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        if not self.published:
            self.first_started.set()
            await self.release_first.wait()
        async with self._changed:
            self.published.append(headers["Nats-Msg-Id"])
            self._changed.notify_all()

    async def until_published(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.published) >= count)


def _doc(event_id: str) -> dict[str, Any]:
    return {"_id": event_id, "subject": "dvcid.events.Test", "data": "{}", "seq": event_id}


async def test_an_event_committed_during_a_pass_leaves_without_waiting_for_the_poll() -> None:
    outbox, js = FakeOutbox(), FakeJetStream()
    relay = OutboxRelay({OUTBOX: outbox}, js, poll_seconds=30.0)  # type: ignore[arg-type]
    relay.start()
    try:
        outbox.docs.append(_doc("first"))
        relay.notify()
        await asyncio.wait_for(js.first_started.wait(), 5)
        # Committed while the pass publishes "first": that pass's query did not see it.
        outbox.docs.append(_doc("second"))
        relay.notify()
        js.release_first.set()
        await asyncio.wait_for(js.until_published(2), 5)  # far below the 30 s poll
        assert js.published == ["first", "second"]
        await asyncio.sleep(0)  # the pass deletes what it published
        assert outbox.docs == []
    finally:
        await relay.stop()
