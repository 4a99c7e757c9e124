"""Who may do what on NATS: one identity (an nkey user) per service, the gateway and the
operator, each with allow-lists for publish and subscribe, rendered as the nats-server
``authorization { users = [...] }`` block.

The same map runs everywhere: ``dvcid dev``, the end-to-end stack, the integration-test
servers and production (deploy/k8s renders its block from ``render_authorization``).
No anonymous user exists, so a client without one of these seeds cannot connect.

What the map says (docs/messaging.md has the contract):
- a service publishes only the events it owns (its outbox relay) and the dead letters of its
  own durable consumers, and touches in the JetStream API only the two streams and its own
  consumers; it never reads the dead-letter stream;
- a service answers only its own requests (``dvcid.<service>.>``, queue group) and its own
  ``$SRV`` discovery subjects; it replies through ``allow_responses`` (once per request);
- a caller reads replies only on its own inbox prefix ``_INBOX.<identity>``
  (``shared.bus.connect_nats`` sets it), so no one reads another's answers;
- the gateway requests only the public endpoints of registration and profile, never the
  operator's (``admin_*``) nor the services' internal ones;
- the operator (``dvcid admin``, ``nats micro ls|stats``) alone calls the operator endpoints
  and reads the dead-letter stream;
- the session mirror (issue 13, bucket ``DVCID_SESSIONS``): profile, its owner, alone writes
  it (and creates it); the gateway alone reads and watches it; nobody else touches it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nkeys

from shared.contracts.session_mirror import SESSIONS_BUCKET
from shared.events import DLQ_STREAM, DLQ_SUBJECT_PREFIX, EVENTS_STREAM, EVENTS_SUBJECT_PREFIX
from shared.events.subjects import IDEMPOTENCY_BUCKET

# -- the subject table ------------------------------------------------------------------------
# Events each service publishes (its outbox relay is the only publisher of its facts).
PUBLISHES: dict[str, tuple[str, ...]] = {
    "otp": ("OtpSent", "OtpVerified", "OtpFailed"),
    "pki": ("CertificateValidated", "CertificateRejected"),
    "registration": ("RegistrationRequested", "AccountCreated", "RegistrationCompleted",
                     "RegistrationFailed"),
    "profile": ("AccountActivated", "LoginSucceeded", "LoginFailed", "SessionRevoked", "PasswordChanged",
                "OtpPhoneReplaced", "ProfileUpdated", "AuthMethodAdded", "AuthMethodRemoved",
                "SecurityNoticeRequested"),
    "oidc": (),
}
# Durable consumers of each service on DVCID_EVENTS (``<service>-<purpose>``); a service
# dead-letters only its own durables' messages.
CONSUMES: dict[str, tuple[str, ...]] = {
    "otp": ("otp-registration-requested",),
    "pki": (),
    "registration": ("registration-otp-verified", "registration-account-created",
                     "registration-otp-failed", "registration-certificate-validated",
                     "registration-account-activated"),
    "profile": ("profile-account-created", "profile-security-notices",
                "profile-account-activity"),
    "oidc": ("oidc-session-revoked",),
}
# Endpoints no one but the operator may call.
OPERATOR_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "profile": ("admin_create_agent", "admin_create_agency", "admin_disable_agent",
                "admin_enable_agent", "admin_verify_audit", "admin_export_audit"),
    "oidc": ("admin_create_client", "admin_rotate_keys"),
}
# Endpoints that services call on each other and the gateway must not.
INTERNAL_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "profile": ("stage_credential", "oidc_claims", "oidc_session_alive"),
}
# Core NATS wake-ups a service sends only to its own instances (no payload; the truth is
# in its database): registration's "a flow's account is usable" (issue 12 read-your-writes).
SELF_NOTICES: dict[str, tuple[str, ...]] = {
    "registration": ("account_ready.*",),
}
# Which services' requests each service makes (caller -> callee -> endpoints, "*" = all of
# the callee's non-operator endpoints).
CALLS: dict[str, dict[str, tuple[str, ...]]] = {
    "otp": {},
    "pki": {},
    "registration": {"otp": ("*",), "pki": ("*",), "profile": ("stage_credential",)},
    "profile": {"otp": ("*",), "pki": ("*",)},
    # The OpenID Provider reads an account's claims and whether a session is alive, nothing
    # else of profile's.
    "oidc": {"profile": ("oidc_claims", "oidc_session_alive")},
}
# The services the gateway talks to (their public endpoints only), and pings for /readyz.
GATEWAY_CALLS = ("registration", "profile", "oidc")
# Single endpoints of other services the gateway reads: otp's timing for the OTP screens
# (services/gateway/web/otp_timing.py). otp's other endpoints stay closed to it.
GATEWAY_READS = {"otp": ("policy",)}
BUS_SERVICES = ("otp", "registration", "pki", "profile", "oidc")
OPERATOR = "operator"
GATEWAY = "gateway"
# The one writer of the session mirror (and its one reader, the gateway).
SESSION_MIRROR_OWNER = "profile"
# Integration tests only (conftest.py's servers, never dev, the e2e stack or production):
# everything, for shared/'s tests (the messaging foundation is no one service's) and for
# tests whose one connection plays several services (a service and its stand-ins).
TEST = "test"
IDENTITIES = (*BUS_SERVICES, GATEWAY, OPERATOR)

_JS = "$JS.API"


@dataclass(frozen=True)
class Permissions:
    publish_allow: tuple[str, ...]
    subscribe_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    # A responder may publish once to the reply subject of a request it received.
    allow_responses: bool = False

    def as_config(self) -> dict[str, object]:
        publish: dict[str, object] = {"allow": list(self.publish_allow)}
        if self.publish_deny:
            publish["deny"] = list(self.publish_deny)
        config: dict[str, object] = {"publish": publish,
                                     "subscribe": {"allow": list(self.subscribe_allow)}}
        if self.allow_responses:
            config["allow_responses"] = {"max": 1, "expires": "2m"}
        return config


def inbox(identity: str) -> str:
    """The reply-subject prefix of an identity (``connect_nats(..., identity=)`` uses it)."""
    return f"_INBOX.{identity}"


def _streams_upkeep() -> list[str]:
    # Every service creates the two streams at start-up if they are missing
    # (shared.bus.ensure_streams): info and create of these two only. Changing an existing
    # stream (its subjects could be widened to capture requests) is the operator's
    # (`dvcid admin streams`); nor can a service purge, delete or read them.
    return [f"{_JS}.{verb}.{stream}" for stream in (EVENTS_STREAM, DLQ_STREAM)
            for verb in ("STREAM.INFO", "STREAM.CREATE")]


def _consumer_subjects(durable: str) -> list[str]:
    base = f"{EVENTS_STREAM}.{durable}"
    return [f"{_JS}.CONSUMER.CREATE.{base}", f"{_JS}.CONSUMER.CREATE.{base}.>",
            f"{_JS}.CONSUMER.DURABLE.CREATE.{base}", f"{_JS}.CONSUMER.INFO.{base}",
            f"{_JS}.CONSUMER.MSG.NEXT.{base}", f"$JS.ACK.{base}.>",
            f"{DLQ_SUBJECT_PREFIX}.{durable}"]


def _requests(caller: str) -> list[str]:
    subjects: list[str] = []
    for callee, endpoints in CALLS[caller].items():
        if endpoints == ("*",):
            subjects.append(f"dvcid.{callee}.>")
        else:
            subjects += [f"dvcid.{callee}.{name}" for name in endpoints]
    return subjects


def _not_public(callee: str) -> list[str]:
    return [f"dvcid.{callee}.{name}"
            for name in (*OPERATOR_ENDPOINTS.get(callee, ()), *INTERNAL_ENDPOINTS.get(callee, ()),
                         *SELF_NOTICES.get(callee, ()))]


def service_permissions(service: str) -> Permissions:
    publish = [f"{EVENTS_SUBJECT_PREFIX}.{event}" for event in PUBLISHES[service]]
    publish += _streams_upkeep()
    for durable in CONSUMES[service]:
        publish += _consumer_subjects(durable)
    publish += _requests(service)
    publish += [f"dvcid.{service}.{notice}" for notice in SELF_NOTICES.get(service, ())]
    # A callee called wholesale still keeps its operator endpoints to the operator.
    deny = [f"dvcid.{callee}.{name}" for callee, endpoints in CALLS[service].items()
            if endpoints == ("*",) for name in OPERATOR_ENDPOINTS.get(callee, ())]
    if service == SESSION_MIRROR_OWNER:
        publish += _session_mirror_writes()
    subscribe = [f"dvcid.{service}.>", "$SRV.*", f"$SRV.*.{service}", f"$SRV.*.{service}.>",
                 f"{inbox(service)}.>"]
    return Permissions(tuple(publish), tuple(subscribe), tuple(deny), allow_responses=True)


def _idempotency_records() -> list[str]:
    # The gateway's Idempotency-Key bucket (services/gateway/idempotency.py): create it if
    # missing, read a key, write a key; no other stream.
    stream = f"KV_{IDEMPOTENCY_BUCKET}"
    return [f"$KV.{IDEMPOTENCY_BUCKET}.>", f"{_JS}.STREAM.INFO.{stream}",
            f"{_JS}.STREAM.CREATE.{stream}", f"{_JS}.STREAM.MSG.GET.{stream}"]


_SESSIONS_STREAM = f"KV_{SESSIONS_BUCKET}"


def _session_mirror_writes() -> list[str]:
    # Profile writes every key of the session mirror (shared/contracts/session_mirror.py),
    # creates the bucket if missing and reads a key (compare-and-set of a live entry).
    return [f"$KV.{SESSIONS_BUCKET}.>", f"{_JS}.STREAM.INFO.{_SESSIONS_STREAM}",
            f"{_JS}.STREAM.CREATE.{_SESSIONS_STREAM}", f"{_JS}.STREAM.MSG.GET.{_SESSIONS_STREAM}"]


def _session_mirror_watch() -> list[str]:
    # The gateway watches the session mirror (an ordered push consumer delivered to its own
    # inbox, with flow control) and reads the stream's last sequence (read-your-writes); it
    # never writes a key.
    return [f"{_JS}.STREAM.INFO.{_SESSIONS_STREAM}",
            f"{_JS}.CONSUMER.CREATE.{_SESSIONS_STREAM}",
            f"{_JS}.CONSUMER.CREATE.{_SESSIONS_STREAM}.>",
            f"{_JS}.CONSUMER.INFO.{_SESSIONS_STREAM}.>",
            f"{_JS}.CONSUMER.DELETE.{_SESSIONS_STREAM}.>",
            f"$JS.FC.{_SESSIONS_STREAM}.>"]


def gateway_permissions() -> Permissions:
    publish = [f"dvcid.{callee}.>" for callee in GATEWAY_CALLS]
    publish += [f"dvcid.{callee}.{name}" for callee, names in GATEWAY_READS.items()
                for name in names]
    publish += _idempotency_records()
    publish += _session_mirror_watch()
    publish += [f"$SRV.PING.{service}" for service in BUS_SERVICES]
    deny = [subject for callee in GATEWAY_CALLS for subject in _not_public(callee)]
    return Permissions(tuple(publish), (f"{inbox(GATEWAY)}.>",), tuple(deny))


def operator_permissions() -> Permissions:
    # The operator's endpoints, `nats micro ls|info|stats` ($SRV), the JetStream API (the
    # dead-letter stream: list, show, replay, discard) and re-publishing a dead letter to its
    # original event subject (replay).
    publish = [f"dvcid.{callee}.{name}" for callee, names in OPERATOR_ENDPOINTS.items()
               for name in names]
    publish += ["$SRV.>", f"{_JS}.>", f"$JS.ACK.{DLQ_STREAM}.>",
                f"{EVENTS_SUBJECT_PREFIX}.>"]
    return Permissions(tuple(publish), (f"{inbox(OPERATOR)}.>",))


def test_permissions() -> Permissions:
    return Permissions((">",), (">",), allow_responses=True)


def permissions_of(identity: str) -> Permissions:
    if identity in BUS_SERVICES:
        return service_permissions(identity)
    if identity == GATEWAY:
        return gateway_permissions()
    if identity == OPERATOR:
        return operator_permissions()
    if identity == TEST:
        return test_permissions()
    raise KeyError(f"no NATS identity named {identity!r}")


# -- keys and the server's configuration ------------------------------------------------------
@dataclass
class Keyring:
    """The seeds of every identity in one folder (``<identity>.nk``, mode 0600), made once."""

    folder: Path
    identities: tuple[str, ...] = IDENTITIES
    public: dict[str, str] = field(default_factory=dict)

    def seed_file(self, identity: str) -> Path:
        return self.folder / f"{identity}.nk"

    def ensure(self) -> Keyring:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        for identity in self.identities:
            path = self.seed_file(identity)
            if not path.exists():
                _write_secret(path, nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
            self.public[identity] = public_key(path.read_bytes())
        return self


def public_key(seed: bytes) -> str:
    pair = nkeys.from_seed(bytearray(seed.strip()))
    try:
        return pair.public_key.decode()
    finally:
        pair.wipe()


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def placeholder_keys() -> dict[str, str]:
    """The public keys of deploy/k8s's template (``dvcid nats-keys`` makes the real ones)."""
    return {identity: f"CHANGE-ME-{identity}-public-nkey" for identity in IDENTITIES}


def render_authorization(public_keys: Mapping[str, str]) -> str:
    """The ``authorization`` block for nats.conf: one nkey user per identity given."""
    users = [{"nkey": key, "permissions": permissions_of(identity).as_config()}
             for identity, key in public_keys.items()]
    # JSON is valid nats.conf syntax; the comments say whose key each is.
    lines = ["authorization {", "  users = ["]
    for identity, user in zip(public_keys, users, strict=True):
        lines.append(f"    # {identity}")
        lines.append(f"    {json.dumps(user, sort_keys=True)},")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def write_server_config(path: Path, keyring: Keyring, extra: Iterable[str] = ()) -> Path:
    """nats.conf holding the permission map (the rest of the settings stay on the command
    line, see dvcid.servers.nats_command)."""
    body = "\n".join([*extra, render_authorization(keyring.public)])
    path.write_text(body)
    return path


def run_nats_keys(folder: Path) -> int:
    """``dvcid nats-keys --dir DIR``: the seeds of every identity (kept if already there) and
    ``DIR/authorization.conf`` with their public keys, for production's NATS servers."""
    keyring = Keyring(folder).ensure()
    conf = folder / "authorization.conf"
    conf.write_text(render_authorization(keyring.public))
    for identity in keyring.identities:
        print(f"{identity:<13} {keyring.public[identity]}  seed {keyring.seed_file(identity)}")
    print(f"authorization block: {conf} (the nats-authorization ConfigMap, deploy/README.md)")
    return 0
