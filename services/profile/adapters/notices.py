"""The otp service's ``send_notice`` and ``send_email_notice`` (``shared/contracts/otp.py``):
the messages telling an account's phones and address of a sensitive change (profile's
security notices)."""

from __future__ import annotations

from typing import Final

from shared.contracts import otp as OTP
from shared.rpc import RpcClient

SECURITY_CHANGE_NOTICE: Final = "security_change"
# send_notice asks for a purpose; a change notice is part of the account's login security.
NOTICE_PURPOSE: Final = "login"


class RpcNoticeSender:
    def __init__(self, rpc: RpcClient, timeout: float | None = None) -> None:
        self._rpc = rpc
        self._timeout = timeout

    async def security_change(self, phone: str, change: str, at: str, device: str) -> None:
        # Any failure (service down, SMS refused) propagates: the event is delivered again.
        await self._rpc.ask(OTP.SEND_NOTICE, OTP.SendNotice(
            phone=phone, purpose=NOTICE_PURPOSE, body_kind=SECURITY_CHANGE_NOTICE,
            params={"change": change, "at": at, "device": device}), timeout=self._timeout)

    async def security_change_email(self, email: str, change: str, at: str,
                                    device: str) -> bool:
        answer = await self._rpc.ask(OTP.SEND_EMAIL_NOTICE, OTP.SendEmailNotice(
            email=email, body_kind=SECURITY_CHANGE_NOTICE,
            params={"change": change, "at": at, "device": device}), timeout=self._timeout)
        return answer.sent
