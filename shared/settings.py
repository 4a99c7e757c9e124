"""Settings common to every process, read from the environment (prefix ``DVCID_``).

Each service subclasses :class:`CommonSettings` in its own ``config.py``; that class is the one
place its configuration lives. In production the base class refuses the development defaults
for secrets and any sandbox URL, so a forgotten variable stops the process instead of
weakening it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "production"]

# Development defaults. Production refuses to start while any secret still has one of these.
DEV_SECRET_PREFIX = "dev-insecure-"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCID_", extra="ignore")

    env: Environment = "dev"
    nats_url: str = "nats://127.0.0.1:4222"
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    # Prefix of every database name: one database per service (dvcid_otp, dvcid_profile, ...).
    db_prefix: str = "dvcid"
    log_level: str = "INFO"
    # Where the simulated outside world listens (dev and tests only).
    sandbox_url: str | None = None
    # Comma-separated failpoints for crash tests, e.g. "registration.after_commit".
    failpoints: str = ""
    # How long JetStream waits for an ack before redelivering to another consumer instance.
    bus_ack_wait_seconds: float = 30.0
    # JetStream replicas of the event and dead-letter streams: 3 on a 3-node cluster.
    stream_replicas: int = 1

    def secret_fields(self) -> dict[str, str]:
        """Secrets declared by a subclass: every str field whose name ends in ``_secret``."""
        return {
            name: value
            for name, value in self.model_dump().items()
            if name.endswith(("_secret", "_token")) and isinstance(value, str)
        }

    def database_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> CommonSettings:
        if self.env != "production":
            return self
        weak = [n for n, v in self.secret_fields().items() if v.startswith(DEV_SECRET_PREFIX)]
        if weak:
            raise ValueError(f"production refuses development secrets: {', '.join(sorted(weak))}")
        sandboxed = [
            name
            for name, value in self.model_dump().items()
            if name.endswith("_url") and isinstance(value, str) and "sandbox" in value.lower()
        ]
        if self.sandbox_url or sandboxed:
            raise ValueError("production refuses the sandbox world (DVCID_SANDBOX_URL)")
        if self.failpoints:
            raise ValueError("production refuses failpoints")
        return self
