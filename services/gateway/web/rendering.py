"""Rendering a page: the templates, the CSRF token of every form on it, and the errors of a
refused step placed beside the fields they concern."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from services.gateway.dependencies import SESSION_COOKIE
from services.gateway.problems import DEFAULT_DETAIL, status_of, validation_problem
from services.gateway.web.password_rules import rules_cache
from services.gateway.web.security import csrf_seed, form_token, set_csrf_cookie
from shared.contracts.fields import (
    Email,
    FullName,
    IdNumber,
    Password,
    Phone,
    ShortText,
    max_length,
)
from shared.contracts.profile import ContactAddress
from shared.rpc import RemoteError, ServiceUnavailable

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _vn_date(value: Any) -> str:
    """``YYYY-MM-DD`` as Vietnamese readers write dates: ``DD/MM/YYYY``."""
    text = str(value or "")
    parts = text.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else text


def vn_phone(masked: Any) -> str:
    """A masked number as people write their own: ``095****882``, not ``+8495****882`` (also
    inside a text: "SMS +8491****580" → "SMS 091****580")."""
    return re.sub(r"\+84(?=\d)", "0", str(masked or ""))


def dn_organisation(distinguished_name: Any) -> str:
    """The organisation of a certificate's name (``CN=…,O=Sandbox CA,C=VN`` → ``Sandbox CA``):
    its O, else its CN, else the name as given."""
    text = str(distinguished_name or "")
    parts = dict(part.strip().split("=", 1) for part in text.split(",") if "=" in part)
    return parts.get("O") or parts.get("CN") or text


TEMPLATES.env.filters["vn_date"] = _vn_date
TEMPLATES.env.filters["dn_organisation"] = dn_organisation
TEMPLATES.env.filters["vn_phone"] = vn_phone
# A form field's longest value (its ``maxlength``) is the contract's (shared/contracts/fields.py),
# the limit the JSON API and the services hold to.
TEMPLATES.env.globals["limits"] = {
    "id_number": max_length(IdNumber), "bhxh_code": max_length(IdNumber),
    "full_name": max_length(FullName), "phone": max_length(Phone), "email": max_length(Email),
    "username": max_length(ShortText), "address": max_length(ContactAddress),
}
# A refused password's unmet rules are told in their owner's sentence ("Mật khẩu cần có ít
# nhất 8 ký tự.", profile's password_policy), except the negative rules, whose sentence
# ("Mật khẩu cần không chứa …") reads badly in Vietnamese: those in the pages' words (one
# glossary, issue 17).
PASSWORD_RULE_WORDS = {
    "no_id_number": "Mật khẩu không được chứa số CCCD/CMND của bạn.",
    "no_phone": "Mật khẩu không được chứa số điện thoại của bạn.",
    "not_common": "Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.",
}
# Fields whose service message names the API's values (``sex``: "male (nam) hoặc female
# (nữ)", right for an API client): on a page the field is two choices, so only one thing can
# be wrong, said in the page's words.
PAGE_FIELD_WORDS = {"sex": "Vui lòng chọn giới tính: Nam hoặc Nữ."}
# Refusals about the code typed on an OTP screen: shown beside the code field.
OTP_CODE_ERRORS = frozenset({"otp_invalid", "otp_expired", "otp_attempts_exceeded"})
# The longest value a form field may carry to a service: a password's, the longest text the
# contracts take from a form (but the contact address, whose form says its own); longer input
# is refused here, before any service sees it.
MAX_FIELD_LENGTH = max_length(Password)
# Only our own CSS and JS, no inline script, forms post only to us, never inside a frame
# (no clickjacking of the login or logout buttons).
# The audio captcha plays from a data: URI (media-src), as the image captcha shows from one.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "media-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "object-src 'none'")


@dataclass
class FormErrors:
    """Why a step was refused: per field (beside the inputs), and for the whole form."""

    code: str | None = None
    detail: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    # Password rules the service found unmet (password_policy's fields carry a ``rule``).
    rules: set[str] = field(default_factory=set)
    retry_after: int | None = None
    status: int = 200

    def __bool__(self) -> bool:
        return bool(self.detail or self.fields)

    def add(self, name: str, detail: str) -> None:
        self.fields.setdefault(name, [])
        if detail not in self.fields[name]:
            self.fields[name].append(detail)

    @classmethod
    def invalid(cls, fields: Mapping[str, str]) -> FormErrors:
        errors = cls(code="validation_error", detail=DEFAULT_DETAIL["validation_error"],
                     status=status_of("validation_error"))
        for name, detail in fields.items():
            errors.add(name, detail)
        return errors

    @classmethod
    def of(cls, exc: RemoteError | ServiceUnavailable, on_form: Iterable[str]) -> FormErrors:
        """The errors of a service's refusal: its ``fields`` that the form shows go beside
        their inputs; the rest, and the ``detail``, above the form."""
        if isinstance(exc, ServiceUnavailable):
            return cls(code="service_unavailable", detail=DEFAULT_DETAIL["service_unavailable"],
                       status=status_of("service_unavailable"))
        error = exc.error
        code = str(error.get("code") or "internal")
        detail = str(error.get("detail") or DEFAULT_DETAIL.get(code) or DEFAULT_DETAIL["internal"])
        retry_after = error.get("retry_after")
        errors = cls(code=code, detail=detail, status=status_of(code),
                     retry_after=int(retry_after) if isinstance(retry_after, int | float) else None)
        shown = set(on_form)
        raw_fields = error.get("fields")
        for item in raw_fields if isinstance(raw_fields, list) else []:
            if not isinstance(item, dict):
                continue
            name, message = str(item.get("name", "")), str(item.get("detail", ""))
            if item.get("rule"):
                errors.rules.add(str(item["rule"]))
                message = PASSWORD_RULE_WORDS.get(str(item["rule"]), message)
            message = PAGE_FIELD_WORDS.get(name, message)
            if name in shown and message:
                errors.add(name, message)
        if code in OTP_CODE_ERRORS and "code" in shown and not errors.fields:
            errors.add("code", detail)
        return errors

    @classmethod
    def of_contract(cls, exc: ValidationError, on_form: Iterable[str]) -> FormErrors:
        """Why a form's values make no request of the service's contract (longer than its
        limit, not one of its choices): each field in the API's words, beside its input."""
        return cls.of(contract_refusal(exc), on_form)


def contract_refusal(exc: ValidationError) -> RemoteError:
    """A request the contract refused before it left, as the service's own ``validation_error``
    would have refused it (the fields named in the API's words): the pages show both alike."""
    problem = validation_problem(RequestValidationError(exc.errors()))
    return RemoteError({"code": problem.code, "detail": DEFAULT_DETAIL["validation_error"],
                        "fields": problem.errors or []})


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page; every form on it gets its CSRF token through ``csrf(action)``."""
    seed, new_seed = csrf_seed(request)
    secret: str = request.app.state.settings.web_secret
    errors = context.pop("errors", None) or FormErrors()
    page: dict[str, Any] = {
        "csrf": lambda action: form_token(secret, seed, action),
        "signed_in": bool(request.cookies.get(SESSION_COOKIE)),
        "sandbox_on": getattr(request.app.state, "sandbox", None) is not None,
        # For the new-password forms (_password_rules.html), as profile last told it.
        "password_rules": rules_cache(request).current,
        "errors": errors,
        "values": {},
    } | context
    response = TEMPLATES.TemplateResponse(request, template, page,
                                          status_code=errors.status if errors else status)
    # Pages show personal data and one-time state: never from a shared cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if new_seed:
        set_csrf_cookie(request, response, seed)
    return response


def redirect(url: str) -> RedirectResponse:
    """After a POST, always a 303: the browser follows with a GET (no resubmission)."""
    return RedirectResponse(url, status_code=303)


def form_values(form: Mapping[str, Any], names: Iterable[str],
                max_length: int = MAX_FIELD_LENGTH) -> tuple[dict[str, str], FormErrors]:
    """The named text fields of a posted form, trimmed; blank ones left out (the service
    then says what is missing, in its own words)."""
    values: dict[str, str] = {}
    errors = FormErrors()
    for name in names:
        raw = form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if len(value) > max_length:
            errors.add(name, f"Quá dài (tối đa {max_length} ký tự).")
        elif value:
            values[name] = value
    if errors.fields:
        errors = FormErrors.invalid({k: v[0] for k, v in errors.fields.items()})
    return values, errors


def seconds_until(moment: str | None, now: datetime | None = None) -> int:
    """Whole seconds from now until an RFC 3339 time the service gave (0 if past or unknown)."""
    if not moment:
        return 0
    try:
        when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0, int(delta + 0.999))
