"""The operator's NATS connection: ``dvcid admin`` signs in as the ``operator`` identity of the
server's permission map (dvcid/nats_auth.py), the only one allowed the operator endpoints
(``admin_*``) and the dead-letter stream.

The seed file comes from ``--nats-seed`` or ``DVCID_NATS_NKEY_SEED_FILE`` (``dvcid dev``
prints its path: ``.dev/nats-keys/operator.nk``); the server is ``DVCID_NATS_URL``.
"""

from __future__ import annotations

import asyncio
import os
import sys

import nats
from nats.aio.client import Client as NATS
from pydantic import ValidationError

from shared.bus import connect_nats, ensure_streams
from shared.events import DLQ_STREAM, EVENTS_STREAM
from shared.nats_tls import nats_tls_options
from shared.rpc import RemoteError, ServiceUnavailable
from shared.settings import CommonSettings

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
IDENTITY = "operator"
SEED_ENV = "DVCID_NATS_NKEY_SEED_FILE"


def nats_url() -> str:
    return os.environ.get("DVCID_NATS_URL", DEFAULT_NATS_URL)


def seed_file(given: str | None = None) -> str | None:
    return given or os.environ.get(SEED_ENV) or None


async def connect_operator(url: str, seed: str | None = None) -> NATS:
    """One short-lived connection for one command (no endless reconnecting)."""
    # DVCID_NATS_TLS_CA: production's NATS speaks TLS only (shared/nats_tls.py).
    return await connect_nats(url, name="dvcid-admin", seed_file=seed_file(seed),
                              identity=IDENTITY, connect_timeout=5,
                              max_reconnect_attempts=1,
                              **await nats_tls_options(os.environ.get("DVCID_NATS_TLS_CA")))


def run_streams(url: str) -> int:
    """``dvcid admin streams``: the streams as the settings say (``DVCID_STREAM_REPLICAS``,
    ``DVCID_EVENTS_MAX_AGE_DAYS``, ``DVCID_DLQ_MAX_AGE_DAYS``). Only the operator may change
    an existing stream; the services only create missing ones."""
    try:
        return asyncio.run(_apply_streams(url))
    except (OSError, nats.errors.Error) as exc:
        print(f"NATS is not reachable on {url}: {exc!r}", file=sys.stderr)
        return 3


async def _apply_streams(url: str) -> int:
    settings = CommonSettings()
    nc = await connect_operator(url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings.stream_replicas, settings.events_max_age_days,
                             settings.dlq_max_age_days)
        for name in (EVENTS_STREAM, DLQ_STREAM):
            config = (await js.stream_info(name)).config
            days = (config.max_age or 0) / 86400
            print(f"{name}: replicas {config.num_replicas}, max age {days:g} days")
    finally:
        await nc.drain()
    return 0


# What an operator command may meet: a refusal, a request outside the contract's bounds (too
# long or empty to be sent at all), or a service that does not answer.
OPERATOR_FAILURES = (RemoteError, ValidationError, ServiceUnavailable, OSError, nats.errors.Error)


def report_failure(exc: BaseException, service: str, url: str) -> int:
    """Prints why an operator command failed, codes and field names only (never a value), and
    gives its exit status: 1 refused, 3 the service out of reach."""
    if isinstance(exc, RemoteError):
        fields = "; ".join(f"{f.get('name')}: {f.get('detail')}"
                           for f in exc.error.get("fields") or [])
        print(f"refused ({exc.error.get('code')}): {exc.error.get('detail')}"
              + (f" [{fields}]" if fields else ""), file=sys.stderr)
        return 1
    if isinstance(exc, ValidationError):
        names = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()}))
        print(f"refused (validation_error): [{names}]", file=sys.stderr)
        return 1
    print(f"the {service} service is not reachable on {url}: {exc!r}", file=sys.stderr)
    return 3
