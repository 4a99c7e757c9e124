"""The JSON API's registration bodies and the registration service's contracts share every
field and limit: a body the API accepts always makes the contract's request (never a 500), and
that request is the payload the service read before the contracts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from services.gateway import schemas
from services.gateway.routers.registrations import body_fields
from services.gateway.web.rendering import TEMPLATES, FormErrors
from shared.contracts import registration as REG
from shared.contracts.base import Contract
from shared.contracts.fields import max_length

PAIRS: list[tuple[type[BaseModel], type[Contract]]] = [
    (schemas.MobileRegistration, REG.MobileStart),
    (schemas.BhxhRegistration, REG.BhxhStart),
    (schemas.SimRegistration, REG.SimStart),
    (schemas.UsbRegistration, REG.UsbStart),
    (schemas.OtpSubmission, REG.SubmitOtp),
    (schemas.PasswordChoice, REG.SetPassword),
    (schemas.SignatureSubmission, REG.SubmitSignature),
    (schemas.SignatureConfirmation, REG.ConfirmIdentity),
    (schemas.AgentRegistration, REG.CounterStart),
]


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without its title and default, the null of "may be absent" aside."""
    shape = {k: v for k, v in schema.items() if k not in ("title", "default")}
    variants = shape.get("anyOf")
    if variants is not None and {"type": "null"} in variants:
        rest = [v for v in variants if v != {"type": "null"}]
        shape = rest[0] if len(rest) == 1 else {"anyOf": rest}
    return shape


@pytest.mark.parametrize(("body", "contract"), PAIRS)
def test_every_field_of_a_body_has_the_contracts_limits(body: type[BaseModel],
                                                       contract: type[Contract]) -> None:
    theirs = contract.model_json_schema()["properties"]
    for name, schema in body.model_json_schema()["properties"].items():
        assert name in theirs, f"{body.__name__}.{name} is no field of {contract.__name__}"
        assert _shape(schema) == _shape(theirs[name]), f"{body.__name__}.{name}"


NEW_REGISTRATION: TypeAdapter[Any] = TypeAdapter(schemas.NewRegistration)
MOBILE = {"subject_type": "citizen", "method": "mobile", "id_number": "0" * 20,
          "full_name": "A" * 200, "birth_date": "1990-05-12", "sex": "female",
          "phone": "0" * 32, "email": "a" * 240 + "@example.vn"}


@pytest.mark.parametrize("payload", [
    MOBILE,
    {"subject_type": "enterprise", "method": "bhxh", "bhxh_code": "0" * 20,
     "id_number": "1", "full_name": "A", "birth_date": "2000-01-01", "phone": "1"},
    {"subject_type": "enterprise", "method": "sim", "phone": "0" * 32},
    {"subject_type": "citizen", "method": "usb"},
])
def test_a_body_the_api_accepts_is_the_services_payload(payload: dict[str, Any]) -> None:
    start = REG.StartRegistration.model_validate(body_fields(NEW_REGISTRATION.validate_python(payload)))
    assert start.wire() == payload


def test_blank_optional_fields_stay_off_the_wire() -> None:
    body = NEW_REGISTRATION.validate_python(MOBILE | {"email": ""})
    assert REG.StartRegistration.model_validate(body_fields(body)).wire() == {
        k: v for k, v in MOBILE.items() if k != "email"}
    counter = schemas.AgentRegistration.model_validate(
        {k: v for k, v in MOBILE.items() if k not in ("method", "subject_type")})
    agent = {"agent_account_id": "agent-1", "office": {"name": "Bưu điện Hà Nội"}}
    request = REG.CounterStart.model_validate(body_fields(counter) | agent)
    assert "id_document_checked" not in request.wire()
    assert request.wire()["office"] == {"name": "Bưu điện Hà Nội"}


@pytest.mark.parametrize(("template", "fields"), [
    ("register_mobile.html", REG.MobileStart),
    ("register_bhxh.html", REG.BhxhStart),
    ("post_office_counter.html", REG.CounterStart),
])
def test_the_forms_maxlength_is_the_contracts_limit(template: str,
                                                    fields: type[Contract]) -> None:
    page = TEMPLATES.env.get_template(template).render(
        csrf=lambda _action: "token", errors=FormErrors(), values={}, office={},
        password_rules=None)
    limits = dict(re.findall(r'name="(\w+)"[^>]*maxlength="(\d+)"', page))
    assert limits, template
    for name, limit in limits.items():
        assert int(limit) == max_length(fields.model_fields[name].annotation), name
