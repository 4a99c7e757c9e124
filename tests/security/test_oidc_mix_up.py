"""Attack: IdP mix-up (RFC 9207, OAuth 2.0 Security BCP 4.4) against a portal that trusts
several identity providers.

An attacker's provider makes the portal send the code dvcid issued to the attacker (or to the
wrong token endpoint). Control: every authorization response of dvcid, code or error, carries
``iss`` (its issuer, as discovery says, advertising
``authorization_response_iss_parameter_supported``), which the portal compares with the
provider it began the flow with; the ID token's ``iss`` is checked by the portal's library
(Authlib's ``CodeIDToken`` validation refuses a token of another issuer). Authlib's OAuth 2.0
client has no RFC 9207 check of the response itself (only a server extension), so the
portal's comparison of the response's ``iss`` is written here as an RP writes it.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest

from tests import test_oidc_e2e as op

pytestmark = pytest.mark.e2e

with warnings.catch_warnings():  # Authlib warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt
    from authlib.jose.errors import InvalidClaimError
    from authlib.oidc.core import CodeIDToken
    from joserfc.errors import InvalidClaimError as JoseInvalidClaim

metadata, portal, person = op.metadata, op.portal, op.person  # the fixtures
OTHER_IDP = "https://idp.attacker.example"


def response_from(expected_issuer: str, location: str) -> dict[str, str]:
    """The portal's RFC 9207 check: the response names the provider the flow began with."""
    got = op.answer(location)
    if got.get("iss") != expected_issuer:
        raise PermissionError("mix-up: the response is not from the expected provider")
    return got


def test_every_authorization_response_names_dvcid_and_a_mix_up_is_caught(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person) -> None:
    assert metadata["authorization_response_iss_parameter_supported"] is True
    started = op.start(portal, metadata)
    location = op.back_at_portal(person, started.url)
    assert response_from(metadata["issuer"], location)["code"]
    with pytest.raises(PermissionError):  # the portal thought it was talking to another IdP
        response_from(OTHER_IDP, location)
    error = person.browser.get(op.authorize_query(portal), follow_redirects=False)  # no PKCE
    assert response_from(metadata["issuer"], error.headers["location"])["error"]
    tokens = op.fetch(started, metadata, location)
    assert op.validated(tokens["id_token"], metadata, portal, started.nonce,
                        tokens["access_token"])["iss"] == metadata["issuer"]
    jwks = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"], timeout=30).json())
    claims = jwt.decode(tokens["id_token"], jwks, claims_cls=CodeIDToken,
                           claims_options={"iss": {"essential": True, "value": OTHER_IDP}},
                           claims_params={"nonce": started.nonce,
                                          "client_id": portal.client_id})
    # The library refuses the other issuer's token (Authlib's jose runs on joserfc).
    with pytest.raises((InvalidClaimError, JoseInvalidClaim), match="iss"):
        claims.validate(leeway=5)
