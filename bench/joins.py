"""(a) Queue joins per second: in-process (the service) and through the HTTP API, then durability."""

from __future__ import annotations

import asyncio
import json
import time

from bench.common import (
    BENCH_CHALLENGE_DIFFICULTY,
    Result,
    access_tokens,
    create_event,
    ensure_users,
    log,
    solved_challenges,
    summarize_latencies,
    write_tokens,
)
from bench.http_load import LoadResult, run_wrk
from bench.servers import Server


def _fans(user_ids: list[int]):
    from accounts.models import User

    return [User(pk=user_id) for user_id in user_ids]  # queue_join only needs the primary key


def service_joins_sync(*, users: int, seconds: float) -> list[Result]:
    """``queue_join`` called one after another in this process: one Lua script + one INSERT each."""
    from queueing.services import queue_join

    fans = _fans(ensure_users(users))
    event = create_event("service-join-sync")
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    for fan in fans:  # bounded by the number of fans and by the time
        begin = time.perf_counter()
        queue_join(user=fan, event=event)
        latencies.append(time.perf_counter() - begin)
        if begin > deadline:
            break
    elapsed = time.perf_counter() - started
    stats = summarize_latencies(latencies)
    durable = verify_durability(event=event, accepted_new=len(latencies))
    rate = len(latencies) / elapsed
    log(f"service join (sync): {rate:,.0f}/s, {stats}")
    return [
        Result(
            "service join, sequential (queue_join)",
            "joins/s",
            f"{rate:,.0f}",
            detail=f"{len(latencies):,} joins, p50 {stats['p50_ms']:.2f} ms, p99 {stats['p99_ms']:.2f} ms; "
            f"{durable['summary']}",
            extra={"rate": rate, **stats, "durability": durable},
        )
    ]


def service_joins_async(*, users: int, seconds: float, concurrency: int) -> list[Result]:
    """``aqueue_join`` from many coroutines in this process: the group-committed path the API uses."""
    from queueing.batching import close_batchers
    from queueing.redis_queue import close_async_redis_client
    from queueing.services import aqueue_join

    fans = _fans(ensure_users(users))
    event = create_event("service-join-async")
    latencies: list[float] = []

    async def worker(queue: list, deadline: float) -> None:
        while queue and time.perf_counter() < deadline:
            fan = queue.pop()
            begin = time.perf_counter()
            await aqueue_join(user=fan, event=event)
            latencies.append(time.perf_counter() - begin)

    async def main() -> float:
        pending = list(reversed(fans))
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(pending, deadline) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await close_batchers()
        await close_async_redis_client()
        return elapsed

    elapsed = asyncio.run(main())
    stats = summarize_latencies(latencies)
    durable = verify_durability(event=event, accepted_new=len(latencies))
    rate = len(latencies) / elapsed
    log(f"service join (async, {concurrency} coroutines): {rate:,.0f}/s, {stats}")
    return [
        Result(
            f"service join, {concurrency} concurrent (aqueue_join, group commit)",
            "joins/s",
            f"{rate:,.0f}",
            target="≥ 20,000",
            met=rate >= 20_000,
            detail=f"{len(latencies):,} joins, p50 {stats['p50_ms']:.2f} ms, p99 {stats['p99_ms']:.2f} ms; "
            f"{durable['summary']}",
            extra={"rate": rate, **stats, "durability": durable},
        )
    ]


def verify_durability(*, event, accepted_new: int) -> dict:
    """Every place Redis handed out has its PostgreSQL row with the same sequence, and there are at
    least as many rows as new joins answered 201 (each 201 is a distinct fan)."""
    from queueing.models import QueueEntry
    from queueing.redis_queue import QueueKeys, waiting_places

    rows = dict(
        QueueEntry.objects.filter(event=event, state=QueueEntry.State.WAITING).values_list(
            "user_id", "sequence"
        )
    )
    in_redis = dict(waiting_places(QueueKeys(event.pk)))
    missing = [user_id for user_id, seq in in_redis.items() if rows.get(user_id) != seq]
    ok = not missing and len(rows) >= accepted_new
    summary = (
        f"durable: {len(rows):,} rows in PostgreSQL for {accepted_new:,} accepted new joins, "
        f"{len(missing)} Redis places without their row → {'OK' if ok else 'FAILED'}"
    )
    return {
        "ok": ok,
        "rows": len(rows),
        "accepted_new": accepted_new,
        "missing": len(missing),
        "summary": summary,
    }


def http_joins(
    server: Server,
    *,
    users: int,
    seconds: float,
    connections: int,
    label: str,
    ceiling_rate: float = 0.0,
    warmup_seconds: float = 3,
    user_offset: int = 0,
    challenge: bool = True,
) -> list[Result]:
    """New joins through the HTTP API, with the join challenge on (as shipped). ``challenge=False``
    is the comparison row of the same run, labelled as such: the event asks for no challenge.
    Repeated runs take fresh fans (``user_offset``): a fan may make only 5 new joins per 5 minutes."""
    user_ids = ensure_users(user_offset + users)[user_offset:]
    tokens = access_tokens(user_ids)
    if warmup_seconds:
        # Warming up the server (not measured): an event that asks for no challenge.
        warm = create_event("http-join-warmup", queue_challenge_difficulty=0)
        run_wrk(
            url=server.base_url,
            clients_file=write_tokens("join-warmup", tokens),
            method="POST",
            path="/api/queue/join",
            body=json.dumps({"eventId": warm.pk}),
            seconds=warmup_seconds,
            connections=connections,
        )
    if challenge:
        # As shipped: every fan sends its own solution (precomputed: the client's work).
        event = create_event("http-join", queue_challenge_difficulty=BENCH_CHALLENGE_DIFFICULTY)
        bodies = [
            json.dumps({"eventId": event.pk, "altcha": altcha}, separators=(",", ":"))
            for altcha in solved_challenges(event, user_ids)
        ]
        scenario = (
            f"HTTP POST /api/queue/join, challenge on (difficulty {BENCH_CHALLENGE_DIFFICULTY:,}) [{label}]"
        )
    else:
        event = create_event("http-join-no-challenge", queue_challenge_difficulty=0)
        bodies = [json.dumps({"eventId": event.pk}, separators=(",", ":"))] * len(user_ids)
        scenario = f"HTTP POST /api/queue/join, challenge OFF (comparison only, not shipped) [{label}]"
    tokens_file = write_tokens("join", tokens, bodies)
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    load = run_wrk(
        url=server.base_url,
        clients_file=tokens_file,
        method="POST",
        path="/api/queue/join",
        seconds=seconds,
        connections=connections,
    )
    cpu = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
    time.sleep(0.5)
    durable = verify_durability(event=event, accepted_new=load.statuses.get(201, 0))
    log(f"HTTP join [{label}]: {load.describe()}; {durable['summary']}")
    return [
        _http_result(
            scenario,
            "joins/s",
            load,
            cpu,
            target_rate=3000,
            share_target=0.08,
            ceiling_rate=ceiling_rate,
            durable=durable,
        )
    ]


def _http_result(
    scenario: str,
    metric: str,
    load: LoadResult,
    cpu: float,
    *,
    target_rate: int,
    share_target: float,
    ceiling_rate: float = 0.0,
    durable: dict | None = None,
) -> Result:
    rate = load.ok_per_second
    share = rate / ceiling_rate if ceiling_rate else None
    met = rate >= target_rate and load.latency_ms["p99"] < 50 and load.failed == 0
    if durable is not None:
        met = met and durable["ok"]
    detail = (
        f"p50 {load.latency_ms['p50']:.1f} ms, p99 {load.latency_ms['p99']:.1f} ms, "
        f"{load.requests:,} requests in {load.seconds:.1f}s, statuses {load.statuses}, "
        f"failed {load.failed}, {load.connections} connections, server CPU {cpu * 100:.0f}%"
    )
    if durable is not None:
        detail += f"; {durable['summary']}"
    return Result(
        scenario,
        metric + (" (share of ceiling)" if share is not None else ""),
        f"{rate:,.0f}" + (f" ({share:.3f})" if share is not None else ""),
        target=f"≥ {target_rate:,}/s (≥ {share_target:.2f} of ceiling), p99 < 50 ms",
        met=met,
        detail=detail,
        extra={
            "rate": rate,
            "latency_ms": load.latency_ms,
            "statuses": load.statuses,
            "errors": load.errors,
            "server_cpu": cpu,
            "durability": durable,
        },
    )


def challenge_checks(*, samples: int) -> list[Result]:
    """What checking a join's challenge costs the server: the check alone (parse, expiry, two HMACs,
    the fan and event), and with its single-use claim in Redis; the library's own verify for scale."""
    from altcha import verify_solution

    from queueing import challenges

    user_ids = ensure_users(samples)
    event = create_event("challenge-check", queue_challenge_difficulty=BENCH_CHALLENGE_DIFFICULTY)
    payloads = solved_challenges(event, user_ids)
    pairs = list(zip(user_ids, payloads, strict=True))

    def per_call_us(function) -> float:
        best = float("inf")
        for _round in range(5):  # the best of five: the machine is shared
            started = time.perf_counter()
            for user_id, payload in pairs:
                function(user_id, payload)
            best = min(best, (time.perf_counter() - started) / len(pairs) * 1e6)
        return best

    check = per_call_us(
        lambda user_id, payload: challenges._checked_nonce(user_id=user_id, event=event, payload=payload)
    )
    hmac_secret, key_secret = challenges._secrets()
    library = per_call_us(
        lambda _user, payload: verify_solution(payload, hmac_secret, hmac_key_secret=key_secret)
    )
    started = time.perf_counter()
    for user_id, payload in pairs:  # once each: a solution is single-use
        challenges.challenge_redeem(user_id=user_id, event=event, payload=payload)
    redeem = (time.perf_counter() - started) / len(pairs) * 1e6
    log(
        f"challenge check: {check:.1f} µs (library verify {library:.1f} µs), "
        f"with the Redis claim {redeem:.1f} µs"
    )
    return [
        Result(
            "join challenge: server check (queueing.challenges, no I/O)",
            "µs per join",
            f"{check:.1f}",
            detail=f"best of 5 over {len(pairs):,} distinct solutions; altcha.verify_solution itself "
            f"{library:.1f} µs (its pure-Python canonical JSON)",
            extra={"check_us": check, "library_us": library},
        ),
        Result(
            "join challenge: check + single-use claim in Redis (challenge_redeem)",
            "µs per join",
            f"{redeem:.1f}",
            detail=f"{len(pairs):,} solutions, one Lua script round trip each (sync client)",
            extra={"redeem_us": redeem},
        ),
    ]
