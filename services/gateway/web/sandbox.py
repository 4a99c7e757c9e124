"""``/dev``: the sandbox page, so a tester completes a journey in the browser: the SMS inbox of
a phone (where the OTP arrives), adding a subscriber to the simulated telco registry and a
person to the simulated BHXH registry.

Both forms post to ``/dev`` itself (a hidden ``record`` says which): every path under ``/dev/``
is the gateway's forwarding to the sandbox (``routers/dev.py``), matched before these pages.

Only when the sandbox is on (``DVCID_SANDBOX_URL``, refused in production); otherwise 404.
It reads and changes the world through the same sandbox client as ``/dev/*`` forwarding
(``sandbox_client.py``, shared with the digital-signature part, ``sandbox_signature.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.web import sandbox_signature
from services.gateway.web.guards import CheckedForm
from services.gateway.web.rendering import FormErrors, form_values, redirect, render
from services.gateway.web.sandbox_client import call_sandbox, sandbox_client, sandbox_errors

router = APIRouter(prefix="/dev", include_in_schema=False)

SUBSCRIBER_FIELDS = ("phone", "id_number", "full_name", "birth_date")
BHXH_FIELDS = ("bhxh_code", "id_number", "full_name", "birth_date", "sex", "phone")
# The BHXH form's inputs are named as the sandbox wants them; their ids and errors carry this
# prefix, so they never mix with the subscriber form's fields of the same names.
BHXH_KEY = "bhxh_"
NOTICES = {"da-them": "Đã thêm thuê bao vào cơ sở dữ liệu thuê bao giả lập.",
           "da-them-bhxh": "Đã thêm hồ sơ vào cơ sở dữ liệu Bảo hiểm xã hội giả lập."}


@router.get("", response_class=HTMLResponse)
async def sandbox_page(request: Request, phone: str | None = None,
                       tb: str | None = None) -> HTMLResponse:
    client = sandbox_client(request)
    messages: list[dict[str, Any]] = []
    errors = FormErrors()
    phone = (phone or "").strip()[:32]
    if phone:
        answer = await call_sandbox(client, "GET", "/dev/sms", params={"phone": phone})
        if answer.status_code == 200:
            messages = answer.json()
        else:
            errors = sandbox_errors(answer, ("inbox_phone",), rename={"phone": "inbox_phone"})
    return render(request, "sandbox.html", phone=phone, messages=messages, errors=errors,
                  notice=NOTICES.get(tb or "") or sandbox_signature.NOTICES.get(tb or ""),
                  values={}, bhxh={}, **await sandbox_signature.page_context(client))


@router.post("", response_class=HTMLResponse)
async def add_record(request: Request, form: CheckedForm) -> Response:
    if form.get("record") == "bhxh":
        return await add_bhxh_record(request, form)
    if form.get("record") in sandbox_signature.RECORDS:  # SIM requests, test certificates
        return await sandbox_signature.handle(request, form)
    return await add_subscriber(request, form)


async def add_subscriber(request: Request, form: CheckedForm) -> Response:
    client = sandbox_client(request)
    values, errors = form_values(form, SUBSCRIBER_FIELDS)
    if not errors:
        answer = await call_sandbox(client, "POST", "/dev/telco-subscribers", json=values)
        if answer.status_code in (200, 201):
            return redirect("/dev?" + urlencode({"tb": "da-them", "phone": values["phone"]}))
        errors = sandbox_errors(answer, SUBSCRIBER_FIELDS)
    return render(request, "sandbox.html", phone="", messages=[], errors=errors, values=values,
                  bhxh={})


async def add_bhxh_record(request: Request, form: CheckedForm) -> Response:
    client = sandbox_client(request)
    values, errors = form_values(form, BHXH_FIELDS)
    rename = {name: BHXH_KEY + name for name in BHXH_FIELDS}
    if errors:
        errors = FormErrors.invalid({rename[k]: v[0] for k, v in errors.fields.items()})
    else:
        answer = await call_sandbox(client, "POST", "/dev/bhxh-records", json=values)
        if answer.status_code in (200, 201):
            return redirect("/dev?tb=da-them-bhxh")
        errors = sandbox_errors(answer, tuple(rename.values()), rename=rename)
    return render(request, "sandbox.html", phone="", messages=[], errors=errors, values={},
                  bhxh=values)

