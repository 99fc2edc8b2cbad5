"""Start the site under load as a subprocess on 127.0.0.1, and read its CPU and memory from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import RESULTS_DIR, ROOT, bench_environment, log

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    kind: str
    workers: int
    port: int
    process: subprocess.Popen

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server process and all its descendants (uvicorn's workers)."""
        return [self.process.pid, *_descendants(self.process.pid)]

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def rss_bytes(self) -> int:
        return sum(_rss_bytes(pid) for pid in self.pids())


def _read_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _read_stat(int(entry))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cpu_seconds(pid: int) -> float:
    fields = _read_stat(pid)
    if not fields:
        return 0.0
    # utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the command name).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rss_bytes(pid: int) -> int:
    fields = _read_stat(pid)
    return int(fields[21]) * PAGE_SIZE if fields else 0


def server_command(kind: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a server: the site as shipped, or the minimal ASGI ceiling."""
    if kind in ("turnstile", "uvicorn"):  # exactly what `make run`, the Dockerfile and docker-compose start
        env = {"HOST": "127.0.0.1", "PORT": str(port), "WEB_WORKERS": str(workers)}
        return [sys.executable, "-m", "ticketing.serve"], env
    if kind == "ceiling":  # the same uvicorn settings as ticketing.serve, around a "hello" app
        command = [
            str(Path(sys.executable).parent / "uvicorn"),
            "bench.ceiling_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--no-proxy-headers",
            "--no-server-header",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
        ]
        return command, {}
    if kind == "daphne":  # one process, for comparison only: not what we ship
        return [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "ticketing.asgi:application",
        ], {}
    raise ValueError(f"unknown server {kind!r}")


@contextlib.contextmanager
def running_server(
    kind: str, *, workers: int = 1, extra_env: dict[str, str] | None = None, ready_timeout: float = 60.0
) -> Iterator[Server]:
    port = free_port()
    command, server_env = server_command(kind, port, workers)
    env = {**bench_environment(), **server_env, **(extra_env or {})}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"server-{kind}.log"
    with log_path.open("wb") as server_log:
        process = subprocess.Popen(  # noqa: S603 - our own server binaries from the virtualenv
            command,
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = Server(kind=kind, workers=workers, port=port, process=process)
        try:
            _wait_ready(server, ready_timeout, log_path)
            log(f"{kind} ({workers} worker(s)) listening on {server.base_url}")
            yield server
        finally:
            _stop(process)


def _wait_ready(server: Server, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited at start; see {log_path}")
        probe = "/" if server.kind == "ceiling" else "/healthz"
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.base_url}{probe}", timeout=2) as response,  # noqa: S310
        ):
            if response.status == 200:
                # uvicorn: every worker must have imported the app, not only the first one.
                time.sleep(1.0 if server.workers > 1 else 0.2)
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout}s; see {log_path}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
