"""The otp service's endpoints (``dvcid.otp.<endpoint>``): one-time codes by SMS, the notices
it composes (SMS and e-mail), and its timing policy.

Shapes and bounds only: what a code looks like (six digits), which parameters a notice
template takes and their allowed shapes, how long a code lives, are otp's
(``services/otp/domain``); ``policy`` answers the timing for the callers that show or imitate
it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictStr, StringConstraints

from shared.contracts.base import Contract, Empty, Rpc
from shared.contracts.fields import E164Phone, FlowId, Identifier, OtpCode

# What a code (or a notice) is for: it names the action in the SMS text, and a code issued for
# one purpose never verifies for another.
OtpPurpose = Literal["registration", "login", "password_reset", "add_method", "reauthentication",
                     "counter"]
# The templates of ``send_notice`` (SMS) and ``send_email_notice`` (e-mail): the caller names
# one, otp writes the words.
NoticeKind = Literal["initial_password", "security_change"]
EmailNoticeKind = Literal["security_change"]
# A template's parameters by name; their shapes are checked per template by otp. A value may be
# a secret (an initial password): a refusal names the parameter, never its value.
NoticeParams = Annotated[
    dict[Annotated[StrictStr, StringConstraints(max_length=32)],
         Annotated[StrictStr, StringConstraints(max_length=256)]],
    Field(max_length=8),
]
Timestamp = StrictStr  # ISO 8601, as otp writes it


class IssueOtp(Contract):
    """A new code for ``(purpose, flow_id)`` sent to ``phone`` (a resend replaces it)."""

    flow_id: FlowId
    purpose: OtpPurpose
    phone: E164Phone


class IssuedOtp(Contract):
    challenge_id: Identifier
    phone_masked: str
    expires_at: Timestamp
    # The caller's "Gửi lại OTP" wait: otp refuses a new code before it.
    resend_available_at: Timestamp


class VerifyOtp(Contract):
    flow_id: FlowId
    purpose: OtpPurpose
    # As the person typed it (bounded); otp tells a code of the wrong shape in its own words.
    code: OtpCode
    # The number the caller believes the code went to: a code verifies only for it.
    phone: E164Phone


class VerifiedOtp(Contract):
    verified: bool
    phone: E164Phone
    challenge_id: Identifier


class SendNotice(Contract):
    phone: E164Phone
    purpose: OtpPurpose
    body_kind: NoticeKind
    params: NoticeParams = Field(default_factory=dict)


class NoticeSent(Contract):
    phone_masked: str
    sent_at: Timestamp


class SendEmailNotice(Contract):
    email: Annotated[StrictStr, StringConstraints(min_length=1, max_length=254)]
    body_kind: EmailNoticeKind
    params: NoticeParams = Field(default_factory=dict)


class EmailNoticeSent(Contract):
    """``sent`` false (and no ``sent_at``) when no mail relay is configured: the caller goes on
    without the e-mail."""

    sent: bool
    sent_at: Timestamp | None = None


class OtpPolicy(Contract):
    """otp's timing, for the callers that show it (the OTP screen's countdowns) or must
    imitate it without sending (profile's decoy password resets)."""

    code_digits: int
    code_lifetime_seconds: int
    resend_interval_seconds: int
    # Wrong entries a code takes before its flow is locked.
    max_attempts: int


ISSUE = Rpc("otp", "issue", IssueOtp, IssuedOtp)
VERIFY = Rpc("otp", "verify", VerifyOtp, VerifiedOtp)
# Post office: the initial password; profile: notices of account changes.
SEND_NOTICE = Rpc("otp", "send_notice", SendNotice, NoticeSent)
SEND_EMAIL_NOTICE = Rpc("otp", "send_email_notice", SendEmailNotice, EmailNoticeSent)
POLICY = Rpc("otp", "policy", Empty, OtpPolicy)
