import copy

import pytest
import redis
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from core import health


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


@pytest.mark.django_db
def test_healthz_reports_database_and_redis_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, unreachable_redis):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "down"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client, unreachable_database):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "redis": "ok"}
