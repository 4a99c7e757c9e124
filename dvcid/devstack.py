"""The whole system on one machine: NATS, a MongoDB wire server, the sandbox world, the four
services and the gateway, each a separate process, supervised.

``dvcid dev`` (and ``make dev``) runs it in the foreground; the end-to-end tests use the same
class with free ports and a temporary folder, so what the tests run is what developers run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dvcid import demo_portal, observability, servers
from dvcid.nats_auth import Keyring
from dvcid.traceview import TracePrinter, TraceReceiver, TraceStore, exporter_env

SERVICES = ("otp", "registration", "pki", "profile", "oidc")


@dataclass
class Ports:
    nats: int = 4222
    nats_monitor: int = 8222
    mongo: int = 27017
    sandbox: int = 8100
    gateway: int = 8000
    # The sandbox's mail server (SMTP), where the services' e-mail notices go.
    smtp: int = 8125
    # The first bus service instance's Prometheus /metrics port, the next ones follow
    # (otp 9101, registration 9102, ...); 0: a free port for each (the tests).
    metrics: int = 9101
    # The demo client portal (sandbox/demo_portal), a relying party of dvcid's provider.
    demo_portal: int = 8300

    @classmethod
    def free(cls) -> Ports:
        ports = cls(*(servers.free_port() for _ in range(6)))
        ports.metrics = 0
        ports.demo_portal = servers.free_port()
        return ports


@dataclass
class Managed:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int | None = None
    describe: str = ""
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)


class DevStack:
    def __init__(
        self,
        home: Path,
        ports: Ports | None = None,
        mongo_url: str | None = None,
        env: dict[str, str] | None = None,
        say: Callable[[str], None] = print,
        persistent: bool = True,
        replicas: int = 1,
    ) -> None:
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.home = home
        # Instances of each bus service: they share its work through NATS queue groups (RPC)
        # and its durable pull consumers (events), so any one may die.
        self.replicas = replicas
        self.ports = ports or Ports()
        self.external_mongo = mongo_url
        self.say = say
        self.persistent = persistent
        self.logs = home / "logs"
        self.base_env = {**os.environ, **(env or {})}
        self.processes: dict[str, Managed] = {}
        # Each bus service instance's metrics port (the gateway serves /metrics on its own).
        self.metrics_ports = self._metrics_ports()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports.nats}"

    @property
    def mongo_url(self) -> str:
        return self.external_mongo or f"mongodb://127.0.0.1:{self.ports.mongo}/?directConnection=true"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sandbox}"

    @property
    def demo_portal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.demo_portal}"

    @property
    def sandbox_ca_dir(self) -> Path:
        return self.home / "sandbox-ca"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def keyring(self) -> Keyring:
        """The NATS identities' seeds, made once under ``<home>/nats-keys`` (dvcid/nats_auth.py)."""
        return Keyring(self.home / "nats-keys")

    def _metrics_ports(self) -> dict[str, int]:
        names = [instance for name in SERVICES for instance in self.instances(name)]
        if self.ports.metrics:
            return {name: self.ports.metrics + n for n, name in enumerate(names)}
        return {name: servers.free_port() for name in names}

    def metrics_urls(self) -> dict[str, str]:
        """Where each process serves its Prometheus metrics."""
        return {**{name: f"http://127.0.0.1:{port}/metrics"
                   for name, port in self.metrics_ports.items()},
                "gateway": f"{self.gateway_url}/metrics"}

    def write_prometheus_config(self) -> Path:
        """``<home>/observability/prometheus.yml``: a Prometheus that scrapes this stack
        (``prometheus --config.file=...``), with the rules of deploy/observability/."""
        folder = self.home / "observability"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "prometheus.yml"
        path.write_text(observability.dev_prometheus_config(self.metrics_urls()))
        return path

    def nats_seed(self, identity: str) -> str:
        """The seed file of one NATS identity: a service, ``gateway`` or ``operator``."""
        return str(self.keyring.seed_file(identity))

    def service_env(self) -> dict[str, str]:
        return {
            **self.base_env,
            "DVCID_ENV": self.base_env.get("DVCID_ENV", "dev"),
            "DVCID_NATS_URL": self.nats_url,
            "DVCID_MONGO_URL": self.mongo_url,
            "DVCID_SANDBOX_URL": self.sandbox_url,
            "DVCID_SANDBOX_PORT": str(self.ports.sandbox),
            "DVCID_SANDBOX_SMTP_PORT": str(self.ports.smtp),
            "DVCID_SMTP_HOST": "127.0.0.1",
            "DVCID_SMTP_PORT": str(self.ports.smtp),
            "DVCID_TELCO_URL": f"{self.sandbox_url}/telco",
            "DVCID_BHXH_URL": f"{self.sandbox_url}/bhxh",
            "DVCID_TWILIO_API_BASE": f"{self.sandbox_url}/twilio",
            # The sandbox CA writes its certificates here at start (the sandbox starts before
            # pki); pki trusts them only through its ordinary trust-store setting.
            "DVCID_SANDBOX_CA_DIR": str(self.sandbox_ca_dir),
            "DVCID_TRUST_ANCHOR_FILES": (f"{self.sandbox_ca_dir / 'root.pem'},"
                                         f"{self.sandbox_ca_dir / 'issuing.pem'}"),
            "DVCID_MOBILE_SIGNATURE_URL": f"{self.sandbox_url}/mobile-signature/v1",
            # dvcid's callback as registered with the sandbox's VNeID (docs/external/vneid.md).
            "DVCID_VNEID_REDIRECT_URI": f"{self.gateway_url}/vneid/callback",
            # The gateway as VNeID's relying party ("Đăng nhập bằng VNeID"): the sandbox's VNeID.
            # Client id and secret: both sides' dev defaults (DVCID_VNEID_CLIENT_ID/_SECRET).
            "DVCID_VNEID_ISSUER": f"{self.sandbox_url}/vneid",
            "DVCID_GATEWAY_PORT": str(self.ports.gateway),
            # pki puts the portal's origin in every USB challenge (the signing agent checks it).
            "DVCID_PORTAL_ORIGIN": self.gateway_url,
            # The OpenID Provider's issuer: the gateway serves its endpoints (docs/oidc.md).
            "DVCID_OIDC_ISSUER": self.gateway_url,
            "PYTHONUNBUFFERED": "1",
        }

    # -- the processes -----------------------------------------------------------------------
    def _plan(self) -> list[Managed]:
        nats = servers.nats_command(self.home / "nats", self.ports.nats, self.ports.nats_monitor,
                                    self.keyring)
        plan = [Managed("nats", nats.argv, dict(self.base_env), self.ports.nats,
                        f"{self.nats_url} (monitoring http://127.0.0.1:{self.ports.nats_monitor})")]
        if self.external_mongo is None:
            data = self.home / "mongo" if self.persistent else None
            mongo = servers.mongo_command(data, self.ports.mongo)
            plan.append(Managed("mongo", mongo.argv, dict(self.base_env), self.ports.mongo,
                                f"{self.mongo_url} (SecantusDB)"))
        env = self.service_env()
        py = sys.executable
        plan.append(Managed("sandbox", [py, "-m", "sandbox"], env, self.ports.sandbox,
                            f"{self.sandbox_url} (simulated telco, BHXH, SMS, CA)"))
        for name in SERVICES:
            for instance in self.instances(name):
                metrics_port = self.metrics_ports[instance]
                plan.append(Managed(instance, [py, "-m", f"services.{name}"],
                                    self._as(name, env, instance)
                                    | {"DVCID_METRICS_PORT": str(metrics_port)}, None,
                                    f"nats service '{name}' (metrics "
                                    f"http://127.0.0.1:{metrics_port}/metrics)"))
        plan.append(Managed("gateway", [py, "-m", "services.gateway"], self._as("gateway", env),
                            self.ports.gateway, f"{self.gateway_url}"))
        return plan

    def instances(self, service: str) -> list[str]:
        """The process names of a bus service's instances: ``profile``, then ``profile-2``…"""
        return [service] + [f"{service}-{n}" for n in range(2, self.replicas + 1)]

    def _as(self, identity: str, env: dict[str, str],
            instance: str | None = None) -> dict[str, str]:
        """A process's environment with its service's NATS identity (and no one else's) and
        a heartbeat file of its own instance (each instance answers its own liveness)."""
        return env | {"DVCID_NATS_NKEY_SEED_FILE": self.nats_seed(identity),
                      "DVCID_HEARTBEAT_FILE":
                          str(self.home / "run" / f"{instance or identity}.alive")}

    def start(self, timeout: float = 60.0) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.write_prometheus_config()
        for managed in self._plan():
            self.processes[managed.name] = managed
            self._spawn(managed)
            if managed.port is not None:
                servers.wait_for_port(managed.port, timeout, managed.proc)
            self.say(f"  {managed.name:<13} pid {managed.proc.pid if managed.proc else '-':<7} "
                     f"{managed.describe}")
            if managed.name == "nats":
                self.apply_streams()
        self.wait_ready(timeout)
        self.start_demo_portal(timeout)

    def start_demo_portal(self, timeout: float = 60.0) -> None:
        """The demo client portal, once dvcid's provider answers: registered as the operator
        would (dvcid/demo_portal.py), then started like the other processes."""
        operator = self.service_env() | {"DVCID_NATS_NKEY_SEED_FILE": self.nats_seed("operator")}
        registration = demo_portal.register(self.home / "demo-portal", self.demo_portal_url,
                                            operator, self.logs / "demo-portal-registration.log")
        env = demo_portal.portal_env(self.base_env | {"PYTHONUNBUFFERED": "1"}, registration,
                                     port=self.ports.demo_portal, portal_url=self.demo_portal_url,
                                     issuer=self.gateway_url)
        managed = Managed("demo-portal", [sys.executable, "-m", "sandbox.demo_portal"], env,
                          self.ports.demo_portal, f"{self.demo_portal_url} (demo client portal)")
        self.processes[managed.name] = managed
        self._spawn(managed)
        servers.wait_for_port(managed.port or 0, timeout, managed.proc)
        self.say(f"  {managed.name:<13} pid {managed.proc.pid if managed.proc else '-':<7} "
                 f"{managed.describe}")

    def apply_streams(self) -> None:
        """The streams as the settings say, by the operator (`dvcid admin streams`): the
        services may only create missing streams, not change them (dvcid/nats_auth.py)."""
        env = self.service_env() | {"DVCID_NATS_NKEY_SEED_FILE": self.nats_seed("operator")}
        with open(self.logs / "streams.log", "ab") as log:
            done = subprocess.run([sys.executable, "-m", "dvcid.cli", "admin", "streams"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, timeout=60,
                                  check=False)
        if done.returncode != 0:
            raise RuntimeError(f"dvcid admin streams failed (log {self.logs / 'streams.log'})")

    def _spawn(self, managed: Managed) -> None:
        log = open(self.logs / f"{managed.name}.log", "ab")  # noqa: SIM115 - owned by the child
        managed.proc = subprocess.Popen(
            managed.argv, env={**managed.env, **managed.extra_env}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Waits until the gateway says every service answers (its /readyz)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                response = httpx.get(f"{self.gateway_url}/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise TimeoutError(f"the system is not ready after {timeout}s: {last}")

    def _check_alive(self) -> None:
        for managed in self.processes.values():
            if managed.proc is not None and managed.proc.poll() is not None:
                tail = (self.logs / f"{managed.name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{managed.name} exited with {managed.proc.returncode}:\n{tail}")

    def kill(self, name: str) -> None:
        """kill -9, as a crash would."""
        proc = self.processes[name].proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        managed = self.processes[name]
        self.terminate(managed)
        managed.extra_env = extra_env or {}
        self._spawn(managed)
        if managed.port is not None:
            servers.wait_for_port(managed.port, 30, managed.proc)

    def terminate(self, managed: Managed, timeout: float = 10.0) -> None:
        proc = managed.proc
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def supervise_once(self) -> None:
        """Restarts any process that died, and says so."""
        for managed in self.processes.values():
            proc = managed.proc
            if proc is None or proc.poll() is None:
                continue
            managed.restarts += 1
            self.say(f"! {managed.name} exited with code {proc.returncode}; restarting "
                     f"(restart #{managed.restarts}, log {self.logs / (managed.name + '.log')})")
            time.sleep(min(0.5 * managed.restarts, 5))
            self._spawn(managed)

    def stop(self) -> None:
        for managed in reversed(list(self.processes.values())):
            self.terminate(managed)


def run_dev(home: Path, replicas: int = 1, trace: bool = False) -> int:
    """``dvcid dev``: the whole system in the foreground until Ctrl-C. With ``trace`` every
    process exports its spans to a receiver in this process, which prints each finished trace
    as a tree (dvcid/traceview.py): no collector needed."""
    mongo_url = os.environ.get("DVCID_MONGO_URL")
    receiver = TraceReceiver(TraceStore(max_traces=1000)).start() if trace else None
    printer = TracePrinter(receiver.store).start() if receiver else None
    env = exporter_env(receiver.endpoint) if receiver else None
    stack = DevStack(home, mongo_url=mongo_url, env=env, replicas=replicas)
    print(f"dvcid dev: starting (data and logs under {home})")
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        print(f"\nPortal (Cổng Dịch vụ công, dvcid): {stack.gateway_url}/")
        print(f"Cổng dịch vụ công tỉnh mẫu (đăng nhập bằng tài khoản dvcid): "
              f"{stack.demo_portal_url}/")
        print(f"API docs: {stack.gateway_url}/docs   sandbox page (SMS inbox, SIM, certificates): "
              f"{stack.gateway_url}/dev")
        print(f"Operator's NATS identity (dvcid admin, nats micro ls): "
              f"export DVCID_NATS_NKEY_SEED_FILE={stack.nats_seed('operator')}")
        if receiver is not None:
            print(f"Traces: each finished trace is printed here as a tree (OTLP receiver "
                  f"{receiver.endpoint}/v1/traces).")
        print(f"Metrics (Prometheus): {stack.gateway_url}/metrics and one port per service "
              f"({', '.join(f'{name} {port}' for name, port in stack.metrics_ports.items())}); "
              f"scrape config {stack.home / 'observability' / 'prometheus.yml'}")
        print("Ctrl-C stops everything.\n")
        while not stopping:
            stack.supervise_once()
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"dvcid dev: could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("dvcid dev: stopping")
        stack.stop()
        if printer is not None and receiver is not None:
            printer.stop()
            printer.print_finished(quiet=0)  # what the processes flushed as they stopped
            receiver.stop()
        print("dvcid dev: stopped")
    return 0
