"""The login use case: ``login_start`` looks the method's strategy up once and lets it begin;
every later request finds the flow by its id and token, and the flow's method names the
strategy that reads it or takes the step (a step its method does not accept: ``not_found``,
as for an unknown flow)."""

from __future__ import annotations

from collections.abc import Sequence

from services.profile.domain.errors import NotFound, ValidationFailed
from services.profile.domain.ports import Store
from services.profile.handlers.common import ProfilePolicy
from services.profile.handlers.login.certificate import CertificateLogins
from services.profile.handlers.login.strategy import (
    AnyLoginFlow,
    LoginStrategy,
    OtpStep,
    SignatureStep,
)
from shared import crypto
from shared.contracts.fields import FlowRef
from shared.contracts.profile import (
    LoginCompleted,
    LoginFlowRef,
    LoginFlowView,
    LoginOtp,
    LoginSignature,
    LoginStart,
    LoginStarted,
    LoginStep,
    OtpResent,
)

_NO_METHOD = "Phương thức đăng nhập này chưa được hỗ trợ."


class LoginFlow:
    def __init__(self, *, strategies: Sequence[LoginStrategy], store: Store,
                 certificate_logins: CertificateLogins, policy: ProfilePolicy) -> None:
        self._strategies = {strategy.method: strategy for strategy in strategies}
        self._store = store
        self._certificate_logins = certificate_logins
        self._policy = policy

    async def start(self, request: LoginStart) -> LoginStarted:
        # The contract read the request as its method's variant: a method with no strategy
        # here is one this service does not offer (yet).
        strategy = self._strategies.get(request.method)
        if strategy is None:
            raise ValidationFailed(fields=[{"name": "method", "detail": _NO_METHOD}])
        return await strategy.begin(request)

    async def get(self, request: LoginFlowRef) -> LoginFlowView:
        flow = await self._find(request)
        return await self._strategy_of(flow).read(flow)

    async def submit_otp(self, request: LoginOtp) -> LoginCompleted:
        flow = await self._find(request)
        return await self._otp_step(flow).submit_otp(flow, request)

    async def resend_otp(self, request: LoginStep) -> OtpResent:
        flow = await self._find(request)
        return await self._otp_step(flow).resend_otp(flow, request)

    async def submit_signature(self, request: LoginSignature) -> LoginCompleted:
        flow = await self._find(request)
        return await self._signature_step(flow).submit_signature(flow, request)

    def _strategy_of(self, flow: AnyLoginFlow) -> LoginStrategy:
        strategy = self._strategies.get(flow.method)
        if strategy is None:
            raise NotFound()
        return strategy

    def _otp_step(self, flow: AnyLoginFlow) -> OtpStep:
        strategy = self._strategy_of(flow)
        if not isinstance(strategy, OtpStep):
            raise NotFound()
        return strategy

    def _signature_step(self, flow: AnyLoginFlow) -> SignatureStep:
        strategy = self._strategy_of(flow)
        if not isinstance(strategy, SignatureStep):
            raise NotFound()
        return strategy

    async def _find(self, ref: FlowRef) -> AnyLoginFlow:
        """The flow, only for the holder of its token: otherwise it does not exist."""
        flow: AnyLoginFlow | None = await self._certificate_logins.find(ref.id)
        if flow is None:
            flow = await self._store.logins.get(ref.id)
        if flow is None or not crypto.same(self._policy.flow_hash(ref.flow_token),
                                           flow.flow_token_hash):
            raise NotFound()
        return flow
