"""Use case ``send_notice``: an SMS composed from a template (docs/messaging.md, otp).

Nothing is stored and no event is published: the message may carry a secret (an initial
password), and the caller records the fact it stands for (AccountCreated) itself. The log
line names the kind and the masked phone only.
"""

from __future__ import annotations

from typing import Any

from services.otp.domain.errors import SmsFailed
from services.otp.domain.model import storage_time
from services.otp.domain.notices import SendNotice
from services.otp.domain.ports import SmsDeliveryError, SmsSender
from shared.clock import Clock
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)


class Notices:
    def __init__(self, sms: SmsSender, clock: Clock) -> None:
        self._sms = sms
        self._clock = clock

    async def send_notice(self, payload: dict[str, Any]) -> dict[str, str]:
        notice = SendNotice.parse(payload)
        try:
            await self._sms.send(notice.phone, notice.body())
        except SmsDeliveryError as exc:
            log.warning("notice sms failed", body_kind=notice.body_kind,
                        phone=mask_phone(notice.phone), reason=exc.reason, status=exc.status)
            raise SmsFailed("Không gửi được tin nhắn đến số điện thoại này. Vui lòng kiểm tra "
                            "lại số điện thoại hoặc thử lại sau ít phút.") from exc
        log.info("notice sent", body_kind=notice.body_kind, purpose=notice.purpose,
                 phone=mask_phone(notice.phone))
        return {"phone_masked": mask_phone(notice.phone),
                "sent_at": storage_time(self._clock()).isoformat()}
