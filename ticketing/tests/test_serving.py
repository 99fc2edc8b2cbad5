"""The real serving commands: `python -m ticketing.serve` and `make run`'s runner, started as processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "serving-test-key-" + "k" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own local server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited early with {process.returncode}")
        with contextlib.suppress(OSError):
            if _get(url, timeout=2) == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"{url} not serving after {timeout}s")


def _database_url(name: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turnstile"))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture
def test_database_url(django_db_setup, django_db_blocker) -> str:
    """The test database (migrated, no rows committed), for a server in another process."""
    with django_db_blocker.unblock():
        return _database_url(connection.settings_dict["NAME"])


def _serve(database_url: str, tmp_path: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": "2",
        **env,
    }
    with (tmp_path / "server.log").open("wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-m", "ticketing.serve"],
            cwd=ROOT,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}"


@pytest.mark.django_db(transaction=True)
def test_pages_render_with_debug_off_even_without_collectstatic(test_database_url, tmp_path):
    empty_static_root = tmp_path / "no-collectstatic"
    process, base = _serve(test_database_url, tmp_path, STATIC_ROOT=str(empty_static_root))
    try:
        _wait_until_serving(f"{base}/healthz", process)

        assert _get(f"{base}/") == 200
        assert _get(f"{base}/accounts/login/") == 200
        assert _get(f"{base}/no-such-page/") == 404
    finally:
        _stop(process)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


@pytest.mark.django_db(transaction=True)
def test_sigterm_under_load_stops_the_server_promptly(test_database_url, tmp_path):
    process, base = _serve(test_database_url, tmp_path, WEB_GRACEFUL_SHUTDOWN_SECONDS="3")
    _wait_until_serving(f"{base}/healthz", process)
    stop_load = threading.Event()

    def load() -> None:
        while not stop_load.is_set():
            with contextlib.suppress(OSError):
                _get(f"{base}/healthz", timeout=2)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(16)]
    for worker in workers:
        worker.start()
    idle = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))  # an open, silent client
    try:
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGTERM)
        started = time.monotonic()
        exit_code = process.wait(30)
        took = time.monotonic() - started
    finally:
        stop_load.set()
        idle.close()
        _stop(process)

    assert exit_code == 0
    assert took < 15


def test_make_run_keeps_running_on_external_servers_and_stops_cleanly_on_ctrl_c(tmp_path):
    """DATABASE_URL and REDIS_URL set (no embedded servers, so no .local/ made for us): the site, the
    worker and beat start and stay up, and Ctrl-C stops them all with exit status 0."""
    database = f"turnstile_runcheck_{os.getpid()}"
    admin = _database_url("postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    redis_parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    redis_db = int(redis_parts.path.strip("/") or 0) % 15
    port = _free_port()
    env = {
        **{key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY"}},
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "DATABASE_URL": _database_url(database),
        # The Redis database after the tests' own: the tests flush theirs.
        "REDIS_URL": urlunsplit((redis_parts.scheme, redis_parts.netloc, f"/{redis_db + 1}", "", "")),
        "TURNSTILE_LOCAL_DIR": str(tmp_path / "local-not-made-yet"),
        "PORT": str(port),
        "WEB_WORKERS": "1",
    }
    run_log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "scripts/run_local.py"],
        cwd=ROOT,
        env=env,
        stdout=run_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run_log.close()  # the runner keeps its own handle
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, timeout=180)
        time.sleep(8)  # beat used to die here: its schedule file's folder did not exist
        assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
        assert _get(f"http://127.0.0.1:{port}/") == 200

        os.killpg(process.pid, signal.SIGINT)
        exit_code = process.wait(60)
    finally:
        _stop(process)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    assert exit_code == 0, (tmp_path / "run.log").read_text()[-3000:]
