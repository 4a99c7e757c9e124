"""Quản lý tài khoản: Thông tin định danh (profile's ``me`` / ``me_update``, as ``GET`` and
``PATCH /api/v1/me``); the other pages are ``account_methods.py`` (Các phương thức xác thực)
and ``account_logins.py`` (Quản lý đăng nhập), each an entry of ``ACCOUNT_PAGES``.

Every account page needs the session cookie: without one, or with an ended one, the browser
is sent to log in (``LoginNeeded``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import SESSION_COOKIE, Rpc
from services.gateway.web.guards import CheckedForm, page_problem_of, step_up_redirect
from services.gateway.web.rendering import (
    FormErrors,
    contract_refusal,
    form_values,
    redirect,
    render,
)
from shared.contracts import profile as PROFILE
from shared.contracts.base import AnswerT, RequestT
from shared.contracts.base import Rpc as Endpoint
from shared.contracts.fields import max_length
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

router = APIRouter(prefix="/tai-khoan", include_in_schema=False)


@dataclass(frozen=True)
class AccountPage:
    title: str
    path: str | None  # None while the page is being built


ACCOUNT_PAGES = (
    AccountPage("Thông tin định danh", "/tai-khoan"),
    AccountPage("Các phương thức xác thực", "/tai-khoan/phuong-thuc-xac-thuc"),
    AccountPage("Quản lý đăng nhập", "/tai-khoan/dang-nhap"),
    AccountPage("Ứng dụng đã kết nối", "/tai-khoan/ung-dung"),  # account_apps.py
    AccountPage("Hoạt động của tài khoản", "/tai-khoan/hoat-dong"),
)
CONTACT_FIELDS = ("email", "address")
# Notices of the account pages after a change (``?tb=``), as the pages redirect after a POST.
NOTICES = {"da-luu": "Đã lưu thông tin liên hệ.",
           "da-them": "Đã thêm phương thức xác thực.",
           "da-xoa": "Đã xóa phương thức xác thực.",
           "da-doi-mat-khau": "Đã đổi mật khẩu.",
           "da-ket-thuc": "Đã kết thúc phiên đăng nhập.",
           # services/gateway/web/vneid.py: a VNeID identity linked after a login.
           "da-lien-ket-vneid": "Đã liên kết tài khoản với VNeID: từ nay bạn có thể đăng nhập "
                                "bằng VNeID.",
           "da-tao-vneid": "Đã tạo tài khoản bằng VNeID. Bạn có thể thêm số điện thoại nhận "
                           "OTP hoặc chữ ký số trong mục Phương thức xác thực."}


class LoginNeeded(Exception):
    """No live session: the account pages send the browser to log in."""


async def on_login_needed(request: Request, exc: Exception) -> Response:
    # The login page says why the person landed there (login.LOGIN_NOTICES).
    return redirect("/dang-nhap?tb=can-dang-nhap")


async def ask_as_owner(request: Request, rpc: RpcClient, endpoint: Endpoint[RequestT, AnswerT],
                       **fields: Any) -> AnswerT:
    """A profile account-management call with this browser's session: ``fields`` and the
    session token make the endpoint's request. A value its contract refuses is refused as
    profile would refuse it (``validation_error`` naming the fields); ``RemoteError`` other
    than ``unauthenticated`` and ``ServiceUnavailable`` are the caller's to show."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginNeeded
    try:
        asked = endpoint.request.model_validate(fields | {"session_token": token})
    except ValidationError as exc:
        raise contract_refusal(exc) from None
    try:
        return await rpc.ask(endpoint, asked)
    except RemoteError as exc:
        if exc.code == "unauthenticated":  # ended or expired: log in again
            raise LoginNeeded from exc
        raise


async def read_as_owner(request: Request, rpc: RpcClient,
                        endpoint: Endpoint[RequestT, AnswerT], **fields: Any) -> AnswerT:
    """A read for a page: a refusal becomes the error page."""
    try:
        return await ask_as_owner(request, rpc, endpoint, **fields)
    except (RemoteError, ServiceUnavailable) as exc:
        raise page_problem_of(exc) from exc
SUBJECT_TITLES = {"citizen": "Công dân", "enterprise": "Doanh nghiệp",
                  "agency": "Cơ quan nhà nước"}
SEX_TITLES = {"male": "Nam", "female": "Nữ"}


@router.get("", response_class=HTMLResponse)
async def identity_page(request: Request, rpc: Rpc, tb: str = "") -> Response:
    me = await read_as_owner(request, rpc, PROFILE.ME)
    contacts = {"email": me.contacts.email, "address": me.contacts.address}
    return _identity_page(request, me, {name: str(contacts[name] or "")
                                        for name in CONTACT_FIELDS}, notice=NOTICES.get(tb))


@router.post("", response_class=HTMLResponse)
async def update_contacts(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    # The contract says how long each may be (an address is longer than other fields).
    values, errors = form_values(form, CONTACT_FIELDS, max_length(PROFILE.ContactAddress))
    if not errors:
        # A blank field clears it (me_update: "" is cleared), as a form is always complete.
        try:
            await ask_as_owner(request, rpc, PROFILE.ME_UPDATE,
                               **{name: values.get(name, "") for name in CONTACT_FIELDS})
            return redirect("/tai-khoan?tb=da-luu")
        except (RemoteError, ServiceUnavailable) as exc:
            stepping_up = step_up_redirect(exc, "/tai-khoan")  # a new e-mail is sensitive
            if stepping_up is not None:
                return stepping_up
            errors = FormErrors.of(exc, CONTACT_FIELDS)
    me = await read_as_owner(request, rpc, PROFILE.ME)
    return _identity_page(request, me, values, errors=errors)


def _identity_page(request: Request, me: PROFILE.AccountView, values: dict[str, str], *,
                   errors: FormErrors | None = None, notice: str | None = None) -> Response:
    return render(request, "account_identity.html", me=me.wire(), pages=ACCOUNT_PAGES,
                  current="/tai-khoan", values=values, errors=errors, notice=notice,
                  subject_title=SUBJECT_TITLES.get(me.subject_type, ""),
                  sex_title=SEX_TITLES.get(str(me.identity.get("sex")), ""))
