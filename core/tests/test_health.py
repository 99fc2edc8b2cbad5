"""``/healthz``: PostgreSQL and Redis readiness, answered in front of Django and checked at most once
per ``HEALTH_CHECK_SECONDS`` per process."""

import asyncio
import copy
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from core import health
from ticketing.asgi import application

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable_database(monkeypatch):
    """A real PostgreSQL connection object pointed at a port where nothing listens."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict.update(HOST="127.0.0.1", PORT="1", OPTIONS={"connect_timeout": 1})
    dead = DatabaseWrapper(settings_dict, alias="unreachable")
    monkeypatch.setattr(health, "connection", dead)
    yield
    dead.close()


@pytest.fixture
def unreachable_redis(monkeypatch):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    monkeypatch.setattr(health, "get_redis_connection", lambda alias: dead)


@pytest.fixture(autouse=True)
def forget_the_last_reading(monkeypatch):
    monkeypatch.setattr(health, "readiness", health._Readiness())


async def _probe(method="GET"):
    response = await HttpCommunicator(application, method, "/healthz").get_response(timeout=15)
    headers = dict(response["headers"])
    return response["status"], headers, json.loads(response["body"]) if response["body"] else None


def probe(method="GET"):
    return async_to_sync(_probe)(method)


def test_a_separate_queue_redis_is_checked_too(settings):
    settings.QUEUE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    status, _headers, body = probe()

    assert status == 503
    assert body == {"status": "unavailable", "database": "ok", "redis": "ok", "queueRedis": "down"}


def test_healthz_reports_database_and_redis_up():
    status, headers, body = probe()

    assert status == 200
    assert body == {"status": "ok", "database": "ok", "redis": "ok"}
    assert headers[b"content-type"] == b"application/json"
    assert b"no-store" in headers[b"cache-control"]


def test_healthz_is_503_when_redis_is_down(unreachable_redis):
    status, _, body = probe()

    assert status == 503
    assert body == {"status": "unavailable", "database": "ok", "redis": "down"}


def test_healthz_is_503_when_the_database_is_down(unreachable_database):
    status, _, body = probe()

    assert status == 503
    assert body == {"status": "unavailable", "database": "down", "redis": "ok"}


def test_head_answers_without_a_body_and_other_methods_are_405():
    head_status, _, head_body = probe("HEAD")
    post_status, post_headers, _ = probe("POST")

    assert (head_status, head_body) == (200, None)
    assert post_status == 405
    assert post_headers[b"allow"] == b"GET, HEAD"


def test_a_crowd_of_probes_costs_one_check_per_interval(settings, monkeypatch):
    settings.HEALTH_CHECK_SECONDS = 60
    checks = []

    def counted_check():  # what is counted is the checks, not the stores (the tests above read those)
        checks.append(1)
        return health.readiness_body(database=True, redis=True)

    async def in_this_loop(check):
        return check()

    monkeypatch.setattr(health, "_check_services", counted_check)
    monkeypatch.setattr(health, "database_sync_to_async", lambda check: lambda: in_this_loop(check))

    async def crowd():
        return await asyncio.gather(*(health.readiness.answer() for _ in range(50)))

    # A thread of its own: the browser tests' Playwright keeps an event loop running in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        answers = pool.submit(asyncio.run, crowd()).result(timeout=10)

    assert {status for status, _ in answers} == {200}
    assert len(checks) == 1


def test_an_outage_shows_once_the_last_reading_is_older_than_the_interval(settings, monkeypatch):
    settings.HEALTH_CHECK_SECONDS = 60
    assert probe()[0] == 200
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    monkeypatch.setattr(health, "get_redis_connection", lambda alias: dead)
    assert probe()[0] == 200  # the reading is still fresh

    settings.HEALTH_CHECK_SECONDS = 0
    assert probe()[0] == 503
