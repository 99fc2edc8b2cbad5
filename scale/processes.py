"""Server processes of a multi-node topology on loopback, started and always stopped as a group.

Web nodes (``python -m ticketing.serve``), Celery workers and beats, HAProxy (the balancer of
``deploy/haproxy/haproxy.cfg``) and PgBouncer each run in a session of their own on free ports; a
``Topology`` stops every one of them (SIGTERM, then SIGKILL) when its ``with`` block ends, whatever
happened inside. Used by ``make scale-check`` (scale/check.py), the benchmarks and the tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
# Debian installs both under /usr/sbin, which is not on every user's PATH.
SYSTEM_BINARIES = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def system_binary(name: str) -> str | None:
    """Path of a Debian package's binary (``make scale-deps`` installs haproxy and pgbouncer)."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SYSTEM_BINARIES))


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def wait_healthy(base_url: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode} while starting")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response,  # noqa: S310 - loopback
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url}/healthz not healthy after {timeout:.0f}s")


@dataclass
class Started:
    name: str
    process: subprocess.Popen
    log_path: Path
    port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the whole process group at once: a crashed node, not a graceful stop."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class Topology:
    """The processes of one run, all stopped when the ``with`` block ends."""

    def __init__(self, environment: Mapping[str, str], *, log_dir: Path | None = None) -> None:
        self.environment = dict(environment)
        self._own_dir = tempfile.TemporaryDirectory(prefix="turnstile-scale-") if log_dir is None else None
        self.log_dir = Path(self._own_dir.name) if self._own_dir else log_dir  # type: ignore[assignment]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.started: list[Started] = []

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def stop_all(self) -> None:
        # In reverse: the balancer before the nodes behind it, beats before the workers they feed.
        for started in reversed(self.started):
            started.stop()
        if self._own_dir is not None:
            self._own_dir.cleanup()

    def start(
        self, name: str, command: list[str], *, env: Mapping[str, str] | None = None, port: int | None = None
    ) -> Started:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our interpreter, Debian's binaries, our arguments
                command,
                cwd=ROOT,
                env={**self.environment, **(env or {})},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with every child it forks
            )
        started = Started(name=name, process=process, log_path=log_path, port=port)
        self.started.append(started)
        return started

    def web_node(self, name: str, *, workers: int = 1, env: Mapping[str, str] | None = None) -> Started:
        """The shipped server, ``python -m ticketing.serve``, on a free port (not yet healthy)."""
        port = free_port()
        node_env = {"HOST": "127.0.0.1", "PORT": str(port), "WEB_WORKERS": str(workers), **(env or {})}
        return self.start(name, [sys.executable, "-m", "ticketing.serve"], env=node_env, port=port)

    def celery_worker(self, name: str, *, env: Mapping[str, str] | None = None) -> Started:
        command = [
            sys.executable, "-m", "celery", "-A", "ticketing", "worker", "--hostname", f"{name}@%h",
            "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        return self.start(name, command, env=env)

    def celery_beat(self, name: str, *, env: Mapping[str, str] | None = None) -> Started:
        schedule = self.log_dir / f"{name}-schedule"
        command = [
            sys.executable, "-m", "celery", "-A", "ticketing", "beat", "--loglevel", "INFO",
            "--schedule", str(schedule), "--pidfile", "",
        ]  # fmt: skip
        return self.start(name, command, env=env)

    def haproxy(self, backends: list[Started], *, name: str = "haproxy") -> Started:
        """HAProxy with the deploy/ configuration, its servers the given web nodes on loopback."""
        binary = system_binary("haproxy")
        if binary is None:
            raise RuntimeError("HAProxy is not installed: run `make scale-deps` (Debian package haproxy)")
        port = free_port()
        config = self.log_dir / f"{name}.cfg"
        config.write_text(loopback_haproxy_config(port=port, backends=[b.port for b in backends if b.port]))
        started = self.start(name, [binary, "-db", "-f", str(config)], port=port)
        wait_for_port(port, timeout=10, process=started.process)
        return started


PGBOUNCER_CONFIG = """\
[databases]
{alias} = host={host} port={port} dbname={dbname} user={user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
; A server connection serves one transaction at a time, then the next client's: many web processes,
; each with its own small pool, share a few PostgreSQL connections.
pool_mode = transaction
default_pool_size = {pool_size}
max_db_connections = {pool_size}
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits,options
"""


def pgbouncer(topology: Topology, *, server_url: str, pool_size: int, name: str = "pgbouncer") -> Started:
    """PgBouncer in transaction mode in front of ``server_url`` (loopback, trust), at most
    ``pool_size`` server connections. Clients connect to ``127.0.0.1:<port>/<same database name>``."""
    binary = system_binary("pgbouncer")
    if binary is None:
        raise RuntimeError("PgBouncer is not installed: run `make scale-deps` (Debian package pgbouncer)")
    server = urlsplit(server_url)
    dbname, user = server.path.lstrip("/"), server.username or "postgres"
    auth_file = topology.log_dir / f"{name}-users.txt"
    auth_file.write_text(f'"{user}" ""\n')
    port = free_port()
    config = topology.log_dir / f"{name}.ini"
    config.write_text(
        PGBOUNCER_CONFIG.format(
            alias=dbname, host=server.hostname or "127.0.0.1", port=server.port or 5432, dbname=dbname,
            user=user, listen_port=port, auth_file=auth_file, pool_size=pool_size,
        )
    )  # fmt: skip
    # PgBouncer refuses to run as root: it drops to the postgres system user when started as root.
    command = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(config)]
    topology.log_dir.chmod(0o755)
    started = topology.start(name, command, port=port)
    wait_for_port(port, timeout=10, process=started.process)
    return started


def loopback_haproxy_config(*, port: int, backends: list[int]) -> str:
    """deploy/haproxy/haproxy.cfg with its Docker-only lines (marked ``# docker``) replaced by the
    loopback address and one server line per web node: the settings tested are the ones deployed."""
    lines = []
    for line in HAPROXY_CONFIG.read_text().splitlines():
        if line.rstrip().endswith("# docker"):
            if line.strip().startswith("server-template "):
                lines += [f"    server web{i} 127.0.0.1:{p} check" for i, p in enumerate(backends, 1)]
            continue
        if line.strip().startswith("bind "):
            line = line.split("bind ", 1)[0] + f"bind 127.0.0.1:{port}"
        lines.append(line)
    return "\n".join(lines) + "\n"
