"""Wiring of the otp service: its RPC endpoints (``shared/contracts/otp.py``), the
RegistrationRequested consumer and the indexes."""

from __future__ import annotations

from services.otp.adapters.email import SmtpEmailSender
from services.otp.adapters.mongo import INDEXES, MongoChallenges, MongoTransactions
from services.otp.adapters.sms import TwilioSmsSender
from services.otp.config import OtpSettings
from services.otp.handlers import REGISTRATION_CONSUMER, OtpService
from services.otp.notices import Notices
from shared.bus import Consumer
from shared.clock import system_clock
from shared.contracts import otp as OTP
from shared.runtime import Infrastructure, Wiring


def settings_of(infra: Infrastructure) -> OtpSettings:
    if isinstance(infra.settings, OtpSettings):
        return infra.settings
    return OtpSettings(**infra.settings.model_dump())


async def wire(infra: Infrastructure) -> Wiring:
    settings = settings_of(infra)
    # One Twilio client (and connection pool) for the life of the process.
    sms = TwilioSmsSender(settings.twilio_account_sid, settings.twilio_auth_token,
                          settings.twilio_from, api_base=settings.twilio_api_base)
    service = OtpService(
        transactions=MongoTransactions(infra.mongo, infra.db, on_commit=infra.relay.notify),
        challenges=MongoChallenges(infra.db),
        sms=sms,
        clock=system_clock,
        otp_secret=settings.otp_secret,
        failpoints=infra.failpoints,
    )

    email = (SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.mail_from,
                             username=settings.smtp_username, password=settings.smtp_password,
                             starttls=settings.smtp_starttls)
             if settings.smtp_host else None)
    notices = Notices(sms, system_clock, email)
    wiring = Wiring(
        consumers=[Consumer(REGISTRATION_CONSUMER, ["RegistrationRequested"],
                            service.on_registration_requested)],
        indexes=INDEXES,
        on_stop=[sms.close],
    )
    wiring.serve(OTP.ISSUE, service.issue)
    wiring.serve(OTP.VERIFY, service.verify)
    wiring.serve(OTP.POLICY, service.policy)
    # Post office: the initial password; profile: notices of account changes.
    wiring.serve(OTP.SEND_NOTICE, notices.send_notice)
    wiring.serve(OTP.SEND_EMAIL_NOTICE, notices.send_email_notice)
    return wiring
