"""Attack: a production deploy started with the template's placeholders, a short or reused
key, or cookies without the Secure flag. Whoever reads the template (it is in the repository)
knows a CHANGE-ME key, so a forgotten one lets a stranger forge what the key protects: flow and
session token HMACs, the audit chain, the web pages' CSRF tokens. Cookies without Secure leak
the session to anyone on the same network over plain HTTP.

The control: each production process refuses to start, naming the setting, before it
connects to anything. These start the real service processes, as the image's command does.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dvcid.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def key() -> str:
    return secrets.token_urlsafe(32)


def production_env(**settings: str) -> dict[str, str]:
    """The ConfigMap's kind of environment, plus the given settings; nothing listens on the
    NATS and MongoDB ports, so a process that wrongly starts fails later, elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVCID_")}
    env.update({
        "DVCID_ENV": "production",
        "DVCID_NATS_URL": f"tls://127.0.0.1:{free_port()}",
        "DVCID_NATS_TLS_CA": "/etc/dvcid/nats-ca/ca.crt",
        "DVCID_MONGO_URL": f"mongodb://otp:{key()}@127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500",
        "DVCID_TELCO_URL": "https://telco.example.vn/telco",
        "DVCID_BHXH_URL": "https://bhxh.example.vn/bhxh",
        "DVCID_PORTAL_ORIGIN": "https://dichvucong.gov.vn",
        "DVCID_GATEWAY_PORT": str(free_port()),
    })
    env.update(settings)
    return env


def start_refused(service: str, env: dict[str, str]) -> str:
    """Runs ``python -m services.<service>``; returns its stderr, failing unless it stopped
    by itself, with an error, within the time a refused start takes."""
    try:
        done = subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"services.{service} started (was still running after 30 s)")
    assert done.returncode != 0, done.stderr[-2000:]
    return done.stderr


def test_otp_refuses_the_templates_placeholder_key() -> None:
    env = production_env(DVCID_OTP_SECRET="CHANGE-ME", DVCID_TWILIO_AUTH_TOKEN=secrets.token_hex(16))
    assert "DVCID_OTP_SECRET" in start_refused("otp", env)


def test_profile_refuses_a_short_key() -> None:
    env = production_env(DVCID_SESSION_SECRET="s3cr3t-from-the-vault", DVCID_FLOW_SECRET=key(),
                         DVCID_GUARD_SECRET=key(), DVCID_AUDIT_SECRET=key(),
                         DVCID_TELCO_API_KEY=secrets.token_hex(16))
    assert "DVCID_SESSION_SECRET" in start_refused("profile", env)


def test_profile_refuses_one_key_reused_for_two_purposes() -> None:
    reused = key()
    env = production_env(DVCID_SESSION_SECRET=reused, DVCID_FLOW_SECRET=key(),
                         DVCID_GUARD_SECRET=key(), DVCID_AUDIT_SECRET=reused,
                         DVCID_TELCO_API_KEY=secrets.token_hex(16))
    stderr = start_refused("profile", env)
    assert "DVCID_SESSION_SECRET" in stderr and "DVCID_AUDIT_SECRET" in stderr


def test_gateway_refuses_cookies_without_the_secure_flag() -> None:
    env = production_env(DVCID_WEB_SECRET=key(), DVCID_COOKIE_SECURE="false")
    assert "DVCID_COOKIE_SECURE" in start_refused("gateway", env)


def test_registration_refuses_an_empty_registry_key() -> None:
    env = production_env(DVCID_FLOW_SECRET=key(), DVCID_TELCO_API_KEY="",
                         DVCID_BHXH_API_KEY=secrets.token_hex(16))
    assert "DVCID_TELCO_API_KEY" in start_refused("registration", env)
