"""The pieces the failure suite breaks: a PostgreSQL of its own (initdb on a free port, never the
machine's shared server), the embedded broker, and the services as separate processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.broker import EmbeddedBroker, free_port
from shared.events.kafka import ensure_topics

ROOT = Path(__file__).resolve().parents[2]


def postgres_binary(name: str) -> str | None:
    """initdb and pg_ctl: on PATH, or in Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@dataclass
class OwnPostgres:
    """A throw-away PostgreSQL cluster, trust authentication, on a free port. As root it runs as
    the `postgres` user, in a directory of its own under the system's temporary directory (the
    test's own may sit in a directory only root can enter)."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="safegrid-pg-")) / "data")
    port: int = field(default_factory=free_port)

    def remove(self) -> None:
        shutil.rmtree(self.directory.parent, ignore_errors=True)

    def init(self) -> OwnPostgres:
        initdb = postgres_binary("initdb")
        assert initdb, "initdb not found"
        subprocess.run([initdb, "-D", str(self.directory), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True, **self._as_owner())
        return self

    def start(self) -> None:
        subprocess.run([postgres_binary("pg_ctl"), "-D", str(self.directory), "-w", "-l",
                        str(self.directory / "server.log"), "-o",
                        f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                        "-c max_connections=200", "start"], check=True, capture_output=True, **self._as_owner())

    def stop(self) -> None:
        subprocess.run([postgres_binary("pg_ctl"), "-D", str(self.directory), "-m", "fast", "-w", "stop"],
                       check=False, capture_output=True, **self._as_owner())

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                        f'CREATE DATABASE "{name}"'], check=True, capture_output=True)

    def _as_owner(self) -> dict[str, object]:
        """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
        if os.geteuid() != 0:
            return {}
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(self.directory.parent, owner.pw_uid, owner.pw_gid)
        if self.directory.exists():
            for path in [self.directory, *self.directory.rglob("*")]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        return {"user": owner.pw_uid, "group": owner.pw_gid}


@dataclass
class Platform:
    """The services as processes on free ports, against `postgres` and a broker on `broker_port`."""

    names: tuple[str, ...]
    postgres: OwnPostgres
    logs: Path
    broker_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    broker: EmbeddedBroker | None = None

    def __post_init__(self) -> None:
        self.ports = {name: free_port() for name in self.names}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SAFEGRID_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
               "SAFEGRID_KAFKA_SESSION_TIMEOUT_MS": "6000", "SAFEGRID_LOG_LEVEL": "WARNING",
               "SAFEGRID_VAR_DIR": str(self.logs),
               # a missing day scoring could not score yet (its enterprise not replayed yet after a
               # broker restart) gets its alert from the sweep's fallback: soon, in a test
               "SAFEGRID_ENFORCEMENT_SCORE_WAIT_S": "3", "SAFEGRID_ENFORCEMENT_SLA_SWEEP_INTERVAL_S": "1"}
        for name in self.names:
            env[f"SAFEGRID_{name.upper()}_PORT"] = str(self.ports[name])
            env[f"SAFEGRID_{name.upper()}_DATABASE_URL"] = self.postgres.url(name)
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True, timeout=120)

    def start_broker(self) -> None:
        """The broker, and the platform's topics at once: the embedded broker creates a topic any
        client asks for (with 4 partitions, not the platform's 6) and then acknowledges sends to
        partitions it lacks, which no consumer reads. Production brokers do neither
        (``auto.create.topics.enable: false``); here the topics are made the moment it listens,
        from this process (a `safegrid topics` process would take a second to start)."""
        self.broker = EmbeddedBroker(port=self.broker_port).start()
        with ThreadPoolExecutor(1) as thread:  # called from the test's event loop
            thread.submit(asyncio.run, ensure_topics(self.bootstrap)).result()

    def stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", name], cwd=ROOT,
                                                env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        for name in self.names:
            while True:
                try:
                    if httpx.get(self.url(name, "/readyz"), timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if self.processes[name].poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{name} not ready; log:\n{self.log_tail(name)}")
                time.sleep(0.2)

    def log_tail(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.stop_broker()
