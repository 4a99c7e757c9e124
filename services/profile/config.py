"""The one place the profile service's configuration lives (environment, prefix ``DVCID_``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import CommonSettings


class ProfileSettings(CommonSettings):
    # Keys of the HMACs under which session and login-flow tokens are stored: a database
    # leak alone does not let anyone present a token.
    session_secret: str = "dev-insecure-profile-session-secret"
    flow_secret: str = "dev-insecure-profile-flow-secret"
    # FLOWS.md: idle timeout 30 minutes, absolute 12 hours.
    session_idle_minutes: int = Field(default=30, gt=0)
    session_absolute_hours: int = Field(default=12, gt=0)
    # A login flow lives long enough for two OTP codes (5 minutes each) and a resend.
    login_flow_minutes: int = Field(default=10, gt=0)
    # How long the otp service may take to answer before the call fails.
    otp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Login guards (FLOWS.md): captcha after 5 failed passwords in 15 minutes for a login name
    # or an account, lock for 15 minutes after 10; per-IP throttles of logins and OTP SMS.
    guard_secret: str = "dev-insecure-profile-guard-secret"
    login_window_minutes: int = Field(default=15, gt=0)
    login_captcha_after: int = Field(default=5, ge=0)
    login_lock_after: int = Field(default=10, gt=0)
    login_lock_minutes: int = Field(default=15, gt=0)
    # Per address: volume only (NAT, post offices), much higher than the per-account limits.
    login_ip_captcha_after: int = Field(default=100, gt=0)
    login_ip_attempts: int = Field(default=300, gt=0)
    login_ip_otp_sends: int = Field(default=300, gt=0)
    # "Quên mật khẩu" SMS per account, per phone and per login name in an hour (below the otp
    # service's 5 per phone, so a stranger cannot use up the owner's login codes).
    password_reset_sends_per_hour: int = Field(default=2, gt=0)
    # Telco subscriber registry (docs/external/telco-registry.md): the lost OTP phone.
    telco_url: str = "http://127.0.0.1:8100/telco"
    telco_api_key: str = "dev-insecure-telco-token"
    telco_timeout_seconds: float = Field(default=5.0, gt=0)
    # Key of the HMAC chaining the account activity log (domain/activity.py): it lives here,
    # never in the database, so a database writer cannot re-chain a rewritten history.
    audit_secret: str = "dev-insecure-profile-audit-secret"
    # Sensitive changes (auth methods, password, email, ending another session) need a
    # step-up of the session this recent, else reauthentication_required.
    step_up_minutes: int = Field(default=5, gt=0)

    # End-to-end tests only (DVCID_ENV=test): every captcha shows this text, so a test can
    # answer it. Refused in any other environment.
    captcha_test_text: str | None = None

    @model_validator(mode="after")
    def _captcha_test_text_only_in_tests(self) -> ProfileSettings:
        if self.captcha_test_text is not None and self.env != "test":
            raise ValueError("captcha_test_text is for DVCID_ENV=test only")
        return self
