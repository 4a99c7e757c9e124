"""Every code the gateway answers is listed, with its status, in docs/api-error-codes.md."""

from __future__ import annotations

import re
from pathlib import Path

from services.gateway.problems import STATUS_BY_CODE

DOC = Path(__file__).resolve().parent.parent / "docs/api-error-codes.md"


def test_every_code_is_documented_with_its_status() -> None:
    documented = {code: int(status) for code, status in
                  re.findall(r"^- `([a-z_]+)` — (\d{3}) —", DOC.read_text(), re.M)}
    assert {code: documented.get(code) for code in STATUS_BY_CODE} == STATUS_BY_CODE
