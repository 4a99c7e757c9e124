"""``dvcid signer``: build the backends from the settings and the command's options, then serve
the agent on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path

import uvicorn

from dvcid.signer.agent import SigningAgent
from dvcid.signer.app import create_app
from dvcid.signer.config import HOST, NoOriginConfigured, SignerSettings
from dvcid.signer.domain import SigningBackend
from dvcid.signer.pkcs11_backend import Pkcs11Backend
from dvcid.signer.pkcs12_backend import PasswordNeeded, Pkcs12Backend

log = logging.getLogger("dvcid.signer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pkcs11-module", action="append", default=[], metavar="PATH",
                        help="the token vendor's PKCS#11 driver (.so/.dll); repeatable")
    parser.add_argument("--pkcs12", action="append", default=[], type=Path, metavar="FILE",
                        help="a .p12/.pfx file (its password is the PIN); repeatable")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default 8787)")
    parser.add_argument("--origin", action="append", default=[], metavar="URL",
                        help="portal origin allowed to call the agent; repeatable "
                             "(default http://127.0.0.1:8000, none in production)")


def settings_from(args: argparse.Namespace) -> SignerSettings:
    settings = SignerSettings()
    updates: dict[str, object] = {}
    if args.pkcs11_module:
        updates["pkcs11_modules"] = args.pkcs11_module
    if args.pkcs12:
        updates["pkcs12_files"] = args.pkcs12
    if args.port is not None:
        updates["port"] = args.port
    if args.origin:
        updates["allowed_origins"] = args.origin
    return settings.model_copy(update=updates)


def build_backends(settings: SignerSettings, ask_password: bool = True) -> list[SigningBackend]:
    backends: list[SigningBackend] = [Pkcs11Backend(m) for m in settings.pkcs11_modules]
    for path in settings.pkcs12_files:
        password = (settings.pkcs12_read_password.get_secret_value()
                    if settings.pkcs12_read_password else None)
        if password is None and ask_password and Pkcs12Backend.needs_password(path):
            # Only to read the certificates it shows; each signature asks the PIN again.
            password = getpass.getpass(f"Mật khẩu tệp {path.name} (để đọc chứng thư số): ")
        try:
            backends.append(Pkcs12Backend(path, password, settings.pkcs12_max_attempts))
        except PasswordNeeded:
            log.error("cannot read %s: wrong password", path)
    return backends


def run_signer(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_from(args)
    if not settings.pkcs11_modules and not settings.pkcs12_files:
        print("dvcid signer: give --pkcs11-module PATH and/or --pkcs12 FILE", file=sys.stderr)
        return 2
    for path in settings.pkcs12_files:
        if not path.is_file():
            print(f"dvcid signer: no such file: {path}", file=sys.stderr)
            return 2
    try:
        origins = settings.origins()
    except NoOriginConfigured:
        print("dvcid signer: DVCID_ENV=production needs the portal origin "
              "(DVCID_SIGNER_ALLOWED_ORIGINS or --origin)", file=sys.stderr)
        return 2
    app = create_app(SigningAgent(build_backends(settings)), origins)
    print(f"dvcid signer on http://{HOST}:{settings.port} for {', '.join(origins)}")
    uvicorn.run(app, host=HOST, port=settings.port, log_level="info", server_header=False)
    return 0
