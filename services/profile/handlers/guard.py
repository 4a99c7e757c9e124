"""Use cases of the login guards: captchas, failure counters and locks, per-IP throttling.

The rules are in ``domain/guards.py``; this module applies them through the store's atomic
counters (shared by every replica of every service: they live in profile's database).
Counter keys are keyed hashes: a login name (often an ID number) or an IP never sits in the
guard collections in clear.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.profile.domain.errors import (
    AccountLocked,
    CaptchaInvalid,
    CaptchaRequired,
    RateLimited,
)
from services.profile.domain.guards import (
    AUDIO_CAPTCHA_DIGITS,
    CAPTCHA_ALPHABET,
    CAPTCHA_LENGTH,
    Count,
    GuardPolicy,
    normalise_answer,
    seconds_until,
)
from services.profile.domain.ports import CaptchaImages, CaptchaSounds, GuardStore
from shared import crypto
from shared.clock import Clock
from shared.contracts.profile import CaptchaAnswer, CaptchaView, NewCaptcha
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Admission:
    """A password attempt let through: the counts it reserved, to keep or give back."""

    # The budget the attempt spends: its account's (shared by all the account's names) or,
    # for a name without an account, the name's. ONE counter, so parallel attempts each get
    # a distinct count and exactly ``captcha_after`` reach the password check.
    key: str
    ip_key: str | None
    count: int

    def counted(self) -> list[str]:
        return [k for k in (self.key, self.ip_key) if k]


def _random_text() -> str:
    return "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(CAPTCHA_LENGTH))


def _random_digits() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(AUDIO_CAPTCHA_DIGITS))


class LoginGuard:
    def __init__(self, *, store: GuardStore, images: CaptchaImages, clock: Clock,
                 policy: GuardPolicy, secret: str,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 new_text: Callable[[], str] = _random_text,
                 sounds: CaptchaSounds | None = None,
                 new_digits: Callable[[], str] = _random_digits) -> None:
        self._store = store
        self._images = images
        self._sounds = sounds
        self._new_digits = new_digits
        self._clock = clock
        self._policy = policy
        self._secret = secret
        self._new_id = new_id
        self._new_text = new_text

    # --- captchas --------------------------------------------------------------------------

    async def new_captcha(self, command: NewCaptcha) -> CaptchaView:
        """A fresh captcha; the answer is kept only as a keyed hash, for one answer. An audio
        one (``kind: audio``, when this service can speak) is digits, shown and read aloud."""
        await self._throttle("captcha", command.ip, self._policy.ip_attempts)
        audio = command.kind == "audio" and self._sounds is not None
        text = self._new_digits() if audio else self._new_text()
        image = await self._images.render(text)
        captcha_id = self._new_id()
        expires_at = self._clock() + self._policy.captcha_ttl
        await self._store.captchas.add(captcha_id, self._answer_hash(captcha_id, text),
                                       expires_at)
        answer: dict[str, Any] = {
            "captcha_id": captcha_id,
            "image": "data:image/png;base64," + base64.b64encode(image).decode(),
            "expires_at": expires_at.isoformat()}
        if audio and self._sounds is not None:
            sound = await self._sounds.render(text)
            answer["audio"] = "data:audio/wav;base64," + base64.b64encode(sound).decode()
        return CaptchaView.model_validate(answer)

    async def _captcha_ok(self, answer: CaptchaAnswer) -> bool:
        stored = await self._store.captchas.take(answer.id, self._clock())
        return stored is not None and crypto.same(
            stored, self._answer_hash(answer.id, normalise_answer(answer.answer)))

    def _answer_hash(self, captcha_id: str, text: str) -> str:
        return crypto.keyed_hash(self._secret, f"captcha:{captcha_id}:{text}")

    # --- password attempts -----------------------------------------------------------------

    async def admit(self, login_name: str, ip: str | None,
                    captcha: CaptchaAnswer | None,
                    account_id: str | None = None) -> Admission:
        """Lets a password attempt through, or refuses it (rate_limited, account_locked,
        captcha_required, captcha_invalid) before any password is checked. ``account_id``:
        the account the name belongs to, if any, whose budget all its names share."""
        await self._throttle("login", ip, self._policy.ip_attempts)
        key = (self._key("account", account_id) if account_id
               else self._key("name", login_name.casefold()))
        await self._ensure_unlocked(key)
        ip_key = self._key("ip-failures", ip) if ip else None
        admission = Admission(key, ip_key, await self._hit(key))
        ip_count = await self._hit(ip_key)
        if admission.count > self._policy.lock_after:
            # Past the 10th reservation only while parallel attempts are in flight (the 10th
            # failure itself locks): none of these may check a password; no lock is written,
            # since the reservations ahead may yet be given back.
            await self._give_back(admission)
            if captcha is None:
                raise CaptchaRequired()
            raise RateLimited(retry_after=1)
        if self._policy.needs_captcha(admission.count, ip_count):
            if captcha is None:
                await self._give_back(admission)
                raise CaptchaRequired()
            if not await self._captcha_ok(captcha):
                await self._give_back(admission)
                raise CaptchaInvalid()
        return admission

    async def admit_account(self, account_id: str) -> Admission:
        """A guess of the current password by a signed-in session (PUT /me/password): in
        the account's budget, refused while the account is locked. No captcha here (the
        session has no captcha step): its failures still lead to the lock."""
        key = self._key("account", account_id)
        await self._ensure_unlocked(key)
        admission = Admission(key, None, await self._hit(key))
        if admission.count > self._policy.lock_after:
            await self._give_back(admission)
            raise RateLimited(retry_after=1)
        return admission

    async def succeeded(self, admission: Admission) -> None:
        """A right password is not a failure: its reservation is given back."""
        await self._give_back(admission)

    async def failed(self, admission: Admission) -> None:
        """The reservation stays a failure; the one that reaches the limit locks the account
        (under every name of it), or the name that has no account."""
        if self._policy.locks(admission.count):
            log.warning("login locked after failed passwords")
            raise AccountLocked(retry_after=await self._lock(admission.key))

    async def _ensure_unlocked(self, key: str) -> None:
        now = self._clock()
        locked_until = await self._store.locks.locked_until(key, now)
        if locked_until is not None:
            raise AccountLocked(retry_after=seconds_until(locked_until, now))

    async def _hit(self, key: str | None) -> int:
        if key is None:
            return 0
        return (await self._store.counters.hit(key, self._clock(), self._policy.window)).value

    async def _lock(self, key: str) -> int:
        now = self._clock()
        until = now + self._policy.lock_for
        await self._store.locks.lock(key, until)
        return seconds_until(until, now)

    async def _give_back(self, admission: Admission) -> None:
        now = self._clock()
        for key in admission.counted():
            await self._store.counters.give_back(key, now)

    # --- throttles -------------------------------------------------------------------------

    async def allow_otp_send(self, ip: str | None) -> None:
        """Counts an OTP SMS a client's IP causes (login, resend, another phone, reset)."""
        await self._throttle("otp", ip, self._policy.ip_otp_sends)

    async def allow_reset(self, login_name: str) -> None:
        """A password-reset request for a login name, counted whether or not an account has
        that name: the brake answers the same for both."""
        await self._limit("reset-name", login_name.casefold(), self._policy.reset_sends,
                          self._policy.reset_window)

    async def allow_reset_sms(self, account_id: str, phone: str) -> None:
        """A password-reset SMS to an account's phone: capped per account (whichever of its
        names is asked) and per phone, whatever address asks."""
        await self._limit("reset-account", account_id, self._policy.reset_sends,
                          self._policy.reset_window)
        await self._limit("reset-phone", phone, self._policy.reset_sends,
                          self._policy.reset_window)

    async def wrong_decoy_code(self, reset_id: str, window: timedelta) -> int:
        """Counts a code entered on a reset with no account behind it; the count lets it
        answer as the otp service would (remaining tries, then attempts exceeded)."""
        count = await self._store.counters.hit(self._key("reset-decoy", reset_id),
                                               self._clock(), window)
        return count.value

    async def allow_decoy_resend(self, reset_id: str, started_at: datetime) -> None:
        """A resend on a decoy reset, capped as ``allow_reset_sms`` caps a real one: the
        start counted as the first SMS, the wait running from it."""
        now = self._clock()
        count = await self._store.counters.hit(self._key("reset-decoy-sms", reset_id), now,
                                               self._policy.reset_window)
        if count.value + 1 > self._policy.reset_sends:
            raise RateLimited(retry_after=seconds_until(started_at + self._policy.reset_window,
                                                        now))

    async def reset_sms_not_sent(self, account_id: str | None, phone: str | None,
                                 reset_id: str) -> None:
        """A resend the otp rules refused (too soon, locked) sent no SMS: its count is given
        back, for a real reset's account and phone or a decoy's own counter."""
        now = self._clock()
        if account_id is None or phone is None:
            await self._store.counters.give_back(self._key("reset-decoy-sms", reset_id), now)
            return
        for key in (self._key("reset-account", account_id), self._key("reset-phone", phone)):
            await self._store.counters.give_back(key, now)

    async def decoy_codes_wrong(self, reset_id: str, window: timedelta) -> int:
        """How many codes were entered on a decoy reset (read without counting one)."""
        key = self._key("reset-decoy", reset_id)
        count = await self._store.counters.hit(key, self._clock(), window)
        await self._store.counters.give_back(key, self._clock())
        return count.value - 1

    async def decoy_sent(self, reset_id: str, wait: timedelta) -> datetime | None:
        """A decoy's "send", one per ``wait`` (atomic: parallel resends get one): None if
        it may go now, else when the wait after the last one ends."""
        count = await self._store.counters.hit(self._key("reset-decoy-wait", reset_id),
                                               self._clock(), wait)
        return None if count.value == 1 else count.window_ends

    async def _limit(self, kind: str, value: str, limit: int, window: timedelta) -> None:
        count = await self._store.counters.hit(self._key(kind, value), self._clock(), window)
        if count.value > limit:
            raise RateLimited(retry_after=count.retry_after(self._clock()))

    async def _throttle(self, what: str, ip: str | None, limit: int) -> None:
        if not ip:
            return  # a call from inside the system, not from a client
        count: Count = await self._store.counters.hit(self._key(what, ip), self._clock(),
                                                      self._policy.window)
        if count.value > limit:
            raise RateLimited(retry_after=count.retry_after(self._clock()))

    def _key(self, kind: str, value: str) -> str:
        return f"{kind}:{crypto.keyed_hash(self._secret, f'{kind}:{value}')}"
