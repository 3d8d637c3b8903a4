"""``safegrid dev``: the whole platform on one machine, for development and demos.

Starts the embedded broker, creates the topics, migrates every service's database, runs each
service as its own process (as in production) with its log lines prefixed and coloured, loads
the demo city into an empty platform (``safegrid demo load --if-empty``), prints the URLs and
where to look first, and on Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time

import httpx
from rich.console import Console

from services.catalog import BY_NAME, SERVICES, ServiceInfo
from shared.broker import EmbeddedBroker, port_open
from shared.config import ServiceSettings

# ANSI colour codes of each process's log prefix.
COLOURS = {"broker": 90, "portal": 35, "registry": 36, "inspection": 32, "scoring": 33, "enforcement": 31, "demo": 34}
console = Console(highlight=False)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children get SIGTERM if the dev runner itself is killed: no orphans even after kill -9."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=_die_with_parent)


async def _pump(name: str, process: subprocess.Popen[bytes]) -> None:
    """Copy a child's output, each line prefixed with its coloured name."""
    assert process.stdout is not None
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, process.stdout.readline)
        if not line:
            return
        _say(name, line.decode(errors="replace").rstrip())


def _say(name: str, text: str) -> None:
    prefix = f"{name:<11}|"
    if sys.stdout.isatty():
        prefix = f"\033[{COLOURS.get(name, 37)}m{prefix}\033[0m"
    print(f"{prefix} {text}", flush=True)


def _port(info: ServiceInfo) -> int:
    return info.settings().effective_port  # SAFEGRID_<SERVICE>_PORT may move it


async def _wait_ready(info: ServiceInfo, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    port = _port(info)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{info.name} exited with code {process.returncode} during start-up")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{info.name} was not ready on port {port} after {timeout_s}s")


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The embedded broker holds a consumer's fetch for most of its wait even once a message has
# arrived (Kafka answers at once): with aiokafka's 500 ms each consumer hop of a chain costs
# ~130 ms at the median, so the services here ask for 50 ms (tests/bench/bench_headline.py).
EMBEDDED_FETCH_MAX_WAIT_MS = "50"


def child_env(broker_port: int, *, embedded_broker: bool, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every process ``safegrid dev`` starts (the developer's own settings win)."""
    env = {**(os.environ if base is None else base), "PYTHONUNBUFFERED": "1",
           "SAFEGRID_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}"}
    # The portal resolves scanned tokens through registry's public API, and registry prints the
    # portal's URL on its labels, wherever the two listen here.
    env.setdefault("SAFEGRID_PORTAL_REGISTRY_URL", f"http://127.0.0.1:{_port(BY_NAME['registry'])}")
    env.setdefault("SAFEGRID_PUBLIC_BASE_URL", f"http://127.0.0.1:{_port(BY_NAME['portal'])}")
    if embedded_broker:
        env.setdefault("SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS", EMBEDDED_FETCH_MAX_WAIT_MS)
    return env


async def _supervise(load_demo: bool, broker_port: int) -> int:
    settings = ServiceSettings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    if port_open("127.0.0.1", broker_port):
        console.print(f"[yellow]a broker already listens on 127.0.0.1:{broker_port}; using it[/]")
    else:
        broker = EmbeddedBroker(port=broker_port).start()
        _say("broker", f"embedded Kafka-protocol broker on 127.0.0.1:{broker_port}")
    env = child_env(broker_port, embedded_broker=broker is not None)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    pumps: list[asyncio.Task[None]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        cli = [sys.executable, "-m", "services.cli"]
        for step in (["topics"], ["migrate"]):
            subprocess.run([*cli, *step], env=env, check=True, stdout=subprocess.DEVNULL)
        for info in SERVICES:
            processes[info.name] = _spawn([*cli, "serve", info.name], env)
            pumps.append(asyncio.create_task(_pump(info.name, processes[info.name])))
        await asyncio.gather(*(_wait_ready(info, processes[info.name]) for info in SERVICES))
        _print_urls()
        if load_demo:  # the city across every service, then where to look first
            demo = await asyncio.to_thread(subprocess.run, [*cli, "demo", "load", "--if-empty"], env=env,
                                           capture_output=True, text=True)  # the loop keeps pumping logs
            for line in (demo.stdout + demo.stderr).splitlines():
                _say("demo", line)
        while not stop.is_set():
            for name, process in processes.items():
                if process.poll() is not None:
                    console.print(f"[red]{name} exited with code {process.returncode}; stopping everything[/]")
                    return 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except TimeoutError:
                pass
        console.print("[bold]stopping…[/]")
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        console.print(f"[red]start-up failed: {exc}[/]")
        return 1
    finally:
        _stop(processes)
        for pump in pumps:
            pump.cancel()
        if broker is not None:
            broker.stop()
        console.print("[bold]stopped[/]")


def _print_urls() -> None:
    print("\nsafegrid is running:", flush=True)
    for info in SERVICES:
        base = f"http://127.0.0.1:{_port(info)}"
        print(f"  {info.name:<12} {base:<24} API docs {base}/docs   ({info.summary})", flush=True)
    print("\n  a token:  .venv/bin/safegrid token --role regulator --jurisdiction 371100", flush=True)
    print("  stop:     Ctrl-C\n", flush=True)


def run_dev(*, load_demo: bool = True, broker_port: int = 9092) -> int:
    return asyncio.run(_supervise(load_demo, broker_port))
