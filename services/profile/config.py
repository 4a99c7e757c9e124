"""The one place the profile service's configuration lives (environment, prefix ``DVCID_``)."""

from __future__ import annotations

from pydantic import Field

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
