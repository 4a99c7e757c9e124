"""Pushed authorization requests (RFC 9126) and a refresh checked against the live dvcid
session, with fakes of the ports (no servers)."""

from __future__ import annotations

from typing import Any

import pytest

from services.oidc.domain.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    Redirected,
)
from services.oidc.pushed import REQUEST_URI_PREFIX
from services.oidc.tests import test_handlers as base
from services.oidc.tests.fakes import FakePushedRequests
from services.oidc.tests.test_handlers import (
    REDIRECT,
    SESSION,
    World,
    basic,
    confidential,
    first_tokens,
    pkce,
    query,
    refreshing,
)
from shared.contracts.base import Empty
from shared.contracts.oidc import (
    AuthorizationRequest,
    Authorize,
    CreateClient,
    PushedAuthorization,
    UserinfoRequest,
)

world = base.world  # the fixture of the other use cases' tests


@pytest.fixture
def pushed(world: World) -> FakePushedRequests:
    store = FakePushedRequests()
    world.service._pushed = store
    return store


def push(client_id: str, challenge: str, **changes: Any) -> PushedAuthorization:
    params: dict[str, Any] = {
        "authorization": basic(client_id), "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid profile", "state": "st-1", "nonce": "n-1",
        "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(changes)
    return PushedAuthorization(**{k: v for k, v in params.items() if v is not None})


def by_uri(client_id: str, request_uri: str, **others: str) -> Authorize:
    return Authorize(request=AuthorizationRequest(client_id=client_id, request_uri=request_uri,
                                                  **others), session=SESSION)


async def test_a_pushed_request_is_used_once_by_its_request_uri(
        world: World, pushed: FakePushedRequests) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    answer = await world.service.par(push(client_id, challenge))
    assert answer.request_uri.startswith(REQUEST_URI_PREFIX) and answer.expires_in == 60
    random = answer.request_uri.removeprefix(REQUEST_URI_PREFIX)
    assert all(random not in str(item) for item in pushed.items.values())  # kept hashed
    # Other parameters are ignored: the pushed ones count.
    outcome = await world.service.authorize(by_uri(client_id, answer.request_uri,
                                                   state="other", redirect_uri="https://x.vn/"))
    got = query(outcome.redirect_to)
    assert outcome.redirect_to and outcome.redirect_to.startswith(REDIRECT)
    assert got["state"] == "st-1" and "code" in got
    with pytest.raises(InvalidRequest):  # single use
        await world.service.authorize(by_uri(client_id, answer.request_uri))


async def test_a_request_uri_expires_is_bound_to_its_client_and_survives_a_login(
        world: World, pushed: FakePushedRequests) -> None:
    client_id = await confidential(world)
    other = await world.service.create_client(CreateClient(
        name="Khác", redirect_uris=["http://127.0.0.1:7000/cb"], public=True))
    _, challenge = pkce()
    late = await world.service.par(push(client_id, challenge))
    world.clock.advance(seconds=61)
    with pytest.raises(InvalidRequest):
        await world.service.authorize(by_uri(client_id, late.request_uri))
    answer = await world.service.par(push(client_id, challenge))
    with pytest.raises(InvalidClient):
        await world.service.authorize(by_uri(other.client_id, answer.request_uri))
    with pytest.raises(InvalidRequest):
        await world.service.authorize(by_uri(client_id, REQUEST_URI_PREFIX + "guessed"))
    # No session: to the login page, and the request stays usable for the login.
    login = await world.service.authorize(Authorize(request=AuthorizationRequest(
        client_id=client_id, request_uri=answer.request_uri)))
    assert login.action == "login"
    world.clock.advance(minutes=5)
    outcome = await world.service.authorize(by_uri(client_id, answer.request_uri))
    assert "code" in query(outcome.redirect_to)


async def test_a_push_is_checked_as_the_authorization_endpoint_checks(
        world: World, pushed: FakePushedRequests) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    with pytest.raises(InvalidClient):  # the client authenticates as at the token endpoint
        await world.service.par(push(client_id, challenge, authorization=basic(client_id, "x")))
    with pytest.raises(InvalidRequest):
        await world.service.par(push(client_id, challenge, redirect_uri=REDIRECT + "/"))
    with pytest.raises(Redirected) as refused:
        await world.service.par(push(client_id, challenge, code_challenge_method="plain"))
    assert refused.value.code == "invalid_request"
    with pytest.raises(InvalidRequest):
        await world.service.par(push(client_id, challenge, request_uri=REQUEST_URI_PREFIX + "a"))
    assert pushed.items == {}


async def test_a_client_registered_with_require_par_must_push(
        world: World, pushed: FakePushedRequests) -> None:
    view = await world.service.create_client(CreateClient(
        name="PAR", redirect_uris=["http://127.0.0.1:7000/cb"], public=True,
        require_pushed_authorization_requests=True))
    assert view.require_pushed_authorization_requests
    _, challenge = pkce()
    with pytest.raises(InvalidRequest):
        await world.service.authorize(Authorize(request=AuthorizationRequest(
            client_id=view.client_id, redirect_uri="http://127.0.0.1:7000/cb",
            response_type="code", scope="openid", state="s", nonce="n",
            code_challenge=challenge, code_challenge_method="S256"), session=SESSION))
    answer = await world.service.par(PushedAuthorization(
        client_id=view.client_id, redirect_uri="http://127.0.0.1:7000/cb", response_type="code",
        scope="openid", state="s", nonce="n", code_challenge=challenge,
        code_challenge_method="S256"))
    outcome = await world.service.authorize(by_uri(view.client_id, answer.request_uri))
    assert "code" in query(outcome.redirect_to)


async def test_discovery_advertises_the_par_endpoint(world: World) -> None:
    metadata = (await world.service.metadata(Empty())).metadata
    assert metadata["pushed_authorization_request_endpoint"] == \
        "https://sso.dichvucong.gov.vn/oidc/par"


async def test_a_refresh_token_ends_once_its_session_is_no_longer_alive(world: World) -> None:
    """An idle-expired session sends no SessionRevoked: the refresh asks profile."""
    client_id = await confidential(world)
    first = await first_tokens(world, client_id)
    second = await world.service.token(refreshing(client_id, first.refresh_token))
    world.profile.ended_sessions.add(SESSION.session_id)
    with pytest.raises(InvalidGrant):
        await world.service.token(refreshing(client_id, second.refresh_token))
    world.profile.ended_sessions.clear()  # the family ended: not usable again
    with pytest.raises(InvalidGrant):
        await world.service.token(refreshing(client_id, second.refresh_token))
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token=second.access_token))
