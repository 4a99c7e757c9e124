"""Use cases ``send_notice`` (an SMS composed from a template) and ``send_email_notice`` (the
same notice as an e-mail) (docs/messaging.md, otp).

Nothing is stored and no event is published: the message may carry a secret (an initial
password), and the caller records the fact it stands for (AccountCreated) itself. The log
line names the kind and the masked phone only.
"""

from __future__ import annotations

from services.otp import metrics as otp_metrics
from services.otp.domain.errors import EmailFailed, SmsFailed
from services.otp.domain.model import storage_time
from services.otp.domain.notices import EmailNotice, SmsNotice
from services.otp.domain.ports import EmailDeliveryError, EmailSender, SmsDeliveryError, SmsSender
from shared.clock import Clock
from shared.contracts.otp import EmailNoticeSent, NoticeSent, SendEmailNotice, SendNotice
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)


class Notices:
    def __init__(self, sms: SmsSender, clock: Clock, email: EmailSender | None = None) -> None:
        self._sms = sms
        self._clock = clock
        self._email = email

    async def send_email_notice(self, request: SendEmailNotice) -> EmailNoticeSent:
        """``{sent: false}`` when no mail relay is configured (the caller goes on without)."""
        notice = EmailNotice.of(request)
        if self._email is None:
            return EmailNoticeSent(sent=False)
        subject, body = notice.subject_and_body()
        try:
            await self._email.send(notice.email, subject, body)
        except EmailDeliveryError as exc:
            log.warning("notice e-mail failed", body_kind=notice.body_kind, reason=str(exc))
            raise EmailFailed() from exc
        log.info("notice e-mail sent", body_kind=notice.body_kind)
        return EmailNoticeSent(sent=True, sent_at=storage_time(self._clock()).isoformat())

    async def send_notice(self, request: SendNotice) -> NoticeSent:
        notice = SmsNotice.of(request)
        try:
            await self._sms.send(notice.phone, notice.body())
        except SmsDeliveryError as exc:
            otp_metrics.sms_failed(exc)
            log.warning("notice sms failed", body_kind=notice.body_kind,
                        phone=mask_phone(notice.phone), reason=exc.reason, status=exc.status)
            raise SmsFailed("Không gửi được tin nhắn đến số điện thoại này. Vui lòng kiểm tra "
                            "lại số điện thoại hoặc thử lại sau ít phút.") from exc
        log.info("notice sent", body_kind=notice.body_kind, purpose=notice.purpose,
                 phone=mask_phone(notice.phone))
        return NoticeSent(phone_masked=mask_phone(notice.phone),
                          sent_at=storage_time(self._clock()).isoformat())
