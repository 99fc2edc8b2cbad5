"""(b) Position lookups with a big queue, and (c) Redis memory per queued fan.

The big queue is loaded in bulk, not through a million service calls: the users and queue entries with
COPY, then Redis by the shipped rebuild from PostgreSQL (``queue_rebuild_from_database``: the event's
empty structures already exist, made when it was created).
It is kept between runs (found again by its name and size).
"""

from __future__ import annotations

import random
import time

from bench.common import (
    Result,
    access_tokens,
    create_event,
    ensure_users,
    log,
    redis,
    summarize_latencies,
    write_tokens,
)
from bench.http_load import run_wrk
from bench.joins import _http_result
from bench.servers import Server


def big_queue(*, fans: int):
    """An on-sale event with ``fans`` waiting (sequence 1..fans), in PostgreSQL and Redis."""
    from django.db import connection
    from django.utils import timezone

    from events.models import Event
    from queueing.models import QueueEntry
    from queueing.redis_queue import READY, QueueKeys, waiting_count
    from queueing.services import queue_rebuild_from_database

    name = f"positions-{fans}"
    client = redis()
    for event in Event.objects.filter(name=name).order_by("-pk"):
        keys = QueueKeys(event.pk)
        in_db = QueueEntry.objects.filter(event=event, state=QueueEntry.State.WAITING).count()
        if in_db == fans and waiting_count(keys) == fans and client.hget(keys.meta, READY):
            return event, None
    user_ids = ensure_users(fans)
    event = create_event(name)
    keys = QueueKeys(event.pk)
    started = time.monotonic()
    now = timezone.now()
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY queueing_queueentry (event_id, user_id, sequence, state, joined_at) FROM STDIN"
        ) as copy,
    ):
        for sequence, user_id in enumerate(user_ids, start=1):
            copy.write_row((event.pk, user_id, sequence, "waiting", now))
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk change, before the scenarios run: without statistics the
        # planner took this event for a small one and each admission tick scanned all its rows.
        cursor.execute("ANALYZE queueing_queueentry")
    copied = time.monotonic()
    memory_before = int(client.info("memory")["used_memory"])
    queue_rebuild_from_database(event=event)
    memory_after = int(client.info("memory")["used_memory"])
    log(
        f"queued {fans:,} fans for event {event.pk}: COPY {copied - started:.1f}s, "
        f"rebuild in Redis {time.monotonic() - copied:.1f}s"
    )
    return event, (memory_after - memory_before)


def position_lookups_in_process(*, event, fans: int, samples: int) -> list[Result]:
    """``queue_status`` (the selector behind the API) for random fans of the big queue."""
    from accounts.models import User
    from queueing.selectors import queue_status

    user_ids = ensure_users(fans)
    picks = random.sample(user_ids, min(samples, len(user_ids)))
    latencies = []
    deadline = time.perf_counter() + 30
    for user_id in picks:
        begin = time.perf_counter()
        status = queue_status(user=User(pk=user_id), event=event)
        latencies.append(time.perf_counter() - begin)
        assert status is not None
        assert status.position is not None
        if begin > deadline:
            break
    stats = summarize_latencies(latencies)
    log(f"queue_status with {fans:,} queued: {stats}")
    return [
        Result(
            f"position lookup in process (queue_status), {fans:,} queued",
            "p99 ms",
            f"{stats['p99_ms']:.2f}",
            target="< 1 ms",
            met=stats["p99_ms"] < 1,
            detail=f"{len(latencies):,} lookups of random fans, p50 {stats['p50_ms']:.2f} ms",
            extra=stats,
        )
    ]


def http_positions(
    server: Server,
    *,
    event,
    fans: int,
    token_users: int,
    seconds: float,
    connections: int,
    label: str,
    ceiling_rate: float = 0.0,
) -> list[Result]:
    """GET /api/queue/position/<event> with tokens of fans spread over the whole queue."""
    user_ids = ensure_users(fans)
    picks = random.sample(user_ids, min(token_users, len(user_ids)))
    tokens_file = write_tokens("position", access_tokens(picks))
    path = f"/api/queue/position/{event.pk}"
    run_wrk(
        url=server.base_url,
        clients_file=tokens_file,
        method="GET",
        path=path,
        seconds=3,
        connections=connections,
    )
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    load = run_wrk(
        url=server.base_url,
        clients_file=tokens_file,
        method="GET",
        path=path,
        seconds=seconds,
        connections=connections,
    )
    cpu = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
    log(f"HTTP position [{label}]: {load.describe()}")
    return [
        _http_result(
            f"HTTP GET /api/queue/position [{label}], {fans:,} queued",
            "reads/s",
            load,
            cpu,
            target_rate=3500,
            share_target=0.10,
            ceiling_rate=ceiling_rate,
        )
    ]


def redis_memory(*, event, fans: int, populate_delta: int | None, joined_event=None) -> list[Result]:
    """Bytes of Redis per queued fan: the MEMORY USAGE of the waiting line's keys and, when the big
    queue was just loaded, the growth of INFO used_memory while loading it."""
    from queueing.redis_queue import QueueKeys, waiting_count

    client = redis()
    usage = line_memory(client, QueueKeys(event.pk))
    per_fan = usage / fans
    detail = f"MEMORY USAGE of the line's keys (SAMPLES 0): {usage / 2**20:,.1f} MiB for {fans:,} fans"
    if populate_delta is not None:
        detail += f"; INFO used_memory grew {populate_delta / fans:,.0f} B/fan while loading"
    results = [
        Result(
            f"Redis memory per queued fan ({fans:,} queued)",
            "bytes/fan",
            f"{per_fan:,.0f}",
            target="≤ 200",
            met=per_fan <= 200,
            detail=detail,
            extra={"usage": usage, "per_fan": per_fan, "populate_delta": populate_delta},
        )
    ]
    if joined_event is not None:
        keys = QueueKeys(joined_event.pk)
        count = waiting_count(keys)
        if count:
            joined_usage = line_memory(client, keys)
            results.append(
                Result(
                    f"Redis memory per queued fan ({count:,} joined through the join script)",
                    "bytes/fan",
                    f"{joined_usage / count:,.0f}",
                    target="≤ 200",
                    met=joined_usage / count <= 200,
                    detail="MEMORY USAGE of the line's keys (SAMPLES 0)",
                )
            )
    return results


def line_memory(client, keys) -> int:
    """MEMORY USAGE (SAMPLES 0) summed over the live version of the waiting line's keys."""
    from queueing.redis_queue import line_version, line_version_keys

    names = [*line_version_keys(keys, line_version(keys, client), client), keys.size]
    total = 0
    for start in range(0, len(names), 5000):
        pipe = client.pipeline(transaction=False)
        for name in names[start : start + 5000]:
            pipe.memory_usage(name, samples=0)
        total += sum(usage or 0 for usage in pipe.execute())
    return total
