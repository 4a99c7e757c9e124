"""oidc: dvcid as an OpenID Provider (clients, authorization codes, tokens, signing keys).

Design: docs/oidc.md. The gateway serves the HTTP endpoints and asks this service over RPC
(shared/contracts/oidc.py).
"""

__version__ = "0.1.0"
