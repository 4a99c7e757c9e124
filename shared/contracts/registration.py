"""The registration service's endpoints: what each one reads and what it answers.

Requests are what the gateway (the JSON API and the web pages) sends; their JSON is exactly the
payload the service read before the contracts, so a request built here reaches a service that
serves it typed or one that still reads the dict. Where a page leaves a field blank the field
is absent (``None`` here) and the service names the gap in its own words, together with every
other problem of the form: the person fields of ``start`` and the counter's start are optional
for that reason, while the JSON API's body models (``services/gateway/schemas.py``, the same
field types) require them.

Answers are what the service answers today, field for field. Required are the fields the JSON
API documents as always there; a field that only some statuses or methods carry is optional
and, when the service did not send it, stays off the wire (``Contract.wire``). Answers let
unknown fields through (:class:`Answer`): a field a service adds reaches the API's clients
before this module names it.

``start`` serves every method: its request is one of :class:`MobileStart`, :class:`BhxhStart`,
:class:`SimStart`, :class:`UsbStart`, picked by ``method`` (``StartRegistration.model_validate``
returns the variant).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, StrictBool, StrictStr, StringConstraints, model_validator

from shared.contracts.base import Contract, Rpc
from shared.contracts.fields import (
    Email,
    FlowRef,
    FullName,
    Identifier,
    IdNumber,
    IsoDate,
    Office,
    OtpCode,
    Password,
    Phone,
    Sex,
    SignatureProof,
    SubjectType,
)

SERVICE = "registration"

Method = Literal["mobile", "bhxh", "sim", "usb", "vneid"]
# Where a flow is (``creating_account``: completed, the account usable in a moment; HTTP 202).
Status = Literal["otp_sent", "awaiting_password", "awaiting_signature",
                 "awaiting_confirmation", "creating_account", "completed", "failed"]


class Answer(Contract):
    """An answer: a field the service sends that this contract does not name yet passes
    through to the caller (the API promises clients that new fields may appear)."""

    model_config = ConfigDict(extra="allow", frozen=True)


# --- start -----------------------------------------------------------------------------------

class StartRegistration(Contract):
    """The request of ``start``: one variant per method (the subclasses below)."""

    method: Method
    subject_type: SubjectType

    @model_validator(mode="wrap")
    @classmethod
    def _variant(cls, data: Any, handler: Any) -> Any:
        # Read as the base class, the payload becomes the variant its ``method`` names (a
        # refusal names the fields as the variant has them: ``phone``, or ``method``).
        if cls is not StartRegistration:
            return handler(data)
        method = data.get("method") if isinstance(data, dict) else None
        variant = _START_VARIANTS.get(method) if isinstance(method, str) else None
        if variant is None:
            return handler(data)  # refused: ``method`` is none of them (or not an object)
        return variant.model_validate(data)


class DeclaredPerson(Contract):
    """Who a person says they are and the phone the code goes to, as a form asks it; a field
    left blank is absent and the service names the gap (with every other problem)."""

    id_number: IdNumber | None = None
    full_name: FullName | None = None
    birth_date: IsoDate | None = None
    phone: Phone | None = None


class DeclaredCitizen(DeclaredPerson):
    """The mobile and the counter forms ask for the sex (checked against the CCCD) and an
    optional e-mail too."""

    sex: Sex | None = None
    email: Email = None


class MobileStart(StartRegistration, DeclaredCitizen):
    """Mobile subscriber (citizens, level 2): the phone must be the person's at the carrier."""

    method: Literal["mobile"]


class BhxhStart(StartRegistration, DeclaredPerson):
    """Social-insurance code (citizens, level 2): the BHXH record must match what is typed."""

    method: Literal["bhxh"]
    bhxh_code: IdNumber | None = None


class SimStart(StartRegistration):
    """SIM digital signature (citizens and enterprises, level 3): the SIM's phone number."""

    method: Literal["sim"]
    phone: Phone


class UsbStart(StartRegistration):
    """USB token digital signature (citizens and enterprises, level 3): nothing more; the
    answer carries pki's challenge for the token to sign."""

    method: Literal["usb"]


class VneidStart(StartRegistration):
    """VNeID (citizens, level 2; issue 15): the claims of a VNeID ID token the gateway
    verified, never what a person types (no HTTP body has this variant). The flow waits for
    ``confirm``."""

    method: Literal["vneid"]
    subject_type: Literal["citizen"]
    vneid_sub: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
    id_number: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9]{12}$")]
    full_name: FullName
    birth_date: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    sex: Literal["male", "female"]


_START_VARIANTS: dict[str, type[StartRegistration]] = {
    "mobile": MobileStart, "bhxh": BhxhStart, "sim": SimStart, "usb": UsbStart,
    "vneid": VneidStart}


class RegistrationStarted(Answer):
    id: str
    flow_token: str  # given this once: the service keeps only its keyed hash
    status: Status
    expires_at: str | None = None
    phone_masked: str | None = None  # mobile, bhxh, sim
    resend_available_at: str | None = None  # mobile, bhxh
    verification_code: str | None = None  # sim: also shown on the phone
    challenge: str | None = None  # usb: for the token to sign


# --- the flow's steps (self-service: named by id, proven by the flow token) ------------------

class ReadRegistration(FlowRef):
    # The success page waits (a bounded time) for the account to be usable; other reads never.
    wait: StrictBool = False


class SubmitOtp(FlowRef):
    code: OtpCode


class SetPassword(FlowRef):
    # Absent when the page's field was left blank: the service says it is missing.
    password: Password | None = None
    password_confirmation: Password | None = None


class SubmitSignature(FlowRef, SignatureProof):
    """USB: what the token returned over the challenge."""


class ConfirmIdentity(FlowRef):
    """USB / SIM: the identity read from the certificate is confirmed; the e-mail is required
    for enterprises (the service says so)."""

    email: Email = None


class IdentityView(Answer):
    """Who the flow registers: as typed and proven (mobile: with birth date and sex; BHXH:
    the record's), or as read from the certificate (USB, SIM: with ``id_type``, and
    ``tax_code`` for an enterprise)."""

    id_type: str | None = None
    id_number: str | None = None
    full_name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    tax_code: str | None = None


class CertificateView(Answer):
    """The public facts of the certificate the account will be bound to (USB, SIM)."""

    serial: str
    issuer: str
    not_after: str | None = None


class RegistrationView(Answer):
    """What the holder of the flow token may read back (``get``)."""

    id: str
    status: Status
    method: Method
    subject_type: SubjectType
    expires_at: str | None = None
    identity: IdentityView | None = None  # mobile, bhxh; usb, sim once the signature is valid
    phone_masked: str | None = None
    certificate: CertificateView | None = None
    account_id: str | None = None  # completed
    level: int | None = None
    code: str | None = None  # failed: why; otp_sent: the code could not be delivered


class StepDone(Answer):
    status: Status


class OtpResent(Answer):
    status: Status
    resend_available_at: str | None = None


class RegistrationCompleted(Answer):
    """``set_password`` / ``confirm``: ``completed``, or ``creating_account`` while the account
    is not yet usable (HTTP 202), with the same account id and level."""

    status: Status
    account_id: str
    level: int


class SignatureAccepted(Answer):
    """The signature was valid: the identity read from the certificate, to confirm."""

    status: Status
    identity: IdentityView
    subject_type: SubjectType | None = None


# --- the post office counter (an agent's session, checked by the gateway with profile) -------

class CounterAgent(Contract):
    """Who registers at the counter, as profile's ``agent_session`` said: only this agent may
    go on with the flow."""

    agent_account_id: Identifier
    office: Office


class CounterStart(CounterAgent, DeclaredCitizen):
    # The clerk saw the original ID document; anything but true is refused by the service.
    id_document_checked: StrictBool | None = None


class CounterFlowRef(CounterAgent):
    id: Identifier


class CounterOtp(CounterFlowRef):
    code: OtpCode  # the code the citizen reads back from their phone


class AgentRegistrationStarted(Answer):
    """A code went to the citizen's phone; nothing else exists yet (``agent_register_start``
    and, without ``expires_at``, ``agent_register_resend``)."""

    id: str
    status: Status
    phone_masked: str | None = None
    expires_at: str | None = None
    otp_expires_at: str | None = None
    resend_available_at: str | None = None


class AgentRegistrationCreated(Answer):
    """The account exists (``status`` ``creating_account`` until it is usable: HTTP 202); the
    initial password went to the citizen's phone by SMS unless ``initial_password_sent`` is
    false."""

    account_id: str
    username: str
    status: Status | None = None
    level: int | None = None
    phone_masked: str | None = None
    initial_password_sent: bool | None = None


# --- the endpoints ---------------------------------------------------------------------------

START = Rpc(SERVICE, "start", StartRegistration, RegistrationStarted)
GET = Rpc(SERVICE, "get", ReadRegistration, RegistrationView)
SUBMIT_OTP = Rpc(SERVICE, "submit_otp", SubmitOtp, StepDone)
RESEND_OTP = Rpc(SERVICE, "resend_otp", FlowRef, OtpResent)
SET_PASSWORD = Rpc(SERVICE, "set_password", SetPassword, RegistrationCompleted)
SUBMIT_SIGNATURE = Rpc(SERVICE, "submit_signature", SubmitSignature, SignatureAccepted)
CONFIRM = Rpc(SERVICE, "confirm", ConfirmIdentity, RegistrationCompleted)
AGENT_REGISTER_START = Rpc(SERVICE, "agent_register_start", CounterStart, AgentRegistrationStarted)
AGENT_REGISTER_RESEND = Rpc(SERVICE, "agent_register_resend", CounterFlowRef, AgentRegistrationStarted)
AGENT_REGISTER_CONFIRM = Rpc(SERVICE, "agent_register_confirm", CounterOtp, AgentRegistrationCreated)
