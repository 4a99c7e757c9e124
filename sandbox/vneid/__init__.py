"""VNeID, the national e-ID, as an OpenID Provider of the sandbox world (issue 15).

dvcid is its relying party ("Đăng nhập bằng VNeID"); the demo portal (``sandbox/demo_portal``)
can be one too. Issuer ``<sandbox public URL>/vneid``; discovery at
``/vneid/.well-known/openid-configuration``, JWKS ``/vneid/jwks.json``, ``/vneid/authorize``
(a login screen: the citizen's CCCD and VNeID PIN, level 2), ``/vneid/token`` (code grant,
PKCE S256 required, ``client_secret_basic`` or ``_post``), ``/vneid/userinfo``.

Accounts: every seeded telco subscriber with a ``vneid_pin`` (all but Đặng Thị Hà, PIN 123456),
and those added by ``POST /dev/vneid-citizens``. ``sub`` is a UUID derived from the CCCD
(stable across restarts); the claims by scope: ``profile`` → name, birthdate, gender;
``cccd`` → cccd; ``phone`` → phone_number. Every ID token says ``acr``
``urn:vneid:loa:level2`` and ``amr`` ``["pin"]``. No single sign-on session: each authorization
asks for the PIN again. Clients come from the settings (``sandbox/config.py``:
``DVCID_VNEID_CLIENT_ID`` / ``_SECRET`` / ``_REDIRECT_URI`` for dvcid,
``DVCID_VNEID_EXTRA_CLIENTS`` for more). The signing key is made on first use and lives in memory.
"""

from __future__ import annotations

from fastapi import FastAPI

from sandbox.config import SandboxSettings
from sandbox.vneid import routes
from sandbox.vneid.provider import VneidProvider
from shared.clock import Clock


def install_vneid(app: FastAPI, settings: SandboxSettings, clock: Clock) -> None:
    app.state.vneid = VneidProvider.create(
        issuer=f"{settings.public_url()}/vneid", world=app.state.world, clock=clock,
        clients=settings.vneid_clients(), code_seconds=settings.vneid_code_seconds,
        token_seconds=settings.vneid_token_seconds)
    app.include_router(routes.router)
    app.include_router(routes.dev_router)
