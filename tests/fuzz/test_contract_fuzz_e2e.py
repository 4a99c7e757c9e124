"""Fuzzing the contract (issue 12): Schemathesis generates requests from the OpenAPI document
of the running e2e stack, the gateway's and the sandbox world's, and every answer must be
documented: no 5xx, a status the operation declares, the declared media type and schema, and
every problem's ``code`` one of the gateway's stable codes.

Bounded in `make test` (``DVCID_FUZZ_EXAMPLES`` cases per operation, 10 by default); more by
hand: ``DVCID_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/fuzz``. The calls come from an address
of their own (``X-Forwarded-For``, trusted from 127.0.0.1), so the per-address limits other
tests meet are not spent here, and with made-up people (random numbers), so no per-person or
per-phone limit of a real journey is either. The sandbox's routes that change the world for
everyone (clearing the SMS box, injecting SMS faults) are left out.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dvcid.devstack import DevStack
from services.gateway.problems import PROBLEM_MEDIA_TYPE, STATUS_BY_CODE
from tests.journeys import login, new_citizen, register

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("DVCID_FUZZ_EXAMPLES", "10"))
FUZZ_ADDRESS = {"X-Forwarded-For": "10.254.254.254"}
# Routes whose effect is global to the shared sandbox world (every later test would feel it).
WORLD_WIDE = r"^/dev/(sms|mail|sms-faults)$"


@schemathesis.check
def problem_code_is_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """A problem's ``code`` is one of the gateway's stable codes (docs/api-error-codes.md)."""
    if not response.headers.get("content-type", [""])[0].startswith(PROBLEM_MEDIA_TYPE):
        return None
    code = response.json().get("code")
    if code not in STATUS_BY_CODE:
        raise AssertionError(f"undocumented problem code {code!r} "
                             f"({case.method} {case.path} → {response.status_code})")
    return True


CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance, problem_code_is_documented]


def gateway_schema(stack: DevStack) -> Any:
    schema = schemathesis.openapi.from_url(f"{stack.gateway_url}/openapi.json")
    # /dev/* is the sandbox world forwarded: fuzzed below against its own document.
    return schema.exclude(path_regex=r"^(/api/v1)?/dev/")


def sandbox_schema(stack: DevStack) -> Any:
    schema = schemathesis.openapi.from_url(f"{stack.sandbox_url}/openapi.json")
    return schema.include(path_regex=r"^/dev/").exclude(path_regex=WORLD_WIDE)


def fuzz(schema: Any, checks: list[Any], headers: dict[str, str]) -> tuple[Counter[int], list[str]]:
    """Every operation of ``schema``, EXAMPLES cases each; the statuses answered and what
    failed (all of it, not only the first)."""
    statuses: Counter[int] = Counter()
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=checks)

        try:
            run()
        except Exception as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    return statuses, failures


def test_gateway_answers_as_documented(stack: DevStack) -> None:
    statuses, failures = fuzz(gateway_schema(stack), CHECKS, FUZZ_ADDRESS)
    print(f"gateway: {statuses.total()} fuzz cases, by status {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)


def test_gateway_answers_a_logged_in_caller_as_documented(stack: DevStack,
                                                          api: httpx.Client) -> None:
    # Past the 401s: the account pages with a session of the fuzz's own account (logout
    # left out, or the rest would be 401 again).
    citizen = new_citizen()
    register(api, citizen)
    bearer = {"Authorization": f"Bearer {login(api, citizen)['session_token']}"}
    schema = gateway_schema(stack).exclude(path_regex=r"^/api/v1/logout$")
    statuses, failures = fuzz(schema, CHECKS, FUZZ_ADDRESS | bearer)
    print(f"gateway, logged in: {statuses.total()} fuzz cases, by status "
          f"{dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)


def test_sandbox_world_answers_as_documented(stack: DevStack) -> None:
    statuses, failures = fuzz(sandbox_schema(stack), CHECKS[:-1], {})
    print(f"sandbox world: {statuses.total()} fuzz cases, by status "
          f"{dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
