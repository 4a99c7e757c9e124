"""Wiring of the oidc service: its RPC endpoints (``shared/contracts/oidc.py``), the indexes and
the first signing key."""

from __future__ import annotations

from datetime import timedelta

import httpx

from services.oidc.adapters.client_keys import HttpClientKeys, HttpLogoutNotifier
from services.oidc.adapters.consents import CONSENT_INDEXES, MongoClientGrants, MongoConsents
from services.oidc.adapters.keys import MongoSigningKeys, Sealer
from services.oidc.adapters.mongo import (
    INDEXES,
    MongoAccessTokens,
    MongoAssertionIds,
    MongoClients,
    MongoGrants,
    MongoRefreshTokens,
    MongoSessionClients,
)
from services.oidc.adapters.profile import ProfileClaims
from services.oidc.adapters.pushed_mongo import INDEXES as PUSHED_INDEXES
from services.oidc.adapters.pushed_mongo import MongoPushedRequests
from services.oidc.config import OidcSettings
from services.oidc.handlers import SESSION_REVOKED_CONSUMER, OidcPolicy, OidcService
from shared.bus import Consumer
from shared.clock import system_clock
from shared.contracts import oidc as OIDC
from shared.http import retrying_transport
from shared.rpc import RpcClient
from shared.runtime import Infrastructure, Wiring


def settings_of(infra: Infrastructure) -> OidcSettings:
    if isinstance(infra.settings, OidcSettings):
        return infra.settings
    return OidcSettings(**infra.settings.model_dump())


async def wire(infra: Infrastructure) -> Wiring:
    settings = settings_of(infra)
    keys = MongoSigningKeys(infra.db, Sealer(settings.oidc_keys_secret),
                            timedelta(seconds=settings.retired_key_publish_seconds))
    await keys.ensure(system_clock())  # the first start makes the first signing key
    # The clients' published keys (private_key_jwt with a jwks_uri) and their back-channel
    # logout URIs: every call may be repeated (a read; a logout told twice is one logout).
    http = httpx.AsyncClient(transport=retrying_transport(lookups_only=True), timeout=5.0,
                             follow_redirects=False)
    client_keys = HttpClientKeys(http)
    service = OidcService(
        clients=MongoClients(infra.db), grants=MongoGrants(infra.db),
        tokens=MongoAccessTokens(infra.db), keys=keys,
        profile=ProfileClaims(RpcClient(infra.nc)), clock=system_clock,
        policy=OidcPolicy(issuer=settings.oidc_issuer, secret=settings.oidc_secret,
                          access_token_ttl=timedelta(seconds=settings.access_token_seconds),
                          id_token_ttl=timedelta(seconds=settings.id_token_seconds),
                          refresh_token_ttl=timedelta(seconds=settings.refresh_token_seconds)),
        client_keys=client_keys, assertion_ids=MongoAssertionIds(infra.db),
        session_clients=MongoSessionClients(infra.db), notifier=HttpLogoutNotifier(http),
        refresh_tokens=MongoRefreshTokens(infra.db),
        consents=MongoConsents(infra.db), client_grants=MongoClientGrants(infra.db),
        pushed_requests=MongoPushedRequests(infra.db))
    wiring = Wiring(
        consumers=[Consumer(SESSION_REVOKED_CONSUMER, ["SessionRevoked"], service.on_session_revoked)],
        indexes=INDEXES | CONSENT_INDEXES | PUSHED_INDEXES, on_stop=[client_keys.close])
    wiring.serve(OIDC.METADATA, service.metadata)
    wiring.serve(OIDC.JWKS, service.jwks)
    wiring.serve(OIDC.AUTHORIZE, service.authorize)
    wiring.serve(OIDC.TOKEN, service.token)
    wiring.serve(OIDC.USERINFO, service.userinfo)
    wiring.serve(OIDC.END_SESSION, service.end_session)
    wiring.serve(OIDC.INTROSPECT, service.introspect)
    wiring.serve(OIDC.REVOKE, service.revoke)
    wiring.serve(OIDC.PAR, service.par)  # RFC 9126 (pushed.py)
    # "Ứng dụng đã kết nối" (the account page, through the gateway).
    wiring.serve(OIDC.CONNECTED_APPS, service.connected_apps)
    wiring.serve(OIDC.REVOKE_CONSENT, service.revoke_consent)
    # The operator's (dvcid admin create-client / rotate-keys; dvcid/nats_auth.py).
    wiring.serve(OIDC.ADMIN_CREATE_CLIENT, service.create_client)
    wiring.serve(OIDC.ADMIN_ROTATE_KEYS, service.rotate_keys)
    return wiring
