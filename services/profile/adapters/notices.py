"""The otp service's ``send_notice`` (docs/messaging.md): the SMS telling an account's phones
of a sensitive change (``security_notices.py``)."""

from __future__ import annotations

from shared.rpc import RpcClient

OTP_SERVICE = "otp"
SECURITY_CHANGE_NOTICE = "security_change"
# send_notice asks for a purpose; a change notice is part of the account's login security.
NOTICE_PURPOSE = "login"


class RpcNoticeSender:
    def __init__(self, rpc: RpcClient, timeout: float | None = None) -> None:
        self._rpc = rpc
        self._timeout = timeout

    async def security_change(self, phone: str, change: str, at: str, device: str) -> None:
        # Any failure (service down, SMS refused) propagates: the event is delivered again.
        await self._rpc.call(OTP_SERVICE, "send_notice", {
            "phone": phone, "purpose": NOTICE_PURPOSE, "body_kind": SECURITY_CHANGE_NOTICE,
            "params": {"change": change, "at": at, "device": device}}, timeout=self._timeout)

    async def security_change_email(self, email: str, change: str, at: str,
                                    device: str) -> bool:
        answer = await self._rpc.call(OTP_SERVICE, "send_email_notice", {
            "email": email, "body_kind": SECURITY_CHANGE_NOTICE,
            "params": {"change": change, "at": at, "device": device}}, timeout=self._timeout)
        return bool((answer or {}).get("sent"))
