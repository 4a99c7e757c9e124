"""The AsyncAPI document (issue 14): generated from the code, valid against the official
AsyncAPI 3.0.0 JSON Schema, committed as docs/asyncapi.yaml, and true to the wiring."""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from dvcid import asyncapi, nats_auth
from dvcid.cli import main
from shared.contracts.otp import IssuedOtp, IssueOtp
from shared.events import EVENT_TYPES, OtpVerified, new_event

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.yaml"
# The official schema, from the npm package @asyncapi/specs (`make test` runs `npm ci`
# in .ci/asyncapi; the version is pinned in its package.json and package-lock.json).
OFFICIAL_SCHEMA = (ROOT / ".ci" / "asyncapi" / "node_modules" / "@asyncapi" / "specs"
                   / "schemas" / "3.0.0-without-$id.json")
# AsyncAPI 3.0.0: the keys of components and of channels/operations.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi.document()


def test_the_committed_document_is_the_generated_one() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == asyncapi.as_yaml(), (
        f"docs/asyncapi.yaml is not what the code says; regenerate it: {asyncapi.REGENERATE}")


def test_the_document_is_valid_against_the_official_asyncapi_3_schema(
        document: dict[str, Any]) -> None:
    assert OFFICIAL_SCHEMA.exists(), (
        "the official AsyncAPI schema is not installed: run `make test` "
        "(npm ci --prefix .ci/asyncapi)")
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    # As JSON, exactly as a client of /asyncapi.json or of the YAML file reads it.
    errors = [f"{list(error.absolute_path)}: {error.message[:200]}"
              for error in validator.iter_errors(json.loads(asyncapi.as_json()))]
    assert errors == []
    assert document["asyncapi"] == "3.0.0"


def test_the_official_schema_refuses_a_broken_document(document: dict[str, Any]) -> None:
    # The check above is a real one: an AsyncAPI 2 style operation is refused.
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(asyncapi.as_json())
    broken["operations"]["otp.issue"]["action"] = "publish"
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_resolves_and_every_key_is_a_valid_name(
        document: dict[str, Any]) -> None:
    for ref in set(_refs(document)):
        _resolve(document, ref)
    for section in (document["channels"], document["operations"],
                    *document["components"].values()):
        assert all(COMPONENT_KEY.match(key) for key in section)


def test_operations_send_only_messages_of_their_channel(document: dict[str, Any]) -> None:
    # What the AsyncAPI parser checks beyond the JSON Schema.
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert all(m["$ref"].startswith(f"{channel}/messages/") for m in operation["messages"])
        if "reply" in operation:
            reply = operation["reply"]["channel"]["$ref"]
            assert all(m["$ref"].startswith(f"{reply}/messages/")
                       for m in operation["reply"]["messages"]), name


def _property_sets(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("properties"), dict):
            yield value["properties"]
        for item in value.values():
            yield from _property_sets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _property_sets(item)


def test_each_model_is_written_once_and_referred_to(document: dict[str, Any]) -> None:
    # A message's payload wraps references ({ok, data}, the envelope's payload) and constants;
    # a model's own properties live only under components/schemas.
    for name, message in document["components"]["messages"].items():
        for properties in _property_sets(message["payload"]):
            for value in properties.values():
                assert set(value) <= {"$ref", "const"}, name
    assert not list(_property_sets([document["channels"], document["operations"]]))


def test_every_event_has_its_subject_publisher_and_readers(document: dict[str, Any]) -> None:
    for event_type, model in EVENT_TYPES.items():
        channel = document["channels"][f"events.{event_type}"]
        assert channel["address"] == f"dvcid.events.{event_type}"
        message = document["components"]["messages"][f"events.{event_type}"]
        envelope, specific = message["payload"]["allOf"]
        assert envelope == {"$ref": "#/components/schemas/Envelope"}
        payload = _resolve(document, specific["properties"]["payload"]["$ref"])
        assert set(payload["properties"]) == set(model.model_fields)
        publisher = asyncapi.event_publisher(event_type)
        assert document["operations"][f"{publisher}.publish.{event_type}"]["action"] == "send"
        for durable in asyncapi.readers_of(event_type):
            assert document["operations"][f"{durable}.{event_type}"]["action"] == "receive"
    # Both models named RegistrationCompleted (the event, registration's answer) are there.
    schemas = document["components"]["schemas"]
    assert "events.RegistrationCompleted" in schemas
    assert "registration.RegistrationCompleted" in schemas


def test_every_rpc_endpoint_is_a_request_reply_operation(document: dict[str, Any]) -> None:
    endpoints = asyncapi.rpc_endpoints()
    assert len(endpoints) > 50
    for rpc in endpoints:
        name = f"{rpc.service}.{rpc.endpoint}"
        assert document["channels"][name]["address"] == rpc.subject
        operation = document["operations"][name]
        assert operation["action"] == "receive"
        assert operation["bindings"]["nats"]["queue"] == rpc.service
        request = document["components"]["messages"][f"{name}.request"]
        schema = _resolve(document, request["payload"]["$ref"])
        assert set(schema.get("properties", {})) == set(rpc.request.model_fields)
        success, failure = document["components"]["messages"][f"{name}.reply"]["payload"]["oneOf"]
        answer = _resolve(document, success["properties"]["data"]["$ref"])
        assert set(answer.get("properties", {})) == set(rpc.answer.model_fields)
        assert failure == {"$ref": "#/components/schemas/RpcErrorReply"}


def test_callers_are_read_from_the_permission_map(document: dict[str, Any]) -> None:
    callers = {name: operation["x-dvcid-allowed-callers"]
               for name, operation in document["operations"].items()
               if "x-dvcid-allowed-callers" in operation}
    assert callers["profile.admin_create_agent"] == ["operator"]
    assert callers["profile.stage_credential"] == ["registration"]
    assert callers["otp.policy"] == ["registration", "profile", "gateway"]
    assert callers["otp.issue"] == ["registration", "profile"]
    assert callers["registration.start"] == ["gateway"]


def test_subject_matching_follows_nats() -> None:
    assert asyncapi.subject_matches("dvcid.otp.>", "dvcid.otp.issue")
    assert not asyncapi.subject_matches("dvcid.otp.>", "dvcid.otp")
    assert asyncapi.subject_matches("dvcid.*.issue", "dvcid.otp.issue")
    assert not asyncapi.subject_matches("dvcid.*", "dvcid.otp.issue")
    assert not asyncapi.subject_matches("dvcid.otp.issue", "dvcid.otp.issue.more")


def _wired_consumers() -> dict[str, tuple[str, ...]]:
    """Every ``Consumer(DURABLE, EVENT_TYPES, ...)`` in the services' entrypoints, with the
    durable and the types resolved from the module (the wiring itself needs servers)."""
    wired: dict[str, tuple[str, ...]] = {}
    for service in nats_auth.BUS_SERVICES:
        path = ROOT / "services" / service / "entrypoints.py"
        module = importlib.import_module(f"services.{service}.entrypoints")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Consumer"):
                durable = _value(module, node.args[0])
                wired[durable] = tuple(sorted(_value(module, node.args[1])))
    return wired


def _value(module: Any, node: ast.expr) -> Any:
    if isinstance(node, ast.Name):
        return getattr(module, node.id)
    return ast.literal_eval(node)


def test_the_consumer_table_is_the_wiring() -> None:
    wired = _wired_consumers()
    assert wired == {durable: tuple(sorted(types)) for durable, types in
                     asyncapi.CONSUMED.items()}, (
        "dvcid/asyncapi.py CONSUMED differs from the services' entrypoints")
    assert set(asyncapi.CONSUMED) == {d for ds in nats_auth.CONSUMES.values() for d in ds}
    assert all(t in EVENT_TYPES for types in asyncapi.CONSUMED.values() for t in types)


def test_dead_letters_name_every_durable_and_their_headers(document: dict[str, Any]) -> None:
    channel = document["channels"]["deadLetters"]
    assert channel["address"] == "dvcid.dlq.{durable}"
    assert channel["parameters"]["durable"]["enum"] == sorted(asyncapi.CONSUMED)
    headers = document["components"]["schemas"]["DeadLetterHeaders"]
    assert set(headers["required"]) == {"Dvcid-Error", "Dvcid-Consumer",
                                        "Dvcid-Original-Subject"}


def test_the_output_is_deterministic() -> None:
    again = yaml.safe_load(asyncapi.as_yaml())
    assert again == asyncapi.document.__wrapped__()
    assert json.loads(asyncapi.as_json()) == again


def test_the_command_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi"]) == 0
    assert capsys.readouterr().out == asyncapi.as_yaml()
    assert main(["asyncapi", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["asyncapi"] == "3.0.0"


def _validator(document: dict[str, Any], pointer: str) -> jsonschema.Draft7Validator:
    """A validator of the schema at ``pointer``, its ``$ref``s resolved in the document."""
    return jsonschema.Draft7Validator({**document, "$ref": pointer})


def test_what_the_code_sends_fits_the_documented_messages(document: dict[str, Any]) -> None:
    event = new_event(OtpVerified(flow_id="reg-1", purpose="registration",
                                  phone="+84912000111", challenge_id="ch-1"),
                      correlation_id="reg-1")
    schema = "#/components/messages/events.OtpVerified/payload"
    assert _validator(document, schema).is_valid(json.loads(event.model_dump_json()))
    # The envelope's type and the payload's fields are checked, not just "an object".
    wrong_type = json.loads(event.model_dump_json()) | {"type": "OtpFailed"}
    assert not _validator(document, schema).is_valid(wrong_type)

    request = IssueOtp(flow_id="reg-1", purpose="registration", phone="+84912000111").wire()
    assert _validator(document, "#/components/messages/otp.issue.request/payload").is_valid(request)
    assert not _validator(document, "#/components/messages/otp.issue.request/payload").is_valid(
        request | {"code": "123456"})  # unknown fields are refused by the contract

    reply = _validator(document, "#/components/messages/otp.issue.reply/payload")
    answer = IssuedOtp(challenge_id="ch-1", phone_masked="+8491****111",
                       expires_at="2026-12-01T08:00:00Z",
                       resend_available_at="2026-12-01T07:56:00Z").wire()
    assert reply.is_valid({"ok": True, "data": answer})
    assert reply.is_valid({"ok": False, "error": {"code": "otp_resend_too_soon",
                                                  "detail": "Vui lòng chờ.", "retry_after": 42}})
    assert not reply.is_valid({"ok": True, "data": {"challenge_id": "ch-1"}})
    assert not reply.is_valid({"ok": False, "error": {"detail": "no code"}})
