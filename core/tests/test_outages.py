"""A store outage is a 503 with Retry-After, never a 500 (issue 10, items 3 and 4)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from core.exceptions import ServiceUnavailable, store_outage
from core.views import server_error
from events.tests.factories import EventFactory
from queueing import api as queue_api
from queueing import redis_queue, selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_on_sale(db):
    return EventFactory()


@pytest.fixture
def redis_down(monkeypatch):
    """The queue's Redis refuses connections (nothing listens on port 1)."""
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(selectors, "queue_redis", lambda: dead)
    monkeypatch.setattr(redis_queue, "queue_redis", lambda: dead)  # the status script's client


@pytest.fixture
def database_down(monkeypatch):
    def fail(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    monkeypatch.setattr(queue_api, "queue_event_get", fail)


def _assert_503_envelope(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "The service is briefly unavailable. Please try again in a few seconds.",
            "details": {"retryAfter": 5},
        }
    }


def test_redis_down_is_a_503_on_the_api(fan_api, event_on_sale, redis_down):
    _assert_503_envelope(fan_api.get(f"/api/queue/stats/{event_on_sale.pk}"))


def test_postgresql_down_is_a_503_on_the_api(fan_api, database_down):
    _assert_503_envelope(fan_api.get("/api/queue/stats/1"))


def test_redis_down_is_a_friendly_503_page(client, fan, event_on_sale, redis_down):
    client.force_login(fan)

    response = client.get(f"/events/{event_on_sale.slug}/queue/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Back in a moment" in response.content


def test_an_outage_outside_any_view_is_a_503_too():
    request = RequestFactory().get("/api/queue/stats/1")
    try:
        raise RedisConnectionError("Connection closed by server.")
    except RedisConnectionError:
        response = server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_only_store_failures_count_as_outages():
    assert isinstance(store_outage(OperationalError("server closed the connection")), ServiceUnavailable)
    wrapped = RuntimeError("while saving the session")
    wrapped.__cause__ = RedisConnectionError("Connection refused")
    assert store_outage(wrapped) is not None
    assert store_outage(ValueError("a bug")) is None
    assert store_outage(ZeroDivisionError()) is None
