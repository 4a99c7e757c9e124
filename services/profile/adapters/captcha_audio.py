"""Audio captchas read by the ``captcha`` library (AudioCaptcha: its own recorded digits, sped
and pitched at random over background noise), the alternative for people who cannot see the
image; rendered in a worker thread so the event loop never waits on it."""

from __future__ import annotations

import asyncio

from captcha.audio import AudioCaptcha


class AudioCaptchaRenderer:
    def __init__(self) -> None:
        self._generator = AudioCaptcha()

    async def render(self, text: str) -> bytes:
        return await asyncio.to_thread(self._render, text)

    def _render(self, text: str) -> bytes:
        return bytes(self._generator.generate(text))
