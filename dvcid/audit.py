"""``dvcid admin verify-audit`` and ``dvcid admin export-audit``: the operator's side of the
account activity log, over NATS request/reply to the profile service (which holds the key the
chain is computed under: this tool never sees it).

    dvcid admin verify-audit [--account-id ID]   # OK, or each broken account's first bad entry
    dvcid admin export-audit --account-id ID     # the account's entries as JSON lines

verify-audit exits 0 when every chain checks out, 1 when one does not (the account and the
seq of its first entry that no longer fits), 3 when profile cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import nats
from nats.aio.client import Client as NATS

from dvcid.operator import connect_operator
from shared.contracts.profile import (
    ADMIN_EXPORT_AUDIT,
    ADMIN_VERIFY_AUDIT,
    AuditVerification,
    BrokenChain,
    ExportAudit,
    VerifyAudit,
)
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

COMMANDS = ("verify-audit", "export-audit")
_TIMEOUT = 60.0


def add_arguments(commands: Any) -> None:
    verify = commands.add_parser("verify-audit",
                                 help="recompute the activity log's hash chains")
    verify.add_argument("--account-id", help="one account (default: every account)")
    export = commands.add_parser("export-audit",
                                 help="an account's activity log as JSON lines")
    export.add_argument("--account-id", required=True)


def run(args: argparse.Namespace, nats_url: str) -> int:
    try:
        if args.admin_command == "verify-audit":
            return asyncio.run(_verify(nats_url, args.account_id))
        return asyncio.run(_export(nats_url, args.account_id))
    except RemoteError as exc:
        print(f"refused ({exc.error.get('code')}): {exc.error.get('detail')}", file=sys.stderr)
        return 1
    except (ServiceUnavailable, OSError, nats.errors.Error) as exc:
        print(f"the profile service is not reachable on {nats_url}: {exc!r}", file=sys.stderr)
        return 3


async def _connect(nats_url: str) -> NATS:
    return await connect_operator(nats_url)


async def _verify(nats_url: str, account_id: str | None) -> int:
    accounts = entries = 0
    broken: list[BrokenChain] = []
    async for page in _verify_pages(nats_url, account_id):
        accounts += page.accounts
        entries += page.entries
        broken += page.broken
    for found in broken:
        print(f"BROKEN account {found.account_id} at seq {found.seq}: {found.reason}")
    if broken:
        print(f"{len(broken)} of {accounts} accounts have a rewritten history", file=sys.stderr)
        return 1
    print(f"OK: {accounts} accounts, {entries} entries")
    return 0


async def _verify_pages(nats_url: str, account_id: str | None
                        ) -> AsyncIterator[AuditVerification]:
    nc = await _connect(nats_url)
    try:
        rpc = RpcClient(nc, timeout=_TIMEOUT)
        request = VerifyAudit(account_id=account_id) if account_id else VerifyAudit()
        while True:
            page = await rpc.ask(ADMIN_VERIFY_AUDIT, request)
            yield page
            if not page.next_after:
                return
            request = VerifyAudit(after=page.next_after)
    finally:
        await nc.drain()


async def _export(nats_url: str, account_id: str) -> int:
    nc = await _connect(nats_url)
    try:
        rpc = RpcClient(nc, timeout=_TIMEOUT)
        after = 0
        while True:
            page = await rpc.ask(ADMIN_EXPORT_AUDIT,
                                 ExportAudit(account_id=account_id, after_seq=after))
            for item in page.items:
                print(json.dumps(item.wire(), ensure_ascii=False, sort_keys=True))
            if not page.next_after:
                return 0
            after = page.next_after
    finally:
        await nc.drain()
