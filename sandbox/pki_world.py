"""The PKI part of the sandbox world: the CA and the mobile signature (SIM) provider."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from sandbox.ca import SandboxCA
from sandbox.config import SandboxSettings
from sandbox.routes import ca, mobile_signature
from sandbox.sim import SimProvider
from shared.clock import Clock


def install_pki(app: FastAPI, settings: SandboxSettings, clock: Clock) -> None:
    app.state.ca = SandboxCA(settings.public_url(), clock, settings.sandbox_ca_dir,
                             timedelta(seconds=settings.sandbox_ca_freshness_seconds))
    app.state.sim = SimProvider(clock, timedelta(seconds=settings.sandbox_sim_timeout_seconds))
    app.include_router(ca.router)
    app.include_router(mobile_signature.router)
