"""Settings come from the environment, and production refuses an unsafe configuration."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django, json; from django.conf import settings; django.setup(); "
    "print(json.dumps({'debug': settings.DEBUG, 'db': settings.DATABASES['default']['NAME'], "
    "'hosts': settings.ALLOWED_HOSTS, 'secure': settings.SESSION_COOKIE_SECURE, "
    "'cache': settings.CACHES['default']['LOCATION'], 'broker': settings.CELERY_BROKER_URL, "
    "'layer': settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]['address'], "
    "'hasher': settings.PASSWORD_HASHERS[0]}))"
)
STRONG_KEY = "k" * 50


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean_env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY"}}
    clean_env.update({"DJANGO_SETTINGS_MODULE": "ticketing.settings", **env})
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_with_the_default_secret_key():
    result = load_settings(DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = load_settings(DEBUG="false", SECRET_KEY="short")

    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_production_starts_with_a_real_secret_key_and_secure_cookies():
    result = load_settings(DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="tickets.example.com")

    assert result.returncode == 0, result.stderr
    assert '"debug": false' in result.stdout
    assert '"secure": true' in result.stdout
    assert '"hosts": ["tickets.example.com"]' in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "postgres://u@db.example:5432/tickets", '"db": "tickets"'),
        ("REDIS_URL", "redis://cache.example:6379/3", '"cache": "redis://cache.example:6379/3"'),
        ("REDIS_URL", "redis://cache.example:6379/3", '"broker": "redis://cache.example:6379/3"'),
        ("REDIS_URL", "redis://cache.example:6379/3", '"layer": "redis://cache.example:6379/3"'),
    ],
)
def test_data_stores_are_configured_from_the_environment(variable, value, expected):
    result = load_settings(**{variable: value})

    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_passwords_are_hashed_with_argon2_by_default():
    result = load_settings()

    assert '"hasher": "django.contrib.auth.hashers.Argon2PasswordHasher"' in result.stdout


def test_behind_a_transaction_pooler_server_side_cursors_are_off_and_statements_unprepared():
    snippet = (
        "import django, json; from django.conf import settings; django.setup(); "
        "from django.db import connection; d = settings.DATABASES['default']; "
        "print(json.dumps([d['DISABLE_SERVER_SIDE_CURSORS'], "
        "connection.get_connection_params().get('prepare_threshold', 'missing')]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ticketing.settings"}
    run = [sys.executable, "-c", snippet]
    pooled = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        run,
        cwd=ROOT,
        env={**env, "DB_TRANSACTION_POOLER": "true"},
        capture_output=True,
        text=True,
        check=True,
    )
    direct = subprocess.run(  # noqa: S603
        run, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    # PgBouncer hands each transaction to any server connection: nothing may outlive one.
    assert pooled.stdout.strip() == "[true, null]"
    assert direct.stdout.strip() == "[false, null]"


def test_the_database_pool_gives_up_a_reconnect_attempt_within_seconds():
    # A retry that doubles its delay for minutes keeps the site down long after PostgreSQL is back.
    from django.db import connection

    pool = connection.pool
    assert pool is not None
    configured = settings.DATABASES["default"]["OPTIONS"]["pool"]["reconnect_timeout"]
    assert pool.reconnect_timeout == configured == 10
