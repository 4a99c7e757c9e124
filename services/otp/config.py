"""Configuration of the otp service (environment variables prefixed ``DVCID_``)."""

from __future__ import annotations

from pydantic import model_validator

from shared.secret_strength import is_placeholder
from shared.settings import CommonSettings

DEV_TWILIO_ACCOUNT_SID = "ACdvciddev0000000000000000000000"


class OtpSettings(CommonSettings):
    # DVCID_OTP_SECRET: the HMAC key of stored codes (production refuses the default).
    otp_secret: str = "dev-insecure-otp-secret"
    # DVCID_TWILIO_ACCOUNT_SID / DVCID_TWILIO_AUTH_TOKEN: Twilio credentials.
    twilio_account_sid: str = DEV_TWILIO_ACCOUNT_SID
    twilio_auth_token: str = "dev-insecure-twilio-token"
    # DVCID_TWILIO_FROM: a Twilio number in E.164 or an alphanumeric sender id ("DVCQG").
    twilio_from: str = "+15005550006"
    # DVCID_TWILIO_API_BASE: where the SDK's https://api.twilio.com requests go instead
    # (the sandbox world's Twilio-compatible endpoint, e.g. http://127.0.0.1:8100/twilio).
    twilio_api_base: str | None = None
    # E-mail notices through an SMTP relay (DVCID_SMTP_HOST …); no host: no e-mail is sent
    # (send_email_notice answers {sent: false}). Dev and tests: the sandbox's mail server.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Cong Dich vu cong Quoc gia <no-reply@dichvucong.gov.vn>"

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        # Not a secret (an account id), but the template's placeholder or the development
        # default would send every SMS into a failure only noticed when codes do not arrive.
        if (self.twilio_account_sid == DEV_TWILIO_ACCOUNT_SID
                or is_placeholder(self.twilio_account_sid)):
            problems.append("DVCID_TWILIO_ACCOUNT_SID (twilio_account_sid) is a placeholder: "
                            "production needs the real Twilio account")
        return problems

    @model_validator(mode="after")
    def _refuse_redirected_twilio_in_production(self) -> OtpSettings:
        # Production talks to the real Twilio, or at most through an HTTPS proxy.
        if self.env == "production" and self.twilio_api_base and (
            not self.twilio_api_base.startswith("https://")
            or "sandbox" in self.twilio_api_base.lower()
        ):
            raise ValueError("production refuses a non-HTTPS or sandbox DVCID_TWILIO_API_BASE")
        return self
