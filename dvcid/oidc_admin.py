"""``dvcid admin create-client`` and ``rotate-keys``: the OpenID Provider's relying parties and
signing keys (services/oidc, docs/oidc.md), as the operator identity.

    dvcid admin create-client --name "Cổng DVC Hà Nội" --redirect-uri https://dvc.hanoi.gov.vn/cb \
        --jwks-uri https://dvc.hanoi.gov.vn/jwks.json          # private_key_jwt (preferred)
    dvcid admin create-client --name "Cổng DVC Huế" --redirect-uri https://dvc.hue.gov.vn/cb \
        --jwks-file hue-public-keys.json                       # private_key_jwt, keys given
    dvcid admin create-client --name "Cổng DVC Hà Nội" --redirect-uri https://dvc.hanoi.gov.vn/cb
                                                               # client_secret_basic
    dvcid admin create-client --name "Ứng dụng di động" --redirect-uri http://127.0.0.1:7000/cb --public
    dvcid admin rotate-keys

A client_secret_basic client's secret (256 bits from ``secrets``) is made here and printed
once; only its SHA-256 crosses the bus and reaches the database. A private_key_jwt client
registers its public keys only; a public client has no secret (PKCE only).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import secrets
import sys
from typing import Any

from dvcid.operator import OPERATOR_FAILURES, connect_operator, report_failure
from shared.contracts.base import Empty
from shared.contracts.oidc import (
    ADMIN_CREATE_CLIENT,
    ADMIN_ROTATE_KEYS,
    ClientJwks,
    ClientView,
    CreateClient,
    KeysRotated,
)
from shared.rpc import RpcClient

COMMANDS = ("create-client", "rotate-keys")


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


async def create_client(nats_url: str, *, name: str, redirect_uris: list[str], public: bool,
                        jwks_uri: str | None = None, jwks: dict[str, Any] | None = None,
                        post_logout_redirect_uris: list[str] | None = None,
                        backchannel_logout_uri: str | None = None,
                        require_par: bool = False,
                        seed_file: str | None = None) -> tuple[ClientView, str | None]:
    by_keys = jwks_uri is not None or jwks is not None
    secret = None if public or by_keys else new_client_secret()
    how: dict[str, Any] = {}
    if secret:
        how["secret_sha256"] = hashlib.sha256(secret.encode()).hexdigest()
    if jwks_uri:
        how["jwks_uri"] = jwks_uri
    if jwks is not None:
        how["jwks"] = ClientJwks.model_validate(jwks)
    if post_logout_redirect_uris:
        how["post_logout_redirect_uris"] = post_logout_redirect_uris
    if backchannel_logout_uri:
        how["backchannel_logout_uri"] = backchannel_logout_uri
    if require_par:
        how["require_pushed_authorization_requests"] = True
    request = CreateClient(name=name, redirect_uris=redirect_uris, public=public, **how)
    nc = await connect_operator(nats_url, seed_file)
    try:
        client = await RpcClient(nc, timeout=15).ask(ADMIN_CREATE_CLIENT, request)
    finally:
        await nc.drain()
    return client, secret


async def rotate_keys(nats_url: str, seed_file: str | None = None) -> KeysRotated:
    nc = await connect_operator(nats_url, seed_file)
    try:
        return await RpcClient(nc, timeout=15).ask(ADMIN_ROTATE_KEYS, Empty())
    finally:
        await nc.drain()


def add_arguments(commands: Any) -> None:
    client = commands.add_parser("create-client", help="register a relying party (OpenID Connect)")
    client.add_argument("--name", required=True, help='the portal\'s name, e.g. "Cổng DVC Hà Nội"')
    client.add_argument("--redirect-uri", required=True, action="append", dest="redirect_uris",
                        help="an exact redirect URI (repeat for several; one host)")
    client.add_argument("--post-logout-redirect-uri", action="append",
                        dest="post_logout_redirect_uris",
                        help="where the portal may send the browser after logging out "
                             "(exact; repeat for several)")
    client.add_argument("--backchannel-logout-uri",
                        help="where dvcid POSTs a logout token when a session the portal signed "
                             "in with ends (back-channel logout)")
    client.add_argument("--require-par", action="store_true", dest="require_par",
                        help="the portal's authorization requests come through /oidc/par only "
                             "(pushed authorization requests, RFC 9126)")
    how = client.add_mutually_exclusive_group()
    how.add_argument("--jwks-uri", help="private_key_jwt: where the portal publishes its public "
                                        "keys (JWK Set, https)")
    how.add_argument("--jwks-file", help="private_key_jwt: a file holding its public keys "
                                         "(JWK Set JSON)")
    how.add_argument("--public", action="store_true",
                     help="a public client: no secret, PKCE only")
    # None of them: client_secret_basic, with a secret made here and shown once.
    commands.add_parser("rotate-keys", help="a new ID token signing key; the old one stays "
                                            "published until its tokens expire")


def _read_jwks(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as keys:
            return json.load(keys)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read the JWK Set in {path}: {exc}") from None


def run(args: argparse.Namespace, nats_url: str) -> int:
    try:
        if args.admin_command == "rotate-keys":
            rotated = asyncio.run(rotate_keys(nats_url))
            print(f"kid: {rotated.kid}")
            print(f"published: {' '.join(rotated.published)}")
            return 0
        jwks = _read_jwks(args.jwks_file) if args.jwks_file else None
        client, secret = asyncio.run(create_client(
            nats_url, name=args.name, redirect_uris=args.redirect_uris, public=args.public,
            jwks_uri=args.jwks_uri, jwks=jwks,
            post_logout_redirect_uris=args.post_logout_redirect_uris,
            backchannel_logout_uri=args.backchannel_logout_uri,
            require_par=args.require_par))
    except OPERATOR_FAILURES as exc:
        return report_failure(exc, "oidc", nats_url)
    print(f"client_id: {client.client_id}")
    print(f"token_endpoint_auth_method: {client.token_endpoint_auth_method}")
    for uri in client.redirect_uris:
        print(f"redirect_uri: {uri}")
    for uri in client.post_logout_redirect_uris or []:
        print(f"post_logout_redirect_uri: {uri}")
    if client.backchannel_logout_uri:
        print(f"backchannel_logout_uri: {client.backchannel_logout_uri}")
    if secret:
        print(f"client_secret: {secret}")
        print("The client secret is shown once and stored nowhere (only its hash): hand it to "
              "the portal's operator over a secure channel.", file=sys.stderr)
    return 0
