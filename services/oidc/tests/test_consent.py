"""Consent with fakes of the ports: the page asked once per client and set of data, a refusal
as ``access_denied``, ``prompt=consent`` and ``prompt=none``, and "Ứng dụng đã kết nối" (the
list, revoking one: its tokens end and the portal is told on its back channel)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from joserfc import jwt

from services.oidc.domain.consent import consent_step, remembered_scopes
from services.oidc.domain.errors import InvalidGrant, InvalidToken
from services.oidc.domain.rules import SCOPES
from services.oidc.tests.test_handlers import (
    REDIRECT,
    SECRET,
    SESSION,
    World,
    basic,
    pkce,
    published,
    query,
    request,
    world,
)
from shared.contracts.oidc import (
    Authorize,
    ConnectedAppsOf,
    CreateClient,
    RevokeConsent,
    TokenRequest,
    UserinfoRequest,
)

__all__ = ["world"]  # the fixture, shared with test_handlers.py

FULL = ("openid", "profile", "phone", "email", "vn_identity")


@pytest.mark.parametrize(("prompt", "scopes", "granted", "answer", "step"), [
    (frozenset(), FULL, None, None, "ask"),
    (frozenset(), ("openid", "profile"), FULL, None, "known"),
    (frozenset(), FULL, ("openid", "profile"), None, "ask"),  # more data: asked again
    (frozenset({"consent"}), ("openid",), FULL, None, "ask"),
    (frozenset({"none"}), FULL, None, None, "required"),
    (frozenset({"none"}), ("openid",), FULL, None, "known"),
    (frozenset(), FULL, None, "denied", "denied"),
    (frozenset({"consent"}), FULL, FULL, "granted", "granted"),
])
def test_the_consent_rules(prompt: frozenset[str], scopes: tuple[str, ...],
                           granted: tuple[str, ...] | None, answer: str | None,
                           step: str) -> None:
    assert consent_step(prompt=prompt, scopes=scopes, granted=granted, answer=answer) == step


def test_a_new_consent_adds_to_what_was_agreed() -> None:
    assert remembered_scopes(("openid", "email"), ("openid", "profile"), SCOPES) == (
        "openid", "profile", "email")


async def portal(world: World, **extra: Any) -> str:
    world.consents.preagreed = False
    view = await world.service.create_client(CreateClient(
        name="Cổng DVC Hà Nội", redirect_uris=[REDIRECT],
        secret_sha256=hashlib.sha256(SECRET.encode()).hexdigest(), **extra))
    return view.client_id


async def test_the_first_request_asks_then_the_consent_is_remembered(world: World) -> None:
    client_id = await portal(world)
    _, challenge = pkce()
    asked = request(client_id, challenge)
    outcome = await world.service.authorize(Authorize(request=asked, session=SESSION))
    assert outcome.action == "consent" and outcome.redirect_to is None
    assert outcome.client_name == "Cổng DVC Hà Nội" and outcome.scopes == list(FULL)
    agreed = await world.service.authorize(Authorize(request=asked, session=SESSION,
                                                     consent="granted"))
    assert agreed.action == "redirect" and "code" in query(agreed.redirect_to)
    world.clock.advance(minutes=5)
    again = await world.service.authorize(Authorize(request=asked, session=SESSION))
    assert again.action == "redirect" and "code" in query(again.redirect_to)
    # Another account has agreed to nothing.
    other = SESSION.model_copy(update={"account_id": "acc-2", "session_id": "ses-2"})
    assert (await world.service.authorize(Authorize(request=asked, session=other))).action == "consent"


async def test_more_data_or_prompt_consent_asks_again(world: World) -> None:
    client_id = await portal(world)
    _, challenge = pkce()
    few = request(client_id, challenge, scope="openid profile")
    await world.service.authorize(Authorize(request=few, session=SESSION, consent="granted"))
    assert (await world.service.authorize(Authorize(request=few, session=SESSION))).action == "redirect"
    more = request(client_id, challenge, scope="openid profile phone")
    assert (await world.service.authorize(Authorize(request=more, session=SESSION))).action == "consent"
    forced = request(client_id, challenge, scope="openid", prompt="consent")
    assert (await world.service.authorize(Authorize(request=forced, session=SESSION))).action == "consent"
    await world.service.authorize(Authorize(request=more, session=SESSION, consent="granted"))
    apps = (await world.service.connected_apps(ConnectedAppsOf(account_id="acc-1"))).items
    assert [app.scopes for app in apps] == [["openid", "profile", "phone"]]


async def test_a_refusal_goes_back_as_access_denied_and_prompt_none_as_consent_required(
        world: World) -> None:
    client_id = await portal(world)
    _, challenge = pkce()
    asked = request(client_id, challenge)
    denied = await world.service.authorize(Authorize(request=asked, session=SESSION,
                                                     consent="denied"))
    answer = query(denied.redirect_to)
    assert answer["error"] == "access_denied" and answer["state"] == "st-1"
    assert answer["iss"] and "code" not in answer
    assert not world.consents.items  # nothing remembered: asked again next time
    silent = await world.service.authorize(Authorize(
        request=request(client_id, challenge, prompt="none"), session=SESSION))
    answer = query(silent.redirect_to)
    assert answer["error"] == "consent_required" and answer["state"] == "st-1"


async def test_revoking_ends_the_tokens_and_tells_the_portal(world: World) -> None:
    client_id = await portal(world, backchannel_logout_uri="https://portal.example.vn/bcl")
    verifier, challenge = pkce()
    asked = request(client_id, challenge)
    code = query((await world.service.authorize(Authorize(
        request=asked, session=SESSION, consent="granted"))).redirect_to)["code"]
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    apps = (await world.service.connected_apps(ConnectedAppsOf(account_id="acc-1"))).items
    assert [(app.client_id, app.name) for app in apps] == [(client_id, "Cổng DVC Hà Nội")]
    assert apps[0].first_used_at <= apps[0].last_used_at
    # Another account cannot revoke it (the gateway names the browser's own account).
    assert not (await world.service.revoke_consent(RevokeConsent(
        account_id="acc-2", client_id=client_id))).revoked
    assert (await world.service.revoke_consent(RevokeConsent(
        account_id="acc-1", client_id=client_id))).revoked
    assert not (await world.service.connected_apps(ConnectedAppsOf(account_id="acc-1"))).items
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))
    with pytest.raises(InvalidGrant):
        await world.service.token(TokenRequest(
            authorization=basic(client_id), grant_type="refresh_token",
            refresh_token=tokens.refresh_token))
    [(uri, logout_token)] = world.notifier.sent
    assert uri == "https://portal.example.vn/bcl"
    claims = jwt.decode(logout_token, await published(world), algorithms=["ES256"]).claims
    assert claims["aud"] == client_id and claims["sub"] and "sid" not in claims
    # The next request asks again.
    assert (await world.service.authorize(Authorize(request=asked, session=SESSION))).action == "consent"
