"""A tiny Twilio-compatible Messages endpoint on 127.0.0.1, started inside a test.

It records every request and answers from a script: 201 with Twilio's message JSON by
default, or the scripted errors (Twilio's legacy error JSON) in order.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PREFIX = "/twilio"


@dataclass
class Received:
    path: str
    auth: tuple[str, str] | None
    form: dict[str, str]


@dataclass
class TwilioStub:
    received: list[Received] = field(default_factory=list)
    # Statuses (with a Twilio error code) answered in order before falling back to 201.
    script: list[tuple[int, int]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    base: str = ""

    async def start(self) -> TwilioStub:
        app = web.Application()
        app.router.add_post(PREFIX + "/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}{PREFIX}"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def bodies_to(self, phone: str) -> list[str]:
        return [r.form["Body"] for r in self.received if r.form.get("To") == phone]

    async def _create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.received.append(Received(request.path, _basic(request), form))
        if self.script:
            status, code = self.script.pop(0)
            return web.json_response(
                {"code": code, "message": f"scripted error {code}",
                 "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
                status=status)
        sid = request.match_info["sid"]
        return web.json_response(_message(sid, form), status=201)


def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _message(sid: str, form: dict[str, str]) -> dict[str, Any]:
    return {"sid": "SM" + uuid.uuid4().hex, "account_sid": sid, "to": form.get("To"),
            "from": form.get("From"), "body": form.get("Body"), "status": "queued",
            "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/x.json"}
