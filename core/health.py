"""Readiness of the services the site stands on."""

from django.db import connection
from django_redis import get_redis_connection


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "down"
        return False


def redis_ok() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except Exception:  # noqa: BLE001 - any failure means "down"
        return False
