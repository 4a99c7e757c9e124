"""Every error the gateway answers, as an RFC 9457 problem (``application/problem+json``).

Body: ``type`` (``urn:dvcid:problem:<code>``: a stable identifier, not a page to fetch),
``title`` (short, per status), ``status``, ``detail`` (Vietnamese, from the service that
refused, or the gateway's own), ``code`` (the stable code of API.md), ``instance`` (the
path), ``errors`` (``[{name, detail}]``, for invalid fields) and ``retry_after`` (seconds, also
sent as the ``Retry-After`` header) when the service gave one.

Status of each stable code: the contract (API.md) fixes 422 for invalid fields, 409 for
conflicts, 401/403 for authentication, 423 locked, 429 throttled and 404 for an unknown or
expired flow. Decided here where it is silent:

* ``otp_invalid`` / ``otp_expired`` are 401: the step is an authentication that failed.
* ``captcha_required`` / ``captcha_invalid`` are 401 too: the credentials are not yet
  acceptable, and the client must answer a challenge (as with ``WWW-Authenticate``).
* ``otp_attempts_exceeded`` is 429: too many tries on this code; the client must ask for a
  new code (``Retry-After`` when the service says when).
* ``flow_expired`` is 404, as API.md says of expired flows (410 would say more, but the
  contract is fixed and clients treat both the same: start again).
* ``subscriber_mismatch``, ``bhxh_*``, ``certificate_*``, ``signature_invalid``,
  ``challenge_expired``, ``sim_rejected`` and ``sim_timeout`` are 400: the request is
  well-formed and every field valid, but the outside world (carrier registry, insurance
  registry, CA, the SIM owner) does not back it; 422 stays reserved for fields a person must
  correct, 409 for state conflicts.
* ``sms_failed`` is 502: the SMS provider behind the service failed.
* ``service_unavailable`` (no instance answered over NATS in time) is 503 with Retry-After.
* An unknown code from a service is 400 (it is a refusal the service meant for the client)
  and logged, so this table can learn it.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import get_logger
from shared.rpc import RemoteError, ServiceUnavailable

log = get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
SERVICE_RETRY_AFTER_SECONDS = 5

STATUS_BY_CODE: dict[str, int] = {
    # 422: fields a person must correct
    "validation_error": 422,
    "invalid_id_number": 422,
    "invalid_tax_code": 422,
    "invalid_phone": 422,
    "password_policy": 422,
    "password_mismatch": 422,
    "email_required": 422,
    # Idempotency-Key (issue 12): the key was used with another body (or another answer
    # that can no longer be opened); a new request needs a new key
    "idempotency_key_reused": 422,
    # Idempotency-Key (issue 12): not 16-255 visible ASCII characters (a UUID is right)
    "idempotency_key_invalid": 400,
    # 409: the state does not allow it
    "account_exists": 409,
    "flow_state": 409,
    "no_password_method": 409,
    "last_auth_method": 409,
    "phone_limit": 409,
    # Idempotency-Key (issue 12): the first request with this key is still running
    "idempotency_key_in_progress": 409,
    # 401 / 403: authentication and authorisation
    "invalid_credentials": 401,
    "unauthenticated": 401,
    "otp_invalid": 401,
    "otp_expired": 401,
    "captcha_required": 401,
    "captcha_invalid": 401,
    "forbidden": 403,
    # an operator disabled the (staff) account: no login, no agent API
    "account_disabled": 403,
    # a sensitive change without a recent step-up of the session (issue 10; the post-office
    # counter: an agent session neither opened nor stepped up recently)
    "reauthentication_required": 403,
    # a step-up weaker than what it changes (a USB/SIM method needs a signature step-up)
    "insufficient_assurance": 403,
    "account_locked": 423,
    # 429: throttled
    "otp_resend_too_soon": 429,
    "otp_send_limit": 429,
    "otp_attempts_exceeded": 429,
    "rate_limited": 429,
    # 404: unknown (or not yours) and expired
    "not_found": 404,
    "flow_expired": 404,
    "method_not_allowed": 405,
    # 400: valid request the outside world does not back
    "subscriber_mismatch": 400,
    "bhxh_not_found": 400,
    "bhxh_mismatch": 400,
    # the phone is not the insured person's (record's phone, or theirs at the carrier)
    "bhxh_phone_mismatch": 400,
    "certificate_untrusted": 400,
    "certificate_expired": 400,
    "certificate_revoked": 400,
    "certificate_not_for_signing": 400,
    "certificate_not_registered": 400,
    "signature_invalid": 400,
    "challenge_expired": 400,
    "sim_rejected": 400,
    "sim_timeout": 400,
    # 5xx
    "internal": 500,
    "sms_failed": 502,
    "service_unavailable": 503,
    # An outside registry (telco, BHXH) did not answer: the request may succeed later.
    "external_unavailable": 503,
}

TITLE_BY_STATUS: dict[int, str] = {
    400: "Yêu cầu không được chấp nhận",
    401: "Chưa xác thực",
    403: "Không có quyền",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    409: "Xung đột trạng thái",
    413: "Nội dung quá lớn",
    422: "Dữ liệu không hợp lệ",
    423: "Tài khoản đang bị khóa",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi hệ thống",
    502: "Lỗi từ hệ thống bên ngoài",
    503: "Dịch vụ tạm thời không sẵn sàng",
}

# Details of the problems the gateway raises itself (services send their own).
DEFAULT_DETAIL: dict[str, str] = {
    "not_found": "Không tìm thấy yêu cầu. Phiên giao dịch có thể đã hết hạn, vui lòng thực "
                 "hiện lại từ đầu.",
    "unauthenticated": "Bạn chưa đăng nhập hoặc phiên đăng nhập đã hết hạn. Vui lòng đăng "
                       "nhập lại.",
    "forbidden": "Yêu cầu bị từ chối do thiếu hoặc sai mã chống giả mạo (CSRF). Vui lòng tải "
                 "lại trang và thử lại.",
    "validation_error": "Dữ liệu gửi lên không hợp lệ. Vui lòng kiểm tra lại các trường "
                        "được nêu.",
    "service_unavailable": "Hệ thống đang bận hoặc đang bảo trì. Vui lòng thử lại sau ít "
                           "phút.",
    "internal": "Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau.",
    "method_not_allowed": "Phương thức HTTP này không được hỗ trợ cho đường dẫn này.",
    "idempotency_key_in_progress": "Yêu cầu trước với cùng Idempotency-Key vẫn đang được xử "
                                   "lý. Vui lòng chờ vài giây rồi gửi lại.",
    "idempotency_key_reused": "Idempotency-Key này đã được dùng cho một yêu cầu có nội dung "
                              "khác. Mỗi yêu cầu mới cần một khóa mới.",
    "idempotency_key_invalid": "Idempotency-Key phải dài từ 16 đến 255 ký tự ASCII nhìn thấy "
                               "được (ví dụ một UUID).",
}


class FieldError(BaseModel):
    name: str
    detail: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem, as every error of the API is answered."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None


class Problem(Exception):
    """Raised anywhere in the gateway to answer with a problem."""

    def __init__(self, code: str, detail: str | None = None, *, status: int | None = None,
                 errors: list[dict[str, str]] | None = None,
                 retry_after: float | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.headers = headers or {}
        self.code = code
        self.status = status or status_of(code)
        self.detail = detail or DEFAULT_DETAIL.get(code) or TITLE_BY_STATUS.get(
            self.status, HTTPStatus(self.status).phrase)
        self.errors = errors
        self.retry_after = retry_after

    @classmethod
    def from_remote(cls, error: dict[str, Any]) -> Problem:
        code = str(error.get("code") or "internal")
        if code not in STATUS_BY_CODE:
            log.warning("service answered an unmapped error code", code=code)
        fields = error.get("fields")
        errors = ([{"name": str(f.get("name", "")), "detail": str(f.get("detail", ""))}
                   for f in fields if isinstance(f, dict)]
                  if isinstance(fields, list) else None)
        retry_after = error.get("retry_after")
        return cls(code, error.get("detail") or None, errors=errors or None,
                   retry_after=retry_after if isinstance(retry_after, int | float) else None)

    def response(self, instance: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {
            "type": f"urn:dvcid:problem:{self.code}",
            "title": TITLE_BY_STATUS.get(self.status, HTTPStatus(self.status).phrase),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        headers = dict(self.headers)
        if self.retry_after is not None:
            seconds = max(0, math.ceil(self.retry_after))
            body["retry_after"] = seconds
            headers["Retry-After"] = str(seconds)
        elif self.status == 503:
            headers["Retry-After"] = str(SERVICE_RETRY_AFTER_SECONDS)
        if self.status == 401:
            # RFC 9110: a 401 names the scheme that would authenticate.
            headers["WWW-Authenticate"] = 'Bearer realm="dvcid"'
        return JSONResponse(body, status_code=self.status, headers=headers,
                            media_type=PROBLEM_MEDIA_TYPE)


def status_of(code: str) -> int:
    return STATUS_BY_CODE.get(code, 400)


# Documented error answers, for the OpenAPI description of every route.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ProblemDetails, "description": TITLE_BY_STATUS.get(status, ""),
                 "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }


# Request validation (FastAPI/pydantic) → 422 with the fields named, in Vietnamese.
_FIELD_MESSAGES: dict[str, str] = {
    "missing": "Bắt buộc phải có.",
    "string_type": "Phải là chuỗi ký tự.",
    "string_too_short": "Không được để trống hoặc quá ngắn.",
    "string_too_long": "Quá dài (tối đa {max_length} ký tự).",
    "string_pattern_mismatch": "Không đúng định dạng.",
    "literal_error": "Giá trị không hợp lệ, phải là một trong: {expected}.",
    "enum": "Giá trị không hợp lệ, phải là một trong: {expected}.",
    "union_tag_invalid": "Giá trị không hợp lệ, phải là một trong: {expected_tags}.",
    "union_tag_not_found": "Bắt buộc phải có.",
    "extra_forbidden": "Trường này không được hỗ trợ.",
    "model_attributes_type": "Phải là một đối tượng JSON.",
    "dict_type": "Phải là một đối tượng JSON.",
    "model_type": "Phải là một đối tượng JSON.",
    "list_type": "Phải là một danh sách.",
    "int_type": "Phải là số nguyên.",
    "int_parsing": "Phải là số nguyên.",
    "bool_type": "Phải là true hoặc false.",
    "date_type": "Phải là ngày theo định dạng YYYY-MM-DD.",
    "date_parsing": "Phải là ngày theo định dạng YYYY-MM-DD.",
    "date_from_datetime_parsing": "Phải là ngày theo định dạng YYYY-MM-DD.",
    "date_from_datetime_inexact": "Phải là ngày theo định dạng YYYY-MM-DD.",
    "iso_date": "Phải là ngày hợp lệ theo định dạng YYYY-MM-DD.",
}
_DEFAULT_FIELD_MESSAGE = "Giá trị không hợp lệ."
_SOURCES = {"body", "query", "header", "path", "cookie"}
# Tags of the discriminated request bodies (``method``): pydantic puts the tag in the error
# location (``body.mobile.birth_date``); the client knows the field as ``birth_date``.
UNION_TAGS: set[str] = set()


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        source, parts = parts[0], parts[1:]
        if source == "body" and len(parts) > 1 and parts[0] in UNION_TAGS:
            parts = parts[1:]
    return ".".join(parts) or "body"


def _field_message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    template = _FIELD_MESSAGES.get(kind)
    if kind == "value_error":
        custom = error.get("ctx", {}).get("error")
        template = _FIELD_MESSAGES.get(str(custom)) if custom is not None else None
    if template is None:
        return _DEFAULT_FIELD_MESSAGE
    # pydantic joins the choices with an English "or": list them with commas instead.
    context = {k: str(v).replace("' or '", "', '") for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return _DEFAULT_FIELD_MESSAGE


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem("validation_error", "Nội dung yêu cầu không phải JSON hợp lệ.", status=400,
                       errors=[{"name": "body", "detail": "JSON không hợp lệ."}])
    fields: list[dict[str, str]] = []
    for error in errors:
        loc = list(error.get("loc", ()))
        if str(error.get("type", "")).startswith("union_tag_"):
            # The discriminator itself is the field at fault, not the whole body.
            loc.append(str(error.get("ctx", {}).get("discriminator", "")).strip("'\""))
        item = {"name": _field_name(loc), "detail": _field_message(error)}
        if item not in fields:
            fields.append(item)
    names = ", ".join(dict.fromkeys(f["name"] for f in fields))
    return Problem("validation_error",
                   f"Dữ liệu gửi lên không hợp lệ, vui lòng kiểm tra: {names}.", errors=fields)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return exc.response(request.url.path)

    async def on_remote_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RemoteError)
        return Problem.from_remote(exc.error).response(request.url.path)

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("service unavailable", service=str(exc), path=request.url.path)
        return Problem("service_unavailable").response(request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc).response(request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated",
                403: "forbidden"}.get(exc.status_code, "validation_error"
                                      if exc.status_code < 500 else "internal")
        detail = DEFAULT_DETAIL.get(code) if exc.status_code in (404, 405) else None
        return Problem(code, detail, status=exc.status_code,
                       headers=dict(exc.headers or {})).response(request.url.path)

    async def on_bad_answer(request: Request, exc: Exception) -> JSONResponse:
        # A service answered outside its contract (the answer model of ``rpc.ask``, or the
        # route's response model): our fault, not the client's.
        log.error("service answer does not match the response model", path=request.url.path,
                  error=repr(exc))
        return Problem("internal").response(request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", path=request.url.path, error=repr(exc))
        return Problem("internal").response(request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RemoteError, on_remote_error)
    app.add_exception_handler(ServiceUnavailable, on_unavailable)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ResponseValidationError, on_bad_answer)
    app.add_exception_handler(ValidationError, on_bad_answer)
    app.add_exception_handler(Exception, on_unexpected)
