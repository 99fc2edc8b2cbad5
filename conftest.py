"""Fixtures shared by every app's tests. Tests run on real PostgreSQL and Redis."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django_redis import get_redis_connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from core.local_redis_cluster import local_redis_cluster
from core.redis_clients import close_sync_clients, sync_client


@pytest.fixture(scope="session", autouse=True)
def _queue_on_redis_cluster():
    """With ``TEST_QUEUE_REDIS_CLUSTER=1`` (the second run of ``make test``) the queue lives on a real
    3-master Redis Cluster started here; everything else stays on ``REDIS_URL``. Server processes the
    tests start inherit it through the environment."""
    if os.environ.get("TEST_QUEUE_REDIS_CLUSTER", "") not in {"1", "true"}:
        yield None
        return
    with local_redis_cluster(masters=3) as cluster:
        overrides = {"QUEUE_REDIS_URL": cluster.url, "QUEUE_REDIS_CLUSTER": "true"}
        saved = {name: os.environ.get(name) for name in overrides}
        os.environ.update(overrides)
        settings.QUEUE_REDIS_URL, settings.QUEUE_REDIS_CLUSTER = cluster.url, True
        try:
            yield cluster
        finally:
            close_sync_clients()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(autouse=True)
def _clean_redis(_queue_on_redis_cluster):
    """Every test starts with an empty Redis database (queue, cache, rate limits, channel layer) and,
    on the cluster run, an empty queue cluster."""
    stores = [get_redis_connection("default")]
    if _queue_on_redis_cluster is not None:
        stores.append(sync_client(_queue_on_redis_cluster.url, cluster=True))
    for store in stores:
        store.flushdb()
    yield
    for store in stores:
        store.flushdb()


@pytest.fixture
def fan(db):
    return UserFactory(email="fan@example.com")


@pytest.fixture
def other_fan(db):
    return UserFactory(email="other@example.com")


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def jwt_client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def fan_api(fan) -> APIClient:
    """An API client authenticated as `fan` with a JWT access token, as a mobile app would be."""
    return jwt_client_for(fan)


@pytest.fixture
def other_fan_api(other_fan) -> APIClient:
    return jwt_client_for(other_fan)
