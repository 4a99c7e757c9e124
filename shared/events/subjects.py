"""NATS subjects and stream names, in one place so operators and code agree."""

# Every fact is published on dvcid.events.<EventType> into one JetStream stream.
EVENTS_STREAM = "DVCID_EVENTS"
EVENTS_SUBJECT_PREFIX = "dvcid.events"
# Messages that kept failing land here, one subject per consumer, for an operator to replay.
DLQ_STREAM = "DVCID_DLQ"
DLQ_SUBJECT_PREFIX = "dvcid.dlq"


def event_subject(event_type: str) -> str:
    return f"{EVENTS_SUBJECT_PREFIX}.{event_type}"


def rpc_subject(service: str, endpoint: str) -> str:
    """Request/reply endpoints: dvcid.<service>.<endpoint> (registered through nats.micro)."""
    return f"dvcid.{service}.{endpoint}"
