"""The typed contracts between the services (issue 16).

Every RPC endpoint is one :class:`~shared.contracts.base.Rpc` constant in the module of the
service that serves it (``shared/contracts/<service>.py``): its subject, the pydantic model of
the request and the model of the answer. Callers ask through it (``RpcClient.ask``), the owner
serves through it (``RpcServer.serve`` / ``Wiring.serve``), so a field or a limit is written once
and both sides are checked by mypy. Contracts are shapes and bounds only; the rules behind them
stay in the owning service's ``domain/``.
"""
