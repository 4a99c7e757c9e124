"""Builds the registration use cases once from their ports (cosmicpython's bootstrap): the
flow core, one strategy per method, the endpoints and the event consumers. ``entrypoints.py``
passes the real adapters, the unit tests fakes.

A new registration method is one module in ``methods/`` (and its pure rules in
``domain/methods/``) and one line in ``METHOD_TYPES``.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.registration.expiry import ExpirySweeper
from services.registration.flows import Dependencies, Flows
from services.registration.handlers import RegistrationHandlers
from services.registration.methods.base import MethodBase, RegistrationMethod
from services.registration.methods.bhxh import BhxhMethod
from services.registration.methods.mobile import MobileMethod
from services.registration.methods.phone_otp import OtpEvents
from services.registration.methods.post_office import PostOfficeMethod
from services.registration.methods.signature import CertificateEvents
from services.registration.methods.sim import SimMethod
from services.registration.methods.usb import UsbMethod
from services.registration.methods.vneid import VneidMethod

METHOD_TYPES: tuple[type[MethodBase], ...] = (
    MobileMethod, BhxhMethod, SimMethod, UsbMethod, PostOfficeMethod, VneidMethod)


@dataclass(frozen=True)
class Registration:
    """Every use case of the service, built on one set of ports."""

    handlers: RegistrationHandlers
    otp_events: OtpEvents
    certificate_events: CertificateEvents
    sweeper: ExpirySweeper


def build(deps: Dependencies) -> Registration:
    flows = Flows(deps)
    methods: dict[str, RegistrationMethod] = {
        kind.name: kind(deps, flows) for kind in METHOD_TYPES}
    swept = frozenset(name for name, method in methods.items() if method.announces_expiry)
    return Registration(
        handlers=RegistrationHandlers(deps, flows, methods),
        otp_events=OtpEvents(flows),
        certificate_events=CertificateEvents(flows),
        sweeper=ExpirySweeper(deps.uow, deps.clock, swept),
    )
