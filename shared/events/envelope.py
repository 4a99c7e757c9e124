from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.events.schemas import EventPayload


class Envelope(BaseModel):
    """What travels on the bus: metadata around one event payload."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # The flow this event belongs to (registration id, login id, ...).
    correlation_id: str
    # The event or request that caused this one.
    causation_id: str | None = None
    # W3C trace context, carried as-is.
    traceparent: str | None = None
    payload: dict[str, Any]

    def parse(self, model: builtins.type[EventPayload]) -> Any:
        return model.model_validate(self.payload)


def new_event(
    payload: EventPayload,
    *,
    correlation_id: str,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    return Envelope(
        type=type(payload).__name__,
        version=payload.schema_version,
        correlation_id=correlation_id,
        causation_id=causation_id,
        occurred_at=occurred_at or datetime.now(UTC),
        payload=payload.model_dump(mode="json"),
    )
