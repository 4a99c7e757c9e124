"""profile's ``stage_credential`` over NATS request/reply (docs/messaging.md): a new account's
password goes to its owner, never into an event."""

from __future__ import annotations

from services.registration.domain.errors import ExternalUnavailable, ProfileRejected
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

PROFILE_SERVICE = "profile"
UNAVAILABLE_DETAIL = ("Hệ thống tài khoản tạm thời không phản hồi. Vui lòng thử lại sau ít "
                      "phút; thông tin đã nhập vẫn được giữ.")


class RpcCredentialOwner:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def stage(self, registration_id: str, password: str) -> str:
        try:
            data = await self._rpc.call(PROFILE_SERVICE, "stage_credential",
                                        {"registration_id": registration_id,
                                         "password": password})
        except ServiceUnavailable as exc:
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            raise ProfileRejected(str(exc.error.get("code") or "internal"),
                                    exc.error.get("detail")) from exc
        credential_id = data.get("credential_id") if isinstance(data, dict) else None
        if not isinstance(credential_id, str) or not credential_id:
            raise ExternalUnavailable(UNAVAILABLE_DETAIL)
        return credential_id
