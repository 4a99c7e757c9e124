"""OTP issue + verify throughput of the otp service, over real NATS (run by hand:
``python -m bench.otp``; not part of ``make test``).

Drives the service's RPC endpoints ``dvcid.otp.issue`` and ``dvcid.otp.verify`` exactly as the
other services call them (``shared.rpc.RpcClient``). Each pair: issue a code for a fresh flow
and phone (the per-phone hourly limit never interferes), read it from the sandbox world's SMS
inbox (the code is delivered through the Twilio SDK to the sandbox's Twilio-compatible
endpoint, as in dev), verify it. Reports pairs per second, the latency of each call (p50/p99),
and the CPU the otp process spent per pair (its own, from /proc, when it runs on this machine).

By default it starts the whole dev stack (real nats-server, SecantusDB, sandbox, services) in a
temporary directory; ``--nats-url`` and ``--sandbox-url`` point it at a running stack instead
(then the CPU figure is left out unless ``--otp-pid`` is given).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.figures import cpu_seconds, pct
from bench.run import bounded
from dvcid.devstack import DevStack, Ports
from shared.bus import connect_nats
from shared.contracts import otp as OTP
from shared.rpc import RpcClient

CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Timings:
    issue: list[float] = field(default_factory=list)
    verify: list[float] = field(default_factory=list)
    failures: int = 0


async def read_code(sandbox: httpx.AsyncClient, phone: str) -> str:
    # ``issue`` answers after the SMS gateway accepted the message: it is in the inbox already,
    # so one read normally suffices (tight polling would load the sandbox, not the otp service).
    for _ in range(50):
        messages = (await sandbox.get("/dev/sms", params={"phone": phone})).json()
        if messages:
            found = CODE.search(messages[0]["body"])
            assert found, "an OTP SMS without a code"
            return found.group(1)
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no SMS to {phone}")


async def pair(rpc: RpcClient, sandbox: httpx.AsyncClient, timings: Timings) -> None:
    flow_id = str(uuid.uuid4())
    phone = f"+8494{random.randrange(10**7):07d}"
    try:
        started = time.perf_counter()
        await rpc.ask(OTP.ISSUE, OTP.IssueOtp(flow_id=flow_id, purpose="login", phone=phone))
        timings.issue.append(time.perf_counter() - started)
        code = await read_code(sandbox, phone)
        started = time.perf_counter()
        verified = await rpc.ask(OTP.VERIFY, OTP.VerifyOtp(flow_id=flow_id, purpose="login",
                                                          code=code, phone=phone))
        timings.verify.append(time.perf_counter() - started)
        assert verified.verified is True
    except Exception as exc:  # counted and reported, the run goes on
        timings.failures += 1
        if timings.failures <= 3:
            print(f"  pair failed: {type(exc).__name__}: {exc}")


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"p50 {statistics.median(values) * 1000:.1f} ms, p99 {pct(values, 99) * 1000:.1f} ms"


async def measure(nats_url: str, sandbox_url: str, pairs: int, concurrency: int,
                  otp_pid: int | None, others: dict[str, int] | None = None,
                  seed_file: str | None = None) -> None:
    # As registration (otp's caller) does: the stack's NATS admits only its identities.
    nc = await connect_nats(nats_url, name="bench-otp", seed_file=seed_file,
                            identity="registration")
    rpc = RpcClient(nc, timeout=30)
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30, limits=limits) as sandbox:
        await bounded(concurrency, [pair(rpc, sandbox, Timings()) for _ in range(20)])  # warm-up
        timings = Timings()
        cpu0 = cpu_seconds([otp_pid]) if otp_pid else 0.0
        others0 = {name: cpu_seconds([pid]) for name, pid in (others or {}).items()}
        started = time.monotonic()
        await bounded(concurrency, [pair(rpc, sandbox, timings) for _ in range(pairs)])
        wall = time.monotonic() - started
        done = pairs - timings.failures
        print(f"otp issue+verify, {pairs} pairs at {concurrency} concurrent: "
              f"{done / wall:.1f} pairs/s ({2 * done / wall:.1f} RPC calls/s), "
              f"{timings.failures} failed")
        print(f"  issue  {_ms(timings.issue)}  (store code + send SMS through the Twilio SDK)")
        print(f"  verify {_ms(timings.verify)}  (atomic consume + OtpVerified in the outbox)")
        if otp_pid and done:
            cpu = cpu_seconds([otp_pid]) - cpu0
            print(f"  otp service CPU: {cpu / done * 1000:.1f} ms per pair "
                  f"({done / cpu:.0f} pairs per CPU-second of the otp process)")
        if others:
            # Where the rest of the time goes: a saturated process (≈ wall seconds of CPU) is
            # the bottleneck.
            used = ", ".join(f"{name} {cpu_seconds([pid]) - others0[name]:.1f}"
                             for name, pid in others.items())
            print(f"  CPU-seconds over the {wall:.1f} s run: {used}")
    await nc.drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--nats-url", help="a running stack's NATS (default: start one)")
    parser.add_argument("--sandbox-url", help="the running stack's sandbox world")
    parser.add_argument("--otp-pid", type=int, help="pid of the running otp service (CPU figure)")
    parser.add_argument("--nats-seed", default=os.environ.get("DVCID_NATS_NKEY_SEED_FILE"),
                        help="the registration identity's seed (.dev/nats-keys/registration.nk)")
    args = parser.parse_args()
    if args.nats_url:
        if not args.sandbox_url:
            parser.error("--sandbox-url is needed with --nats-url")
        asyncio.run(measure(args.nats_url, args.sandbox_url, args.pairs, args.concurrency,
                            args.otp_pid, seed_file=args.nats_seed))
        return
    with tempfile.TemporaryDirectory(prefix="dvcid-bench-otp-") as home:
        stack = DevStack(Path(home), Ports.free(), persistent=False, say=lambda _: None,
                         env={"DVCID_LOG_LEVEL": "WARNING"})
        stack.start(timeout=90)
        try:
            pids = {name: m.proc.pid for name, m in stack.processes.items() if m.proc}
            asyncio.run(measure(stack.nats_url, stack.sandbox_url, args.pairs,
                                args.concurrency, pids.get("otp"),
                                {n: pids[n] for n in ("mongo", "nats", "sandbox") if n in pids},
                                seed_file=stack.nats_seed("registration")))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
