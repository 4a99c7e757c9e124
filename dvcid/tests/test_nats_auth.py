"""The permission map matches the code it guards: every event a service's code publishes, every
durable consumer it declares and every operator endpoint it serves is in the table, so a new
one cannot slip past the map (or be refused in production without a test noticing)."""

from __future__ import annotations

import re
from pathlib import Path

import nkeys
import pytest

from dvcid import nats_auth
from dvcid.nats_auth import Keyring, permissions_of, render_authorization
from shared.contracts import profile as profile_contracts
from shared.contracts.session_mirror import SESSIONS_BUCKET
from shared.events.schemas import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def _sources(service: str) -> str:
    folder = ROOT / "services" / service
    return "\n".join(p.read_text() for p in folder.rglob("*.py") if "tests" not in p.parts)


@pytest.mark.parametrize("service", nats_auth.BUS_SERVICES)
def test_each_service_publishes_exactly_the_events_its_code_makes(service: str) -> None:
    made = {name for name in EVENT_TYPES
            if re.search(rf"\b{name}(\.model_validate)?\(", _sources(service))}
    assert set(nats_auth.PUBLISHES[service]) == made


def test_every_event_has_exactly_one_publisher() -> None:
    owners = [event for events in nats_auth.PUBLISHES.values() for event in events]
    assert sorted(owners) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("service", nats_auth.BUS_SERVICES)
def test_each_service_declares_exactly_its_durable_consumers(service: str) -> None:
    declared = set(re.findall(r'_CONSUMER = "([a-z-]+)"', _sources(service)))
    assert set(nats_auth.CONSUMES[service]) == declared
    assert all(name.startswith(f"{service}-") for name in declared)


def _served_by_profile() -> set[str]:
    """The endpoints profile's entrypoints serve (``serve(P.NAME, ...)``), by subject name."""
    constants = re.findall(r"serve\(P\.([A-Z_]+),", (ROOT / "services" / "profile"
                                                     / "entrypoints.py").read_text())
    return {getattr(profile_contracts, name).endpoint for name in constants}


def test_every_operator_endpoint_is_kept_to_the_operator() -> None:
    served = {name for name in _served_by_profile() if name.startswith("admin_")}
    assert served and served == set(nats_auth.OPERATOR_ENDPOINTS["profile"])
    for identity in (*nats_auth.BUS_SERVICES, nats_auth.GATEWAY):
        permissions = permissions_of(identity)
        for name in served:
            subject = f"dvcid.profile.{name}"
            assert subject not in permissions.publish_allow
            if any(allowed.startswith("dvcid.profile.") and allowed.endswith(">")
                   for allowed in permissions.publish_allow):
                assert subject in permissions.publish_deny, identity


def test_only_the_operator_touches_the_dead_letter_stream() -> None:
    for identity in (*nats_auth.BUS_SERVICES, nats_auth.GATEWAY):
        allowed = permissions_of(identity).publish_allow
        dlq_reads = [s for s in allowed if "DVCID_DLQ" in s and "STREAM" not in s]
        assert dlq_reads == [], identity
        assert not any(s.startswith("$JS.API.>") or s == ">" for s in allowed), identity
    assert "$JS.API.>" in permissions_of(nats_auth.OPERATOR).publish_allow


def test_everyone_reads_replies_on_its_own_inbox_only() -> None:
    for identity in nats_auth.IDENTITIES:
        inboxes = [s for s in permissions_of(identity).subscribe_allow if s.startswith("_INBOX")]
        assert inboxes == [f"_INBOX.{identity}.>"], identity


def test_the_keyring_is_made_once_and_kept_private(tmp_path: Path) -> None:
    keys = Keyring(tmp_path / "keys").ensure()
    first = dict(keys.public)
    again = Keyring(tmp_path / "keys").ensure()
    assert again.public == first and len(set(first.values())) == len(nats_auth.IDENTITIES)
    seed = keys.seed_file("operator")
    assert seed.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert nkeys.from_seed(bytearray(seed.read_bytes())).public_key.decode() == first["operator"]


def test_the_rendered_block_names_every_identity_and_no_anonymous_user(tmp_path: Path) -> None:
    keys = Keyring(tmp_path / "keys").ensure()
    block = render_authorization(keys.public)
    assert block.startswith("authorization {")
    for identity, key in keys.public.items():
        assert f"# {identity}" in block and key in block
    assert "no_auth_user" not in block and "token" not in block
    for identity in keys.public:  # public keys only: no seed in the server's configuration
        assert keys.seed_file(identity).read_text().strip() not in block


def test_only_registration_sends_its_account_ready_wake_ups() -> None:
    # Read-your-writes (issue 12): registration wakes its own waiting steps; the gateway,
    # which may request dvcid.registration.>, may not (a wake-up only makes a step re-read
    # its record, but no one else has a reason to send one).
    subject = "dvcid.registration.account_ready.*"
    assert subject in permissions_of("registration").publish_allow
    assert subject in permissions_of(nats_auth.GATEWAY).publish_deny
    for service in ("otp", "pki", "profile"):
        assert subject not in permissions_of(service).publish_allow


def test_only_profile_writes_the_session_mirror_and_only_the_gateway_watches_it() -> None:
    writes, stream = f"$KV.{SESSIONS_BUCKET}.>", f"KV_{SESSIONS_BUCKET}"
    for identity in (*nats_auth.BUS_SERVICES, nats_auth.GATEWAY, nats_auth.OPERATOR):
        allowed = permissions_of(identity).publish_allow
        assert (writes in allowed) == (identity == nats_auth.SESSION_MIRROR_OWNER), identity
        watches = f"$JS.API.CONSUMER.CREATE.{stream}" in allowed
        assert watches == (identity == nats_auth.GATEWAY), identity
        if identity not in (nats_auth.SESSION_MIRROR_OWNER, nats_auth.GATEWAY):
            assert not any(stream in s or SESSIONS_BUCKET in s for s in allowed), identity
    # The writer's code and the watcher's code name the bucket through the one constant.
    assert "SESSIONS_BUCKET" in _sources("profile") and "SESSIONS_BUCKET" in _sources("gateway")
