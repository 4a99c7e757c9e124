"""Benchmarks of the whole system on this machine (run by hand: ``make bench``).

- argon2id ceiling: password verifications per second (one thread per core) with the exact
  parameters the services use: the most password logins the machine could ever do;
- password logins (password + OTP → session) per second and per CPU-second of the whole
  system (every dvcid process; the sandbox world's own CPU is reported apart);
- mobile registration end to end (start → SMS → OTP → password) p50/p99 at 20 concurrent flows.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from dvcid.devstack import DevStack, Ports
from shared import crypto

API = "/api/v1"
PASSWORD = "Hoa-Sen#2026vn"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    return total


def argon2_ceiling(seconds: float) -> tuple[float, float]:
    password_hash = crypto._hasher.hash(PASSWORD)
    threads = os.cpu_count() or 1
    stop = time.monotonic() + seconds

    def loop() -> int:
        n = 0
        while time.monotonic() < stop:
            crypto._hasher.verify(password_hash, PASSWORD)
            n += 1
        return n

    started_cpu = time.process_time()
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(lambda _: loop(), range(threads)))
    wall = time.monotonic() - started
    return done / wall, done / (time.process_time() - started_cpu)


class Person:
    def __init__(self) -> None:
        self.id_number = f"0010{random.randrange(60, 99)}{random.randrange(10**6):06d}"
        self.birth_date = f"19{self.id_number[4:6]}-03-08"
        self.phone = f"094{random.randrange(10**7):07d}"
        self.seen: set[str] = set()


async def otp(client: httpx.AsyncClient, person: Person) -> str:
    for _ in range(300):
        for msg in (await client.get(f"{API}/dev/sms", params={"phone": person.phone})).json():
            key = msg["sent_at"] + msg["body"]
            if key not in person.seen:
                person.seen.add(key)
                found = re.search(r"\b(\d{6})\b", msg["body"])
                assert found
                return found.group(1)
        await asyncio.sleep(0.02)
    raise TimeoutError("no SMS")


async def register(client: httpx.AsyncClient, person: Person) -> float:
    await client.post(f"{API}/dev/telco-subscribers", json={
        "phone": person.phone, "id_number": person.id_number, "full_name": "Lê Văn Bền",
        "birth_date": person.birth_date})
    started = time.perf_counter()
    r = await client.post(f"{API}/registrations", json={
        "subject_type": "citizen", "method": "mobile", "id_number": person.id_number,
        "full_name": "Lê Văn Bền", "birth_date": person.birth_date, "sex": "male",
        "phone": person.phone})
    r.raise_for_status()
    flow = r.json()
    headers = {"X-Flow-Token": flow["flow_token"]}
    (await client.post(f"{API}/registrations/{flow['id']}/otp", headers=headers,
                       json={"code": await otp(client, person)})).raise_for_status()
    (await client.post(f"{API}/registrations/{flow['id']}/password", headers=headers,
                       json={"password": PASSWORD, "password_confirmation": PASSWORD})).raise_for_status()
    return time.perf_counter() - started


async def log_in(client: httpx.AsyncClient, person: Person) -> None:
    for _ in range(100):
        r = await client.post(f"{API}/logins", json={"method": "password",
                                                     "username": person.id_number, "password": PASSWORD})
        if r.status_code == 201:
            break
        await asyncio.sleep(0.05)
    r.raise_for_status()
    flow = r.json()
    (await client.post(f"{API}/logins/{flow['id']}/otp", headers={"X-Flow-Token": flow["flow_token"]},
                       json={"code": await otp(client, person)})).raise_for_status()


async def bounded(concurrency: int, jobs: list) -> list:
    gate = asyncio.Semaphore(concurrency)

    async def one(job):
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def per_process(stack: DevStack) -> dict[str, float]:
    return {name: cpu_seconds([m.proc.pid]) for name, m in stack.processes.items() if m.proc}


def breakdown(before: dict[str, float], after: dict[str, float], count: int) -> str:
    """Where the CPU went, per operation, biggest first."""
    spent = sorted(((after[n] - before[n]) / count * 1000, n) for n in before)
    return ", ".join(f"{name} {ms:.0f}" for ms, name in reversed(spent) if ms >= 1) + " (ms CPU each)"


async def measure(stack: DevStack, registrations: int, concurrency: int) -> None:
    dvcid_pids = [m.proc.pid for n, m in stack.processes.items() if m.proc and n != "sandbox"]
    sandbox_pid = [stack.processes["sandbox"].proc.pid]  # type: ignore[union-attr]
    people = [Person() for _ in range(registrations)]
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60, limits=limits) as client:
        await register(client, Person())  # warm-up
        cpu0, sb0, t0 = cpu_seconds(dvcid_pids), cpu_seconds(sandbox_pid), time.monotonic()
        split = per_process(stack)
        latencies = await bounded(concurrency, [register(client, p) for p in people])
        wall = time.monotonic() - t0
        print(f"registration e2e, {registrations} flows at {concurrency} concurrent: "
              f"p50 {statistics.median(latencies)*1000:.0f} ms, p99 {pct(latencies, 99)*1000:.0f} ms, "
              f"{registrations / wall:.1f} registrations/s, "
              f"{(cpu_seconds(dvcid_pids) - cpu0) / registrations * 1000:.0f} ms CPU each")
        print(f"  registration CPU by process: {breakdown(split, per_process(stack), registrations)}")
        cpu0, sb0, t0 = cpu_seconds(dvcid_pids), cpu_seconds(sandbox_pid), time.monotonic()
        split = per_process(stack)
        await bounded(concurrency, [log_in(client, p) for p in people])
        wall = time.monotonic() - t0
        cpu = cpu_seconds(dvcid_pids) - cpu0
        print(f"password logins (password + OTP → session), {len(people)} at {concurrency} concurrent: "
              f"{len(people) / wall:.1f} logins/s, {len(people) / cpu:.2f} logins per CPU-second "
              f"(dvcid processes; sandbox world used {cpu_seconds(sandbox_pid) - sb0:.1f} CPU-s)")
        print(f"  login CPU by process: {breakdown(split, per_process(stack), len(people))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--argon2-seconds", type=float, default=5.0)
    args = parser.parse_args()
    per_second, per_cpu = argon2_ceiling(args.argon2_seconds)
    print(f"argon2id ceiling (verify, {os.cpu_count()} threads): {per_second:.1f}/s, "
          f"{per_cpu:.2f} per CPU-second")
    with tempfile.TemporaryDirectory(prefix="dvcid-bench-") as home:
        stack = DevStack(Path(home), Ports.free(), persistent=False, say=lambda _: None,
                         env={"DVCID_LOG_LEVEL": "WARNING",
                              # Thousands of people from one IP, each retried while its
                              # account is created: the guards still count (their cost is
                              # measured) but must not stop the benchmark's own traffic.
                              "DVCID_LOGIN_CAPTCHA_AFTER": "1000000",
                              "DVCID_LOGIN_LOCK_AFTER": "1000000",
                              "DVCID_LOGIN_IP_ATTEMPTS": "1000000",
                              "DVCID_LOGIN_IP_OTP_SENDS": "1000000"})
        stack.start(timeout=90)
        try:
            asyncio.run(measure(stack, args.registrations, args.concurrency))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
