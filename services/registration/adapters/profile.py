"""profile's ``stage_credential`` over NATS request/reply (docs/messaging.md): a new account's
password goes to its owner, never into an event. profile owns the password rule (issue 16):
it checks the rule and the confirmation first; its refusals come back as registration's own
errors with profile's detail and fields unchanged, so the caller's answer is the same."""

from __future__ import annotations

from pydantic import ValidationError

from services.registration.domain.errors import (
    ExternalUnavailable,
    PasswordMismatch,
    PasswordPolicyViolation,
    ProfileRejected,
    RegistrationError,
)
from shared.contracts.profile import STAGE_CREDENTIAL, StageCredential
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

UNAVAILABLE_DETAIL = ("Hệ thống tài khoản tạm thời không phản hồi. Vui lòng thử lại sau ít "
                      "phút; thông tin đã nhập vẫn được giữ.")


class RpcCredentialOwner:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def stage(self, registration_id: str, password: str, *, confirmation: str,
                    id_number: str, phone: str) -> str:
        request = StageCredential(registration_id=registration_id, password=password,
                                  password_confirmation=confirmation, id_number=id_number,
                                  phone=phone)
        try:
            staged = await self._rpc.ask(STAGE_CREDENTIAL, request)
        except ServiceUnavailable as exc:
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            raise refusal(exc.error) from exc
        except ValidationError as exc:
            # An answer without its credential id: nothing was staged that we could name.
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        return staged.credential_id


def refusal(error: dict[str, object]) -> RegistrationError:
    """profile's error as registration's: the same code, detail and fields."""
    code = str(error.get("code") or "internal")
    detail = error.get("detail")
    text = detail if isinstance(detail, str) else None
    fields = error.get("fields")
    problems = fields if isinstance(fields, list) else None
    if code == PasswordPolicyViolation.code:
        return PasswordPolicyViolation(text, problems)
    if code == PasswordMismatch.code:
        return PasswordMismatch(text, problems)
    return ProfileRejected(code, text)
