"""Attack: token scanning at dvcid's OpenID Provider.

Someone guesses access or refresh tokens (or found one of another portal's in a log) and tries
them at userinfo, the token endpoint, introspection or revocation. Control: tokens are 256-bit
randoms kept as HMACs (nothing to enumerate); a guessed one is ``invalid_token`` or
``invalid_grant``; a portal introspecting another portal's token learns ``{active: false}``,
exactly as for a made-up one, and cannot revoke it (services/oidc/handlers.py ``introspect``,
``revoke``).
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import pytest

from dvcid.devstack import DevStack
from tests import test_oidc_e2e as op

pytestmark = pytest.mark.e2e

with warnings.catch_warnings():  # Authlib warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client.errors import OAuthError

metadata, portal, person = op.metadata, op.portal, op.person  # the fixtures


@pytest.fixture(scope="module")
def scanner(stack: DevStack) -> op.Portal:
    made = op.admin(stack, "create-client", "--name", "Cổng dò token",
                    "--redirect-uri", op.REDIRECT)
    return op.Portal(made["client_id"], made["client_secret"])


def test_guessed_tokens_give_nothing(metadata: dict[str, Any], scanner: op.Portal) -> None:
    for _ in range(5):
        guess = secrets.token_urlsafe(32)
        assert op.userinfo_status(metadata, guess) == 401
        with pytest.raises(OAuthError) as refused:
            op.rp(scanner).refresh_token(metadata["token_endpoint"], refresh_token=guess)
        assert refused.value.error == "invalid_grant"
        seen = op.rp(scanner).introspect_token(metadata["introspection_endpoint"], token=guess)
        assert seen.status_code == 200 and seen.json() == {"active": False}


def test_another_portals_tokens_give_nothing_and_stay_alive(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person,
        scanner: op.Portal) -> None:
    started = op.start(portal, metadata)
    tokens = op.fetch(started, metadata, op.back_at_portal(person, started.url))
    for token in (tokens["access_token"], tokens["refresh_token"]):
        seen = op.rp(scanner).introspect_token(metadata["introspection_endpoint"], token=token)
        assert seen.status_code == 200 and seen.json() == {"active": False}
        ended = op.rp(scanner).revoke_token(metadata["revocation_endpoint"], token=token)
        assert ended.status_code == 200  # RFC 7009: the same answer whatever the token
    with pytest.raises(OAuthError) as refused:  # another portal's refresh token
        op.rp(scanner).refresh_token(metadata["token_endpoint"],
                                     refresh_token=tokens["refresh_token"])
    assert refused.value.error == "invalid_grant"
    # Untouched for their owner.
    assert op.userinfo_status(metadata, tokens["access_token"]) == 200
    owner = op.rp(portal).introspect_token(metadata["introspection_endpoint"],
                                           token=tokens["refresh_token"])
    assert owner.json()["active"] is True
    assert op.rp(portal).refresh_token(metadata["token_endpoint"],
                                       refresh_token=tokens["refresh_token"])["access_token"]
