"""The house's rules that neither ruff, mypy nor the import rules (``lint-imports``,
pyproject.toml) check, read from the source without starting anything (issue 16):

- no ``rpc.call(`` outside ``shared/rpc.py``: callers ask through a typed contract
  (``RpcClient.ask(RPC, Request(...))``), so a field or a limit is written once;
- every endpoint a service serves is a typed contract: its only way to add one is
  ``Wiring.serve(RPC, handler)`` (or ``serving``), and every ``Rpc`` constant in
  ``shared/contracts/`` is served by the service it names;
- no endpoint or event handler takes ``dict[str, Any]`` / ``Mapping[str, Any]``: the boundary
  is the contract (or the event's envelope).

(That services never import each other, that shared/ imports none of them and that there is no
import cycle is ``lint-imports``' part, in ``make lint``.)

Test code is left out: tests may speak raw RPC on purpose (an out-of-date caller, a fuzzed
payload), and the attack and e2e tests stay as they are.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import shared.contracts
from shared.contracts.base import Rpc

ROOT = Path(__file__).resolve().parent.parent
# The code (not its tests) of the project; the gateway serves HTTP, the others RPC.
CODE = ("services", "shared", "sandbox", "dvcid", "bench")
BUS_SERVICES = ("otp", "pki", "profile", "registration", "oidc")
# The layers of a service that are not its use cases: the pure rules, the outside world, its
# settings and start-up. What is left (handlers, flows, methods, entrypoints, bootstrap) is
# where the endpoint and event handlers live.
NOT_USE_CASES = {"adapters", "domain", "tests"}
NOT_USE_CASE_FILES = {"config.py", "__main__.py"}
UNTYPED = re.compile(r"\b(dict|Mapping)\[\s*str\s*,\s*Any\s*\]")


def source_files(*roots: str | Path) -> Iterator[Path]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def nodes(path: Path) -> list[ast.AST]:
    """Every node of a file, in the order of its lines (so a failure lists them so)."""
    return sorted(ast.walk(tree(path)), key=lambda node: getattr(node, "lineno", 0))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def contracts() -> dict[tuple[str, str], Rpc[Any, Any]]:
    """Every ``Rpc`` constant of ``shared/contracts/*.py``, by (serving service, name)."""
    found: dict[tuple[str, str], Rpc[Any, Any]] = {}
    for module_info in pkgutil.iter_modules(shared.contracts.__path__):
        module = importlib.import_module(f"shared.contracts.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Rpc) and name.isupper():
                assert found.setdefault((value.service, name), value) is value, \
                    f"two contracts of {value.service} named {name}"
    return found


# -- rpc.call ---------------------------------------------------------------------------------

def untyped_calls(path: Path) -> Iterator[str]:
    """``<something rpc>.call(...)``, or any ``.call("service", "endpoint", ...)``."""
    for node in nodes(path):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "call"):
            continue
        receiver = ast.unparse(node.func.value).lower()
        named_service = bool(node.args) and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str)
        if "rpc" in receiver or named_service:
            yield f"{where(path, node)}: {ast.unparse(node)[:80]}"


def test_no_rpc_call_outside_the_rpc_client() -> None:
    found = [hit for path in source_files(*CODE) if path != ROOT / "shared" / "rpc.py"
             for hit in untyped_calls(path)]
    assert not found, f"{len(found)} untyped rpc.call( left (use RpcClient.ask):\n" + "\n".join(found)


# -- every served endpoint is a contract ------------------------------------------------------

def last_name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def endpoint_registrations(path: Path) -> Iterator[str]:
    """Endpoints added around ``serve``: by name into the runtime's table
    (``Wiring(endpoints=...)``, ``wiring.endpoints = ...``, ``wiring.endpoints[name] = ...``,
    ``RpcServer.endpoint(name, handler)``), or a table keyed by endpoint names."""
    for node in nodes(path):
        if isinstance(node, ast.Call):
            if last_name(node.func) == "Wiring" and any(k.arg == "endpoints" for k in node.keywords):
                yield f"{where(path, node)}: Wiring(endpoints=...)"
            if last_name(node.func) == "endpoint":
                yield f"{where(path, node)}: .endpoint(name, handler)"
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            table = target.value if isinstance(target, ast.Subscript) else target
            if isinstance(table, ast.Attribute) and table.attr == "endpoints":
                yield f"{where(path, node)}: {ast.unparse(target)} assigned"
            elif last_name(table).endswith("endpoints") and named_keys(node):
                yield f"{where(path, node)}: {ast.unparse(target)} keyed by endpoint names"


def named_keys(node: ast.AST) -> bool:
    """A dict literal keyed by strings somewhere in ``node``."""
    return any(isinstance(d, ast.Dict) and d.keys and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in d.keys)
        for d in ast.walk(node))


def calls_serve(module: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(module):
        if isinstance(node, ast.Call):
            function = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            if function in ("serve", "serving"):
                yield node


def served_contracts(service: str) -> dict[str, str]:
    """The contract constants a service's wiring serves, with where: the first argument of each
    ``serve(RPC, handler)``, and, in a module that calls ``serve``, every constant of this
    service's contracts it names (a table of endpoints served in a loop)."""
    own = {name for (owner, name) in contracts() if owner == service}
    served: dict[str, str] = {}
    for path in source_files(f"services/{service}"):
        module = tree(path)
        serves = list(calls_serve(module))
        for call in serves:
            if call.args and last_name(call.args[0]).isupper():
                served.setdefault(last_name(call.args[0]), where(path, call))
        if serves:
            for node in ast.walk(module):
                if isinstance(node, ast.Name | ast.Attribute) and last_name(node) in own:
                    served.setdefault(last_name(node), where(path, node))
    return served


@pytest.mark.parametrize("service", BUS_SERVICES)
def test_a_service_serves_endpoints_only_through_contracts(service: str) -> None:
    by_name = [hit for path in source_files(f"services/{service}")
               for hit in endpoint_registrations(path)]
    assert not by_name, (f"{service} adds endpoints by name, not Wiring.serve(RPC, handler):\n"
                         + "\n".join(by_name))
    served = served_contracts(service)
    assert served, f"{service} serves no contract"
    foreign = [f"{place}: {name}" for name, place in served.items() if (service, name) not in contracts()]
    assert not foreign, f"{service} serves what is no Rpc constant of its own:\n" + "\n".join(foreign)


def test_every_contract_is_served_by_its_service() -> None:
    known = contracts()
    assert known, "shared/contracts/ holds no Rpc constant"
    served = {(service, name) for service in BUS_SERVICES for name in served_contracts(service)}
    unserved = sorted(f"{name} ({rpc.subject})" for (service, name), rpc in known.items()
                      if (service, name) not in served)
    assert not unserved, "contracts no service serves:\n" + "\n".join(unserved)


def test_each_endpoint_has_one_contract() -> None:
    subjects = [rpc.subject for rpc in contracts().values()]
    assert len(subjects) == len(set(subjects)), sorted(s for s in subjects if subjects.count(s) > 1)


# -- no untyped endpoint handler -------------------------------------------------------------

def handler_names(service: str) -> set[str]:
    """The names of the functions a service's wiring serves or feeds events to: the handler of
    each ``serve(RPC, handler)`` and ``Consumer(durable, types, handler)``, and the values of a
    table keyed by its contract constants."""
    own = {name for (owner, name) in contracts() if owner == service}
    names: set[str] = set()
    for path in source_files(f"services/{service}"):
        for node in nodes(path):
            if isinstance(node, ast.Call):
                function = last_name(node.func)
                if function in ("serve", "serving") and len(node.args) >= 2:
                    names |= handler_refs(node.args[1])
                elif function == "Consumer" and len(node.args) >= 3:
                    names |= handler_refs(node.args[2])
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and last_name(key) in own:
                        names |= handler_refs(value)
    return names - {""}


def handler_refs(expression: ast.expr) -> set[str]:
    """``x.handle`` → {handle}; a wrapped handler ``usable.completing(x.handle)`` → both."""
    if isinstance(expression, ast.Call):
        return {last_name(expression.func)}.union(*map(handler_refs, expression.args))
    return {last_name(expression)}


def use_case_files(service: str) -> Iterator[Path]:
    for path in source_files(f"services/{service}"):
        parts = path.relative_to(ROOT / "services" / service).parts
        if not NOT_USE_CASES & set(parts[:-1]) and path.name not in NOT_USE_CASE_FILES:
            yield path


def untyped_parameters(path: Path, handlers: set[str]) -> Iterator[str]:
    for node in nodes(path):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name not in handlers:
            continue
        arguments = node.args
        for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                         *filter(None, (arguments.vararg, arguments.kwarg))):
            if argument.annotation is not None and UNTYPED.search(ast.unparse(argument.annotation)):
                yield (f"{where(path, node)}: {node.name}({argument.arg}: "
                       f"{ast.unparse(argument.annotation)})")


@pytest.mark.parametrize("service", BUS_SERVICES)
def test_no_endpoint_handler_takes_an_untyped_mapping(service: str) -> None:
    handlers = handler_names(service)
    assert handlers, f"{service} serves nothing?"
    found = [hit for path in use_case_files(service) for hit in untyped_parameters(path, handlers)]
    assert not found, (f"{len(found)} handler parameters typed dict/Mapping[str, Any] in {service} "
                       "(take the contract's request model):\n" + "\n".join(found))
