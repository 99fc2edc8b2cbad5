"""Fixtures shared by every app's tests. Tests run on real PostgreSQL and Redis."""

from __future__ import annotations

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty Redis database (queue, cache, rate limits, channel layer)."""
    connection = get_redis_connection("default")
    connection.flushdb()
    yield
    connection.flushdb()


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
