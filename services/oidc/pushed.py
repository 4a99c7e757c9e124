"""Pushed authorization requests (RFC 9126): ``POST /oidc/par`` keeps a client's authorization
request, checked as the authorization endpoint checks it, and answers a ``request_uri`` that
``/oidc/authorize?client_id=..&request_uri=..`` then stands for (its other parameters ignored).

The ``request_uri`` is a 256-bit random kept as an HMAC; it must be presented within 60 seconds;
if the browser goes to log in first it stays usable for the login (10 minutes from the push);
it is spent (one atomic update) when its code is issued: one code per pushed request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from services.oidc.domain.errors import InvalidClient, InvalidRequest
from services.oidc.domain.models import Client
from services.oidc.domain.rules import check_authorization, client_uses_redirect
from shared.contracts.oidc import AuthorizationRequest, PushedAuthorization, PushedRequest
from shared.crypto import new_token
from shared.logging import get_logger

if TYPE_CHECKING:
    from services.oidc.domain.ports import Clients, PushedRequests
    from shared.clock import Clock

log = get_logger(__name__)
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PAR_TTL = timedelta(seconds=60)
# A pushed request presented in time whose browser must log in first stays usable this long
# after its push (the login), never longer.
PAR_LOGIN_WINDOW = timedelta(minutes=10)
_FIELDS = tuple(name for name in AuthorizationRequest.model_fields if name != "request_uri")


class PushedAuthorizations:
    """The PAR half of ``OidcService`` (which provides these members)."""

    _clients: Clients
    _clock: Clock
    _pushed: PushedRequests | None

    async def _authenticate_client(self, request: PushedAuthorization) -> Client:
        raise NotImplementedError

    def _hash(self, value: str) -> str:
        raise NotImplementedError

    def _pushed_store(self) -> PushedRequests:
        if self._pushed is None:
            raise InvalidRequest("Không hỗ trợ yêu cầu đẩy (PAR).")
        return self._pushed

    async def par(self, request: PushedAuthorization) -> PushedRequest:
        """RFC 9126 2: the client authenticated as at the token endpoint, the request checked
        as at the authorization endpoint (errors as JSON, never a redirect)."""
        store = self._pushed_store()
        client = await self._authenticate_client(request)
        if request.request_uri is not None:
            raise InvalidRequest("request_uri không dùng được trong yêu cầu đẩy.")
        if not client_uses_redirect(client, request.redirect_uri):
            raise InvalidRequest("redirect_uri không được đăng ký cho ứng dụng.")
        # A refusal (Redirected) keeps its OAuth code: the gateway answers it as JSON.
        check_authorization(
            response_type=request.response_type, scope=request.scope, state=request.state,
            nonce=request.nonce, code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method, prompt=request.prompt,
            response_mode=request.response_mode, request=request.request, request_uri=None,
            max_age=request.max_age, acr_values=request.acr_values)
        kept = {name: getattr(request, name) for name in _FIELDS if name != "client_id"}
        kept["client_id"] = client.client_id
        random = new_token()
        now = self._clock()
        await store.add(self._hash(f"par|{random}"), client.client_id,
                        {k: v for k, v in kept.items() if v is not None}, now, now + PAR_TTL)
        log.info("authorization request pushed", client_id=client.client_id)
        return PushedRequest(request_uri=f"{REQUEST_URI_PREFIX}{random}",
                             expires_in=int(PAR_TTL.total_seconds()))

    async def _pushed_request(self, client: Client, asked: AuthorizationRequest,
                              now: datetime) -> tuple[AuthorizationRequest, str | None]:
        """The request the authorization endpoint works on, and the hash of the pushed request
        it came from (None: not pushed). A client registered with ``require_par`` must push."""
        if asked.request_uri is None:
            if client.require_par:
                raise InvalidRequest("Ứng dụng phải gửi yêu cầu qua /oidc/par (PAR).")
            return asked, None
        store = self._pushed_store()
        uri = asked.request_uri
        if not uri.startswith(REQUEST_URI_PREFIX):
            raise InvalidRequest("request_uri không hợp lệ.")
        uri_hash = self._hash(f"par|{uri.removeprefix(REQUEST_URI_PREFIX)}")
        found = await store.get(uri_hash)
        if found is None:
            raise InvalidRequest("request_uri không hợp lệ hoặc đã được dùng.")
        client_id, kept, _, expires_at = found
        if client_id != client.client_id:
            raise InvalidClient("request_uri không dành cho ứng dụng này.")
        if now >= expires_at:
            raise InvalidRequest("request_uri đã hết hạn.")
        return AuthorizationRequest.model_validate(kept), uri_hash

    async def _hold_pushed(self, uri_hash: str | None, now: datetime) -> None:
        """The browser goes to log in: the pushed request stays usable for the login."""
        if uri_hash is not None and self._pushed is not None:
            found = await self._pushed.get(uri_hash)
            if found is not None:
                await self._pushed.extend(uri_hash, found[2] + PAR_LOGIN_WINDOW)

    async def _spend_pushed(self, uri_hash: str | None, now: datetime) -> None:
        """One code per pushed request: a second use is refused."""
        if (uri_hash is not None and self._pushed is not None
                and not await self._pushed.spend(uri_hash, now)):
            raise InvalidRequest("request_uri đã được dùng.")
