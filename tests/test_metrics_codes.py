"""The error codes the metrics keep as label values (shared.metrics.ERROR_CODES) are every code
a service can answer or record: a code missing there would be counted as ``other``."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from services.gateway.problems import STATUS_BY_CODE
from shared.errors import ServiceError
from shared.metrics import ERROR_CODES

DOC = Path(__file__).resolve().parent.parent / "docs/api-error-codes.md"
SERVICES = ("otp", "pki", "profile", "registration", "oidc")


def _subclasses(cls: type[ServiceError]) -> set[type[ServiceError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_service_error_code_is_a_known_label_value() -> None:
    for service in SERVICES:
        importlib.import_module(f"services.{service}.domain.errors")
    codes = {sub.code for sub in _subclasses(ServiceError)}
    assert "otp_invalid" in codes and "sim_timeout" in codes  # the walk found the services'
    assert codes - ERROR_CODES == set()


def test_every_documented_and_answered_code_is_a_known_label_value() -> None:
    documented = set(re.findall(r"^- `([a-z_]+)` — \d{3} —", DOC.read_text(), re.M))
    assert len(documented) > 30
    assert (documented | set(STATUS_BY_CODE)) - ERROR_CODES == set()
