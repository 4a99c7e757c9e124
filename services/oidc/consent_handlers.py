"""Consent (docs/oidc.md): the step of the authorization endpoint that asks the person before
a portal gets their data, and "Ứng dụng đã kết nối" (the account's consents, and revoking
one). Part of ``OidcService`` (``handlers.py``), kept here for its size."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.oidc.domain.consent import consent_step, remembered_scopes
from services.oidc.domain.models import Client
from services.oidc.domain.ports import ClientGrants, Clients, Consents
from services.oidc.domain.rules import SCOPES, AuthorizationParams
from shared.clock import Clock
from shared.contracts.oidc import (
    AuthorizationOutcome,
    ConnectedApp,
    ConnectedApps,
    ConnectedAppsOf,
    ConsentRevoked,
    RevokeConsent,
    oauth_text,
)
from shared.logging import get_logger

log = get_logger(__name__)


class ConsentCases:
    if TYPE_CHECKING:  # set by OidcService.__init__
        _consents: Consents
        _client_grants: ClientGrants
        _clients: Clients
        _clock: Clock

        def _back(self, redirect_uri: str, state: str | None,
                  **params: str) -> AuthorizationOutcome: ...

        async def _tell_logout(self, client_id: str, subject: str, session_id: str | None,
                               now: datetime) -> None: ...

        def subject(self, client: Client, account_id: str) -> str: ...

    async def _consent(self, client: Client, account_id: str, params: AuthorizationParams,
                       answer: str | None, redirect_uri: str,
                       now: datetime) -> AuthorizationOutcome | None:
        """None: the account agreed (before, for every scope asked, or just now: remembered);
        else the consent page to show, or the refusal for the redirect URI (``access_denied``
        when the person said no, ``consent_required`` under ``prompt=none``)."""
        known = await self._consents.get(account_id, client.client_id)
        step = consent_step(prompt=params.prompt, scopes=params.scopes,
                            granted=known.scopes if known else None, answer=answer)
        if step == "denied":
            log.info("consent refused", client_id=client.client_id)
            return self._back(redirect_uri, params.state, error="access_denied",
                              error_description=oauth_text("Người dùng từ chối chia sẻ thông tin."))
        if step == "required":
            return self._back(redirect_uri, params.state, error="consent_required",
                              error_description=oauth_text("Cần người dùng đồng ý."))
        if step == "ask":
            return AuthorizationOutcome(action="consent", client_name=client.name,
                                        scopes=list(params.scopes), redirect_uri=redirect_uri)
        if step == "granted":
            await self._consents.grant(
                account_id, client.client_id,
                remembered_scopes(known.scopes if known else None, params.scopes, SCOPES), now)
            log.info("consent given", client_id=client.client_id)
        else:
            await self._consents.used(account_id, client.client_id, now)
        return None

    async def connected_apps(self, request: ConnectedAppsOf) -> ConnectedApps:
        """The portals the account agreed to give data to, the last used first."""
        items = []
        for consent in await self._consents.of_account(request.account_id):
            client = await self._clients.get(consent.client_id)
            if client is None:
                continue
            items.append(ConnectedApp(client_id=client.client_id, name=client.name,
                                      scopes=list(consent.scopes),
                                      first_used_at=consent.granted_at.isoformat(),
                                      last_used_at=consent.last_used_at.isoformat()))
        items.sort(key=lambda app: app.last_used_at, reverse=True)
        return ConnectedApps(items=items)

    async def revoke_consent(self, request: RevokeConsent) -> ConsentRevoked:
        """The consent ends, and with it the client's access and refresh tokens for this
        account; a client with a back-channel logout URI is told (``sub``, no ``sid``)."""
        now = self._clock()
        forgotten = await self._consents.forget(request.account_id, request.client_id)
        if not forgotten:
            return ConsentRevoked(revoked=False)
        ended = await self._client_grants.revoke(request.account_id, request.client_id, now)
        log.info("consent revoked by the account", client_id=request.client_id, revoked=ended)
        client = await self._clients.get(request.client_id)
        if client is not None:
            await self._tell_logout(client.client_id, self.subject(client, request.account_id),
                                    None, now)
        return ConsentRevoked(revoked=True)
