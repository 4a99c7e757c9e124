"""The otp service's ``send_notice`` (``shared/contracts/otp.py``): the initial password by SMS."""

from __future__ import annotations

from services.registration.adapters.otp import UNAVAILABLE_DETAIL
from services.registration.domain.errors import ExternalUnavailable, OtpRejected
from services.registration.domain.model import OTP_PURPOSE
from shared.contracts import otp as OTP
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

INITIAL_PASSWORD_NOTICE = "initial_password"


class RpcNoticeGateway:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def send_initial_password(self, phone: str, username: str, password: str) -> None:
        notice = OTP.SendNotice.model_validate(
            {"phone": phone, "purpose": OTP_PURPOSE, "body_kind": INITIAL_PASSWORD_NOTICE,
             "params": {"username": username, "password": password}})
        try:
            await self._rpc.ask(OTP.SEND_NOTICE, notice)
        except ServiceUnavailable as exc:
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            raise OtpRejected(str(exc.error.get("code") or "internal"),
                              exc.error.get("detail")) from exc
