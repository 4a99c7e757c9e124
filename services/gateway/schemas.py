"""The shapes of the HTTP API (API.md): request bodies are checked here, strictly (a number
where a string belongs is refused, not converted); their meaning (is this a real CCCD, a
Vietnamese mobile number, a strong password) is the owning service's to judge. Response
models document the answers and let services add fields freely (``extra="allow"``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.problems import UNION_TAGS
from shared.contracts.fields import (
    Email,
    FullName,
    Identifier,
    IdNumber,
    IsoDate,
    OtpCode,
    Password,
    Pem,
    Phone,
    Sex,
    ShortText,
    SignatureValue,
    SubjectType,
)


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="allow")


# Registration (its answers are the contract's: shared/contracts/registration.py)
class MobileRegistration(RequestBody):
    method: Literal["mobile"]
    subject_type: SubjectType
    id_number: IdNumber
    full_name: FullName
    birth_date: IsoDate
    sex: Sex
    phone: Phone
    email: Email = None


class BhxhRegistration(RequestBody):
    method: Literal["bhxh"]
    subject_type: SubjectType
    bhxh_code: IdNumber
    id_number: IdNumber
    full_name: FullName
    birth_date: IsoDate
    phone: Phone


class SimRegistration(RequestBody):
    method: Literal["sim"]
    subject_type: SubjectType
    phone: Phone


class UsbRegistration(RequestBody):
    method: Literal["usb"]
    subject_type: SubjectType


NewRegistration = Annotated[
    MobileRegistration | BhxhRegistration | SimRegistration | UsbRegistration,
    Field(discriminator="method"),
]


class OtpSubmission(RequestBody):
    code: OtpCode


class PasswordChoice(RequestBody):
    password: Password
    password_confirmation: Password



class SignatureSubmission(RequestBody):
    certificate: Pem
    chain: Annotated[list[Pem], Field(max_length=8)] | Pem | None = None
    signature: SignatureValue


class SignatureConfirmation(RequestBody):
    email: Email = None


class StepDone(ResponseBody):
    status: str


class OtpResent(ResponseBody):
    status: str
    resend_available_at: str | None = None


# Login
class CaptchaAnswer(RequestBody):
    """The answer to a captcha from ``POST /captchas``: asked for after failed passwords
    (``captcha_required``); each captcha can be answered once."""

    id: ShortText
    answer: ShortText


class PasswordLogin(RequestBody):
    method: Literal["password"]
    username: ShortText
    password: Password
    captcha: CaptchaAnswer | None = None


class SimLogin(RequestBody):
    method: Literal["sim"]
    phone: Phone


class UsbLogin(RequestBody):
    method: Literal["usb"]


NewLogin = Annotated[PasswordLogin | SimLogin | UsbLogin, Field(discriminator="method")]


class PhoneAlternative(ResponseBody):
    phone_id: str
    phone_masked: str


class LoginStarted(ResponseBody):
    id: str | None = None
    flow_token: str | None = None
    status: str
    phone_masked: str | None = None
    alternatives: list[PhoneAlternative] | None = None
    verification_code: str | None = None
    challenge: str | None = None


class LoginView(ResponseBody):
    id: str
    status: str
    method: str | None = None


class LoginCompleted(ResponseBody):
    status: str
    session_token: str
    expires_at: str
    level: int
    session_id: str | None = None


# The account
class Me(ResponseBody):
    account_id: str
    subject_type: str
    level: int
    identity: dict[str, Any]
    contacts: dict[str, Any]
    # Operator-made accounts: "agent" (post office clerk); the office or the agency.
    roles: list[str] | None = None
    organisation: dict[str, Any] | None = None


# Post office counter (agent session)
class AgentRegistration(RequestBody):
    id_number: IdNumber
    full_name: FullName
    birth_date: IsoDate
    sex: Sex
    phone: Phone
    email: Email = None
    # Must be true; false or missing is the registration service's validation_error (422),
    # with a detail that tells the clerk what to do.
    id_document_checked: bool | None = Field(default=None, strict=True)


# Login options, captcha and forgotten password (issue 5)
class Captcha(ResponseBody):
    captcha_id: str
    image: str  # data:image/png;base64,...
    expires_at: str | None = None


class OtpPhoneChoice(RequestBody):
    phone_id: Identifier


class LostPhoneReport(RequestBody):
    phone: Phone


class FirstPasswordChange(RequestBody):
    new_password: Password
    new_password_confirmation: Password


class OtpRedirected(ResponseBody):
    status: str
    phone_masked: str | None = None
    resend_available_at: str | None = None


class NewPasswordReset(RequestBody):
    username: ShortText


class PasswordResetStarted(ResponseBody):
    id: str
    flow_token: str
    status: str
    phone_masked: str | None = None
    expires_at: str | None = None
    resend_available_at: str | None = None


UNION_TAGS.update({"mobile", "bhxh", "sim", "usb", "password"})
