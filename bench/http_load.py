"""HTTP load with wrk (a native client: a Python client would eat the CPU the server needs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, log

WRK_SCRIPT = ROOT / "bench" / "wrk" / "clients.lua"


def ensure_wrk() -> str:
    """The wrk binary; installs the Debian package when missing and we are root (like `make bench-deps`)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: apt-get install -y wrk")
    subprocess.run(["apt-get", "update", "-qq"], check=True)  # noqa: S607
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)  # noqa: S607
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed; run `make bench-deps` as root")
    return found


@dataclass
class LoadResult:
    requests: int
    seconds: float
    statuses: dict[int, int]
    errors: dict[str, int]
    wraps: int
    latency_ms: dict[str, float]
    connections: int
    threads: int

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        non_ok = sum(count for status, count in self.statuses.items() if not 200 <= status < 300)
        return non_ok + sum(value for key, value in self.errors.items() if key != "status")

    def describe(self) -> str:
        return (
            f"{self.ok_per_second:,.0f} ok/s over {self.seconds:.1f}s, statuses {self.statuses}, "
            f"errors {self.errors}, p50 {self.latency_ms['p50']:.1f} ms, p99 {self.latency_ms['p99']:.1f} ms "
            f"({self.connections} connections, {self.threads} threads)"
        )


def run_wrk(
    *,
    url: str,
    clients_file: Path,
    method: str,
    path: str,
    body: str = "",
    content_type: str = "application/json",
    seconds: float,
    connections: int,
    threads: int = 2,
    timeout_seconds: int = 5,
) -> LoadResult:
    """One wrk run, bounded in time (``-d``) and by a per-request timeout."""
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(clients_file),
        str(threads),
        method,
        path,
        body,
        content_type,
    ]
    completed = subprocess.run(  # noqa: S603 - wrk with our own arguments
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stdout}\n{completed.stderr}")
    data = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        statuses={int(status): count for status, count in data["statuses"].items()},
        errors=data["errors"],
        wraps=data["wraps"],
        latency_ms={key: value / 1000 for key, value in data["latency_us"].items()},
        connections=connections,
        threads=threads,
    )
