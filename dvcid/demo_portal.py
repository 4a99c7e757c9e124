"""The demo client portal (``sandbox/demo_portal``) in ``dvcid dev``: registered at dvcid's
OpenID Provider as an operator would (``dvcid admin create-client``, run as the operator's NATS
identity), its client id and secret kept in a 0600 file under the stack's home and handed to the
portal process by its environment (the secret by file name only).

Idempotent across restarts: the file also records what the client was registered with (its
redirect, post-logout and back-channel logout URIs); as long as they match, the portal is not
registered again. A new port (or a file removed) registers a new client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NAME = "Cổng dịch vụ công tỉnh mẫu"
LOGIN_LABEL = "Đăng nhập bằng tài khoản Cổng DVCQG"
# Scopes dvcid knows (docs/oidc.md): the portal shows what they give.
SCOPE = "openid profile phone email vn_identity"


@dataclass(frozen=True)
class Registration:
    client_id: str
    secret_file: Path


def uris(portal_url: str) -> dict[str, str]:
    """What the portal is registered with."""
    return {"redirect_uri": f"{portal_url}/callback",
            "post_logout_redirect_uri": f"{portal_url}/",
            "backchannel_logout_uri": f"{portal_url}/backchannel-logout"}


def _write_private(path: Path, text: str) -> None:
    """A file only its owner reads (0600 from its creation: never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def register(folder: Path, portal_url: str, env: dict[str, str], log: Path,
             timeout: float = 60.0) -> Registration:
    """The portal's client at dvcid's provider: the one already made for these URIs, or a new
    one through ``dvcid admin create-client`` (``env``: the operator's NATS URL and seed)."""
    record_file, secret_file = folder / "client.json", folder / "client-secret"
    wanted = uris(portal_url)
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if record.get("uris") == wanted and secret_file.exists():
            return Registration(str(record["client_id"]), secret_file)
    except (OSError, ValueError, KeyError):
        pass
    done = subprocess.run(
        [sys.executable, "-m", "dvcid.cli", "admin", "create-client", "--name", NAME,
         "--redirect-uri", wanted["redirect_uri"],
         "--post-logout-redirect-uri", wanted["post_logout_redirect_uri"],
         "--backchannel-logout-uri", wanted["backchannel_logout_uri"]],
        env=env, capture_output=True, text=True, timeout=timeout, check=False)
    # The answer holds the secret: only stderr (no secret in it) goes to the log.
    with open(log, "a", encoding="utf-8") as out:
        out.write(done.stderr)
    answer = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    if done.returncode != 0 or "client_id" not in answer or "client_secret" not in answer:
        raise RuntimeError(f"dvcid admin create-client failed for the demo portal (log {log})")
    _write_private(secret_file, answer["client_secret"] + "\n")
    _write_private(record_file, json.dumps({"client_id": answer["client_id"], "uris": wanted},
                                           ensure_ascii=False, indent=2))
    return Registration(answer["client_id"], secret_file)


def portal_env(base: dict[str, str], registration: Registration, *, port: int, portal_url: str,
               issuer: str) -> dict[str, str]:
    """The portal process's environment: dvcid's provider unless ``DVCID_DEMO_PORTAL_ISSUER``
    is already set (e.g. ``<sandbox>/vneid``: then the VNeID client's settings apply)."""
    env = {**base, "DVCID_DEMO_PORTAL_PORT": str(port), "DVCID_DEMO_PORTAL_BASE_URL": portal_url,
           # Plain HTTP on loopback in dev: Authlib refuses it otherwise.
           "AUTHLIB_INSECURE_TRANSPORT": "1"}
    if "DVCID_DEMO_PORTAL_ISSUER" in base:
        return env
    return env | {"DVCID_DEMO_PORTAL_ISSUER": issuer,
                  "DVCID_DEMO_PORTAL_CLIENT_ID": registration.client_id,
                  "DVCID_DEMO_PORTAL_CLIENT_SECRET_FILE": str(registration.secret_file),
                  "DVCID_DEMO_PORTAL_SCOPE": SCOPE,
                  "DVCID_DEMO_PORTAL_LOGIN_LABEL": LOGIN_LABEL}
