"""PKI use cases."""

from __future__ import annotations

from typing import Any

from cryptography import x509


async def status(trust_anchors: list[x509.Certificate]) -> dict[str, Any]:
    return {"trust_anchors": len(trust_anchors)}
