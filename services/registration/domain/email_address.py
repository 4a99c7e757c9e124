"""E-mail addresses: syntax and normalisation by ``email-validator``, no DNS lookups."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def normalize_email(raw: str) -> str | None:
    """The normalised address, or None when it is not a valid address."""
    try:
        # No deliverability check: it would be a DNS query (I/O) on the request path, and a
        # typo in a domain that exists would pass it anyway.
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
