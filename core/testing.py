"""Test helpers: hear what is published on a live topic, as a server process would; start child
processes on the test database; require an outside service (skipped locally, failed in CI)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings
from django_redis import get_redis_connection

from core.realtime import channel_name

ROOT = Path(__file__).resolve().parent.parent


class TopicListener:
    """A synchronous subscriber to one live topic (``core.realtime``), on the real Redis."""

    def __init__(self, topic: str) -> None:
        self.pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel_name(topic))
        self.pubsub.get_message(timeout=1)  # the subscription is confirmed: nothing is missed from here

    def receive(self, timeout: float = 2.0) -> dict[str, Any]:
        """The next published envelope; TimeoutError when nothing comes."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "message":
                return json.loads(message["data"])
        raise TimeoutError

    def assert_silent(self, timeout: float = 0.3) -> None:
        try:
            envelope = self.receive(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"nothing should have been published, got {envelope}")

    def close(self) -> None:
        self.pubsub.close()


def child_process_environment(**overrides: str) -> dict[str, str]:
    """Environment of a server, worker or script this test starts: the test database this process
    created (pytest-django's ``test_`` name) and this run's Redis, so the child sees the test's data."""
    from django.db import connections

    database = connections["default"].settings_dict["NAME"]
    url = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turnstile"))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings_test",
        "DATABASE_URL": urlunparse(url._replace(path=f"/{database}")),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONPATH": str(ROOT),
        **overrides,
    }


def require_service(available: bool, message: str) -> None:
    """Skip a test whose outside service or binary is missing here; in CI (``CI`` set), where the
    service is provided, fail instead: a skipped test there would hide a broken set-up."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def record_limit_pipelines(monkeypatch) -> list[int]:
    """From now on, for every pipeline sent on the sync rate-limit client that counts limits
    (``core.ratelimit``), the number of limits it counted: one entry per round trip."""
    from core import ratelimit

    storage = ratelimit._limiter().storage
    acquire = storage.lua_acquire_sliding_window.sha
    pipeline_class = type(storage.get_connection().pipeline())
    real_execute = pipeline_class.execute
    counted: list[int] = []

    def recording_execute(self, *args, **kwargs):
        limits = [command for command, _options in self.command_stack if acquire in command]
        if limits:
            counted.append(len(limits))
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(pipeline_class, "execute", recording_execute)
    return counted


def http_scope(
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    *,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> dict:
    """An ASGI HTTP scope as uvicorn builds it (for tests that call an ASGI app directly)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": ("127.0.0.1", 80),
    }
