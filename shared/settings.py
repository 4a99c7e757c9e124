"""Settings common to every process, read from the environment (prefix ``DVCID_``).

Each service subclasses :class:`CommonSettings` in its own ``config.py``; that class is the one
place its configuration lives. In production the base class refuses every weak setting at
start-up, naming each: a secret that is a placeholder (the template's ``CHANGE-ME``, a
development default), empty, short, hand-made or reused for two settings
(shared/secret_strength.py), a placeholder password in a connection URL, NATS without TLS, any
sandbox URL, failpoints. A forgotten variable stops the process instead of weakening it. The
container image sets ``DVCID_IMAGE=1`` and no environment: inside it, ``DVCID_ENV`` must be given.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.secret_strength import CREDENTIAL_BYTES, KEY_BYTES, weakness

Environment = Literal["dev", "test", "production"]

# Development defaults. Production refuses to start while any secret still has one of these.
DEV_SECRET_PREFIX = "dev-insecure-"
# Setting names that hold secrets. ``*_secret``: keys dvcid makes and keeps (HMAC keys), 32
# random bytes. The others: credentials another system issues in its own format, 16 bytes.
KEY_SUFFIXES = ("_secret",)
CREDENTIAL_SUFFIXES = ("_token", "_api_key", "_password")
# Connection URLs whose user information (a password, a NATS token) is a credential.
CREDENTIAL_URLS = ("nats_url", "mongo_url")


def env_name(setting: str) -> str:
    """The environment variable of a setting, as an operator sets it."""
    return f"DVCID_{setting.upper()}"


class CommonSettings(BaseSettings):
    # hide_input_in_errors: a refused start-up prints the error, which must not quote the
    # secrets it was given (pydantic would show every input value).
    model_config = SettingsConfigDict(env_prefix="DVCID_", extra="ignore",
                                      hide_input_in_errors=True)

    env: Environment = "dev"
    # Set by the container image (deploy/Dockerfile): there DVCID_ENV has no default.
    image: bool = False
    nats_url: str = "nats://127.0.0.1:4222"
    # DVCID_NATS_TLS_CA: the CA file that signed the NATS servers' certificate. When set, the
    # connection is TLS from its first byte and trusts this CA only. Required in production.
    nats_tls_ca: str | None = None
    # This process's identity on NATS: the nkey seed file of its user in the server's
    # permission map (dvcid/nats_auth.py; `dvcid dev` writes them under .dev/nats-keys/).
    nats_nkey_seed_file: str | None = None
    # This instance's liveness (shared/liveness.py): the file its event loop touches while
    # healthy (default <tmp>/dvcid-<service>.alive) and how old it may be for the probe.
    heartbeat_file: str | None = None
    heartbeat_max_age_seconds: float = 30.0
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
    # How long the streams keep a message (issue 11: days, not months). Events are replayable
    # for a week; a dead letter waits two for an operator (dvcid admin dlq).
    events_max_age_days: float = Field(default=7.0, gt=0, le=30)
    dlq_max_age_days: float = Field(default=14.0, gt=0, le=30)
    # Prometheus metrics of this process on http://<metrics_host>:<metrics_port>/metrics
    # (shared/metrics.py); off when the port is unset. The gateway serves its own /metrics.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"

    def secret_fields(self) -> dict[str, str]:
        """Secrets declared by a subclass: every str field named ``*_secret`` (keys) or
        ``*_token``, ``*_api_key``, ``*_password`` (credentials); unset optional ones left out."""
        return {
            name: value
            for name, value in self.model_dump().items()
            if name.endswith(KEY_SUFFIXES + CREDENTIAL_SUFFIXES) and isinstance(value, str)
        }

    def url_credentials(self) -> dict[str, str]:
        """The secret in each connection URL that carries one: its password, else its user
        (a NATS token URL, ``tls://TOKEN@host``)."""
        found: dict[str, str] = {}
        for name in CREDENTIAL_URLS:
            netloc = urlsplit(str(getattr(self, name))).netloc
            if "@" in netloc:
                user, _, password = netloc.rpartition("@")[0].partition(":")
                found[name] = password or user
        return found

    def weak_secrets(self) -> list[str]:
        """What production refuses about the secrets, one line per setting, naming it."""
        problems = []
        for name, value in sorted(self.secret_fields().items()):
            need = KEY_BYTES if name.endswith(KEY_SUFFIXES) else CREDENTIAL_BYTES
            if why := weakness(value, need):
                problems.append(f"{env_name(name)} ({name}) {why}")
        credentials = self.url_credentials()
        for name, value in sorted(credentials.items()):
            if why := weakness(value, CREDENTIAL_BYTES):
                problems.append(f"{env_name(name)} ({name}) holds a password that {why}")
        by_value: dict[str, list[str]] = {}
        for name, value in [*self.secret_fields().items(), *credentials.items()]:
            if value.strip():
                by_value.setdefault(value, []).append(name)
        for names in by_value.values():
            if len(names) > 1:
                listed = ", ".join(f"{env_name(n)} ({n})" for n in sorted(names))
                problems.append(f"{listed} are one value reused: each needs its own")
        return problems

    def database_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"

    @model_validator(mode="after")
    def _environment_named_inside_the_image(self) -> CommonSettings:
        # The image does not choose: dev would run on keys everyone knows, production would
        # hide a dev compose file's omission. The operator says which (DVCID_ENV).
        if self.image and "env" not in self.model_fields_set:
            raise ValueError("DVCID_ENV is not set: this container image (DVCID_IMAGE=1) "
                             "has no default environment; set DVCID_ENV=production (or dev)")
        return self

    def production_problems(self) -> list[str]:
        """Everything production refuses in these settings, one line each, naming the
        setting. A service's settings extend it (``[*super().production_problems(), ...]``)
        so that one refused start lists every problem at once."""
        problems = self.weak_secrets()
        if not self.nats_tls_ca:
            problems.append("DVCID_NATS_TLS_CA (nats_tls_ca) is not set: production reaches "
                            "NATS over TLS only, checked against this CA")
        sandboxed = [
            name
            for name, value in self.model_dump().items()
            if name.endswith("_url") and isinstance(value, str) and "sandbox" in value.lower()
        ]
        if self.sandbox_url or sandboxed:
            problems.append("production refuses the sandbox world (DVCID_SANDBOX_URL)")
        if self.failpoints:
            problems.append("production refuses failpoints (DVCID_FAILPOINTS)")
        return problems

    @model_validator(mode="after")
    def _refuse_weak_settings_in_production(self) -> CommonSettings:
        if self.env == "production" and (problems := self.production_problems()):
            raise ValueError("production refuses to start: " + "; ".join(problems))
        return self
