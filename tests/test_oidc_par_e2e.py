"""Pushed authorization requests (RFC 9126) and a refresh checked against the live dvcid
session, end to end: the whole stack, real HTTP, Authlib as the portal's library for the token
exchange (docs/oidc.md)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from dvcid.devstack import DevStack
from tests import test_oidc_e2e as op

with warnings.catch_warnings():  # Authlib warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

pytestmark = pytest.mark.e2e

metadata, portal, person = op.metadata, op.portal, op.person  # the fixtures
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def pushed(metadata: dict[str, Any], portal: op.Portal, verifier: str,
           **changes: str) -> httpx.Response:
    form = {"redirect_uri": op.REDIRECT, "response_type": "code", "scope": "openid profile",
            "state": "st-par", "nonce": "n-par",
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256"} | changes
    return httpx.post(metadata["pushed_authorization_request_endpoint"], data=form,
                      auth=(portal.client_id, portal.client_secret), timeout=30)


def test_a_portal_pushes_its_request_and_uses_the_request_uri_once(
        stack: DevStack, metadata: dict[str, Any], portal: op.Portal, person: op.Person) -> None:
    assert metadata["pushed_authorization_request_endpoint"] == f"{stack.gateway_url}/oidc/par"
    verifier = generate_token(48)
    response = pushed(metadata, portal, verifier)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["request_uri"].startswith(REQUEST_URI_PREFIX) and answer["expires_in"] == 60
    url = "/oidc/authorize?" + op.urlencode({"client_id": portal.client_id,
                                             "request_uri": answer["request_uri"],
                                             "state": "ignored"})
    location = op.back_at_portal(person, url)
    got = op.answer(location)
    assert got["state"] == "st-par" and got["iss"] == metadata["issuer"]
    client = op.rp(portal)
    tokens = client.fetch_token(metadata["token_endpoint"], authorization_response=location,
                                code_verifier=verifier)
    assert tokens["access_token"] and tokens["id_token"]
    again = person.browser.get(url, follow_redirects=False)  # single use
    assert again.status_code == 400 and "location" not in again.headers


def test_a_push_is_refused_without_client_authentication_or_with_a_bad_request(
        metadata: dict[str, Any], portal: op.Portal) -> None:
    verifier = generate_token(48)
    wrong = op.Portal(portal.client_id, "not-the-secret")
    assert pushed(metadata, wrong, verifier).status_code == 401
    bad = pushed(metadata, portal, verifier, redirect_uri="https://evil.example/cb")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    plain = pushed(metadata, portal, verifier, code_challenge_method="plain")
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_request"


def test_a_client_registered_with_require_par_must_push(
        stack: DevStack, metadata: dict[str, Any], person: op.Person) -> None:
    made = op.admin(stack, "create-client", "--name", "Cổng DVC Huế", "--redirect-uri",
                    op.REDIRECT, "--require-par")
    strict = op.Portal(made["client_id"], made["client_secret"])
    started = op.start(strict, metadata)
    refused = person.browser.get(started.url, follow_redirects=False)
    assert refused.status_code == 400 and "location" not in refused.headers
    verifier = generate_token(48)
    request_uri = pushed(metadata, strict, verifier).json()["request_uri"]
    location = op.back_at_portal(person, "/oidc/authorize?" + op.urlencode(
        {"client_id": strict.client_id, "request_uri": request_uri}))
    assert "code" in op.answer(location)


def test_a_refresh_token_ends_when_its_session_idles_out(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any],
        mongo: MongoClient) -> None:
    """An idle-expired dvcid session sends no SessionRevoked: the refresh asks profile
    whether the session is still alive, and ends the family when it is not."""
    made = op.admin(stack, "create-client", "--name", "Cổng DVC Nghệ An", "--redirect-uri",
                    op.REDIRECT)
    portal = op.Portal(made["client_id"], made["client_secret"])  # this person's only
    someone, _ = op.fresh_person(stack, api)
    with someone.browser:
        started = op.start(portal, metadata)
        tokens = op.fetch(started, metadata, op.back_at_portal(someone, started.url))
    refreshed = op.rp(portal).refresh_token(metadata["token_endpoint"],
                                            refresh_token=tokens["refresh_token"])
    # The session idles out (the database's clock moved instead of the test waiting).
    ended = mongo["dvcid_profile"]["sessions"].update_many(
        {"revoked_at": None, "_id": {"$in": [
            doc["session_id"] for doc in mongo["dvcid_oidc"]["refresh_tokens"].find(
                {"client_id": portal.client_id}, {"session_id": 1})]}},
        {"$set": {"idle_expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    assert ended.modified_count >= 1
    with pytest.raises(OAuthError) as refused:
        op.rp(portal).refresh_token(metadata["token_endpoint"],
                                    refresh_token=refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"
    assert op.userinfo_status(metadata, refreshed["access_token"]) == 401  # the family ended
