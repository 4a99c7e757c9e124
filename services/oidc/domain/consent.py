"""The consent rules, pure (docs/oidc.md): when the consent page is shown, when a portal is
refused, when a remembered consent is enough."""

from __future__ import annotations

from typing import Literal

ConsentStep = Literal["ask", "required", "denied", "granted", "known"]


def consent_step(*, prompt: frozenset[str], scopes: tuple[str, ...],
                 granted: tuple[str, ...] | None, answer: str | None) -> ConsentStep:
    """``denied``/``granted``: the person answered the consent page; ``known``: a remembered
    consent covers every scope asked; ``ask``: show the page (no consent, more scopes than
    agreed, or ``prompt=consent``); ``required``: it would be shown but ``prompt=none``
    forbids any page (OpenID Connect Core 3.1.2.6 ``consent_required``)."""
    if answer == "denied":
        return "denied"
    if answer == "granted":
        return "granted"
    covered = granted is not None and set(scopes) <= set(granted)
    if covered and "consent" not in prompt:
        return "known"
    return "required" if "none" in prompt else "ask"


def remembered_scopes(granted: tuple[str, ...] | None, scopes: tuple[str, ...],
                      order: tuple[str, ...]) -> tuple[str, ...]:
    """What a new consent leaves remembered: what was agreed before and what is agreed now,
    in the provider's order of scopes."""
    agreed = set(granted or ()) | set(scopes)
    return tuple(s for s in order if s in agreed)
