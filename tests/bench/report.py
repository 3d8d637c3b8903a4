"""`make bench`: run every benchmark (tests/bench/bench_*.py) one after another, show its output
as it runs, and write var/bench/report.md: the machine, a summary of every figure measured as a
ratio against its same-run baseline, and each benchmark's full output.

Run: .venv/bin/python tests/bench/report.py [NAME ...]   (names like `scoring`; default: all)
A benchmark that fails is reported as failed and the run exits non-zero after the others."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
RATIO = re.compile(r"\bratio\b")


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    postgres = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
                              capture_output=True, text=True, timeout=10)
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {int(memory) // 1024:,} MiB",
        f"- {platform.platform()}; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"PostgreSQL {postgres.stdout.strip() if postgres.returncode == 0 else 'not reachable'}",
        "- broker: the embedded Kafka-protocol broker (Tansu), in memory, on 127.0.0.1",
    ]


def run(bench: Path) -> tuple[int, str, float]:
    """Run one benchmark, echoing its output; (exit code, output, seconds)."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, str(bench)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "SAFEGRID_LOG_LEVEL": "warning"})
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return process.wait(), "".join(lines), time.monotonic() - started


def figures(output: str) -> list[str]:
    """The lines that state a figure with its ratio (log lines left out)."""
    return [line.strip() for line in output.splitlines() if RATIO.search(line) and not line.startswith("20")]


def main(names: list[str]) -> int:
    benches = sorted((ROOT / "tests" / "bench").glob("bench_*.py"))
    if names:
        benches = [b for b in benches if b.stem.removeprefix("bench_") in names]
    OUT.mkdir(parents=True, exist_ok=True)
    summary, details, failed = [], [], []
    for bench in benches:
        print(f"== {bench.name}", flush=True)
        code, output, seconds = run(bench)
        name = bench.stem.removeprefix("bench_")
        if code:
            failed.append(name)
        summary += [f"| {name} | {line.replace('|', '/')} |" for line in figures(output)] or [
            f"| {name} | {'FAILED' if code else 'no ratio printed'} |"]
        details += [f"### {name} ({seconds:.0f} s{', FAILED, exit ' + str(code) if code else ''})", "",
                    "```", output.rstrip(), "```", ""]
    report = [f"# Benchmark report, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", *machine(), "",
              "Each ratio is the platform's figure over a baseline measured in the same run on the same "
              "machine (1.0 = no overhead), so a regression shows whatever the machine.", "",
              "| benchmark | figure |", "| --- | --- |", *summary, "", "## Full output", "", *details]
    (OUT / "report.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"report: {OUT / 'report.md'}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
