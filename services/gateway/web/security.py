"""What keeps the web pages' state safe in the browser: the signed flow cookie and the
per-form CSRF tokens.

Flow cookie. A page flow (registration, login) is the API's flow: an id and a flow token the
service issued. The pages keep both in a cookie, not in a hidden field: HttpOnly (no script,
hence no injected script, reads the token), never written into HTML (no page source, cache or
"save page" leaks it), sent only to this site (SameSite=Lax) and signed with
``DVCID_WEB_SECRET`` so the small display state stored beside them (the masked phone, when the
OTP may be sent again) cannot be altered. A forged or stale cookie is simply absent.

CSRF. Every page carries a random ``dvcid_web_csrf`` cookie (HttpOnly, SameSite=Lax). A form's
hidden ``csrf_token`` is an HMAC of that cookie and the form's action path: a token only our
own page can have produced for this browser, valid for that one form. A cross-site post
carries the cookie but cannot know the token.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fastapi import Request, Response

from shared.crypto import keyed_hash, new_token, same

CSRF_COOKIE = "dvcid_web_csrf"
CSRF_FIELD = "csrf_token"
FLOW_COOKIE_MAX_AGE_SECONDS = 30 * 60  # longer than any flow lives; the service decides
FlowKind = Literal["registration", "login", "reset", "method", "reauth", "counter"]
FLOW_COOKIES: dict[FlowKind, str] = {"registration": "dvcid_web_registration",
                                     "login": "dvcid_web_login",
                                     "reset": "dvcid_web_reset",
                                     "method": "dvcid_web_method",  # account: a method added
                                     "reauth": "dvcid_web_reauth",  # account: a step-up
                                     "counter": "dvcid_web_counter"}  # post-office counter


@dataclass(frozen=True)
class WebFlow:
    """A flow of the API as the pages remember it between two requests."""

    kind: FlowKind
    id: str
    token: str
    phone_masked: str | None = None
    resend_available_at: str | None = None
    # Login only: the account's other OTP phones ({phone_id, phone_masked}), as the start
    # of the login listed them ("Chọn phương thức xác thực khác"); the service has no read.
    alternatives: tuple[dict[str, str], ...] = ()
    # Digital-signature flows: the SIM's 4-digit verification code to show while waiting
    # (the service gives it once, at the start), and the USB token's challenge (base64).
    verification_code: str | None = None
    challenge: str | None = None
    # Step-up only: the account page to go back to once the session stepped up.
    back: str | None = None
    # OTP screens (otp_screen.py): when the code sent last expires, and how many wrong codes
    # this browser typed (the service's limit ends the flow; the page says so at once).
    code_expires_at: str | None = None
    wrong_codes: int = 0


def _sign(secret: str, purpose: str, value: str) -> str:
    return keyed_hash(secret, f"{purpose}:{value}")


def encode_flow(secret: str, flow: WebFlow) -> str:
    body = base64.urlsafe_b64encode(json.dumps(asdict(flow), separators=(",", ":"))
                                    .encode()).decode().rstrip("=")
    return f"{body}.{_sign(secret, 'flow', body)}"


def decode_flow(secret: str, kind: FlowKind, value: str | None) -> WebFlow | None:
    """The flow in a cookie value, or None when absent, forged or of another kind."""
    if not value or "." not in value:
        return None
    body, signature = value.rsplit(".", 1)
    if not same(signature, _sign(secret, "flow", body)):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        flow = WebFlow(**data | {"alternatives": tuple(data.get("alternatives") or ())})
    except (binascii.Error, ValueError, TypeError, AttributeError):
        return None
    return flow if flow.kind == kind else None


def read_flow(request: Request, kind: FlowKind) -> WebFlow | None:
    secret: str = request.app.state.settings.web_secret
    return decode_flow(secret, kind, request.cookies.get(FLOW_COOKIES[kind]))


def remember_flow(request: Request, response: Response, flow: WebFlow) -> None:
    secret: str = request.app.state.settings.web_secret
    response.set_cookie(FLOW_COOKIES[flow.kind], encode_flow(secret, flow),
                        max_age=FLOW_COOKIE_MAX_AGE_SECONDS, path="/", httponly=True,
                        samesite="lax", secure=_secure(request))


def forget_flow(request: Request, response: Response, kind: FlowKind) -> None:
    response.delete_cookie(FLOW_COOKIES[kind], path="/", httponly=True, samesite="lax",
                           secure=_secure(request))


def csrf_seed(request: Request) -> tuple[str, bool]:
    """This browser's CSRF cookie value, and whether it is new (to be set on the answer)."""
    existing = request.cookies.get(CSRF_COOKIE)
    return (existing, False) if existing else (new_token(), True)


def form_token(secret: str, seed: str, action: str) -> str:
    return _sign(secret, f"csrf:{action}", seed)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether the posted form's token was made for this browser and this form."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted:
        return False
    secret: str = request.app.state.settings.web_secret
    return same(submitted, form_token(secret, seed, request.url.path))


def set_csrf_cookie(request: Request, response: Response, seed: str) -> None:
    response.set_cookie(CSRF_COOKIE, seed, path="/", httponly=True, samesite="lax",
                        secure=_secure(request))


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies)
