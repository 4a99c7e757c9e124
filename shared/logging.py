"""structlog set-up shared by every process: JSON in production, readable in dev, with
personal data masked before anything is rendered."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from shared.tracing import add_trace_ids

# Keys whose values are secrets: never rendered, whatever they hold.
_SECRET_KEYS = re.compile(r"pass(word)?|otp|pin|token|secret|hash|authorization", re.I)
# A "code" is secret when it is a one-time code (digits); error codes such as
# "subscriber_mismatch" stay readable for operators.
_CODE_KEY = re.compile(r"code", re.I)
_DIGIT_CODE = re.compile(r"\d{4,8}")
# Vietnamese ID numbers (CMND 9/12 digits, CCCD 12 digits), tax codes, phones and emails
# appearing inside any string value.
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<!\d)(\+?84|0)(\d{2})\d{4,5}(\d{3})(?!\d)")
_DIGITS = re.compile(r"(?<!\d)(\d{2})\d{5,10}(\d{2})(?!\d)")


def mask_text(value: str) -> str:
    value = _EMAIL.sub(r"\1***@\2", value)
    value = _PHONE.sub(r"\1\2****\3", value)
    return _DIGITS.sub(r"\1*****\2", value)


def _is_secret(key: str, value: Any) -> bool:
    if _SECRET_KEYS.search(key):
        return True
    return bool(_CODE_KEY.search(key)) and _DIGIT_CODE.fullmatch(str(value).strip()) is not None


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: "***" if _is_secret(str(k), v) else _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: hides secrets by key and personal data by shape."""
    for key, value in list(event_dict.items()):
        if key in ("timestamp", "level", "logger", "service"):
            continue
        event_dict[key] = "***" if _is_secret(key, value) else _mask(value)
    return event_dict


# Libraries that log personal data at INFO, whatever we pass them: httpx and httpcore every
# request URL (a phone or a code in the path), Twilio's SDK every request body (the phone and
# the SMS text with its code). Only their warnings and errors are kept.
QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore", "twilio", "twilio.http_client", "aiohttp.access")
# uvicorn's loggers have handlers of their own and do not propagate to the root's: each gets
# the masking filter itself (its access lines carry paths such as /dev/sim/{phone}/approve).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _masked_arg(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value  # %d and %f arguments stay numbers
    return _mask(value) if isinstance(value, dict | list | tuple) else mask_text(str(value))


class MaskingFilter(logging.Filter):
    """Masks personal data by shape in every record of the standard library's logging (what
    libraries write), as ``mask_personal_data`` does for our own structlog events."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _masked_arg(arg) for key, arg in record.args.items()}
        return True


def _guard_library_logs() -> None:
    for name in QUIET_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    masking = MaskingFilter()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(masking)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskingFilter) for f in logger.filters):
            logger.addFilter(masking)


def configure_logging(service: str, env: str = "dev", level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if env == "production"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    _guard_library_logs()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_personal_data,
            # After the masking: a trace id is hex and could look like a number to mask.
            add_trace_ids,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
