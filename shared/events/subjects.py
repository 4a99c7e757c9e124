"""NATS subjects and stream names, in one place so operators and code agree."""

# Every fact is published on dvcid.events.<EventType> into one JetStream stream.
EVENTS_STREAM = "DVCID_EVENTS"
EVENTS_SUBJECT_PREFIX = "dvcid.events"
# Messages that kept failing land here, one subject per consumer, for an operator to replay.
DLQ_STREAM = "DVCID_DLQ"
DLQ_SUBJECT_PREFIX = "dvcid.dlq"
# The gateway's Idempotency-Key records: a JetStream key-value bucket (stream KV_<bucket>).
IDEMPOTENCY_BUCKET = "DVCID_IDEMPOTENCY"


def event_subject(event_type: str) -> str:
    return f"{EVENTS_SUBJECT_PREFIX}.{event_type}"


def rpc_subject(service: str, endpoint: str) -> str:
    """Request/reply endpoints: dvcid.<service>.<endpoint> (registered through nats.micro)."""
    return f"dvcid.{service}.{endpoint}"


def account_ready_subject(registration_id: str) -> str:
    """Core NATS wake-up (no payload) registration sends to itself once it has recorded that
    a flow's account is usable (AccountActivated): a waiting step re-reads its own record."""
    return f"dvcid.registration.account_ready.{registration_id}"
