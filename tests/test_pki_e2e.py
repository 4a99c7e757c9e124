"""The pki process of the dev stack trusts the sandbox CA through its ordinary trust-store
configuration and validates sandbox certificates with real CRL/OCSP fetches."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from dvcid.devstack import DevStack
from services.pki.tests.signing import sign
from shared.bus import connect_nats
from shared.rpc import RemoteError, RpcClient

pytestmark = pytest.mark.e2e


async def test_pki_validates_a_sandbox_certificate(stack: DevStack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as api:
        issued = (await api.post("/dev/certificates", json={
            "subject_type": "citizen", "id_number": "048088004567",
            "full_name": "Lê Hoàng Cường", "key_type": "rsa"})).json()
        revoked = (await api.post("/dev/certificates", json={
            "subject_type": "citizen", "id_number": "048088004567",
            "full_name": "Lê Hoàng Cường", "key_type": "ec"})).json()
        assert (await api.post(f"/dev/certificates/{revoked['serial']}/revoke")).status_code == 200
    # As registration (a caller of pki) would: the stack's permission map is the real one.
    nc = await connect_nats(stack.nats_url, name="pki-e2e",
                            seed_file=stack.nats_seed("registration"), identity="registration")
    try:
        rpc = RpcClient(nc, timeout=15)
        assert (await rpc.call("pki", "status"))["trust_anchors"] == 1
        for material, expected in ((issued, None), (revoked, "certificate_revoked")):
            flow = {"flow_id": str(uuid.uuid4()), "purpose": "login"}
            challenge = base64.b64decode((await rpc.call("pki", "challenge", flow))["challenge"])
            payload = {**flow, "certificate": material["certificate_pem"],
                       "chain": material["chain_pem"],
                       "signature": sign(material["private_key_pem"], challenge)}
            if expected is None:
                result = await rpc.call("pki", "verify_signature", payload)
                assert result["identity"]["id_number"] == "048088004567"
            else:
                with pytest.raises(RemoteError) as err:
                    await rpc.call("pki", "verify_signature", payload)
                assert err.value.code == expected
    finally:
        await nc.drain()
