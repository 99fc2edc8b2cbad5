"""Shared pieces of the benchmarks: the dedicated database and Redis, Django set-up, bulk test data.

The benchmarks never touch the development or test data:

- PostgreSQL: ``BENCH_DATABASE_URL``, else ``DATABASE_URL`` with the database name ``turnstile_bench``
  (created and migrated when missing);
- Redis: ``BENCH_REDIS_URL``, else ``REDIS_URL`` with database number 15. The benchmarks FLUSHDB it.

The benchmark process and the servers it starts share one environment (``bench_environment``):
DEBUG off, a throwaway SECRET_KEY, long-lived access tokens, and otherwise the shipped configuration:
every rate limit and throttle on, served by ``python -m ticketing.serve``. Clients arrive through one
trusted proxy (``NUM_PROXIES=1``) that reports a distinct address per simulated client.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BENCH_DATABASE_NAME = "turnstile_bench"
BENCH_REDIS_DB = 15
USER_EMAIL_PREFIX = "bench-fan-"
USER_PASSWORD = "bench-password-not-secret"  # noqa: S105 - throwaway accounts in a throwaway database

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turnstile")
    return _with_path(base, f"/{BENCH_DATABASE_NAME}")


def bench_redis_url() -> str:
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return _with_path(base, f"/{BENCH_REDIS_DB}")


_ENVIRONMENT: dict[str, str] | None = None


def bench_environment() -> dict[str, str]:
    """The environment of the benchmark process and of every server it starts (one secret key)."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "ticketing.settings",
                "DATABASE_URL": bench_database_url(),
                "REDIS_URL": bench_redis_url(),
                # The queue on the benchmark database too (queue-10m points it elsewhere in process).
                "QUEUE_REDIS_URL": bench_redis_url(),
                "QUEUE_REDIS_CLUSTER": "false",
                "CELERY_BROKER_URL": bench_redis_url(),
                "CELERY_RESULT_BACKEND": bench_redis_url(),
                "DEBUG": "false",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "NUM_PROXIES": "1",
                "JWT_ACCESS_LIFETIME_SECONDS": str(6 * 3600),
                "LOG_LEVEL": "WARNING",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
                # Collected here (setup_django), not in the checkout's staticfiles/, where WhiteNoise would
                # serve them to a developer's later test runs after the sources changed.
                "STATIC_ROOT": str(RESULTS_DIR / "staticfiles"),
            }
        )
        _ENVIRONMENT = env
    return _ENVIRONMENT


def create_database_if_missing() -> None:
    import psycopg

    url = urlsplit(bench_database_url())
    name = url.path.lstrip("/")
    admin = urlunsplit((url.scheme, url.netloc, "/postgres", url.query, url.fragment))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


_DJANGO_READY = False


def setup_django() -> None:
    """Configure Django in this process on the benchmark database and Redis, migrated, with static
    files collected as ``make run`` and the Dockerfile do (without them every page logs a warning per
    asset and checks the disk: not what we ship)."""
    global _DJANGO_READY
    if _DJANGO_READY:
        return
    create_database_if_missing()
    os.environ.update(bench_environment())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    _DJANGO_READY = True


def redis():
    """The benchmark's Redis database, which holds the queue too (``bench_environment``)."""
    from django_redis import get_redis_connection

    return get_redis_connection("default")


# --- Test data ----------------------------------------------------------------------------------


def ensure_users(count: int) -> list[int]:
    """Ids of ``count`` benchmark fans (created with COPY and one precomputed password hash)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user WHERE email LIKE %s", [USER_EMAIL_PREFIX + "%"])
        (existing,) = cursor.fetchone()
        if existing < count:
            started = time.monotonic()
            # One hash for every bench fan, including those an earlier run made (a hash of its own per
            # run would also do: logged_in_fans reads each fan's).
            cursor.execute(
                "SELECT password FROM accounts_user WHERE email LIKE %s LIMIT 1", [USER_EMAIL_PREFIX + "%"]
            )
            row = cursor.fetchone()
            password = row[0] if row else make_password(USER_PASSWORD)
            now = timezone.now()
            with cursor.copy(
                "COPY accounts_user (password, is_superuser, first_name, last_name, is_staff, is_active, "
                "date_joined, email, email_verified_at) FROM STDIN"
            ) as copy:
                for index in range(existing, count):
                    copy.write_row(
                        (
                            password,
                            False,
                            "",
                            "",
                            False,
                            True,
                            now,
                            f"{USER_EMAIL_PREFIX}{index:08d}@bench.invalid",
                            now,  # verified: joining a queue needs it
                        )
                    )
            cursor.execute("ANALYZE accounts_user")  # as autovacuum would after the bulk load
            log(f"created {count - existing} users in {time.monotonic() - started:.1f}s")
        # Fans of a benchmark database made before e-mail verification existed.
        cursor.execute(
            "UPDATE accounts_user SET email_verified_at = now() "
            "WHERE email LIKE %s AND email_verified_at IS NULL",
            [USER_EMAIL_PREFIX + "%"],
        )
        cursor.execute(
            "SELECT id FROM accounts_user WHERE email LIKE %s ORDER BY email LIMIT %s",
            [USER_EMAIL_PREFIX + "%", count],
        )
        return [row[0] for row in cursor.fetchall()]


def create_event(name: str, **overrides):
    """A published event on sale now, opened (no pre-queue), its queue structures ready in Redis."""
    from django.utils import timezone

    from events.models import Event, Venue
    from queueing.services import queue_ensure_ready, queue_open_prequeue

    venue, _ = Venue.objects.get_or_create(name="Bench Arena", city="Mumbai")
    now = timezone.now()
    fields = {
        "name": name,
        "slug": f"bench-{name}-{secrets.token_hex(4)}",
        "venue": venue,
        "starts_at": now + timedelta(days=30),
        "sale_opens_at": now - timedelta(minutes=5),
        "status": Event.Status.PUBLISHED,
        **overrides,
    }
    event = Event.objects.create(**fields)
    queue_ensure_ready(event=event)
    queue_open_prequeue(event=event)
    return event


# Difficulty of the join challenge in the benchmarks. The server's check costs the same at any
# difficulty (two HMACs, no hashing of the work); only the clients' precomputation grows with it.
BENCH_CHALLENGE_DIFFICULTY = 100


def solved_challenges(event, user_ids: Sequence[int]) -> list[str]:
    """Each fan's solved join challenge for ``event`` (the ``altcha`` field), computed before the timed
    run: solving is the client's cost. Issued in this process by the function behind
    GET /api/queue/challenge (the servers share this process's secret key), solved on two cores."""
    from concurrent.futures import ProcessPoolExecutor

    from queueing.challenge_client import challenge_solve
    from queueing.challenges import challenge_issue

    started = time.monotonic()
    challenges = [challenge_issue(user_id=user_id, event=event).challenge for user_id in user_ids]
    with ProcessPoolExecutor(max_workers=2) as pool:
        solved = list(pool.map(challenge_solve, challenges, chunksize=500))
    log(f"solved {len(solved):,} join challenges in {time.monotonic() - started:.1f}s (the clients' work)")
    return solved


def access_tokens(user_ids: Iterable[int]) -> list[str]:
    """Signed JWT access tokens, exactly as the login endpoint issues them (simplejwt)."""
    from rest_framework_simplejwt.tokens import AccessToken

    tokens = []
    for user_id in user_ids:
        token = AccessToken()  # what AccessToken.for_user(user) builds, without loading the user
        token["user_id"] = str(user_id)
        tokens.append(str(token))
    return tokens


def client_address(index: int) -> str:
    """A distinct client address per simulated client, from 198.18.0.0/15 (RFC 2544, set aside for
    benchmarks). It is only a header value: every request goes to 127.0.0.1."""
    return f"198.{18 + (index >> 16) % 2}.{(index >> 8) % 256}.{index % 256}"


def write_clients(name: str, clients: Sequence[dict[str, str]]) -> Path:
    """A clients file for bench/wrk/clients.lua: one client's request headers per line."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"clients-{name}.txt"
    lines = ("\t".join(f"{header}: {value}" for header, value in client.items()) for client in clients)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_tokens(name: str, tokens: Sequence[str], bodies: Sequence[str] | None = None) -> Path:
    """Mobile clients: each with its own JWT, arriving from its own address through the trusted proxy;
    with ``bodies``, each with its own request body (bench/wrk/clients.lua)."""
    clients = [
        {"Authorization": f"Bearer {token}", "X-Forwarded-For": client_address(index)}
        for index, token in enumerate(tokens)
    ]
    if bodies is not None:
        for client, body in zip(clients, bodies, strict=True):
            client["X-Bench-Body"] = body
    return write_clients(name, clients)


# --- Results ------------------------------------------------------------------------------------


@dataclass
class Result:
    """One row of the results table."""

    scenario: str
    metric: str
    value: str
    target: str = ""
    met: bool | None = None
    detail: str = ""
    extra: dict = field(default_factory=dict)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def summarize_latencies(samples_seconds: list[float]) -> dict[str, float]:
    ordered = sorted(samples_seconds)
    return {
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] if ordered else float("nan")) * 1000,
        "mean_ms": (statistics.fmean(ordered) if ordered else float("nan")) * 1000,
    }
