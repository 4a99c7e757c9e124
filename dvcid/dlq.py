"""``dvcid admin dlq``: the operator's commands on the dead-letter stream (issue 11).

    dvcid admin dlq list [--consumer DURABLE] [--limit N]   # one line per dead letter
    dvcid admin dlq show SEQ                                # the event, personal data masked
    dvcid admin dlq replay (SEQ... | --consumer DURABLE)    # back to its subject, then removed
    dvcid admin dlq discard SEQ...                          # removed for good

A dead letter is an event a consumer failed ``max_deliver`` times (shared/bus.py): its
envelope unchanged, with the error's code, the consumer and the original subject in headers.
``list`` shows ids, types and codes only; ``show`` masks every personal field and removes any
credential-named value (``shared.events.personal_data.mask``), so an operator's terminal and
its scrollback hold no one's ID number or phone. ``replay`` republishes to the original subject
with a fresh ``Nats-Msg-Id`` (the original is inside JetStream's de-duplication window;
consumers de-duplicate by event id, so a replay of an event that was in fact processed changes
nothing) and removes the dead letter once published. Every command signs in as the operator
identity (dvcid/operator.py), the only one the permission map lets read the stream.

Exit status: 0 done, 1 refused (no such dead letter), 3 NATS not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nats
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from dvcid.operator import connect_operator
from shared.bus import CONSUMER_HEADER, ERROR_HEADER, SUBJECT_HEADER
from shared.events import DLQ_STREAM, DLQ_SUBJECT_PREFIX
from shared.events.personal_data import mask

COMMANDS = ("dlq",)
DEFAULT_LIMIT = 100


class NoSuchDeadLetter(LookupError):
    pass


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    at: datetime | None
    consumer: str
    error: str
    original_subject: str
    data: bytes

    def envelope(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.data)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def summary(self) -> dict[str, Any]:
        """What ``list`` prints: ids, names and codes, no payload."""
        envelope = self.envelope() or {}
        return {"seq": self.seq, "at": self.at.isoformat() if self.at else None,
                "consumer": self.consumer, "error": self.error,
                "type": envelope.get("type"), "event_id": envelope.get("id")}

    def masked(self) -> dict[str, Any]:
        """What ``show`` prints: the envelope with personal data masked."""
        envelope = self.envelope()
        return self.summary() | {"original_subject": self.original_subject,
                                 "event": mask(envelope) if envelope is not None
                                 else "(not a JSON envelope)"}


def _subject(consumer: str | None) -> str:
    return f"{DLQ_SUBJECT_PREFIX}.{consumer}" if consumer else f"{DLQ_SUBJECT_PREFIX}.>"


def _letter(msg: Any) -> DeadLetter:
    headers = msg.headers or {}
    return DeadLetter(seq=int(msg.seq), at=msg.time, consumer=headers.get(CONSUMER_HEADER, ""),
                      error=headers.get(ERROR_HEADER, ""),
                      original_subject=headers.get(SUBJECT_HEADER, ""), data=msg.data or b"")


async def dead_letters(js: JetStreamContext, consumer: str | None = None,
                       limit: int = DEFAULT_LIMIT) -> list[DeadLetter]:
    """The oldest ``limit`` dead letters (of one consumer), in stream order."""
    found: list[DeadLetter] = []
    seq = 1
    while len(found) < limit:
        try:
            msg = await js.get_msg(DLQ_STREAM, seq=seq, subject=_subject(consumer), next=True)
        except NotFoundError:
            break
        letter = _letter(msg)
        found.append(letter)
        seq = letter.seq + 1
    return found


async def dead_letter(js: JetStreamContext, seq: int) -> DeadLetter:
    try:
        return _letter(await js.get_msg(DLQ_STREAM, seq=seq))
    except NotFoundError:
        raise NoSuchDeadLetter(seq) from None


async def replay(js: JetStreamContext, letters: Sequence[DeadLetter]) -> int:
    """Republishes each to its original subject, then removes it from the stream."""
    replayed = 0
    for letter in letters:
        if not letter.original_subject:
            continue  # nothing says where it came from: left for show/discard
        event_id = (letter.envelope() or {}).get("id", "unknown")
        await js.publish(letter.original_subject, letter.data,
                         headers={"Nats-Msg-Id": f"replay-{event_id}-{letter.seq}"})
        # Published first: a crash in between leaves a duplicate the consumers ignore, never
        # a lost event.
        await js.delete_msg(DLQ_STREAM, letter.seq)
        replayed += 1
    return replayed


async def discard(js: JetStreamContext, seqs: Sequence[int]) -> int:
    discarded = 0
    for seq in seqs:
        try:
            await js.delete_msg(DLQ_STREAM, seq)
        except NotFoundError:
            raise NoSuchDeadLetter(seq) from None
        discarded += 1
    return discarded


# --- the command line ---------------------------------------------------------------------

def add_arguments(commands: Any) -> None:
    dlq = commands.add_parser("dlq", help="the dead-letter stream: list, show, replay, discard")
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = actions.add_parser("list", help="one line per dead letter (no payload)")
    listing.add_argument("--consumer", help="only this durable consumer's (e.g. "
                                            "profile-account-created)")
    listing.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    show = actions.add_parser("show", help="one dead letter, personal data masked")
    show.add_argument("seq", type=int)
    again = actions.add_parser("replay", help="republish to the original subject, then remove")
    again.add_argument("seq", type=int, nargs="*")
    again.add_argument("--consumer", help="every dead letter of this durable consumer")
    gone = actions.add_parser("discard", help="remove for good")
    gone.add_argument("seq", type=int, nargs="+")


def run(args: argparse.Namespace, nats_url: str) -> int:
    try:
        return asyncio.run(_run(args, nats_url))
    except NoSuchDeadLetter as exc:
        print(f"no dead letter with sequence {exc.args[0]}", file=sys.stderr)
        return 1
    except (OSError, nats.errors.Error) as exc:
        print(f"NATS is not reachable on {nats_url}: {type(exc).__name__}", file=sys.stderr)
        return 3


async def _run(args: argparse.Namespace, nats_url: str) -> int:
    nc = await connect_operator(nats_url)
    try:
        js = nc.jetstream()
        return await _command(js, args)
    finally:
        await nc.drain()


async def _command(js: JetStreamContext, args: argparse.Namespace) -> int:
    command = args.dlq_command
    if command == "list":
        for letter in await dead_letters(js, args.consumer, args.limit):
            print(json.dumps(letter.summary(), ensure_ascii=False))
        return 0
    if command == "show":
        letter = await dead_letter(js, args.seq)
        print(json.dumps(letter.masked(), ensure_ascii=False, indent=2))
        return 0
    if command == "replay":
        if not args.seq and not args.consumer:
            print("name the dead letters (SEQ...) or --consumer", file=sys.stderr)
            return 2
        letters = ([await dead_letter(js, seq) for seq in args.seq] if args.seq
                   else await dead_letters(js, args.consumer, limit=10_000))
        print(f"replayed: {await replay(js, letters)}")
        return 0
    print(f"discarded: {await discard(js, args.seq)}")
    return 0
