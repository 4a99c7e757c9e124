"""TLS to NATS: the connection options for a CA file (``DVCID_NATS_TLS_CA``).

With a CA the client speaks TLS from its first byte (``tls_handshake_first``; the servers'
``tls { handshake_first: true }``, deploy/k8s/nats.yaml) instead of upgrading when the server's
INFO asks for it: an impostor on the path cannot answer in plain text and have the client
carry on without TLS. The server's certificate is checked against that CA alone and must name
the host the client dialled. No CA (dev, tests): plain connections, as before.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any


def _context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def nats_tls_options(ca_file: str | None) -> dict[str, Any]:
    """Keyword arguments for ``connect_nats`` / ``nats.connect``; empty without a CA file."""
    if not ca_file:
        return {}
    # Reads the CA file: off the event loop, as every file read.
    context = await asyncio.to_thread(_context, ca_file)
    return {"tls": context, "tls_handshake_first": True}
