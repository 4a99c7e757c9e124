"""The profile service's endpoints (``dvcid.profile.<endpoint>``): login, recovery, the
account's settings and sessions, staff accounts, the activity log and credentials.

Shapes and bounds only: the password rule, what a real ID number or mobile number is, who may
do what, are profile's (``services/profile/domain``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self, cast

from pydantic import (
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from shared.contracts.base import Contract, Empty, Rpc
from shared.contracts.fields import (
    ClientFields,
    Email,
    FlowRef,
    FullName,
    Identifier,
    IdNumber,
    Office,
    OtpCode,
    Password,
    Phone,
    ShortText,
    SignatureProof,
)

# --- Shared pieces --------------------------------------------------------------------------

# Any string: one that names no live session is simply ``unauthenticated`` (profile's answer),
# so the bound only caps the hashing, at what the HTTP server lets a header or cookie be.
SessionTokenValue = Annotated[StrictStr, StringConstraints(min_length=1, max_length=16_384)]
ContactAddress = Annotated[StrictStr, StringConstraints(max_length=500)]
# A page of a history: how many entries (the API's ``limit``).
PageSize = Annotated[int, Field(ge=1, le=100)]
# A 64-bit seq of the activity log: a larger cursor is no entry, not a crash.
ActivitySeq = Annotated[int, Field(ge=1, le=2**63 - 1)]


class SessionRef(Contract):
    """The caller's session, by its token (the cookie or the bearer token)."""

    session_token: SessionTokenValue


class CaptchaAnswer(Contract):
    """The answer to a captcha from ``captcha_new``, once (asked after failed passwords)."""

    id: ShortText
    answer: ShortText


class OtpResent(Contract):
    status: str
    resend_available_at: str | None = None


class StepDone(Contract):
    status: str


class OtpRedirected(Contract):
    """The login's code went to another phone (or, first, the new password was taken)."""

    status: str
    phone_masked: str | None = None
    resend_available_at: str | None = None


# --- Login (login_*, captcha_new) -----------------------------------------------------------

class LoginStart(ClientFields):
    """A login begins by one method; each method's request is a variant below (its
    ``method`` picks it). Read as ``LoginStart`` itself, a payload becomes its variant, so the
    endpoint has one request model and a new login method is one more variant."""

    method: str

    @model_validator(mode="wrap")
    @classmethod
    def _variant(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if cls is not LoginStart:
            return handler(data)
        return cast(Self, _LOGIN_START.validate_python(data))


class PasswordLoginStart(LoginStart):
    """ID number (or issued username) + password, then an OTP to the account's phone."""

    method: Literal["password"]
    username: ShortText
    password: Password
    captcha: CaptchaAnswer | None = None


class SimLoginStart(LoginStart):
    """A signing request to the SIM of this phone; the login's reads poll its answer."""

    method: Literal["sim"]
    # Optional here: profile says in its own words that the SIM's number is missing.
    phone: Phone | None = None


class UsbLoginStart(LoginStart):
    """A challenge for the USB token to sign (``login_submit_signature``)."""

    method: Literal["usb"]


_LOGIN_START: TypeAdapter[PasswordLoginStart | SimLoginStart | UsbLoginStart] = TypeAdapter(
    Annotated[PasswordLoginStart | SimLoginStart | UsbLoginStart,
              Field(discriminator="method")])


class PhoneAlternative(Contract):
    phone_id: str
    phone_masked: str


class LoginStarted(Contract):
    """password: ``otp_sent`` (the phone, other OTP phones, when a new code may be asked) or
    ``password_change_required`` (a one-time password); usb: the challenge; sim: the
    verification code shown on the phone."""

    id: str
    flow_token: str
    status: str
    expires_at: str
    phone_masked: str | None = None
    alternatives: list[PhoneAlternative] | None = None
    resend_available_at: str | None = None
    challenge: str | None = None
    verification_code: str | None = None


class LoginFlowRef(FlowRef):
    """A login flow, for its holder (``login_get``)."""


class LoginFlowView(Contract):
    """A login as it stands; a SIM login's poll that sees the approval opens the session and
    carries it (once)."""

    id: str
    status: str
    method: str
    phone_masked: str | None = None
    code: str | None = None
    session_id: str | None = None
    session_token: str | None = None
    expires_at: str | None = None
    level: int | None = None


class LoginStep(FlowRef, ClientFields):
    """A step of a login that a client's request causes (its address is throttled)."""


class LoginOtp(LoginStep):
    code: OtpCode


class LoginSignature(LoginStep, SignatureProof):
    pass


class LoginCompleted(Contract):
    """The session the login opened."""

    status: str
    session_token: str
    session_id: str
    expires_at: str
    level: int
    # A signature login also names its flow and method.
    id: str | None = None
    method: str | None = None


class NewCaptcha(ClientFields):
    # "audio": digits, as an image and read aloud, for people who cannot see the image.
    kind: Literal["image", "audio"] = "image"


class CaptchaView(Contract):
    captcha_id: str
    image: str  # data:image/png;base64,...
    expires_at: str
    audio: str | None = None  # data:audio/wav;base64,..., for kind "audio"


# --- The login's OTP options and the forgotten password (login_otp_phone … reset_*) ---------

class OtpPhoneChoice(LoginStep):
    phone_id: Identifier


class LostPhone(LoginStep):
    phone: Phone


class FirstPassword(LoginStep):
    """A post-office account's one-time password replaced (saved once the OTP proves it)."""

    new_password: Password
    new_password_confirmation: Password


class ResetStart(ClientFields):
    username: ShortText


class ResetStarted(Contract):
    """The same answer whether or not the name has an account (no enumeration)."""

    id: str
    flow_token: str
    status: str
    phone_masked: str
    expires_at: str
    resend_available_at: str | None = None


class ResetStep(FlowRef, ClientFields):
    pass


class ResetOtp(FlowRef):
    code: OtpCode


class ResetPassword(FlowRef):
    password: Password
    password_confirmation: Password


# --- Sessions (authenticate, me, logout) ----------------------------------------------------

class SessionView(Contract):
    account_id: str
    session_id: str
    level: int
    expires_at: str


class PhoneView(Contract):
    phone_id: str
    phone_masked: str
    otp: bool


class Contacts(Contract):
    phones: list[PhoneView]
    email: str | None
    address: str | None


class AccountView(Contract):
    """``me``: the identity shaped per subject type, the contacts, what the owner may edit;
    ``roles`` and ``organisation`` only for operator-made accounts."""

    account_id: str
    subject_type: str
    level: int
    identity: dict[str, Any]
    contacts: Contacts
    editable: list[str] | None = None
    roles: list[str] | None = None
    organisation: dict[str, Any] | None = None


class AgentSession(Contract):
    """The agent a recent session belongs to, and its post office."""

    account_id: str
    session_id: str
    level: int
    office: Office


# --- Account settings (me_*) ----------------------------------------------------------------

class UpdateContacts(SessionRef):
    """``PATCH /me``: absent fields are left alone; ``null`` (or "") clears one. Other fields
    are let through on purpose, so profile names them: an identity field is read-only
    (``forbidden``), anything else unsupported (``validation_error``)."""

    model_config = ConfigDict(extra="allow")

    email: Email = None
    address: ContactAddress | None = None


class LoginHistoryPage(SessionRef):
    limit: PageSize = 20
    before: datetime | None = None


class LoginEntry(Contract):
    """``device``: the browser and system in words ("Chrome trên Windows", issue 14); absent
    only from a profile older than it."""

    at: str
    method: str
    result: str
    reason: str | None
    ip: str | None
    user_agent: str | None
    device: str | None = None


class LoginHistory(Contract):
    items: list[LoginEntry]
    next_before: str | None = None


class SessionEntry(Contract):
    id: str
    created_at: str
    last_seen_at: str
    ip: str | None
    user_agent: str | None
    device: str | None = None  # as in LoginEntry
    level: int
    method: str | None
    current: bool
    expires_at: str | None


class SessionList(Contract):
    items: list[SessionEntry]


class SessionTarget(SessionRef):
    session_id: Identifier


class AuthMethodView(Contract):
    id: str
    type: str
    label: str
    created_at: str | None
    last_used_at: str | None
    phone_masked: str | None = None
    # usb/sim: serial, issuer, not_after of the bound certificate.
    certificate: dict[str, Any] | None = None


class AuthMethodList(Contract):
    items: list[AuthMethodView]


class MethodTarget(SessionRef):
    method_id: Identifier


class PasswordChange(SessionRef, ClientFields):
    current_password: Password
    new_password: Password
    new_password_confirmation: Password
    end_other_sessions: StrictBool = False


class NewMethod(SessionRef, ClientFields):
    """sms: an OTP to the new phone; usb: a challenge to sign; sim: a signing request to the
    SIM's phone."""

    type: Literal["sms", "usb", "sim"]
    phone: Phone | None = None


class MethodFlowRef(SessionRef, FlowRef):
    pass


class MethodOtp(MethodFlowRef):
    code: OtpCode


class MethodSignature(MethodFlowRef, SignatureProof):
    pass


class MethodFlowView(Contract):
    id: str
    type: str
    status: str
    expires_at: str | None
    flow_token: str | None = None  # on start only
    phone_masked: str | None = None
    method_id: str | None = None
    code: str | None = None  # why it failed
    resend_available_at: str | None = None
    challenge: str | None = None
    verification_code: str | None = None
    method: AuthMethodView | None = None  # once completed


class StepUpStart(SessionRef, ClientFields):
    """password: the password, then an OTP (level 2); usb: a challenge to sign; sim: a
    signing request to the SIM's phone (level 3)."""

    method: Literal["password", "usb", "sim"]
    password: Password | None = None
    phone: Phone | None = None
    captcha: CaptchaAnswer | None = None


class StepUpRef(SessionRef):
    id: Identifier


class StepUpOtp(StepUpRef):
    code: OtpCode


class StepUpSignature(StepUpRef, SignatureProof):
    pass


class StepUpView(Contract):
    """A step-up as it stands; once completed, when the session proved itself again and
    until when that counts."""

    status: str
    id: str | None = None
    method: str | None = None
    expires_at: str | None = None
    phone_masked: str | None = None
    code: str | None = None
    resend_available_at: str | None = None
    challenge: str | None = None
    verification_code: str | None = None
    level: int | None = None
    reauthenticated_at: str | None = None
    valid_until: str | None = None


class ActivityPage(SessionRef):
    limit: PageSize = 20
    before: ActivitySeq | None = None


class ActivityEntry(Contract):
    seq: int
    at: str
    kind: str
    details: dict[str, Any]


class ActivityLog(Contract):
    items: list[ActivityEntry]
    next_before: int | None = None


LOGIN_START = Rpc("profile", "login_start", LoginStart, LoginStarted)
LOGIN_GET = Rpc("profile", "login_get", LoginFlowRef, LoginFlowView)
LOGIN_SUBMIT_OTP = Rpc("profile", "login_submit_otp", LoginOtp, LoginCompleted)
LOGIN_RESEND_OTP = Rpc("profile", "login_resend_otp", LoginStep, OtpResent)
LOGIN_SUBMIT_SIGNATURE = Rpc("profile", "login_submit_signature", LoginSignature,
                             LoginCompleted)
CAPTCHA_NEW = Rpc("profile", "captcha_new", NewCaptcha, CaptchaView)
LOGIN_OTP_PHONE = Rpc("profile", "login_otp_phone", OtpPhoneChoice, OtpRedirected)
LOGIN_LOST_PHONE = Rpc("profile", "login_lost_phone", LostPhone, OtpRedirected)
LOGIN_CHANGE_PASSWORD = Rpc("profile", "login_change_password", FirstPassword, OtpRedirected)
RESET_START = Rpc("profile", "reset_start", ResetStart, ResetStarted)
RESET_RESEND_OTP = Rpc("profile", "reset_resend_otp", ResetStep, OtpResent)
RESET_SUBMIT_OTP = Rpc("profile", "reset_submit_otp", ResetOtp, StepDone)
RESET_SET_PASSWORD = Rpc("profile", "reset_set_password", ResetPassword, StepDone)
AUTHENTICATE = Rpc("profile", "authenticate", SessionRef, SessionView)
ME = Rpc("profile", "me", SessionRef, AccountView)
LOGOUT = Rpc("profile", "logout", SessionRef, Empty)
AGENT_SESSION = Rpc("profile", "agent_session", SessionRef, AgentSession)
ME_UPDATE = Rpc("profile", "me_update", UpdateContacts, AccountView)
ME_LOGINS = Rpc("profile", "me_logins", LoginHistoryPage, LoginHistory)
ME_SESSIONS = Rpc("profile", "me_sessions", SessionRef, SessionList)
ME_END_SESSION = Rpc("profile", "me_end_session", SessionTarget, Empty)
ME_AUTH_METHODS = Rpc("profile", "me_auth_methods", SessionRef, AuthMethodList)
ME_CHANGE_PASSWORD = Rpc("profile", "me_change_password", PasswordChange, Empty)
ME_ADD_METHOD = Rpc("profile", "me_add_method", NewMethod, MethodFlowView)
ME_METHOD_GET = Rpc("profile", "me_method_get", MethodFlowRef, MethodFlowView)
ME_METHOD_OTP = Rpc("profile", "me_method_otp", MethodOtp, AuthMethodView)
ME_METHOD_SIGNATURE = Rpc("profile", "me_method_signature", MethodSignature, AuthMethodView)
ME_REMOVE_METHOD = Rpc("profile", "me_remove_method", MethodTarget, Empty)
ME_REAUTH_START = Rpc("profile", "me_reauth_start", StepUpStart, StepUpView)
ME_REAUTH_GET = Rpc("profile", "me_reauth_get", StepUpRef, StepUpView)
ME_REAUTH_OTP = Rpc("profile", "me_reauth_otp", StepUpOtp, StepUpView)
ME_REAUTH_SIGNATURE = Rpc("profile", "me_reauth_signature", StepUpSignature, StepUpView)
ME_ACTIVITY = Rpc("profile", "me_activity", ActivityPage, ActivityLog)


# Internal endpoints
# Called by registration (stage_credential), the gateway's pages (password_policy) and the
# operator's tool (``dvcid admin``: dvcid/admin.py, dvcid/audit.py), not by the HTTP API.

# An argon2id hash made by the operator's tool (its format is checked in profile's domain).
PasswordHash = Annotated[StrictStr, StringConstraints(min_length=20, max_length=512)]
ShortName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
OfficeCode = Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]
AgencyCode = Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]
Username = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]


class StageCredential(Contract):
    """A new account's password, handed over by registration at its last step: profile
    checks its password rule (against the ID number and the phone, E.164), then the
    confirmation, then hashes it. Values are never echoed in an error."""

    registration_id: Identifier
    password: Password
    password_confirmation: Password
    id_number: IdNumber
    phone: Phone


class StagedCredentialRef(Contract):
    credential_id: Identifier


class PasswordRule(Contract):
    id: str
    # The requirement, phrased to follow "Mật khẩu cần ...".
    text: str


class PasswordPolicyView(Contract):
    """The password rule as its owner applies it, for the pages that show it."""

    rules: list[PasswordRule]
    min_length: int
    max_length: int


class CreateAgent(Contract):
    id_number: IdNumber
    full_name: FullName
    phone: Phone
    office: ShortName
    office_code: OfficeCode | None = None
    password_hash: PasswordHash


class CreateAgency(Contract):
    code: AgencyCode
    name: ShortName
    phone: Phone
    email: Email = None
    user_id_number: IdNumber | None = None
    user_full_name: FullName | None = None
    password_hash: PasswordHash


class CreatedStaffAccount(Contract):
    account_id: str
    username: str
    subject_type: str
    roles: list[str]
    organisation: dict[str, Any]
    phone_masked: str


class AgentRef(Contract):
    """An agent named by the username printed at its creation (NV…)."""

    username: Username


class AgentState(Contract):
    account_id: str
    username: str
    disabled: bool
    # Only when disabling: the sessions that ended with it.
    sessions_ended: int | None = None


class VerifyAudit(Contract):
    """One account, or a page of accounts in id order after ``after``."""

    account_id: Identifier | None = None
    after: Identifier | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class BrokenChain(Contract):
    account_id: str
    seq: int
    reason: str


class AuditVerification(Contract):
    accounts: int
    entries: int
    broken: list[BrokenChain]
    # Set when more accounts follow (verifying every account).
    next_after: str | None = None


class ExportAudit(Contract):
    account_id: Identifier
    after_seq: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=5000)] = 500


class AuditEntry(Contract):
    """An entry of the activity log with its chain fields, as the operator exports it."""

    account_id: str
    seq: int
    prev_hash: str
    event_id: str
    kind: str
    at: str
    details: dict[str, Any]
    hash: str


class AuditExport(Contract):
    items: list[AuditEntry]
    next_after: int | None = None


class ClaimsSubject(Contract):
    """An account named by its id (the oidc service, for an ID token's and userinfo's claims)."""

    account_id: Identifier


class SubjectClaims(Contract):
    """What an OpenID Provider may release about an account, before any scope filtering (the
    oidc service filters per scope): the identity, the OTP phone (E.164) and the e-mail."""

    account_id: str
    subject_type: str
    level: int
    identity: dict[str, Any]
    phone: str | None = None
    email: str | None = None
    organisation: dict[str, Any] | None = None


class LiveSessionRef(Contract):
    """A dvcid session named by its id and its account (the oidc service, before it answers a
    refresh token issued under that session)."""

    account_id: Identifier
    session_id: Identifier


class SessionLiveness(Contract):
    """Whether the session is still alive: not revoked, within its idle and absolute limits."""

    alive: bool


# --- VNeID (issue 15): dvcid as VNeID's relying party ----------------------------------------
# Called by the gateway only, with the claims of an ID token it verified (Authlib: signature
# against VNeID's JWKS, issuer, audience, expiry, nonce). Never an HTTP body: no API route
# takes these claims from a client.


class VneidClaims(Contract):
    """The verified claims of a VNeID ID token that dvcid uses."""

    sub: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
    cccd: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9]{12}$")]
    full_name: FullName
    birth_date: Annotated[StrictStr, StringConstraints(max_length=10)] | None = None
    sex: Literal["male", "female"] | None = None


class VneidLogin(ClientFields):
    claims: VneidClaims


class VneidLoginAnswer(Contract):
    """``completed``: the VNeID identity is linked, a level-2 session (``session_token``…).
    ``link_required``: an account of this CCCD exists, not linked yet: its owner proves it once
    by another method, then ``vneid_link``. ``no_account``: no account has this CCCD."""

    status: Literal["completed", "link_required", "no_account"]
    session_token: str | None = None
    session_id: str | None = None
    expires_at: str | None = None
    level: int | None = None


class VneidLink(ClientFields):
    """Link the VNeID identity to the account of ``session_token`` (a login just made)."""

    claims: VneidClaims
    session_token: Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]


class VneidLinked(Contract):
    status: Literal["linked", "already_linked"]
    method_id: str


STAGE_CREDENTIAL = Rpc("profile", "stage_credential", StageCredential, StagedCredentialRef)
PASSWORD_POLICY = Rpc("profile", "password_policy", Empty, PasswordPolicyView)
OIDC_CLAIMS = Rpc("profile", "oidc_claims", ClaimsSubject, SubjectClaims)
OIDC_SESSION_ALIVE = Rpc("profile", "oidc_session_alive", LiveSessionRef, SessionLiveness)
VNEID_LOGIN = Rpc("profile", "vneid_login", VneidLogin, VneidLoginAnswer)
VNEID_LINK = Rpc("profile", "vneid_link", VneidLink, VneidLinked)
ADMIN_CREATE_AGENT = Rpc("profile", "admin_create_agent", CreateAgent, CreatedStaffAccount)
ADMIN_CREATE_AGENCY = Rpc("profile", "admin_create_agency", CreateAgency, CreatedStaffAccount)
ADMIN_DISABLE_AGENT = Rpc("profile", "admin_disable_agent", AgentRef, AgentState)
ADMIN_ENABLE_AGENT = Rpc("profile", "admin_enable_agent", AgentRef, AgentState)
ADMIN_VERIFY_AUDIT = Rpc("profile", "admin_verify_audit", VerifyAudit, AuditVerification)
ADMIN_EXPORT_AUDIT = Rpc("profile", "admin_export_audit", ExportAudit, AuditExport)
