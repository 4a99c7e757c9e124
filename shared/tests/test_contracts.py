"""The typed RPC layer (shared/contracts, shared.rpc.serving / RpcClient.ask): a request is read
into its model before the handler runs, a misfit never reaches it, and an answer keeps exactly
the fields its owner set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from pydantic import Field

from shared.contracts.base import Contract, ContractViolation, Rpc
from shared.rpc import serving


class Greeting(Contract):
    name: str = Field(max_length=10)
    times: int = 1


class Answer(Contract):
    text: str
    note: str | None = None


GREET = Rpc("demo", "greet", Greeting, Answer)


def run(pending: Awaitable[Any]) -> Any:
    async def wait() -> Any:
        return await pending

    return asyncio.run(wait())


async def greet(request: Greeting) -> Answer:
    return Answer(text=f"chào {request.name}" * request.times)


def test_subject_names_service_and_endpoint() -> None:
    assert GREET.subject == "dvcid.demo.greet"


def test_a_fitting_request_reaches_the_handler_and_unset_fields_stay_off_the_wire() -> None:
    endpoint = serving(GREET, greet)
    assert run(endpoint({"name": "An", "times": 2})) == {"text": "chào Anchào An"}


@pytest.mark.parametrize("payload, fields", [
    ({"name": "x" * 11}, ["name"]),
    ({"name": "An", "extra": 1}, ["extra"]),
    ({}, ["name"]),
    ({"name": "An", "times": "many"}, ["times"]),
])
def test_a_misfit_is_refused_naming_fields_never_values(payload: dict[str, object],
                                                         fields: list[str]) -> None:
    reached: list[Greeting] = []

    async def spy(request: Greeting) -> Answer:
        reached.append(request)
        return Answer(text="")

    with pytest.raises(ContractViolation) as refused:
        run(serving(GREET, spy)(payload))
    error = refused.value.to_error()
    assert error["code"] == "validation_error"
    assert [field["name"] for field in error["fields"]] == fields
    assert all(field["detail"] for field in error["fields"])
    assert "x" * 11 not in str(refused.value.to_error())
    assert reached == []


def test_an_answer_read_back_keeps_only_what_was_sent() -> None:
    answer = Answer.model_validate({"text": "ok"})
    assert answer.wire() == {"text": "ok"}
    assert Answer.model_validate({"text": "ok", "note": None}).wire() == {"text": "ok", "note": None}
