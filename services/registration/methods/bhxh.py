"""Registration by social-insurance code (``domain/methods/bhxh.py``): the BHXH record backs
the person and the phone is theirs (record or carrier), an OTP proves the phone, a password
makes the account (level 2)."""

from __future__ import annotations

from datetime import date

from services.registration.domain.identity import Identity
from services.registration.domain.methods import bhxh
from services.registration.methods.base import StartRequest
from services.registration.methods.phone_otp import PhoneOtpMethod
from shared.contracts.registration import BhxhStart


class BhxhMethod(PhoneOtpMethod[bhxh.BhxhApplication]):
    name = bhxh.METHOD
    level = bhxh.LEVEL

    def parse(self, request: StartRequest, today: date) -> bhxh.BhxhApplication:
        assert isinstance(request, BhxhStart)
        return bhxh.parse_application(request, today)

    async def prove(self, application: bhxh.BhxhApplication) -> Identity:
        record = await self.deps.insurance.find(application.bhxh_code)
        identity = bhxh.proven_identity(application, record)
        if not bhxh.phone_on_record(application, record):
            bhxh.check_phone_at_carrier(identity,
                                        await self.deps.subscribers.find(application.phone))
        # The ID number of the record, as FLOWS.md asks (equal to the declared one by now):
        # the duplicate check uses it.
        return identity
