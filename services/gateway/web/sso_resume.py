"""Back to the relying party after a login: ``/oidc/authorize`` that needs a login sends the
browser to the login page and keeps the authorization request (its path and query) and the
moment it did so in a signed, HttpOnly cookie. The login pages then go back there instead of
the account page; the authorization endpoint reads the moment (a login made since then
satisfies ``prompt=login`` and ``max_age``) and forgets the cookie (services/gateway/oidc.py,
docs/oidc.md)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from shared.crypto import keyed_hash, same

SSO_COOKIE = "dvcid_web_sso"
# Where a completed login goes when a request is kept: a page of ours that then sends the
# browser on (services/gateway/oidc.py). Not the authorization endpoint at once: the login
# form's CSP (form-action 'self') would block the redirect chain reaching the portal.
CONTINUE_PATH = "/oidc/tiep-tuc"
SSO_COOKIE_MAX_AGE_SECONDS = 30 * 60
AUTHORIZE_PATH = "/oidc/authorize"


@dataclass(frozen=True)
class SsoRequest:
    target: str  # /oidc/authorize?...
    requested_at: str  # RFC 3339: when it sent the browser to log in


def remember_sso(request: Request, response: Response, kept: SsoRequest) -> None:
    secret: str = request.app.state.settings.web_secret
    value = f"{kept.target}|{kept.requested_at}"
    response.set_cookie(SSO_COOKIE, f"{value}|{keyed_hash(secret, f'sso:{value}')}",
                        max_age=SSO_COOKIE_MAX_AGE_SECONDS, path="/", httponly=True,
                        samesite="lax", secure=_secure(request))


def sso_request(request: Request) -> SsoRequest | None:
    """The authorization request to resume, if this browser has a genuine one (never any
    other URL: the cookie is signed and must name the authorization endpoint)."""
    value = request.cookies.get(SSO_COOKIE)
    if not value or value.count("|") < 2:
        return None
    kept, signature = value.rsplit("|", 1)
    secret: str = request.app.state.settings.web_secret
    if not same(signature, keyed_hash(secret, f"sso:{kept}")):
        return None
    target, requested_at = kept.rsplit("|", 1)
    return SsoRequest(target, requested_at) if target.startswith(f"{AUTHORIZE_PATH}?") else None


def sso_target(request: Request) -> str | None:
    """Where a completed login goes when an authorization request is kept: the page that
    resumes it (CONTINUE_PATH); None otherwise."""
    return CONTINUE_PATH if sso_request(request) else None


def forget_sso(request: Request, response: Response) -> None:
    if request.cookies.get(SSO_COOKIE):
        response.delete_cookie(SSO_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=_secure(request))


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies)
