"""PostgreSQL's connection budget: many web processes through PgBouncer in transaction mode.

A PostgreSQL role limited to ``SERVER_CONNECTIONS`` connections stands for a server whose
``max_connections`` the web tier would exceed: four web processes (two nodes of two workers), each
with the shipped pool of up to 8 connections, could open 32. Through PgBouncer (``pool_mode =
transaction``, at most ``SERVER_CONNECTIONS`` server connections) they share a handful, under load,
without one "too many connections"; and seat locking still works there: ``select_for_update`` gives
one winner, and ``SET LOCAL lock_timeout`` still turns a long wait into a clean 503 BUSY.

Needs Debian's pgbouncer and haproxy (``make scale-deps``): skipped without them, failed in CI.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from bookings.tests.conftest import admit
from core.testing import child_process_environment, require_service
from queueing.models import QueueEntry
from scale.check import http, join, position
from scale.processes import Topology, pgbouncer, system_binary, wait_healthy

pytestmark = pytest.mark.django_db(transaction=True)

SERVER_CONNECTIONS = 4
FANS = 60


def _url(base: str, *, user: str, port: int | None = None) -> str:
    parts = urlsplit(base)
    netloc = f"{user}@{parts.hostname or '127.0.0.1'}:{port or parts.port or 5432}"
    return urlunsplit(("postgres", netloc, parts.path, parts.query, ""))


@pytest.fixture
def limited_role():
    """A login role of the test database allowed ``SERVER_CONNECTIONS`` connections, dropped after."""
    require_service(
        system_binary("pgbouncer") is not None, "PgBouncer is not installed: run `make scale-deps`."
    )
    role = f"turnstile_pooled_{secrets.token_hex(3)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT {SERVER_CONNECTIONS}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    yield role
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")


def _server_connections(role: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role])
        return int(cursor.fetchone()[0])


def _token(user) -> str:
    return str(AccessToken.for_user(user))


def test_web_processes_through_pgbouncer_stay_within_the_connection_budget(
    limited_role, event, seats, make_fans
):
    direct_url = _url(child_process_environment()["DATABASE_URL"], user=limited_role)
    # The budget is real: one connection more than the role's limit is refused.
    opened = [psycopg.connect(direct_url.replace("postgres://", "postgresql://", 1)) for _ in range(4)]
    with pytest.raises(psycopg.OperationalError, match="too many connections"):
        psycopg.connect(direct_url.replace("postgres://", "postgresql://", 1))
    for conn in opened:
        conn.close()

    fans = make_fans(FANS)
    holders = make_fans(2)
    admit(event, *holders)
    with Topology(child_process_environment()) as topology:
        bouncer = pgbouncer(topology, server_url=direct_url, pool_size=SERVER_CONNECTIONS)
        node_env = {
            "DATABASE_URL": _url(direct_url, user=limited_role, port=bouncer.port),
            "DB_TRANSACTION_POOLER": "true",
            "DB_LOCK_TIMEOUT_MS": "300",
        }
        nodes = [topology.web_node(f"web-{n}", workers=2, env=node_env) for n in "ab"]
        for node in nodes:
            wait_healthy(node.base_url, timeout=90, process=node.process)

        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _server_connections(limited_role))
                time.sleep(0.02)
            connection.close()

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:

            def join_and_read(index: int) -> tuple[int, int]:
                base, token = nodes[index % 2].base_url, _token(fans[index])
                return join(base, token, event.pk)[0], position(base, token, event.pk)[0]

            with ThreadPoolExecutor(max_workers=24) as pool:
                statuses = Counter(status for pair in pool.map(join_and_read, range(FANS)) for status in pair)

            # Two admitted fans race for one seat through different processes: one wins.
            def hold(index: int) -> int:
                body = {"eventId": event.pk, "seatIds": [seats[0].pk]}
                url = f"{nodes[index].base_url}/api/inventory/lock-seats"
                return http("POST", url, _token(holders[index]), body)[0]

            with ThreadPoolExecutor(max_workers=2) as pool:
                race = sorted(pool.map(hold, range(2)))

            # A row lock held elsewhere: the hold waits lock_timeout (a transaction-local SET), then BUSY.
            superuser_url = child_process_environment()["DATABASE_URL"]  # not the limited role
            with psycopg.connect(superuser_url.replace("postgres://", "postgresql://", 1)) as locker:
                locker.execute("SELECT id FROM events_seat WHERE id = %s FOR UPDATE", [seats[1].pk])
                started = time.monotonic()
                busy_status, busy_body = http(
                    "POST", f"{nodes[0].base_url}/api/inventory/lock-seats", _token(holders[0]),
                    {"eventId": event.pk, "seatIds": [seats[1].pk]},
                )  # fmt: skip
                waited = time.monotonic() - started
        finally:
            stop.set()
            sampler.join(10)
        logs = "".join(started_process.log_text() for started_process in topology.started)

    assert set(statuses) <= {200, 201}, dict(statuses)
    assert sum(statuses.values()) == FANS * 2
    sequences = sorted(QueueEntry.objects.filter(event=event).values_list("sequence", flat=True))
    assert sequences == list(range(1, FANS + len(holders) + 1))
    assert 0 < peak[0] <= SERVER_CONNECTIONS, f"{peak[0]} server connections"
    assert "too many connections" not in logs
    assert race == [200, 409]
    assert (busy_status, busy_body["error"]["code"]) == (503, "BUSY")
    assert waited < 5
