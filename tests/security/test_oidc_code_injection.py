"""Attack: authorization code injection at dvcid's OpenID Provider (issue 15).

A code stolen from one portal's redirect (a leaked log, a referrer, a hostile page) is
redeemed by another registered portal; or the thief injects it into a flow of its own and
redeems it with its own PKCE verifier. Control: a code is bound to the client it was issued to
(another client's redemption is ``invalid_grant``) and to the S256 code challenge of the flow
that asked for it (any other verifier is ``invalid_grant``); a code is single use
(services/oidc/handlers.py ``_code_grant``; docs/security/threat-model.md).
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests import test_oidc_e2e as op

pytestmark = pytest.mark.e2e

with warnings.catch_warnings():  # Authlib warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token
    from authlib.integrations.base_client.errors import OAuthError

metadata, portal, person = op.metadata, op.portal, op.person  # the fixtures


@pytest.fixture(scope="module")
def thief(stack: DevStack) -> op.Portal:
    """Another registered portal (its own secret), under the thief's control."""
    made = op.admin(stack, "create-client", "--name", "Cổng của kẻ gian",
                    "--redirect-uri", op.REDIRECT)
    return op.Portal(made["client_id"], made["client_secret"])


def test_a_code_stolen_from_one_portal_is_refused_to_another(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person,
        thief: op.Portal) -> None:
    started = op.start(portal, metadata)
    location = op.back_at_portal(person, started.url)
    with pytest.raises(OAuthError) as refused:  # the thief's client, even with the verifier
        op.rp(thief).fetch_token(metadata["token_endpoint"], authorization_response=location,
                                 code_verifier=started.verifier)
    assert refused.value.error == "invalid_grant"


def test_a_code_with_another_flows_pkce_verifier_is_refused(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person) -> None:
    victims = op.start(portal, metadata)
    stolen = op.back_at_portal(person, victims.url)
    own = op.start(portal, metadata)  # the attacker's own flow at the same portal
    with pytest.raises(OAuthError) as refused:
        own.client.fetch_token(metadata["token_endpoint"], authorization_response=stolen,
                               code_verifier=own.verifier)
    assert refused.value.error == "invalid_grant"
    with pytest.raises(OAuthError):  # a guessed verifier neither
        own.client.fetch_token(metadata["token_endpoint"], authorization_response=stolen,
                               code_verifier=generate_token(48))
    assert httpx.get(metadata["userinfo_endpoint"], timeout=30).status_code == 401
