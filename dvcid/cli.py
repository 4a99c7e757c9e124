"""The ``dvcid`` command: ``dvcid dev`` runs the whole system on this machine."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from dvcid import admin, asyncapi, nats_auth
from dvcid.devstack import run_dev
from dvcid.signer import server as signer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dvcid", description="dvcid account system")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole system locally (NATS, DB, sandbox, services)")
    dev.add_argument("--home", type=Path, default=Path(".dev"), help="data and logs folder")
    dev.add_argument("--fresh", action="store_true", help="start from empty data")
    dev.add_argument("--replicas", type=int, default=1, metavar="N",
                     help="instances of each bus service (otp, registration, pki, profile), "
                          "sharing the work in NATS queue groups (default 1)")
    dev.add_argument("--trace", action="store_true",
                     help="print each finished trace (every process's spans) as a tree here; "
                          "no collector needed")
    signer.add_arguments(commands.add_parser(
        "signer", help="the USB token signing agent the portal page calls (127.0.0.1)"))
    admin.add_arguments(commands.add_parser(
        "admin", help="operator commands: create post office agents and state agencies"))
    keys = commands.add_parser(
        "nats-keys", help="make the NATS identities' seeds (once) and the server's "
                          "authorization block (deploy: nats-authorization ConfigMap)")
    keys.add_argument("--dir", type=Path, required=True, help="where the seeds go (mode 0600)")
    spec = commands.add_parser(
        "asyncapi", help="print the AsyncAPI 3.0 document of every event and RPC subject "
                         f"(generated from the code; {asyncapi.REGENERATE})")
    spec.add_argument("--format", choices=("yaml", "json"), default="yaml")
    args = parser.parse_args(argv)
    if args.command == "dev":
        if args.fresh and args.home.exists():
            shutil.rmtree(args.home)
        if args.replicas < 1:
            parser.error("--replicas must be at least 1")
        return run_dev(args.home.resolve(), replicas=args.replicas, trace=args.trace)
    if args.command == "signer":
        return signer.run_signer(args)
    if args.command == "admin":
        return admin.run_admin(args)
    if args.command == "nats-keys":
        return nats_auth.run_nats_keys(args.dir)
    if args.command == "asyncapi":
        sys.stdout.write(asyncapi.as_yaml() if args.format == "yaml" else asyncapi.as_json())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
