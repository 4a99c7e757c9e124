"""The AsyncAPI 3.0 document of the bus, generated from the code (issue 14).

``dvcid asyncapi`` prints it (``dvcid asyncapi > docs/asyncapi.yaml``, committed and checked
by ``dvcid/tests/test_asyncapi.py``); the gateway serves it at ``/asyncapi.yaml`` and
``/asyncapi.json``. Everything in it comes from the code, nothing is written twice:

- events: each payload model of ``shared/events`` (``EVENT_TYPES``) inside the one
  ``Envelope``, on ``dvcid.events.<Type>`` in stream ``DVCID_EVENTS``; the publisher from the
  permission map (``dvcid/nats_auth.py`` ``PUBLISHES``), the readers from :data:`CONSUMED`
  (durable → event types; the test holds it to each service's entrypoints);
- RPC: every ``Rpc`` constant of ``shared/contracts`` (``dvcid.<service>.<endpoint>``, request
  and answer models, the reply envelope ``{ok, data}`` / ``{ok: false, error}``), served in the
  queue group ``<service>``; who may call it is read from the permission map;
- dead letters (``dvcid.dlq.<durable>`` in ``DVCID_DLQ``) and their headers, registration's
  ``account_ready`` wake-ups, the servers and their nkey sign-in.

JSON Schemas are pydantic's (validation mode: what the receiving side accepts), each model
once under ``components/schemas`` and referred to by ``$ref``. Output is deterministic.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterable
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import shared.contracts
from dvcid import nats_auth
from shared.bus import CONSUMER_HEADER, ERROR_HEADER, SUBJECT_HEADER
from shared.contracts.base import Rpc
from shared.events import (
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    EVENT_TYPES,
    EVENTS_STREAM,
    Envelope,
    event_subject,
)
from shared.events.personal_data import PERSONAL_FIELDS
from shared.events.subjects import account_ready_subject

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_VERSION = "1.0.0"
REGENERATE = "dvcid asyncapi > docs/asyncapi.yaml"

# The durable consumers of DVCID_EVENTS and the event types each reads. The durables are
# nats_auth.CONSUMES; the types are what each service's entrypoints give ``Consumer(...)``
# (dvcid/tests/test_asyncapi.py reads the wiring and fails when the two part).
CONSUMED: dict[str, tuple[str, ...]] = {
    "oidc-session-revoked": ("SessionRevoked",),
    "otp-registration-requested": ("RegistrationRequested",),
    "profile-account-activity": (
        "AccountCreated", "AuthMethodAdded", "AuthMethodRemoved", "LoginFailed",
        "LoginSucceeded", "OtpPhoneReplaced", "PasswordChanged", "ProfileUpdated",
        "SessionRevoked"),
    "profile-account-created": ("AccountCreated",),
    "profile-security-notices": ("SecurityNoticeRequested",),
    "registration-account-activated": ("AccountActivated",),
    "registration-account-created": ("AccountCreated",),
    "registration-certificate-validated": ("CertificateValidated",),
    "registration-otp-failed": ("OtpFailed",),
    "registration-otp-verified": ("OtpVerified",),
}

SERVERS: dict[str, dict[str, str]] = {
    "production": {
        "host": "nats.dvcid.svc.cluster.local:4222",
        "description": "The NATS cluster of deploy/k8s (three nodes, JetStream): TLS from the "
                       "first byte (DVCID_NATS_TLS_CA), one nkey user per process.",
    },
    "development": {
        "host": "127.0.0.1:4222",
        "description": "`dvcid dev` and the test stacks: nats-server with JetStream on this "
                       "machine, the same permission map (monitoring on 127.0.0.1:8222).",
    },
}

SERVICE_TAGS: dict[str, str] = {
    "gateway": "The HTTP API and web pages (FastAPI, no database): calls registration and "
               "profile, reads otp's policy.",
    "oidc": "The OpenID Provider other portals sign citizens in through: clients, codes, "
            "tokens, signing keys.",
    "operator": "`dvcid admin` (agents, agencies, audit, dead letters) and `nats micro`.",
    "otp": "One-time codes, SMS and e-mail notices, their timing.",
    "pki": "Certificates, signatures, SIM signature sessions.",
    "profile": "Accounts, credentials, logins, sessions, staff; the session mirror.",
    "registration": "The five ways of registering (mobile, bhxh, sim, usb, post_office).",
}

DESCRIPTION = f"""\
The messaging contract between the dvcid services, generated from the code
(`{REGENERATE}`; prose: docs/messaging.md).

- **Events** are facts on JetStream, stream `{EVENTS_STREAM}`, subject `dvcid.events.<Type>`,
  one JSON envelope around the type's payload. A service publishes only through its outbox
  relay, with `Nats-Msg-Id` = the event id (JetStream drops a duplicate); readers are durable
  pull consumers (explicit ack, backoff, `max_deliver`) that record each processed event id,
  so a redelivery changes nothing. Payload versions change additively only. No event carries
  a password, hash, code, PIN or token; personal fields are listed per message
  (`x-dvcid-personal-fields`).
- **RPC** endpoints are `nats.micro` endpoints on `dvcid.<service>.<endpoint>` in the queue
  group `<service>` (one instance answers). The request is the endpoint's JSON model (unknown
  fields refused: `validation_error` naming the fields); the reply goes to the request's reply
  subject (`_INBOX.<caller identity>.…`) as `{{"ok": true, "data": …}}` or
  `{{"ok": false, "error": {{code, detail, fields?, retry_after?}}}}`.
- **Dead letters**: what failed `max_deliver` times goes, unchanged, to
  `{DLQ_SUBJECT_PREFIX}.<durable>` in `{DLQ_STREAM}` (read only by the operator).
- **Trace context**: requests and events carry W3C `traceparent` / `tracestate` headers.
- **Who may do what** is the permission map `dvcid/nats_auth.py`: the publishers, consumers and
  callers named here (`x-dvcid-allowed-callers`) are read from it.
"""

_SCHEMAS = "#/components/schemas/"
_MESSAGES = "#/components/messages/"
_TRACE_HEADERS: dict[str, Any] = {
    "traceparent": {"type": "string", "description": "W3C trace context: the caller's span."},
    "tracestate": {"type": "string", "description": "W3C trace context: vendor state."},
}
_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "A domain error of the service: a stable code (API.md, "
                   "docs/api-error-codes.md) and a Vietnamese detail a person can act on.",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "description": "Stable error code, e.g. otp_invalid."},
        "detail": {"type": "string"},
        "fields": {
            "type": "array",
            "description": "The refused fields (names only, values never echoed).",
            "items": {"type": "object", "required": ["name", "detail"],
                      "properties": {"name": {"type": "string"}, "detail": {"type": "string"}}},
        },
        "retry_after": {"type": "number", "minimum": 0,
                        "description": "Seconds before the step may be tried again."},
    },
}
# Schemas written here (not pydantic models): the wire's own shapes.
_WIRE_SCHEMAS: dict[str, dict[str, Any]] = {
    "RpcError": _ERROR,
    "RpcErrorReply": {
        "type": "object",
        "description": "The reply of a refused request.",
        "required": ["ok", "error"],
        "additionalProperties": False,
        "properties": {"ok": {"const": False}, "error": {"$ref": f"{_SCHEMAS}RpcError"}},
    },
    "TraceHeaders": {
        "type": "object",
        "description": "NATS headers of an RPC request.",
        "properties": _TRACE_HEADERS,
    },
    "EventHeaders": {
        "type": "object",
        "description": "NATS headers of an event, set by the outbox relay.",
        "required": ["Nats-Msg-Id"],
        "properties": {
            "Nats-Msg-Id": {"type": "string", "description": (
                "The event id (JetStream de-duplication); a replayed dead letter: "
                "`replay-<event id>-<dead-letter sequence>`.")},
            **_TRACE_HEADERS,
        },
    },
    "DeadLetterHeaders": {
        "type": "object",
        "description": "NATS headers of a dead letter: codes and names only, never data.",
        "required": [ERROR_HEADER, CONSUMER_HEADER, SUBJECT_HEADER],
        "properties": {
            ERROR_HEADER: {"type": "string", "description": (
                "The service error's stable code, else the exception's class name (never its "
                "message, which may quote data).")},
            CONSUMER_HEADER: {"type": "string", "description": "The durable that gave up."},
            SUBJECT_HEADER: {"type": "string",
                             "description": "Where the message was read: dvcid.events.<Type>."},
        },
    },
}


def rpc_endpoints() -> list[Rpc[Any, Any]]:
    """Every ``Rpc`` constant of ``shared/contracts`` (each module of the package), by subject."""
    modules = [importlib.import_module(f"shared.contracts.{info.name}")
               for info in pkgutil.iter_modules(shared.contracts.__path__)]
    found = {value.subject: value for module in modules
             for value in vars(module).values() if isinstance(value, Rpc)}
    return [found[subject] for subject in sorted(found)]


def durable_service(durable: str) -> str:
    return next(service for service, durables in nats_auth.CONSUMES.items()
                if durable in durables)


def event_publisher(event_type: str) -> str:
    return next(service for service, events in nats_auth.PUBLISHES.items()
                if event_type in events)


def readers_of(event_type: str) -> list[str]:
    return sorted(durable for durable, types in CONSUMED.items() if event_type in types)


# -- subjects and the permission map ----------------------------------------------------------
def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` the rest (one token or more)."""
    wanted, given = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or token not in ("*", given[index]):
            return False
    return len(wanted) == len(given)


def allowed_callers(subject: str) -> list[str]:
    """The identities whose permissions let them request ``subject`` (nats_auth)."""
    callers = []
    for identity in nats_auth.IDENTITIES:
        permissions = nats_auth.permissions_of(identity)
        if (any(subject_matches(p, subject) for p in permissions.publish_allow)
                and not any(subject_matches(p, subject) for p in permissions.publish_deny)):
            callers.append(identity)
    return callers


# -- schemas ----------------------------------------------------------------------------------
def _models() -> list[type[BaseModel]]:
    models: set[type[BaseModel]] = {Envelope, *EVENT_TYPES.values()}
    for rpc in rpc_endpoints():
        models |= {rpc.request, rpc.answer}
    return sorted(models, key=lambda model: (model.__module__, model.__qualname__))


def _component_name(pydantic_name: str) -> str:
    """pydantic qualifies a name two models share (``shared__contracts__profile__StepDone``):
    shorten it to ``profile.StepDone`` / ``events.RegistrationCompleted``."""
    if "__" not in pydantic_name:
        return pydantic_name
    *module, name = pydantic_name.split("__")
    owner = "events" if "events" in module else module[-1]
    return f"{owner}.{name}"


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: (_ref(names, item) if key == "$ref" else _renamed(item, names))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value


def _ref(names: dict[str, str], ref: str) -> str:
    name = ref.removeprefix(_SCHEMAS)
    return _SCHEMAS + names.get(name, name)


def model_schemas() -> tuple[dict[str, dict[str, Any]], dict[type[BaseModel], str]]:
    """Every model's JSON Schema once, by component name, and each model's component name."""
    models = _models()
    refs, top = models_json_schema([(model, "validation") for model in models],
                                   ref_template=_SCHEMAS + "{model}")
    names = {name: _component_name(name) for name in top.get("$defs", {})}
    schemas = {names[name]: _renamed(schema, names) for name, schema in top["$defs"].items()}
    component = {model: _ref(names, refs[(model, "validation")]["$ref"]).removeprefix(_SCHEMAS)
                  for model in models}
    return schemas, component


def _ref_to(component: str) -> dict[str, str]:
    return {"$ref": _SCHEMAS + component}


# -- the document -----------------------------------------------------------------------------
class _Builder:
    def __init__(self) -> None:
        self.schemas, self.component = model_schemas()
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}

    def add_event(self, event_type: str) -> None:
        model = EVENT_TYPES[event_type]
        channel = f"events.{event_type}"
        publisher = event_publisher(event_type)
        readers = readers_of(event_type)
        self.messages[channel] = _without_none({
            "name": event_type,
            "title": event_type,
            "summary": _first_line(model.__doc__),
            "contentType": "application/json",
            "correlationId": {"$ref": "#/components/correlationIds/flow"},
            "headers": _ref_to("EventHeaders"),
            "payload": {"allOf": [_ref_to(self.component[Envelope]), {
                "type": "object",
                "properties": {"type": {"const": event_type},
                               "version": {"const": model.schema_version},
                               "payload": _ref_to(self.component[model])}}]},
            "x-dvcid-personal-fields": _personal_fields(event_type) or None,
        })
        self.channels[channel] = {
            "address": event_subject(event_type),
            "title": event_type,
            "description": _event_description(publisher, readers),
            "messages": {event_type: {"$ref": _MESSAGES + channel}},
        }
        self.operations[f"{publisher}.publish.{event_type}"] = _operation(
            "send", channel, event_type, publisher,
            f"{publisher} publishes {event_type} (outbox relay).")
        for durable in readers:
            service = durable_service(durable)
            self.operations[f"{durable}.{event_type}"] = _operation(
                "receive", channel, event_type, service,
                f"{service} reads {event_type} (durable {durable}).",
                {"x-dvcid-durable": durable})

    def add_rpc(self, rpc: Rpc[Any, Any]) -> None:
        name = f"{rpc.service}.{rpc.endpoint}"
        request, reply = f"{name}.request", f"{name}.reply"
        self.messages[request] = {
            "name": request,
            "title": f"{rpc.request.__name__} ({rpc.subject})",
            "summary": _first_line(rpc.request.__doc__) or f"Request of {rpc.subject}.",
            "contentType": "application/json",
            "headers": _ref_to("TraceHeaders"),
            "payload": _ref_to(self.component[rpc.request]),
        }
        self.messages[reply] = {
            "name": reply,
            "title": f"{rpc.answer.__name__} or an error",
            "summary": _first_line(rpc.answer.__doc__) or f"Answer of {rpc.subject}.",
            "contentType": "application/json",
            "payload": {"oneOf": [{
                "type": "object",
                "required": ["ok", "data"],
                "additionalProperties": False,
                "properties": {"ok": {"const": True},
                               "data": _ref_to(self.component[rpc.answer])},
            }, _ref_to("RpcErrorReply")]},
        }
        self.channels[name] = {
            "address": rpc.subject,
            "title": rpc.subject,
            "description": f"Request/reply endpoint of {rpc.service} (nats.micro, queue "
                           f"group {rpc.service}).",
            "messages": {"request": {"$ref": _MESSAGES + request}},
        }
        self.channels[reply] = {
            "address": None,
            "description": "The request's reply subject: the caller's inbox "
                           "(`_INBOX.<caller identity>.…`).",
            "messages": {"reply": {"$ref": _MESSAGES + reply}},
        }
        self.operations[name] = _operation(
            "receive", name, "request", rpc.service, f"{rpc.service} answers {rpc.endpoint}.", {
                "bindings": {"nats": {"queue": rpc.service, "bindingVersion": "0.1.0"}},
                "reply": {"channel": {"$ref": f"#/channels/{reply}"},
                          "messages": [{"$ref": f"#/channels/{reply}/messages/reply"}]},
                "x-dvcid-allowed-callers": allowed_callers(rpc.subject),
            })

    def add_dead_letters(self) -> None:
        durables = sorted(CONSUMED)
        self.messages["DeadLetter"] = {
            "name": "DeadLetter",
            "title": "A message a durable consumer gave up on",
            "summary": "The message as it was read, unchanged (an event envelope, or the bytes "
                       "that were not one), with the reason in the headers.",
            "contentType": "application/json",
            "headers": _ref_to("DeadLetterHeaders"),
            "payload": _ref_to(self.component[Envelope]),
        }
        self.channels["deadLetters"] = {
            "address": f"{DLQ_SUBJECT_PREFIX}.{{durable}}",
            "title": "Dead letters",
            "description": (
                f"Stream {DLQ_STREAM}. A message that failed max_deliver times, one subject "
                "per durable. Operators: `dvcid admin dlq list|show|replay|discard`; a replay "
                "re-publishes to the original subject with Nats-Msg-Id "
                "`replay-<event id>-<sequence>` (consumers de-duplicate by event id)."),
            "parameters": {"durable": {"enum": durables,
                                       "description": "The durable consumer that gave up."}},
            "messages": {"DeadLetter": {"$ref": _MESSAGES + "DeadLetter"}},
        }
        for service in sorted({durable_service(durable) for durable in durables}):
            self.operations[f"{service}.dead_letter"] = _operation(
                "send", "deadLetters", "DeadLetter", service,
                f"{service} dead-letters a message of one of its own durables.")
        self.operations["operator.dead_letters"] = _operation(
            "receive", "deadLetters", "DeadLetter", nats_auth.OPERATOR,
            "The operator lists, shows, replays or discards dead letters.")

    def add_account_ready(self) -> None:
        self.messages["AccountReady"] = {
            "name": "AccountReady",
            "title": "A flow's account is usable (wake-up)",
            "summary": "Core NATS, no payload: a waiting step re-reads its own record "
                       "(account_activations); the record is the truth, not the wake-up.",
            "payload": {"type": "string", "maxLength": 0},
        }
        self.channels["registration.accountReady"] = {
            "address": account_ready_subject("{registration_id}"),
            "title": "Read-your-writes wake-up",
            "description": "Registration to its own instances only (nats_auth SELF_NOTICES).",
            "parameters": {"registration_id": {"description": "The registration flow's id."}},
            "messages": {"AccountReady": {"$ref": _MESSAGES + "AccountReady"}},
        }
        for action, summary in (("send", "After recording AccountActivated."),
                                ("receive", "A completing step waits for its account.")):
            self.operations[f"registration.account_ready.{action}"] = _operation(
                action, "registration.accountReady", "AccountReady", "registration", summary)

    def document(self) -> dict[str, Any]:
        security = [{"$ref": "#/components/securitySchemes/nkey"}]
        return {
            "asyncapi": ASYNCAPI_VERSION,
            "id": "urn:dvcid:bus",
            "info": {
                "title": "dvcid bus: events and request/reply endpoints",
                "version": DOCUMENT_VERSION,
                "description": DESCRIPTION,
                "license": {"name": "Apache-2.0",
                            "url": "https://www.apache.org/licenses/LICENSE-2.0"},
                "tags": [{"name": name, "description": text}
                         for name, text in sorted(SERVICE_TAGS.items())],
            },
            "defaultContentType": "application/json",
            "servers": {name: {"host": server["host"], "protocol": "nats",
                               "description": server["description"], "security": security}
                        for name, server in SERVERS.items()},
            "channels": _sorted(self.channels),
            "operations": _sorted(self.operations),
            "components": {
                "schemas": _sorted(self.schemas | _WIRE_SCHEMAS),
                "messages": _sorted(self.messages),
                "securitySchemes": {"nkey": {
                    "type": "asymmetricEncryption",
                    "description": "NATS nkey user (Ed25519): each process signs the server's "
                                   "nonce with its own seed (DVCID_NATS_NKEY_SEED_FILE). No "
                                   "anonymous user; permissions per identity in "
                                   "dvcid/nats_auth.py."}},
                "correlationIds": {"flow": {
                    "description": "The flow the event belongs to (registration id, login "
                                   "id, …).",
                    "location": "$message.payload#/correlation_id"}},
                "tags": {name: {"name": name, "description": text}
                         for name, text in sorted(SERVICE_TAGS.items())},
            },
        }


def _operation(action: str, channel: str, message: str, service: str, summary: str,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operation of ``service`` on one channel, with one of the channel's messages."""
    return {"action": action, "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary,
            "tags": [_tag(service)],
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}], **(extra or {})}


def _tag(service: str) -> dict[str, str]:
    return {"$ref": f"#/components/tags/{service}"}


def _sorted(items: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(items.items()))


def _without_none(items: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in items.items() if value is not None}


def _first_line(doc: str | None) -> str | None:
    if not doc:
        return None
    return " ".join(doc.strip().split("\n\n")[0].split())


def _personal_fields(event_type: str) -> list[str]:
    return sorted(entry.field for entry in PERSONAL_FIELDS if entry.event == event_type)


def _event_description(publisher: str, readers: Iterable[str]) -> str:
    durables = ", ".join(f"{durable} ({durable_service(durable)})" for durable in readers)
    read = (f"Read by the durables {durables}." if durables
            else "Read by no service today (the audit trail, operators, later consumers).")
    return f"Stream {EVENTS_STREAM}. Published by {publisher}. {read}"


@cache
def document() -> dict[str, Any]:
    """The whole AsyncAPI document as a dict (built once per process)."""
    builder = _Builder()
    for event_type in sorted(EVENT_TYPES):
        builder.add_event(event_type)
    for rpc in rpc_endpoints():
        builder.add_rpc(rpc)
    builder.add_dead_letters()
    builder.add_account_ready()
    return builder.document()


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people: no anchors or aliases, multi-line text as ``|`` blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


@cache
def as_yaml() -> str:
    return yaml.dump(document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


@cache
def as_json() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"
