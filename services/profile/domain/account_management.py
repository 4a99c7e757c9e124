"""Account management ("Quản lý tài khoản", FLOWS.md): what the owner of an account sees and
may change. Pure rules, the requests, the add-a-method flow and the ports it needs.

- Identity is shown per subject type and is never edited here: it was proven (telco, BHXH,
  certificate) and only a new proof changes it. Contacts (email, address) are editable.
- Sensitive changes (auth methods, password, email, ending another session) need a step-up
  of the session (``step_up.py``).
- The account always keeps a way to log in: password + an OTP phone, or a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from email_validator import EmailNotValidError, validate_email
from pydantic import ConfigDict, Field

from services.profile.domain.commands import ClientInfo, FlowRef, SessionRef
from services.profile.domain.errors import (
    FlowExpired,
    FlowState,
    Forbidden,
    LastAuthMethod,
    ValidationFailed,
)
from services.profile.domain.models import (
    PASSWORD_METHOD,
    Account,
    AuthMethod,
    LoginRecord,
    Phone,
    Session,
)
from services.profile.domain.ports import UnitOfWork
from services.profile.domain.step_up import StepUps
from shared.phones import mask_phone

MAX_PHONES = 5  # login.gov allows at most five phone numbers per account
ADD_METHOD_PURPOSE = "add_method"
SMS = "sms"
SIGNATURE_TYPES = frozenset({"usb", "sim"})
IDENTITY_FIELDS = frozenset({"id_number", "full_name", "birth_date", "sex", "tax_code",
                             "name", "representative", "code", "identity", "subject_type",
                             "level"})
EDITABLE_FIELDS = ("email", "address")
HISTORY_PAGE_DEFAULT = 20
HISTORY_PAGE_MAX = 100
MethodFlowStatus = Literal["otp_sent", "awaiting_signature", "completed", "failed"]


# --- requests -------------------------------------------------------------------------------

class UpdateContacts(SessionRef):
    """PATCH /me: absent fields are left alone; ``null`` (or "") clears one."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, frozen=True)

    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)

    def identity_fields(self) -> list[str]:
        return sorted(k for k in (self.model_extra or {}) if k in IDENTITY_FIELDS)

    def unknown_fields(self) -> list[str]:
        return sorted(k for k in (self.model_extra or {}) if k not in IDENTITY_FIELDS)

    def changes(self) -> dict[str, str | None]:
        return {name: (getattr(self, name) or None) for name in EDITABLE_FIELDS
                if name in self.model_fields_set}


class LoginPage(SessionRef):
    limit: int = Field(default=HISTORY_PAGE_DEFAULT, ge=1, le=HISTORY_PAGE_MAX)
    before: datetime | None = None


class SessionTarget(SessionRef):
    session_id: str = Field(min_length=1, max_length=64)


class MethodTarget(SessionRef):
    method_id: str = Field(min_length=1, max_length=64)


class ChangePassword(SessionRef, ClientInfo):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=True)

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
    new_password_confirmation: str = Field(min_length=1, max_length=1024)
    end_other_sessions: bool = False


class AddMethod(SessionRef, ClientInfo):
    type: Literal["sms", "usb", "sim"]
    phone: str | None = Field(default=None, min_length=1, max_length=32)


class MethodFlowRef(SessionRef, FlowRef):
    pass


class MethodFlowOtp(MethodFlowRef):
    code: str = Field(min_length=1, max_length=16)


class MethodFlowSignature(MethodFlowRef):
    certificate: str = Field(min_length=1, max_length=64_000)
    chain: list[str] | str | None = None
    signature: str = Field(min_length=1, max_length=4_000)


# --- rules ----------------------------------------------------------------------------------

def normalised_email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationFailed("Địa chỉ email không hợp lệ.", fields=[
            {"name": "email", "detail": "Địa chỉ email không hợp lệ, ví dụ: ten@example.vn."}
        ]) from None


def checked_changes(command: UpdateContacts, account: Account) -> dict[str, str | None]:
    """The contact changes of a PATCH /me, or the reason it is refused."""
    identity = command.identity_fields()
    if identity:
        why = ("Thông tin định danh đã được xác thực mức độ 3 bằng chữ ký số, không thể "
               "chỉnh sửa." if account.level >= 3 else
               "Thông tin định danh được xác thực từ cơ sở dữ liệu, không thể tự chỉnh sửa.")
        raise Forbidden(why + " Chỉ có thể sửa email và địa chỉ liên hệ.",
                        fields=[{"name": name, "detail": "Trường chỉ đọc."}
                                for name in identity])
    unknown = command.unknown_fields()
    if unknown:
        raise ValidationFailed(fields=[{"name": name, "detail": "Trường này không được hỗ trợ."}
                                       for name in unknown])
    changes = command.changes()
    if not changes:
        raise ValidationFailed("Không có thông tin nào để cập nhật.", fields=[
            {"name": "body", "detail": "Cần ít nhất một trong: email, address."}])
    if changes.get("email"):
        changes["email"] = normalised_email(str(changes["email"]))
    elif "email" in changes and account.subject_type == "enterprise":
        raise ValidationFailed(fields=[{"name": "email", "detail":
                                        "Tài khoản doanh nghiệp bắt buộc có email."}])
    return changes


def can_log_in_without(account: Account, method_id: str) -> bool:
    """After removing ``method_id``, is there still a way in: password with an OTP phone,
    or a certificate (USB token, SIM signature)?"""
    removed = next(m for m in account.auth_methods if m.method_id == method_id)
    left = [m for m in account.auth_methods if m.method_id != method_id]
    has_password = any(m.type == PASSWORD_METHOD for m in left) and bool(account.password_hash)
    left_phone_ids = {m.phone_id for m in left if m.type == SMS}
    otp_phones = [p for p in account.otp_phones()
                  if p.phone_id != removed.phone_id and p.phone_id in left_phone_ids]
    return any(m.type in SIGNATURE_TYPES for m in left) or (has_password and bool(otp_phones))


def ensure_removable(account: Account, method: AuthMethod) -> None:
    if method.type == PASSWORD_METHOD:
        raise Forbidden("Không thể xóa mật khẩu; bạn có thể đổi mật khẩu trong mục này.")
    if not can_log_in_without(account, method.method_id):
        raise LastAuthMethod()


# --- views ----------------------------------------------------------------------------------

def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def identity_view(account_view: dict[str, Any]) -> dict[str, Any]:
    """The identity of ``me`` shaped per subject type (the fields already there are kept:
    API.md fields are only ever added)."""
    identity = dict(account_view.get("identity") or {})
    contacts = account_view.get("contacts") or {}
    subject_type = account_view.get("subject_type")
    if subject_type == "enterprise":
        organisation = account_view.get("organisation") or {}
        identity |= {"tax_code": identity.get("tax_code") or identity.get("id_number"),
                     "name": identity.get("full_name"),
                     "representative": organisation.get("representative")}
    elif subject_type == "agency":
        identity |= {"code": identity.get("id_number"), "name": identity.get("full_name")}
    else:
        address = contacts.get("address")
        identity["addresses"] = [{"type": "contact", "address": address}] if address else []
    return identity


def method_label(account: Account, method: AuthMethod) -> str:
    if method.type == PASSWORD_METHOD:
        return "Mật khẩu"
    if method.type == SMS:
        phone = next((p.phone for p in account.phones if p.phone_id == method.phone_id), None)
        return f"SMS {mask_phone(phone)}" if phone else "SMS"
    kind = "USB ký số" if method.type == "usb" else "SIM ký số"
    subject = account.identity.full_name
    not_after = method.details.get("not_after")
    expiry = f", hết hạn {_date_vn(str(not_after))}" if not_after else ""
    return f"{kind}: {subject}{expiry}"


def _date_vn(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%d/%m/%Y")


def method_view(account: Account, method: AuthMethod,
                last_used: dict[str, datetime]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": method.method_id, "type": method.type,
                            "label": method_label(account, method),
                            "created_at": iso(method.created_at),
                            "last_used_at": iso(last_used.get(method.type))}
    if method.type == SMS:
        phone = next((p.phone for p in account.phones if p.phone_id == method.phone_id), None)
        if phone:
            view["phone_masked"] = mask_phone(phone)
    if method.type in SIGNATURE_TYPES:
        view["certificate"] = {k: method.details[k] for k in ("serial", "issuer", "not_after")
                               if k in method.details}
    return view


def last_used_by_type(records: list[LoginRecord]) -> dict[str, datetime]:
    """When each kind of method last opened a session (a password login is also the SMS
    OTP's use; records are newest first)."""
    used: dict[str, datetime] = {}
    for record in records:
        if record.result != "success":
            continue
        used.setdefault(record.method, record.at)
        if record.method == PASSWORD_METHOD:
            used.setdefault(SMS, record.at)
    return used


def session_view(session: Session, current_id: str) -> dict[str, Any]:
    return {"id": session.session_id, "created_at": iso(session.created_at),
            "last_seen_at": iso(session.last_seen_at), "ip": session.ip,
            "user_agent": session.user_agent, "level": session.level,
            "method": session.method, "current": session.session_id == current_id,
            "expires_at": iso(session.expires_at)}


def login_view(record: LoginRecord) -> dict[str, Any]:
    return {"at": iso(record.at), "method": record.method, "result": record.result,
            "reason": record.reason, "ip": record.ip, "user_agent": record.user_agent}


# --- the add-a-method flow ------------------------------------------------------------------

@dataclass
class MethodFlow:
    """"Thêm mới" a way to log in: an SMS phone (OTP to it) or a certificate (signature)."""

    flow_id: str
    account_id: str
    type: str
    status: MethodFlowStatus
    flow_token_hash: str
    created_at: datetime
    expires_at: datetime
    phone: str | None = None
    method_id: str | None = None
    code: str | None = None

    def ensure(self, status: MethodFlowStatus, now: datetime) -> None:
        if self.status != status:
            raise FlowState()
        if now >= self.expires_at:
            raise FlowExpired()

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.flow_id, "type": self.type, "status": self.status,
                                "expires_at": iso(self.expires_at)}
        if self.phone:
            data["phone_masked"] = mask_phone(self.phone)
        if self.method_id:
            data["method_id"] = self.method_id
        if self.code:
            data["code"] = self.code
        return data


# --- ports ----------------------------------------------------------------------------------

class ManagedAccounts(Protocol):
    async def update_contacts(self, account_id: str, changes: dict[str, str | None]) -> bool:
        ...

    async def add_phone_method(self, account_id: str, method: AuthMethod, phone: str,
                               now: datetime, max_phones: int) -> bool:
        """Adds the OTP phone and its sms method in one conditional update: False when the
        account already has ``max_phones`` phones or this number."""
        ...

    async def add_certificate_method(self, account_id: str, method: AuthMethod,
                                     level: int) -> bool:
        """Adds a usb/sim method unless that certificate's fingerprint is bound already."""
        ...

    async def remove_method(self, account_id: str, method: AuthMethod,
                            expected_method_ids: list[str]) -> bool:
        """Removes the method (and its phone) only if the account's methods are still
        exactly ``expected_method_ids``: a concurrent removal cannot leave no way in."""
        ...

    async def owner_of_fingerprint(self, fingerprint_sha256: str) -> str | None: ...

    async def keep_former_phone(self, account_id: str, phone: Phone, now: datetime) -> None:
        """Keeps a removed phone's number (the last few), so the notice of its removal can
        still reach it."""
        ...

    async def phone_numbers(self, account_id: str, phone_ids: list[str]) -> dict[str, str]:
        """phone id → number, for the account's phones and the ones it removed lately."""
        ...

    async def keep_former_email(self, account_id: str, email: str, event_id: str,
                                now: datetime) -> None:
        """Keeps the e-mail a change replaced (the last few), under the id of the event that
        announces the change, so its notice goes to the old address."""
        ...

    async def notice_email(self, account_id: str, event_id: str) -> str | None:
        """Where the notice of event ``event_id`` goes: the address that change replaced,
        else the account's e-mail."""
        ...


class ManagedSessions(Protocol):
    async def active(self, account_id: str, now: datetime) -> list[Session]: ...

    async def revoke_one(self, account_id: str, session_id: str,
                         now: datetime) -> Session | None:
        """Revokes the account's live session ``session_id``; None if no such session."""
        ...

    async def revoke_others(self, account_id: str, keep_session_id: str,
                            now: datetime) -> list[Session]: ...

    async def mark_reauthenticated(self, session_id: str, at: datetime, level: int) -> bool:
        """Records a step-up on the live session ``session_id``."""
        ...


class MethodFlows(Protocol):
    async def add(self, flow: MethodFlow) -> None: ...

    async def get(self, flow_id: str) -> MethodFlow | None: ...

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     method_id: str | None = None, code: str | None = None) -> bool:
        """``from_status`` → ``to_status`` atomically, if still live: True for one caller."""
        ...


class AccountUnitOfWork(UnitOfWork, Protocol):
    @property
    def managed_accounts(self) -> ManagedAccounts: ...

    @property
    def managed_sessions(self) -> ManagedSessions: ...

    @property
    def method_flows(self) -> MethodFlows: ...

    @property
    def step_ups(self) -> StepUps: ...

