"""The new-password form of the pages that send it under the API's names
(``new_password``, ``new_password_confirmation``: the account's "Sửa" and the first login of
a post-office account), while the shared checklist fields are ``password`` /
``password_confirmation`` (``_password_rules.html``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.gateway.web.rendering import MAX_FIELD_LENGTH, FormErrors
from shared.rpc import RemoteError, ServiceUnavailable

# API name → the form's field name.
FORM_NAMES = {"new_password": "password", "new_password_confirmation": "password_confirmation"}


def new_password_payload(form: Mapping[str, Any]) -> tuple[dict[str, str], FormErrors]:
    """The two fields under the API's names, or the errors of a form that cannot be sent."""
    payload = {api: value if isinstance(value := form.get(name), str) else ""
               for api, name in FORM_NAMES.items()}
    missing = {name: "Vui lòng nhập mật khẩu mới." if name == "password" else
               "Vui lòng nhập lại mật khẩu mới." for api, name in FORM_NAMES.items()
               if not payload[api]}
    if any(len(value) > MAX_FIELD_LENGTH for value in payload.values()):
        missing["password"] = "Mật khẩu quá dài."
    return payload, FormErrors.invalid(missing) if missing else FormErrors()


def new_password_errors(exc: RemoteError | ServiceUnavailable,
                        other_fields: tuple[str, ...] = ()) -> FormErrors:
    """The service's refusal with its password fields moved to the form's names."""
    errors = FormErrors.of(exc, (*FORM_NAMES, *other_fields))
    for api, name in FORM_NAMES.items():
        if api in errors.fields:
            errors.fields[name] = errors.fields.pop(api)
    if errors.code == "password_mismatch" and not errors.fields and errors.detail:
        errors.add("password_confirmation", errors.detail)
    return errors
