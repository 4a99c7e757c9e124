"""``dvcid admin``: the operator's commands, over NATS request/reply to the profile service.

    dvcid admin create-agent --id-number 001088001122 --full-name "Lê Thị Thu" \\
        --phone 0912000111 --office "Bưu điện Hà Nội" [--office-code HN-001]
    dvcid admin create-agency --code 000.00.00.H29 --name "Sở Tư pháp Hà Nội" \\
        --email stp@hanoi.gov.vn --phone 0913000222 [--user-id-number ... --user-full-name ...]
    dvcid admin disable-agent --username NV12345678   # no login, sessions end, no counter
    dvcid admin enable-agent --username NV12345678

The NATS server is ``DVCID_NATS_URL`` (default ``nats://127.0.0.1:4222``); the tool signs in
as the operator identity (``--nats-seed`` or ``DVCID_NATS_NKEY_SEED_FILE``, dvcid/operator.py),
the only one the server lets call these endpoints. The one-time
initial password is made here with ``secrets`` and hashed here (argon2id): only the hash
crosses the bus and reaches the database. The username and the password are printed once on
standard output for the operator to hand over in person (staff accounts are set up by an
operator who meets the clerk or the agency's officer; an SMS would put a working password on
a phone the system has not verified yet). Nothing is logged; the account must change the
password at its first login, then confirm an OTP sent to the phone given here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any

import nats

from dvcid import audit, dlq, oidc_admin, operator
from dvcid.operator import OPERATOR_FAILURES, connect_operator, report_failure
from shared import crypto
from shared.contracts.base import RequestT, Rpc
from shared.contracts.profile import (
    ADMIN_CREATE_AGENCY,
    ADMIN_CREATE_AGENT,
    ADMIN_DISABLE_AGENT,
    ADMIN_ENABLE_AGENT,
    AgentRef,
    AgentState,
    CreateAgency,
    CreateAgent,
    CreatedStaffAccount,
)
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
PASSWORD_LENGTH = 14
# No look-alikes (0/O, 1/l/I); symbols every keyboard has.
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "#@%+=!?"


@dataclass(frozen=True)
class CreatedAccount:
    account_id: str
    username: str
    initial_password: str
    details: dict[str, Any]


def initial_password() -> str:
    """14 characters from ``secrets`` with every class the password rule asks for."""
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    chars = [secrets.choice(s) for s in (_LOWER, _UPPER, _DIGITS, _SYMBOLS)]
    chars += [secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


async def create_agent(nats_url: str, *, id_number: str, full_name: str, phone: str,
                       office: str, office_code: str | None = None,
                       seed_file: str | None = None) -> CreatedAccount:
    password = initial_password()
    request = CreateAgent(id_number=id_number, full_name=full_name, phone=phone, office=office,
                          password_hash=await crypto.hash_password(password),
                          **({"office_code": office_code} if office_code else {}))
    return await _create(nats_url, ADMIN_CREATE_AGENT, request, password, seed_file)


async def create_agency(nats_url: str, *, code: str, name: str, phone: str,
                        email: str | None = None, user_id_number: str | None = None,
                        user_full_name: str | None = None,
                        seed_file: str | None = None) -> CreatedAccount:
    password = initial_password()
    optional = {"email": email, "user_id_number": user_id_number,
                "user_full_name": user_full_name}
    request = CreateAgency(code=code, name=name, phone=phone,
                           password_hash=await crypto.hash_password(password),
                           **{k: v for k, v in optional.items() if v})
    return await _create(nats_url, ADMIN_CREATE_AGENCY, request, password, seed_file)


async def set_agent_disabled(nats_url: str, username: str, disabled: bool,
                             seed_file: str | None = None) -> AgentState:
    """Disables (or enables again) a post-office agent's account."""
    endpoint = ADMIN_DISABLE_AGENT if disabled else ADMIN_ENABLE_AGENT
    nc = await connect_operator(nats_url, seed_file)
    try:
        return await RpcClient(nc, timeout=15).ask(endpoint, AgentRef(username=username))
    finally:
        await nc.drain()


async def _create(nats_url: str, endpoint: Rpc[RequestT, CreatedStaffAccount],
                  request: RequestT, password: str,
                  seed_file: str | None = None) -> CreatedAccount:
    nc = await connect_operator(nats_url, seed_file)
    try:
        created = await RpcClient(nc, timeout=15).ask(endpoint, request)
    finally:
        await nc.drain()
    return CreatedAccount(account_id=created.account_id, username=created.username,
                          initial_password=password, details=created.wire())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats-seed", metavar="FILE",
                        help="the operator's NATS nkey seed (default: $DVCID_NATS_NKEY_SEED_FILE)")
    commands = parser.add_subparsers(dest="admin_command", required=True)
    agent = commands.add_parser("create-agent", help="a post office clerk's account")
    agent.add_argument("--id-number", required=True, help="the clerk's CCCD/CMND")
    agent.add_argument("--full-name", required=True)
    agent.add_argument("--phone", required=True, help="the clerk's mobile (login OTP)")
    agent.add_argument("--office", required=True, help='e.g. "Bưu điện Hà Nội"')
    agent.add_argument("--office-code", help="the post office's code")
    agency = commands.add_parser("create-agency", help="a state agency's account")
    agency.add_argument("--code", required=True, help="agency code (the login name)")
    agency.add_argument("--name", required=True)
    agency.add_argument("--email", help="the agency's contact e-mail")
    agency.add_argument("--phone", required=True, help="the first user's mobile (login OTP)")
    agency.add_argument("--user-id-number", help="the first user's CCCD/CMND")
    agency.add_argument("--user-full-name", help="the first user's full name")
    for name, help_text in (("disable-agent", "stop a post office clerk: no login, their "
                                              "sessions end, counter calls refused"),
                            ("enable-agent", "let a disabled clerk log in again")):
        state = commands.add_parser(name, help=help_text)
        state.add_argument("--username", required=True, help="the clerk's username (NV…)")
    # The account activity log: verify-audit, export-audit (audit.py).
    audit.add_arguments(commands)
    # The dead-letter stream: dlq list, show, replay, discard (dlq.py).
    dlq.add_arguments(commands)
    # The OpenID Provider: create-client, rotate-keys (oidc_admin.py).
    oidc_admin.add_arguments(commands)
    commands.add_parser("streams", help="create the event and dead-letter streams or apply "
                                        "their configured replicas and retention (DVCID_*)")


def run_admin(args: argparse.Namespace) -> int:
    nats_url = os.environ.get("DVCID_NATS_URL", DEFAULT_NATS_URL)
    if args.nats_seed:
        # One place the commands below (and audit.py) read it from: the operator connection.
        os.environ["DVCID_NATS_NKEY_SEED_FILE"] = args.nats_seed
    if args.admin_command in audit.COMMANDS:
        return audit.run(args, nats_url)
    if args.admin_command in dlq.COMMANDS:
        return dlq.run(args, nats_url)
    if args.admin_command in oidc_admin.COMMANDS:
        return oidc_admin.run(args, nats_url)
    if args.admin_command == "streams":
        return operator.run_streams(nats_url)
    if args.admin_command in ("disable-agent", "enable-agent"):
        return _run_agent_state(args.username, args.admin_command == "disable-agent", nats_url)
    try:
        if args.admin_command == "create-agent":
            created = asyncio.run(create_agent(
                nats_url, id_number=args.id_number, full_name=args.full_name, phone=args.phone,
                office=args.office, office_code=args.office_code))
        else:
            created = asyncio.run(create_agency(
                nats_url, code=args.code, name=args.name, phone=args.phone, email=args.email,
                user_id_number=args.user_id_number, user_full_name=args.user_full_name))
    except OPERATOR_FAILURES as exc:
        return report_failure(exc, "profile", nats_url)
    print(f"account_id: {created.account_id}")
    print(f"username: {created.username}")
    print(f"initial_password: {created.initial_password}")
    print("The initial password is shown once and stored nowhere: hand it over in person. "
          "It must be changed at the first login.", file=sys.stderr)
    return 0


def _run_agent_state(username: str, disabled: bool, nats_url: str) -> int:
    try:
        answer = asyncio.run(set_agent_disabled(nats_url, username, disabled))
    except RemoteError as exc:
        print(f"refused ({exc.error.get('code')}): {exc.error.get('detail')}", file=sys.stderr)
        return 1
    except (ServiceUnavailable, OSError, nats.errors.Error) as exc:
        print(f"the profile service is not reachable on {nats_url}: {exc!r}", file=sys.stderr)
        return 3
    print(f"account_id: {answer.account_id}")
    print(f"username: {answer.username}")
    print(f"disabled: {str(answer.disabled).lower()}")
    if disabled:
        print(f"sessions_ended: {answer.sessions_ended or 0}")
    return 0
