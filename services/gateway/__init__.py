"""The gateway: the only HTTP entry of dvcid (``/api/v1``, API.md is its contract).

It holds no state and no business rules: it checks the shape of each request, calls the
owning service over NATS (``shared.rpc``), and maps answers and domain errors to HTTP
(RFC 9457 problems, ``problems.py``). It also sets the session cookies, guards them with a
CSRF token, forwards ``/dev/*`` to the sandbox world when one is configured, and serves the
operations endpoints (``/healthz``, ``/readyz``, ``/metrics``).
"""

SERVICE = "gateway"
VERSION = "0.1.0"
