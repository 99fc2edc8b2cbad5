"""(d) Admit a batch and deliver ``admitted`` to its connected sockets; (e) idle queue sockets per process.

The clients are Python (``websockets``): fine for counting sockets and timing messages, not for HTTP
throughput. Many sockets are spread over a few client processes (file descriptors, one core each).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import resource
import statistics
import time
from dataclasses import dataclass, field

from bench.common import Result, access_tokens, create_event, ensure_users, log, percentile
from bench.servers import running_server

_CONNECT_CONCURRENCY = 100
_BROADCAST_SECONDS = 5.0


def _raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (200_000, hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
            return


def _socket_url(base: str, event_id: int, token: str) -> str:
    return f"{base}/ws/queue/{event_id}/?token={token}"


# --- (d) admission → admitted messages ------------------------------------------------------------


def admit_and_notify(*, server_kind: str, workers: int, sockets: int, rounds: int = 3) -> list[Result]:
    from accounts.models import User
    from queueing.services import queue_admit_batch, queue_join

    user_ids = ensure_users(sockets * rounds + 500)
    event = create_event("admit-ws", admission_batch_size=sockets)
    fans = [User(pk=user_id) for user_id in user_ids]
    for fan in fans:  # the batch fans first, then a crowd behind them
        queue_join(user=fan, event=event)
    tokens = access_tokens(user_ids[: sockets * rounds])
    admit_times, last_delivery, all_delivery = [], [], []
    with running_server(server_kind, workers=workers, extra_env={"DB_CONN_MAX_AGE": "60"}) as server:
        for round_index in range(rounds):
            batch_tokens = tokens[round_index * sockets : (round_index + 1) * sockets]
            admit_seconds, deliveries = asyncio.run(
                _admit_round(server.ws_url, event, batch_tokens, lambda: queue_admit_batch(event=event))
            )
            admit_times.append(admit_seconds)
            last_delivery.append(max(deliveries))
            all_delivery.extend(deliveries)
            log(
                f"admit round {round_index + 1}: admitted in {admit_seconds * 1000:.0f} ms, "
                f"all {len(deliveries)} sockets told in {max(deliveries) * 1000:.0f} ms"
            )
    worst = max(last_delivery)
    ordered = sorted(all_delivery)
    return [
        Result(
            f"admit a batch of {sockets} and notify {sockets} sockets [{server_kind}]",
            "s to last socket",
            f"{worst:.3f}",
            target="< 1 s",
            met=worst < 1 and len(all_delivery) == sockets * rounds,
            detail=(
                f"{rounds} rounds: admission service {statistics.median(admit_times) * 1000:.0f} ms "
                "(median), "
                f"every socket got `admitted` within {statistics.median(last_delivery) * 1000:.0f} ms "
                f"(median of rounds; worst {worst * 1000:.0f} ms); per socket p50 "
                f"{percentile(ordered, 0.5) * 1000:.0f} ms, p99 {percentile(ordered, 0.99) * 1000:.0f} ms; "
                f"{len(all_delivery)}/{sockets * rounds} delivered"
            ),
            extra={"admit_s": admit_times, "last_delivery_s": last_delivery},
        )
    ]


async def _admit_round(base_url: str, event, tokens: list[str], admit) -> tuple[float, list[float]]:
    import websockets

    origin = base_url.replace("ws://", "http://")
    connections = await asyncio.gather(
        *(websockets.connect(_socket_url(base_url, event.pk, token), origin=origin) for token in tokens)
    )
    try:
        for connection in connections:  # the exact status on connect: everybody is in line
            first = json.loads(await asyncio.wait_for(connection.recv(), 30))
            assert first["type"] == "status", first
        started = time.perf_counter()
        waiters = [asyncio.create_task(_until_admitted(connection, started)) for connection in connections]
        await asyncio.to_thread(admit)
        admit_seconds = time.perf_counter() - started
        deliveries = await asyncio.wait_for(asyncio.gather(*waiters), 30)
        return admit_seconds, list(deliveries)
    finally:
        await asyncio.gather(*(connection.close() for connection in connections), return_exceptions=True)


async def _until_admitted(connection, started: float) -> float:
    while True:
        message = json.loads(await connection.recv())
        if message["type"] == "admitted":
            return time.perf_counter() - started


# --- (e) idle sockets -------------------------------------------------------------------------------


@dataclass
class _Level:
    sockets: int
    connected: int = 0
    failed: int = 0
    connect_seconds: float = 0.0
    cpu_percent: float = 0.0
    rss_mib: float = 0.0
    pushes_per_socket: list[float] = field(default_factory=list)
    push_delay_p50: float = 0.0
    push_delay_p99: float = 0.0
    alive: int = 0


def idle_sockets(*, counts: list[int], client_processes: int = 2, hold_seconds: float = 20) -> list[Result]:
    """One daphne process; sockets added level by level; at each level the status broadcast runs every
    5 s (as the beat task does) and we measure the server's CPU and memory and the pushes received."""
    from bench.positions import big_queue
    from queueing import notify

    total = max(counts)
    event, _ = big_queue(fans=total)
    user_ids = ensure_users(total)
    tokens = access_tokens(user_ids)
    _raise_file_limit()
    levels: list[_Level] = []
    context = multiprocessing.get_context("spawn")
    with running_server("daphne", extra_env={"DB_CONN_MAX_AGE": "60"}) as server:
        baseline_rss = server.rss_bytes()
        commands = [context.Queue() for _ in range(client_processes)]
        replies = context.Queue()
        shares = [tokens[index::client_processes] for index in range(client_processes)]
        workers = [
            context.Process(
                target=_client_process,
                args=(server.ws_url, event.pk, shares[i], commands[i], replies),
                daemon=True,
            )
            for i in range(client_processes)
        ]
        for worker in workers:
            worker.start()
        try:
            for count in counts:
                level = _Level(sockets=count)
                started = time.monotonic()
                for index, queue in enumerate(commands):
                    queue.put(("connect", len(range(index, count, client_processes))))
                for _ in workers:
                    connected, failed = replies.get(timeout=900)
                    level.connected += connected
                    level.failed += failed
                level.connect_seconds = time.monotonic() - started
                log(f"{level.connected:,} sockets up ({level.failed} failed) in {level.connect_seconds:.0f}s")
                time.sleep(2)
                cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
                broadcasts = []
                deadline = time.monotonic() + hold_seconds
                while time.monotonic() < deadline:  # bounded: hold_seconds / 5 broadcasts
                    broadcasts.append(time.time())
                    notify.notify_queue_status(event=event)
                    time.sleep(_BROADCAST_SECONDS)
                level.cpu_percent = (
                    (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before) * 100
                )
                level.rss_mib = server.rss_bytes() / 2**20
                for queue in commands:
                    queue.put(("report", broadcasts))
                delays: list[float] = []
                for _ in workers:
                    alive, pushes, worker_delays = replies.get(timeout=120)
                    level.alive += alive
                    level.pushes_per_socket.extend(pushes)
                    delays.extend(worker_delays)
                delays.sort()
                level.push_delay_p50 = percentile(delays, 0.5)
                level.push_delay_p99 = percentile(delays, 0.99)
                levels.append(level)
                log(
                    f"{count:,} sockets: daphne CPU {level.cpu_percent:.0f}%, RSS {level.rss_mib:.0f} MiB, "
                    f"{len(broadcasts)} broadcasts, "
                    f"pushes/socket min {min(level.pushes_per_socket, default=0)}, "
                    f"delay p50 {level.push_delay_p50:.2f}s p99 {level.push_delay_p99:.2f}s"
                )
        finally:
            for queue in commands:
                queue.put(("stop", None))
            for worker in workers:
                worker.join(30)
                if worker.is_alive():
                    worker.terminate()
    results = []
    for level in levels:
        expected = max(1, round(hold_seconds / _BROADCAST_SECONDS))
        flowing = sum(1 for pushes in level.pushes_per_socket if pushes >= expected) / max(1, level.alive)
        per_socket_kib = (level.rss_mib * 2**20 - baseline_rss) / max(1, level.alive) / 1024
        results.append(
            Result(
                f"idle queue sockets on one daphne process: {level.sockets:,}",
                "connected",
                f"{level.alive:,}",
                target="status pushes every 5 s keep flowing",
                met=level.alive == level.sockets and flowing >= 0.99,
                detail=(
                    f"connected in {level.connect_seconds:.0f}s ({level.failed} failed); while idle with a "
                    f"broadcast every 5 s: daphne CPU {level.cpu_percent:.0f}% of one core, RSS "
                    f"{level.rss_mib:,.0f} MiB (~{per_socket_kib:.0f} KiB/socket); {flowing * 100:.1f}% of "
                    f"sockets got every push, push delay p50 {level.push_delay_p50:.2f}s, "
                    f"p99 {level.push_delay_p99:.2f}s"
                ),
                extra={
                    "cpu_percent": level.cpu_percent,
                    "rss_mib": level.rss_mib,
                    "flowing": flowing,
                    "connect_seconds": level.connect_seconds,
                },
            )
        )
    return results


def _client_process(base_url: str, event_id: int, tokens: list[str], commands, replies) -> None:
    _raise_file_limit()
    asyncio.run(_client_main(base_url, event_id, tokens, commands, replies))


async def _client_main(base_url: str, event_id: int, tokens: list[str], commands, replies) -> None:
    import websockets

    origin = base_url.replace("ws://", "http://")
    sockets: list = []
    received: dict[int, list[float]] = {}
    readers: list[asyncio.Task] = []
    limit = asyncio.Semaphore(_CONNECT_CONCURRENCY)

    async def open_one(index: int) -> bool:
        async with limit:
            try:
                connection = await websockets.connect(
                    _socket_url(base_url, event_id, tokens[index]), origin=origin, open_timeout=60
                )
                first = json.loads(await asyncio.wait_for(connection.recv(), 60))
            except Exception:  # noqa: BLE001 - counted as a failed connection
                return False
        if first.get("type") != "status":
            await connection.close()
            return False
        sockets.append(connection)
        received[index] = []
        readers.append(asyncio.create_task(read(index, connection)))
        return True

    async def read(index: int, connection) -> None:
        with contextlib.suppress(Exception):
            async for raw in connection:
                if '"status"' in raw:
                    received[index].append(time.time())

    loop = asyncio.get_running_loop()
    while True:
        command, argument = await loop.run_in_executor(None, commands.get)
        if command == "connect":
            start = len(sockets)
            outcomes = await asyncio.gather(*(open_one(index) for index in range(start, argument)))
            replies.put((sum(outcomes), len(outcomes) - sum(outcomes)))
        elif command == "report":
            broadcasts: list[float] = argument
            window_start = broadcasts[0] - 0.01
            pushes, delays = [], []
            for times in received.values():
                in_window = [moment for moment in times if moment >= window_start]
                pushes.append(len(in_window))
                for sent in broadcasts:
                    after = [
                        moment - sent for moment in in_window if sent <= moment < sent + _BROADCAST_SECONDS
                    ]
                    if after:
                        delays.append(min(after))
            alive = sum(1 for connection in sockets if connection.state.name == "OPEN")
            replies.put((alive, pushes, delays))
        else:
            break
    for task in readers:
        task.cancel()
    await asyncio.gather(*(connection.close() for connection in sockets), return_exceptions=True)
