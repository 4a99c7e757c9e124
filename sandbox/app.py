"""The sandbox world as one FastAPI app: the simulated systems and the dev routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from sandbox.config import SandboxSettings
from sandbox.mail import Mailbox, SmtpServer
from sandbox.pki_world import install_pki
from sandbox.problems import document_dev_problems, on_validation_error
from sandbox.routes import bhxh, dev, telco, twilio
from sandbox.vneid import install_vneid
from sandbox.world import World
from shared.clock import Clock, system_clock


def create_app(settings: SandboxSettings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or SandboxSettings()
    app = FastAPI(title="dvcid sandbox world",
                  description="Simulated telco registry, BHXH registry, SMS gateway and dev routes. "
                              "Dev, demo and tests only; never production.")
    app.state.settings = settings
    app.state.world = World.from_seed(settings.sandbox_seed, clock)
    # The mailbox exists in any case (the /dev/mail routes read it); the SMTP server only
    # when a port is configured.
    app.state.mailbox = Mailbox(clock)
    if settings.sandbox_smtp_port is not None:
        smtp = SmtpServer(app.state.mailbox, settings.sandbox_host, settings.sandbox_smtp_port)
        app.router.on_startup.append(smtp.start)
        app.router.on_shutdown.append(smtp.stop)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.include_router(telco.router)
    app.include_router(twilio.router)
    app.include_router(dev.router)
    app.include_router(bhxh.router)
    app.include_router(bhxh.dev_router)
    # The sandbox CA (CRL, OCSP, /dev/certificates) and the SIM signature provider.
    install_pki(app, settings, clock)
    # VNeID, the national e-ID's OpenID Provider (sandbox/vneid).
    install_vneid(app, settings, clock)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    document_dev_problems(app)
    return app
