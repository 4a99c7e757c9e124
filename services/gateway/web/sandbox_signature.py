"""The sandbox page's digital-signature part (``/dev``): the SIM signing requests waiting on
their phones, approved with the SIM's PIN or rejected as the owner would on the phone; adding
a SIM subscriber (a phone with a SIM signature certificate); and issuing a test certificate
for USB signing, with its PEM files and PKCS#12 to download (to give ``dvcid signer``).

Its forms post to ``/dev`` like the page's others (a hidden ``record`` says which; every path
under ``/dev/`` is the forwarding to the sandbox): ``sandbox.py`` hands them here. Both
reach the sandbox through ``sandbox_client.py``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from services.gateway.web.rendering import TEMPLATES, FormErrors, form_values, redirect, render
from services.gateway.web.sandbox_client import call_sandbox, sandbox_client, sandbox_errors

RECORDS = frozenset({"sim-subscriber", "certificate", "sim-approve", "sim-reject"})
NOTICES = {"da-them-sim": "Đã thêm Sim ký số (thuê bao có chứng thư số trên Sim).",
           "da-ky": "Đã xác nhận yêu cầu ký trên Sim (như khi nhập đúng mã PIN trên điện thoại).",
           "da-tu-choi": "Đã từ chối yêu cầu ký trên Sim."}
SIM_FIELDS = ("phone", "subject_type", "full_name", "id_number", "tax_code", "pin")
CERTIFICATE_FIELDS = ("subject_type", "full_name", "id_number", "tax_code", "key_type",
                      "pkcs12_password")
SIM_KEY, CERTIFICATE_KEY = "sim_", "cert_"
# The issued files are offered as data: links (base64 of the text files).
TEMPLATES.env.filters["b64"] = lambda text: base64.b64encode(str(text).encode()).decode()


async def page_context(client: httpx.AsyncClient) -> dict[str, Any]:
    """What the page shows of the SIM world: the requests waiting on phones."""
    answer = await call_sandbox(client, "GET", "/dev/sim")
    requests = answer.json() if answer.status_code == 200 else []
    return {"sim_requests": requests}


async def handle(request: Request, form: FormData) -> Response:
    client = sandbox_client(request)
    record = form.get("record")
    if record in ("sim-approve", "sim-reject"):
        return await _answer_request(request, client, form, approve=record == "sim-approve")
    if record == "sim-subscriber":
        return await _add_sim_subscriber(request, client, form)
    return await _issue_certificate(request, client, form)


async def _answer_request(request: Request, client: httpx.AsyncClient, form: FormData, *,
                          approve: bool) -> Response:
    values, _ = form_values(form, ("phone", "pin"))
    phone = values.get("phone", "")
    if approve:
        answer = await call_sandbox(client, "POST", f"/dev/sim/{phone}/approve",
                                    json={"pin": values.get("pin", "")})
    else:
        answer = await call_sandbox(client, "POST", f"/dev/sim/{phone}/reject")
    if answer.status_code == 200:
        return redirect("/dev?" + urlencode({"tb": "da-ky" if approve else "da-tu-choi"}))
    errors = sandbox_errors(answer, ())
    for item in (answer.json().get("errors") or []) if _is_json(answer) else []:
        errors.detail = f"{errors.detail} {item.get('detail', '')}".strip()
    return await _page(request, client, errors=errors)


async def _add_sim_subscriber(request: Request, client: httpx.AsyncClient,
                              form: FormData) -> Response:
    values, errors = form_values(form, SIM_FIELDS)
    if not errors:
        answer = await call_sandbox(client, "POST", "/dev/sim-subscribers", json=values)
        if answer.status_code in (200, 201):
            return redirect("/dev?tb=da-them-sim")
        errors = _prefixed_errors(answer, SIM_FIELDS, SIM_KEY)
    return await _page(request, client, errors=errors, sim_values=values)


async def _issue_certificate(request: Request, client: httpx.AsyncClient,
                             form: FormData) -> Response:
    values, errors = form_values(form, CERTIFICATE_FIELDS)
    if not errors:
        answer = await call_sandbox(client, "POST", "/dev/certificates", json=values)
        if answer.status_code in (200, 201):
            return await _page(request, client, issued=answer.json(), cert_values=values,
                               notice="Đã cấp chứng thư số thử nghiệm.")
        errors = _prefixed_errors(answer, CERTIFICATE_FIELDS, CERTIFICATE_KEY)
    return await _page(request, client, errors=errors, cert_values=values)


def _prefixed_errors(answer: httpx.Response, names: tuple[str, ...], prefix: str) -> FormErrors:
    rename = {name: prefix + name for name in names}
    errors = sandbox_errors(answer, tuple(rename.values()), rename=rename)
    if not errors.fields and _is_json(answer):
        # The sandbox's model checks (e.g. "citizen certificates need id_number") name no field.
        errors.detail = f"{errors.detail} {_raw_detail(answer)}".strip()
    return errors


def _raw_detail(answer: httpx.Response) -> str:
    body = answer.json()
    return " ".join(str(e.get("detail", "")) for e in body.get("errors") or []
                    if isinstance(e, dict) and not e.get("name"))


def _is_json(answer: httpx.Response) -> bool:
    return "json" in answer.headers.get("content-type", "")


async def _page(request: Request, client: httpx.AsyncClient, **context: Any) -> Response:
    return render(request, "sandbox.html", phone="", messages=[], values={}, bhxh={},
                  **await page_context(client) | context)
