"""Account management ("Quản lý tài khoản", FLOWS.md): what the owner of an account sees and
may change. Pure rules, the views and the add-a-method flow (the requests are the contracts
of ``shared/contracts/profile.py``, the ports are in ``ports.py``).

- Identity is shown per subject type and is never edited here: it was proven (telco, BHXH,
  certificate) and only a new proof changes it. Contacts (email, address) are editable.
- Sensitive changes (auth methods, password, email, ending another session) need a step-up
  of the session (``domain/step_up.py``, ``handlers/settings/step_up.py``).
- The account always keeps a way to log in: password + an OTP phone, or a certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from services.profile.domain.devices import device_words
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
    Session,
)
from services.profile.domain.vneid import VNEID_METHOD
from shared.phones import mask_phone

MAX_PHONES = 5  # login.gov allows at most five phone numbers per account
ADD_METHOD_PURPOSE = "add_method"
SMS = "sms"
SIGNATURE_TYPES = frozenset({"usb", "sim"})
IDENTITY_FIELDS = frozenset({"id_number", "full_name", "birth_date", "sex", "tax_code",
                             "name", "representative", "code", "identity", "subject_type",
                             "level"})
EDITABLE_FIELDS = ("email", "address")
MethodFlowStatus = Literal["otp_sent", "awaiting_signature", "completed", "failed"]


# --- rules ----------------------------------------------------------------------------------

def normalised_email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationFailed("Địa chỉ email không hợp lệ.", fields=[
            {"name": "email", "detail": "Địa chỉ email không hợp lệ, ví dụ: ten@example.vn."}
        ]) from None


def checked_changes(sent: Mapping[str, str | None], others: Iterable[str],
                    account: Account) -> dict[str, str | None]:
    """The contact changes of a PATCH /me, or the reason it is refused. ``sent``: the
    editable fields the request named (absent ones are left alone; ``null`` or blank clears
    one); ``others``: the other fields it named."""
    identity = sorted(name for name in others if name in IDENTITY_FIELDS)
    if identity:
        why = ("Thông tin định danh đã được xác thực mức độ 3 bằng chữ ký số, không thể "
               "chỉnh sửa." if account.level >= 3 else
               "Thông tin định danh được xác thực từ cơ sở dữ liệu, không thể tự chỉnh sửa.")
        raise Forbidden(why + " Chỉ có thể sửa email và địa chỉ liên hệ.",
                        fields=[{"name": name, "detail": "Trường chỉ đọc."}
                                for name in identity])
    unknown = sorted(name for name in others if name not in IDENTITY_FIELDS)
    if unknown:
        raise ValidationFailed(fields=[{"name": name, "detail": "Trường này không được hỗ trợ."}
                                       for name in unknown])
    changes = {name: (value or "").strip() or None for name, value in sent.items()
               if name in EDITABLE_FIELDS}
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
    # A linked VNeID identity logs in by itself, as a certificate does (domain/vneid.py).
    return any(m.type in SIGNATURE_TYPES or m.type == VNEID_METHOD for m in left) or (
        has_password and bool(otp_phones))


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
    if method.type == VNEID_METHOD:
        return f"VNeID: {account.identity.full_name}"
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
            "user_agent": session.user_agent, "device": device_words(session.user_agent),
            "level": session.level,
            "method": session.method, "current": session.session_id == current_id,
            "expires_at": iso(session.expires_at)}


def login_view(record: LoginRecord) -> dict[str, Any]:
    return {"at": iso(record.at), "method": record.method, "result": record.result,
            "reason": record.reason, "ip": record.ip, "user_agent": record.user_agent,
            "device": device_words(record.user_agent)}


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
