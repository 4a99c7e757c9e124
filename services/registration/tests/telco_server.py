"""A tiny telco subscriber registry for integration tests, speaking the contract of
docs/external/telco-registry.md (the sandbox world serves the same in dev)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Phones that misbehave on purpose.
ANSWERS_503 = "+84900000500"
ANSWERS_NOT_JSON = "+84900000001"
ANSWERS_INCOMPLETE = "+84900000002"
ANSWERS_SLOWLY = "+84900000003"


@dataclass
class TelcoServer:
    url: str
    api_key: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    def add(self, phone: str, id_number: str, full_name: str, birth_date: str,
            status: str = "active") -> None:
        self.records[phone] = {"phone": phone, "id_number": id_number, "full_name": full_name,
                               "birth_date": birth_date, "status": status}


@contextmanager
def telco_server(api_key: str) -> Iterator[TelcoServer]:
    state: TelcoServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.paths.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.headers.get("Authorization") != f"Bearer {state.api_key}":
                return self._send(401, {"error": "unauthorized"})
            if self.path != "/telco/v1/subscribers/lookup" or not isinstance(body, dict):
                return self._send(404, {"error": "not_found"})
            phone = str(body.get("phone"))
            if phone == ANSWERS_503:
                return self._send(503, {"error": "maintenance"})
            if phone == ANSWERS_NOT_JSON:
                return self._send(200, b"<html>not json</html>")
            if phone == ANSWERS_INCOMPLETE:
                return self._send(200, {"phone": phone})
            if phone == ANSWERS_SLOWLY:
                time.sleep(1.5)
            record = state.records.get(phone)
            if record is None:
                return self._send(404, {"error": "not_found"})
            return self._send(200, record)

        def _send(self, status: int, body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = TelcoServer(f"http://127.0.0.1:{server.server_address[1]}/telco", api_key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
