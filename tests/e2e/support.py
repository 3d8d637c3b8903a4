"""The platform as `make run` runs it, for end-to-end tests and benchmarks: ``safegrid dev
--no-demo`` (the embedded broker and the five services, each its own process) in a child
process on free ports, its databases and log under a directory the caller owns; a bounded wait;
development tokens; the resident memory of each process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from services.catalog import SERVICES
from shared.auth import issue_token
from shared.broker import free_port
from shared.config import ServiceSettings

T = TypeVar("T")
READY_TIMEOUT_S = 180.0  # a shared 2-core machine under load starts slowly


def wait_for(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0, interval_s: float = 0.25) -> T:
    """Poll ``probe`` until it returns something truthy (an HTTP error counts as not yet); an
    AssertionError naming ``what`` once ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        try:
            result = probe()
            if result:
                return result
            last = result
        except httpx.HTTPError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what} (last: {last!r})")
        time.sleep(interval_s)


def bearer(role: str, **claims: Any) -> dict[str, str]:
    """Headers with a development JWT, as ``safegrid token --role ROLE …`` prints it."""
    return {"Authorization": f"Bearer {issue_token(ServiceSettings(), role=role, **claims)}"}


@dataclass
class Platform:
    """A running ``safegrid dev``: its process, where each service listens, and its log."""

    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    broker_port: int
    log_path: Path
    _log: Any = field(repr=False, default=None)

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Every service answers /readyz 200 (its database and the broker reachable)."""
        for name in self.ports:
            def ready(name: str = name) -> bool:
                if self.process.poll() is not None:
                    raise AssertionError(f"safegrid dev exited with {self.process.returncode}; log:\n{self.log_tail()}")
                return httpx.get(self.url(name, "/readyz"), timeout=2).status_code == 200
            wait_for(ready, f"{name} to be ready; log:\n{self.log_tail()}", timeout_s, interval_s=0.25)

    def stop(self, timeout_s: float = 30.0) -> int:
        """Ctrl-C, as a developer stops `make run`; its exit code (killed after ``timeout_s``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode

    def children(self) -> dict[str, int]:
        """The PIDs of the processes ``safegrid dev`` started, by name: each service and the broker."""
        found: dict[str, int] = {}
        for pid in child_pids(self.process.pid):
            args = cmdline(pid)
            if "serve" in args and args.index("serve") + 1 < len(args):
                found[args[args.index("serve") + 1]] = pid
            elif "broker" in args:
                found["broker"] = pid
        return found


def start_platform(directory: Path, env: Mapping[str, str] | None = None) -> Platform:
    """``python -m services.cli dev --no-demo --broker-port P`` with every service on a free port
    (``SAFEGRID_<SERVICE>_PORT``) and its SQLite files in ``directory/var``; not waited for."""
    ports = {info.name: free_port() for info in SERVICES}
    broker_port = free_port()
    child_env = {**os.environ, "SAFEGRID_VAR_DIR": str(directory / "var"), "PYTHONUNBUFFERED": "1",
                 **{f"SAFEGRID_{name.upper()}_PORT": str(port) for name, port in ports.items()}, **(env or {})}
    log_path = directory / "dev.log"
    log = log_path.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "dev", "--no-demo",
                                "--broker-port", str(broker_port)], env=child_env, stdout=log,
                               stderr=subprocess.STDOUT)
    return Platform(process, ports, broker_port, log_path, log)


@contextmanager
def running_platform(directory: Path, env: Mapping[str, str] | None = None) -> Iterator[Platform]:
    """A started platform, every service ready; stopped with Ctrl-C on the way out."""
    platform = start_platform(directory, env)
    try:
        platform.wait_ready()
        yield platform
    finally:
        platform.stop()


# --- processes: /proc (psutil is not a dependency) ------------------------------------------------

def child_pids(parent: int) -> list[int]:
    """The live processes whose parent is ``parent``, from /proc/<pid>/stat's ppid field."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
        if int(stat.rpartition(")")[2].split()[1]) == parent:
            found.append(int(entry.name))
    return sorted(found)


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def rss_mb(pid: int) -> float | None:
    """Resident memory (VmRSS) in MiB, or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
