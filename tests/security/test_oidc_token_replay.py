"""Attack: replay of a spent authorization code or a rotated refresh token (OAuth 2.0 Security
BCP 4.14, RFC 6749 4.1.2).

A thief who copied a code or a refresh token uses it after (or before) its owner. Control: a
code is consumed by one atomic update and its second use revokes every token the first one
issued, access and refresh; a refresh token rotates on each use and a spent one used again ends
its whole family, the thief's and the owner's tokens alike (services/oidc/handlers.py
``_code_grant``, ``_refresh_grant``).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests import test_oidc_e2e as op

pytestmark = pytest.mark.e2e

with warnings.catch_warnings():  # Authlib warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client.errors import OAuthError

metadata, portal, person = op.metadata, op.portal, op.person  # the fixtures


def test_a_code_replayed_after_its_exchange_revokes_what_it_issued(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person) -> None:
    started = op.start(portal, metadata)
    location = op.back_at_portal(person, started.url)
    first = op.fetch(started, metadata, location)
    with pytest.raises(OAuthError) as refused:
        op.rp(portal).fetch_token(metadata["token_endpoint"], authorization_response=location,
                                  code_verifier=started.verifier)
    assert refused.value.error == "invalid_grant"
    assert op.userinfo_status(metadata, first["access_token"]) == 401
    with pytest.raises(OAuthError):  # the refresh token it issued ended too
        op.rp(portal).refresh_token(metadata["token_endpoint"],
                                    refresh_token=first["refresh_token"])


def test_a_refresh_token_replayed_after_rotation_ends_the_family(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person) -> None:
    started = op.start(portal, metadata)
    stolen = op.fetch(started, metadata, op.back_at_portal(person, started.url))
    owners = op.rp(portal).refresh_token(metadata["token_endpoint"],
                                         refresh_token=stolen["refresh_token"])
    with pytest.raises(OAuthError) as refused:  # the thief, with the spent token
        op.rp(portal).refresh_token(metadata["token_endpoint"],
                                    refresh_token=stolen["refresh_token"])
    assert refused.value.error == "invalid_grant"
    with pytest.raises(OAuthError):  # the owner's newer token ended with its family
        op.rp(portal).refresh_token(metadata["token_endpoint"],
                                    refresh_token=owners["refresh_token"])
    assert op.userinfo_status(metadata, owners["access_token"]) == 401
