"""The steps of an account page's signature flow once it started: the SIM waiting screen and
its script's status route, the USB signing screen and its form, and where the browser goes
when the flow is done, failed or gone. "Thêm mới" a Sim/USB ký số
(``account_methods_signature.py``) and "Xác thực lại" with one (``account_reauth.py``) are the
same steps over two endpoints of profile: each module declares its routes and says how its
flow is read and signed; ``SignatureSteps`` does the rest (the screens are ``signing.py``'s).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    STEP_UP_CODES,
    PageProblem,
    flow_gone,
    step_up_redirect,
)
from services.gateway.web.rendering import FormErrors, redirect
from services.gateway.web.security import FlowKind, WebFlow, forget_flow, read_flow, remember_flow
from services.gateway.web.signing import (
    poll_answer,
    show_sim_waiting,
    show_usb_signing,
    signed_payload,
)
from shared.contracts.fields import SignatureProof
from shared.rpc import RemoteError, ServiceUnavailable

AWAITING = "awaiting_signature"
FAILED = "failed"


class SignatureFlowView(Protocol):
    """What a read of the flow tells the steps: its status, and why it failed."""

    @property
    def status(self) -> str: ...

    @property
    def code(self) -> str | None: ...


ReadFlow = Callable[[WebFlow], Awaitable[SignatureFlowView]]
SubmitSignature = Callable[[SignatureProof], Awaitable[object]]


@dataclass(frozen=True)
class SignatureSteps:
    kind: FlowKind  # the flow cookie
    back: str  # the page the flow started from ("Quay lại"; a gone flow's poll goes there)
    sim_waiting: str  # the SIM waiting screen (also its form's action)
    sim_status: str  # its script's JSON status route
    usb_sign: str  # the USB signing screen (also its form's action)
    sim_heading: str
    usb_heading: str
    done_url: Callable[[WebFlow], str]  # where the browser goes once the flow completed
    failed: Callable[[str | None], PageProblem]  # the page of a flow that failed with a code
    # A change that needs a step-up (adding a method): a step-up that lapsed while the flow
    # waited sends the browser to step up again, then back to ``back``.
    may_need_step_up: bool = False

    def begin(self, request: Request, flow: WebFlow, page: str) -> Response:
        """On to the flow's screen, the flow remembered in its cookie."""
        response = redirect(page)
        remember_flow(request, response, flow)
        return response

    def done(self, request: Request, flow: WebFlow) -> Response:
        response = redirect(self.done_url(flow))
        forget_flow(request, response, self.kind)
        return response

    def sim_page(self, request: Request, flow: WebFlow,
                 errors: FormErrors | None = None) -> HTMLResponse:
        return show_sim_waiting(request, flow, heading=self.sim_heading, action=self.sim_waiting,
                                status_url=self.sim_status, back=self.back, errors=errors)

    def usb_page(self, request: Request, flow: WebFlow,
                 errors: FormErrors | None = None) -> HTMLResponse:
        return show_usb_signing(request, flow, self.usb_sign, heading=self.usb_heading,
                                back=self.back, errors=errors)

    async def show_sim(self, request: Request, flow: WebFlow, read: ReadFlow) -> Response:
        """The waiting screen (its button reloads it): the read that sees the approval
        completes the flow, whichever read that is (this one or the script's poll)."""
        try:
            view = await read(flow)
        except (RemoteError, ServiceUnavailable) as exc:
            if isinstance(exc, RemoteError) and exc.code in FLOW_GONE_CODES:
                raise flow_gone(self.kind) from exc
            stepping_up = step_up_redirect(exc, self.back) if self.may_need_step_up else None
            if stepping_up is not None:
                forget_flow(request, stepping_up, self.kind)
                return stepping_up
            return self.sim_page(request, flow, FormErrors.of(exc, ()))
        if view.status == AWAITING:
            return self.sim_page(request, flow)
        if view.status == FAILED:
            raise self.failed(view.code)
        return self.done(request, flow)

    async def poll_sim(self, request: Request, read: ReadFlow) -> JSONResponse:
        """For the waiting screen's script; the read that sees the approval completes it."""
        flow = read_flow(request, self.kind)
        if flow is None:
            return poll_answer("gone", self.back)
        try:
            view = await read(flow)
        except RemoteError as exc:
            ends = exc.code in FLOW_GONE_CODES or (self.may_need_step_up
                                                   and exc.code in STEP_UP_CODES)
            # The waiting screen then says why (or steps up).
            return poll_answer("gone", self.sim_waiting) if ends else poll_answer("unknown")
        except ServiceUnavailable:
            return poll_answer("unknown")  # busy: the script asks again
        if view.status in {AWAITING, FAILED}:
            return poll_answer(view.status, self.sim_waiting if view.status == FAILED else None)
        response = poll_answer(view.status, self.done_url(flow))
        forget_flow(request, response, self.kind)
        return response

    async def submit_usb(self, request: Request, flow: WebFlow, form: Mapping[str, Any],
                         submit: SubmitSignature) -> Response:
        """The signature the local agent made over the flow's challenge."""
        signed, errors = signed_payload(form)
        if errors:
            return self.usb_page(request, flow, errors)
        try:
            proof = SignatureProof.model_validate(signed)
        except ValidationError as exc:  # longer than any certificate or signature may be
            return self.usb_page(request, flow, FormErrors.of_contract(exc, ()))
        try:
            await submit(proof)
        except (RemoteError, ServiceUnavailable) as exc:
            errors = FormErrors.of(exc, ())
            if errors.code in FLOW_GONE_CODES:
                raise flow_gone(self.kind) from exc
            return self.usb_page(request, flow, errors)
        return self.done(request, flow)
