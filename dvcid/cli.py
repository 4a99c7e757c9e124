"""The ``dvcid`` command: ``dvcid dev`` runs the whole system on this machine."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from dvcid import admin
from dvcid.devstack import run_dev
from dvcid.signer import server as signer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dvcid", description="dvcid account system")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole system locally (NATS, DB, sandbox, services)")
    dev.add_argument("--home", type=Path, default=Path(".dev"), help="data and logs folder")
    dev.add_argument("--fresh", action="store_true", help="start from empty data")
    signer.add_arguments(commands.add_parser(
        "signer", help="the USB token signing agent the portal page calls (127.0.0.1)"))
    admin.add_arguments(commands.add_parser(
        "admin", help="operator commands: create post office agents and state agencies"))
    args = parser.parse_args(argv)
    if args.command == "dev":
        if args.fresh and args.home.exists():
            shutil.rmtree(args.home)
        return run_dev(args.home.resolve())
    if args.command == "signer":
        return signer.run_signer(args)
    if args.command == "admin":
        return admin.run_admin(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
