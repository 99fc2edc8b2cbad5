"""Live queue sockets on two real uvicorn server processes, idle longer than every timeout involved.

The sockets once dropped every 10-16 s: channels-redis blocks ``BZPOPMIN`` for 5 s and redis-py 8
stops reading after its default 5 s socket timeout, so an idle socket's receive raised
``TimeoutError`` and the server closed it (1011). Here two server processes (two web nodes sharing
Redis) serve sockets that stay idle for ``IDLE_SECONDS``, longer than that 5 s socket timeout, the 5 s
blocking pop, the live hub's health check (``REALTIME_HEALTH_CHECK_SECONDS``, 2 s here) and the
servers' WebSocket keepalive pings (2 s here); then one admission must reach every socket on both.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import websockets
from django.db import connections
from rest_framework_simplejwt.tokens import RefreshToken

from core.testing import child_process_environment
from queueing.services import queue_admit_batch, queue_join

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
IDLE_SECONDS = 12.0  # > 5 s redis-py socket timeout, > 5 s BZPOPMIN, > 2 s health check, > 2 s pings
FANS_PER_SERVER = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_environment() -> dict[str, str]:
    return child_process_environment(REALTIME_HEALTH_CHECK_SECONDS="2")


@contextmanager
def uvicorn_servers(count: int) -> Iterator[list[str]]:
    """``count`` separate uvicorn processes (as on separate web nodes); yields their ws:// base URLs."""
    environment = _server_environment()
    ports = [_free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable, "-m", "uvicorn", "ticketing.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "--ws-ping-interval", "2", "--ws-ping-timeout", "2",
                # The WebSocket protocol ticketing.serve ships, as it ships it (frames written directly).
                "--ws", "core.ws_protocol:TurnstileWebSocketProtocol", "--ws-per-message-deflate", "false",
            ],
            cwd=ROOT,
            env=environment,
        )
        for port in ports
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        for port, process in zip(ports, processes, strict=True):
            while True:
                assert process.poll() is None, "a server process died while starting"
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except OSError:
                    assert time.monotonic() < deadline, "a server process did not start"
                    time.sleep(0.2)
        yield [f"ws://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


async def _open(base_url: str, event_id: int, token: str):
    connection = await websockets.connect(f"{base_url}/ws/queue/{event_id}/?token={token}", open_timeout=20)
    first = json.loads(await asyncio.wait_for(connection.recv(), 20))
    assert (first["type"], first["status"]) == ("status", "waiting")
    return connection


async def _messages_until_quiet(connection, quiet_seconds: float = 3.0) -> list[dict]:
    received = []
    while True:
        try:
            received.append(json.loads(await asyncio.wait_for(connection.recv(), quiet_seconds)))
        except TimeoutError:
            return received


def _admit_in_a_thread(event, size: int) -> None:
    try:
        queue_admit_batch(event=event, size=size)
    finally:
        connections.close_all()  # this thread's connection would keep the test database open


def test_idle_sockets_on_two_server_processes_all_hear_an_admission(event, make_fans):
    fans = make_fans(FANS_PER_SERVER * 2)
    for fan in fans:
        queue_join(user=fan, event=event)
    tokens = [str(RefreshToken.for_user(fan).access_token) for fan in fans]
    admitted_count = 2  # fans 0 and 1: one on each server (fans alternate between servers)

    with uvicorn_servers(2) as servers:

        async def scenario() -> tuple[list[bool], list[list[dict]]]:
            connections_ = [
                await _open(servers[index % 2], event.pk, token) for index, token in enumerate(tokens)
            ]
            await asyncio.sleep(IDLE_SECONDS)
            still_open = [connection.state.name == "OPEN" for connection in connections_]
            await asyncio.to_thread(_admit_in_a_thread, event, admitted_count)
            received = await asyncio.gather(*(_messages_until_quiet(c) for c in connections_))
            for connection in connections_:
                await connection.close()
            return still_open, list(received)

        still_open, received = asyncio.run(scenario())

    assert all(still_open), f"sockets closed while idle: {still_open}"
    for index, messages in enumerate(received):
        types = [message["type"] for message in messages]
        frames = [message for message in messages if message["type"] == "queue"]
        assert frames, f"socket {index} (server {index % 2}) got no queue frame: {types}"
        assert frames[-1]["headSequence"] == admitted_count
        assert frames[-1]["queueSize"] == len(fans) - admitted_count
        assert ("admitted" in types) == (index < admitted_count), f"socket {index}: {types}"
