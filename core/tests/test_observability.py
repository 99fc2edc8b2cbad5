"""Request ids, structured log lines and the WebSocket counter (core.metrics, core.logging)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
import structlog
from django.test import RequestFactory
from prometheus_client import REGISTRY

from core.logging import structured_logging
from core.metrics import WebSocketMetrics, current_request


@pytest.mark.django_db
def test_every_answer_carries_a_request_id_and_keeps_a_proxys_id(client):
    fresh = client.get("/api/no-such-endpoint/")
    forwarded = client.get("/api/no-such-endpoint/", headers={"X-Request-ID": "lb-0123456789abcdef"})
    hostile = client.get("/api/no-such-endpoint/", headers={"X-Request-ID": "<script>"})

    assert len(fresh["X-Request-ID"]) == 16
    assert forwarded["X-Request-ID"] == "lb-0123456789abcdef"
    assert hostile["X-Request-ID"] != "<script>"


def _json_handler() -> tuple[logging.Handler, io.StringIO]:
    config = structured_logging(log_format="json", level="INFO")["formatters"]["structured"]
    factory = config.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(factory(**config))
    return handler, stream


def test_log_lines_are_json_with_the_request_id_and_the_fan():
    handler, stream = _json_handler()
    logger = logging.getLogger("turnstile.test.observability")
    logger.addHandler(handler)
    logger.propagate = False
    request = RequestFactory().get("/")
    request.request_id = "req-42abcdef"  # type: ignore[attr-defined]

    class Fan:
        pk = 7
        is_authenticated = True

    request._cached_user = Fan()  # type: ignore[attr-defined]
    token = current_request.set(request)
    try:
        logger.info("seat held %s", "A-1")
        structlog.get_logger("turnstile.test.observability").info("hold_placed", seats=2)
    finally:
        current_request.reset(token)
        logger.removeHandler(handler)

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "seat held A-1"
    assert (first["request_id"], first["fan_id"], first["level"]) == ("req-42abcdef", 7, "info")
    assert (second["event"], second["seats"], second["request_id"]) == ("hold_placed", 2, "req-42abcdef")


def test_websocket_connections_are_counted_while_open():
    def open_now() -> float:
        return REGISTRY.get_sample_value("turnstile_websocket_connections_open") or 0.0

    seen_while_open = []

    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        seen_while_open.append(open_now())

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        return None

    before = open_now()
    # A thread of its own: the browser tests' Playwright keeps an event loop running in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, WebSocketMetrics(app)({"type": "websocket"}, receive, send)).result(
            timeout=10
        )

    assert seen_while_open == [before + 1]
    assert open_now() == before


_WORKER = """
import django
django.setup()
from core.metrics import observe_http
for _ in range(25):
    observe_http("GET", "api/queue/position/<int:event_id>", 200, 0.003)
observe_http("POST", "api/queue/join", 503, 0.2)
"""

_SCRAPE = """
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
registry = CollectorRegistry()
MultiProcessCollector(registry)
print(generate_latest(registry).decode())
"""


def test_several_worker_processes_add_up_in_multiprocess_mode(tmp_path):
    """As with uvicorn --workers: each process writes its own files; a scrape sums them all."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from prometheus_client.parser import text_string_to_metric_families

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "PYTHONPATH": str(root)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings_test")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _WORKER], env=env, check=True, cwd=root, timeout=60)  # noqa: S603
    scraped = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _SCRAPE],
        env=env,
        check=True,
        cwd=root,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
    }
    position = (("method", "GET"), ("route", "api/queue/position/<int:event_id>"), ("status", "200"))
    join = (("method", "POST"), ("route", "api/queue/join"), ("status", "503"))
    assert samples[("turnstile_http_requests_total", position)] == 50
    assert samples[("turnstile_http_requests_total", join)] == 2
