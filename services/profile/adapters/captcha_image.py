"""Captcha images drawn by the ``captcha`` library (ImageCaptcha: warped characters, noise
curve and dots), rendered in a worker thread so the event loop never waits on Pillow."""

from __future__ import annotations

import asyncio

from captcha.image import ImageCaptcha

WIDTH, HEIGHT = 200, 70


class ImageCaptchaRenderer:
    def __init__(self) -> None:
        self._generator = ImageCaptcha(width=WIDTH, height=HEIGHT)

    async def render(self, text: str) -> bytes:
        return await asyncio.to_thread(self._render, text)

    def _render(self, text: str) -> bytes:
        return self._generator.generate(text, format="png").getvalue()
