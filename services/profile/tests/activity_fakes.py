"""An in-memory activity store with the Mongo store's unique rules: one entry per
(account_id, seq) and per (account_id, event_id)."""

from __future__ import annotations

from datetime import datetime

from services.profile.domain.activity import Entry


class FakeActivityStore:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, int], Entry] = {}
        self.heads: dict[str, tuple[int, str]] = {}
        self.bursts: dict[str, list[str]] = {}
        # Entries another writer slips in just before our next insert (a lost race).
        self.racing: list[Entry] = []

    def of(self, account_id: str) -> list[Entry]:
        return sorted((e for e in self.entries.values() if e.account_id == account_id),
                      key=lambda e: e.seq)

    async def last(self, account_id: str) -> Entry | None:
        mine = self.of(account_id)
        return mine[-1] if mine else None

    async def has_event(self, account_id: str, event_id: str) -> bool:
        return any(e.event_id == event_id for e in self.of(account_id))

    async def insert(self, entry: Entry) -> bool:
        while self.racing:
            rival = self.racing.pop(0)
            self.entries[(rival.account_id, rival.seq)] = rival
        if (entry.account_id, entry.seq) in self.entries or await self.has_event(
                entry.account_id, entry.event_id):
            return False
        self.entries[(entry.account_id, entry.seq)] = entry
        return True

    async def advance_head(self, entry: Entry) -> None:
        current = self.heads.get(entry.account_id)
        if current is None or current[0] < entry.seq:
            self.heads[entry.account_id] = (entry.seq, entry.hash)

    async def head(self, account_id: str) -> tuple[int, str] | None:
        return self.heads.get(account_id)

    async def page(self, account_id: str, limit: int, before: int | None) -> list[Entry]:
        newest_first = list(reversed(self.of(account_id)))
        return [e for e in newest_first if before is None or e.seq < before][:limit]

    async def after(self, account_id: str, after: int, limit: int | None = None) -> list[Entry]:
        later = [e for e in self.of(account_id) if e.seq > after]
        return later[:limit] if limit else later

    async def next_account(self, after: str | None) -> str | None:
        ids = sorted({a for a, _ in self.entries if after is None or a > after})
        return ids[0] if ids else None

    async def count_failure(self, account_id: str, window: datetime, event_id: str) -> int:
        events = self.bursts.setdefault(f"{account_id}:{window.isoformat()}", [])
        if event_id not in events:
            events.append(event_id)
        return events.index(event_id) + 1
