"""Registration by mobile subscriber number (``domain/methods/mobile.py``): the carrier backs
the person, an OTP proves the phone, a password makes the account (level 2)."""

from __future__ import annotations

from datetime import date

from services.registration.domain.identity import Identity
from services.registration.domain.methods import mobile
from services.registration.methods.base import StartRequest
from services.registration.methods.phone_otp import PhoneOtpMethod
from shared.contracts.registration import MobileStart


class MobileMethod(PhoneOtpMethod[mobile.MobileApplication]):
    name = mobile.METHOD
    level = mobile.LEVEL

    def parse(self, request: StartRequest, today: date) -> mobile.MobileApplication:
        assert isinstance(request, MobileStart)
        return mobile.parse_application(request, today)

    async def prove(self, application: mobile.MobileApplication) -> Identity:
        # The phone must be registered to this very person at the carrier (chính chủ).
        mobile.check_subscriber(application, await self.deps.subscribers.find(application.phone))
        return application.identity
