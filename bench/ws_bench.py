"""Live WebSockets at on-sale scale, against uvicorn worker processes (issue 9; docs/performance.md).

- ``fanout`` (scenarios ``idle-ws``/``admit-ws``): N queue sockets spread over the workers; the
  servers' idle CPU and memory; then admission ticks of 50 run here through the real service
  (``queue_admit_batch``: Redis pop, PostgreSQL commit, one PUBLISH): the delay from the start of the
  tick to each socket's ``queue`` frame, and to each admitted fan's ``admitted`` message.
- ``seat_watchers`` (``seats-ws``): 2,000 seat-map sockets, holds one after another
  (``seats_hold``), the delay to each socket.
- ``soak`` (``soak-ws``): 1,000 queue sockets held for 10 minutes with a heartbeat and an admission
  every 30 s: every close the client did not ask for is counted.

The clients are lean asyncio protocols (``bench.ws_client``), in separate processes for the fan-out,
on the same two cores as the servers, PostgreSQL and Redis: their own CPU is part of every delay
measured here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import multiprocessing
import resource
import statistics
import time
from dataclasses import dataclass

from bench.common import Result, access_tokens, ensure_users, log, percentile
from bench.servers import running_server

BATCH = 50
_CONNECT_CONCURRENCY = 200
# Protections stay on: one Redis INCR per connection, with a budget that fits one load generator.
# The server is `python -m ticketing.serve`, as shipped: permessage-deflate off (compressing every
# ~400-byte frame for every socket was the largest cost of a push) and a 60 s worker health check
# (with uvicorn's 5 s default, a worker busy with thousands of connecting sockets was killed with all
# of them). The connection limit stays on, with a budget for one load generator's address.
_SERVER_ENV = {
    "WS_CONNECT_LIMIT_ENABLE": "true",
    "WS_CONNECT_RATE_IP": "1000000/min",
}


def _raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _in_thread(function, **kwargs):
    """Run a service in a thread that closes its database connection afterwards."""
    from django.db import connection

    try:
        return function(**kwargs)
    finally:
        connection.close()


# --- Client processes ---------------------------------------------------------------------------------


def _client_process(url: str, tokens: list[str], commands, replies) -> None:
    _raise_file_limit()
    asyncio.run(_client_main(url, tokens, commands, replies))


async def _client_main(url: str, tokens: list[str], commands, replies) -> None:
    """Holds sockets; records when each frame kind arrives; answers ``report`` for a time window."""
    from bench.ws_client import connect

    sockets: list = []
    arrivals: list[list[tuple[float, str]]] = []
    unexpected_closes: dict[int, int] = {}
    limit = asyncio.Semaphore(_CONNECT_CONCURRENCY)
    stopping = False

    def recorder(record, first):
        def on_text(_socket, now: float, raw: bytes) -> None:
            if not first.done():
                first.set_result(raw)
            elif raw.startswith(b'{"type":"queue"'):
                record((now, "queue"))
                sent = raw.rfind(b'"sentAt":"')
                if sent > 0:  # also from the moment the frame was published
                    stamp = raw[sent + 10 : raw.index(b'"', sent + 10)].decode()
                    record((now, f"published:{now - dt.datetime.fromisoformat(stamp).timestamp():.4f}"))
            elif b'"admitted"' in raw[:20]:
                record((now, "admitted"))

        return on_text

    def count_close(closed) -> None:
        if not stopping:
            code = closed.result()
            unexpected_closes[code] = unexpected_closes.get(code, 0) + 1

    async def open_one(index: int) -> bool:
        times: list[tuple[float, str]] = []
        first = asyncio.get_running_loop().create_future()
        async with limit:
            try:
                connection = await connect(f"{url}?token={tokens[index]}", recorder(times.append, first))
                raw = await asyncio.wait_for(first, 120)
            except Exception:  # noqa: BLE001 - counted as a failed connection
                return False
        if b'"exact":true' not in raw.replace(b" ", b"") and b'"snapshot"' not in raw:
            await connection.close()
            return False
        sockets.append(connection)
        arrivals.append(times)
        connection.closed.add_done_callback(count_close)
        return True

    loop = asyncio.get_running_loop()
    while True:
        command, argument = await loop.run_in_executor(None, commands.get)
        if command == "connect":
            outcomes = await asyncio.gather(*(open_one(i) for i in range(len(sockets), argument)))
            replies.put((sum(outcomes), len(outcomes) - sum(outcomes)))
        elif command == "report":
            start, end = argument
            first_frame, first_admitted, from_publish = [], [], []
            for times in arrivals:
                frames = [t - start for t, kind in times if kind == "queue" and start <= t < end]
                from_publish += [
                    float(kind[10:])
                    for t, kind in times
                    if kind.startswith("published:") and start <= t < end
                ]
                admitted = [t - start for t, kind in times if kind == "admitted" and start <= t < end]
                first_frame.append(min(frames) if frames else None)
                if admitted:
                    first_admitted.append(min(admitted))
            alive = sum(1 for connection in sockets if connection.is_open)
            replies.put((first_frame, first_admitted, alive, dict(unexpected_closes), from_publish))
        else:
            break
    stopping = True
    await asyncio.gather(*(connection.close() for connection in sockets), return_exceptions=True)


@dataclass
class _Clients:
    commands: list
    replies: object
    processes: list

    def connect(self, counts: list[int]) -> tuple[int, int]:
        for queue, count in zip(self.commands, counts, strict=True):
            queue.put(("connect", count))
        connected = failed = 0
        for _ in self.processes:
            ok, bad = self.replies.get(timeout=1800)  # type: ignore[attr-defined]
            connected, failed = connected + ok, failed + bad
        return connected, failed

    def report(self, start: float, end: float):
        for queue in self.commands:
            queue.put(("report", (start, end)))
        frames, admitted, alive, closes = [], [], 0, {}
        self.from_publish = []
        for _ in self.processes:
            f, a, live, c, p = self.replies.get(timeout=300)  # type: ignore[attr-defined]
            self.from_publish += p
            frames += f
            admitted += a
            alive += live
            for code, count in c.items():
                closes[code] = closes.get(code, 0) + count
        return frames, admitted, alive, closes

    def stop(self) -> None:
        for queue in self.commands:
            queue.put(("stop", None))
        for process in self.processes:
            process.join(60)
            if process.is_alive():
                process.terminate()


def _start_clients(url: str, tokens: list[str], processes: int) -> _Clients:
    context = multiprocessing.get_context("spawn")
    commands = [context.Queue() for _ in range(processes)]
    replies = context.Queue()
    workers = [
        context.Process(
            target=_client_process, args=(url, tokens[i::processes], commands[i], replies), daemon=True
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    return _Clients(commands, replies, workers)


# --- Fan-out: idle sockets, status pushes and admissions -------------------------------------------------


def fanout(
    *, sockets: int, queued: int = 0, workers: int = 2, rounds: int = 3, idle_seconds: float = 20
) -> list[Result]:
    """``sockets`` fans at the head of a queue of ``queued`` more (the issue's 1,000,000 behind them)."""
    from bench.positions import big_queue
    from queueing.services import queue_admit_batch

    _raise_file_limit()
    # Never the size of the position scenario's queue, which this would change by admitting.
    fans = queued + sockets + rounds * BATCH + 100
    event, _ = big_queue(fans=fans)
    user_ids = ensure_users(fans)  # big_queue gave them sequences 1..fans in this order
    tokens = access_tokens(user_ids[:sockets])
    client_processes = max(1, min(4, -(-sockets // 8000)))
    with running_server("uvicorn", workers=workers, extra_env=_SERVER_ENV) as server:
        baseline_rss = server.rss_bytes()
        pids_at_start = set(server.pids())
        clients = _start_clients(f"{server.ws_url}/ws/queue/{event.pk}/", tokens, client_processes)
        try:
            started = time.monotonic()
            share = [len(tokens[i::client_processes]) for i in range(client_processes)]
            connected, failed = clients.connect(share)
            connect_seconds = time.monotonic() - started
            log(f"{connected:,} queue sockets up ({failed} failed) in {connect_seconds:.0f}s")
            time.sleep(3)
            cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
            time.sleep(idle_seconds)
            idle_cpu = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before) * 100
            rss = server.rss_bytes()
            per_socket_kib = (rss - baseline_rss) / max(1, connected) / 1024
            _, _, alive_idle, closes_idle = clients.report(0, 0)
            log(
                f"idle: server CPU {idle_cpu:.1f}% of one core, RSS {rss / 2**20:.0f} MiB; "
                f"{alive_idle:,} open, closes {closes_idle}, "
                f"server processes replaced {len(pids_at_start - set(server.pids()))}"
            )

            frame_delays: list[float] = []
            publish_delays: list[float] = []
            admit_seconds: list[float] = []
            admitted_delays: list[float] = []
            missed = 0
            tick_cpu = []
            for round_index in range(rounds):
                tick_start = time.time()
                cpu_before = server.cpu_seconds()
                admitted = _in_thread(queue_admit_batch, event=event, size=BATCH)
                admit_seconds.append(time.time() - tick_start)
                assert len(admitted) == BATCH, admitted
                time.sleep(8)
                tick_cpu.append(server.cpu_seconds() - cpu_before)
                frames, admitted_times, alive, closes = clients.report(tick_start, tick_start + 8)
                publish_delays += clients.from_publish
                got = [delay for delay in frames if delay is not None]
                missed += len(frames) - len(got)
                frame_delays += got
                admitted_delays += admitted_times
                log(
                    f"tick {round_index + 1}: {len(got):,}/{len(frames):,} sockets got the frame, "
                    f"p99 {percentile(sorted(got), 0.99) * 1000:.0f} ms; {len(admitted_times)} admitted, "
                    f"max {max(admitted_times, default=0) * 1000:.0f} ms; alive {alive:,}, closes {closes}"
                )
            _, _, alive, closes = clients.report(0, 0)
            restarted = len(pids_at_start - set(server.pids()))
        finally:
            clients.stop()
    frame_delays.sort()
    admitted_delays.sort()
    publish_delays.sort()
    frame_max = frame_delays[-1] if frame_delays else float("nan")
    publish_p50 = percentile(publish_delays, 0.5) if publish_delays else float("nan")
    publish_p99 = percentile(publish_delays, 0.99) if publish_delays else float("nan")
    frame_p99 = percentile(frame_delays, 0.99) if frame_delays else float("inf")
    admitted_p99 = percentile(admitted_delays, 0.99) if admitted_delays else float("inf")
    where = f"uvicorn x{workers}, {client_processes} client processes"
    return [
        Result(
            f"idle queue sockets held, {sockets:,} [{where}]",
            "connected / RSS per socket",
            f"{connected:,} / {per_socket_kib:.0f} KiB",
            target=f"≥ {sockets:,}, ≤ 30 KiB",
            met=connected >= sockets and per_socket_kib <= 30,
            detail=(
                f"{failed} failed, connected in {connect_seconds:.0f}s; server RSS "
                f"{rss / 2**20:,.0f} MiB for all workers (baseline {baseline_rss / 2**20:.0f} MiB)"
            ),
        ),
        Result(
            f"idle server CPU, {connected:,} sockets, {fans:,} queued (no tick)",
            "% of one core",
            f"{idle_cpu:.1f}",
            target="≤ 10%",
            met=idle_cpu <= 10,
            detail=f"over {idle_seconds:.0f}s; per admission tick the servers spent "
            f"{statistics.median(tick_cpu):.2f} CPU-s (median of {rounds})",
        ),
        Result(
            f"queue frame after an admission tick, {connected:,} sockets",
            "p99 s / missed",
            f"{frame_p99:.2f} / {missed}",
            target="p99 ≤ 1 s, 0 missed",
            met=frame_p99 <= 1 and missed == 0,
            detail=(
                f"{rounds} ticks of {BATCH} through queue_admit_batch, timed from the start of the "
                f"tick: p50 {percentile(frame_delays, 0.5):.2f}s, p99 {frame_p99:.2f}s, "
                f"max {frame_max:.2f}s; {len(frame_delays):,} frames. The service took "
                f"{statistics.median(admit_seconds):.2f}s (median; PostgreSQL commit on this shared "
                f"machine); from the frame's PUBLISH to the socket: p50 {publish_p50:.2f}s, "
                f"p99 {publish_p99:.2f}s"
            ),
        ),
        Result(
            f"`admitted` to a batch of {BATCH} among {connected:,} sockets",
            "p99 ms",
            f"{admitted_p99 * 1000:.0f}",
            target="≤ 500 ms",
            met=admitted_p99 <= 0.5 and len(admitted_delays) == BATCH * rounds,
            detail=(
                f"{len(admitted_delays)}/{BATCH * rounds} delivered, p50 "
                f"{percentile(admitted_delays, 0.5) * 1000:.0f} ms; sockets still open at the end "
                f"{alive:,}, unexpected closes {closes or 0}, server processes replaced {restarted}"
            ),
        ),
    ]


# --- Seat map watchers ---------------------------------------------------------------------------------


async def _seat_deliveries(ws_url: str, event, tokens: list[str], holds: list[tuple]) -> list[float]:
    """Open the watchers (a few hundred at a time), then hold seats one by one: delay to each socket."""
    from bench.ws_client import connect
    from bookings.services import seats_hold

    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(_CONNECT_CONCURRENCY)
    watch = {"needle": b"\x00", "started": 0.0, "seen": set(), "all_seen": loop.create_future()}
    delays: list[float] = []

    def watcher(first):
        def on_text(socket, now: float, raw: bytes) -> None:
            if not first.done():
                first.set_result(raw)
                return
            needle = watch["needle"]
            if raw.startswith(b'{"type":"seats"') and needle in raw and socket not in watch["seen"]:
                watch["seen"].add(socket)
                delays.append(now - watch["started"])
                if len(watch["seen"]) == len(tokens) and not watch["all_seen"].done():
                    watch["all_seen"].set_result(None)

        return on_text

    async def open_one(token: str):
        first = loop.create_future()
        async with limit:
            socket = await connect(f"{ws_url}/ws/events/{event.pk}/seats/?token={token}", watcher(first))
            assert b'"snapshot"' in await asyncio.wait_for(first, 120)
            return socket

    sockets = await asyncio.gather(*(open_one(token) for token in tokens))
    try:
        for fan, seat_id in holds:
            watch.update(
                needle=f"[{seat_id},".encode(), started=time.time(), seen=set(), all_seen=loop.create_future()
            )
            await asyncio.to_thread(_in_thread, seats_hold, user=fan, event=event, seat_ids=[seat_id])
            await asyncio.wait_for(watch["all_seen"], 30)
            await asyncio.sleep(0.5)
        return delays
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)


def seat_watchers(*, sockets: int = 2000, holds: int = 10, workers: int = 2) -> list[Result]:
    from accounts.models import User
    from bench.bench_seats import _admit, _event_with_seats
    from events.models import Seat

    _raise_file_limit()
    event = _event_with_seats("seat-watchers", 2000)
    user_ids = ensure_users(max(sockets, holds))
    holders = user_ids[:holds]
    _admit(event, holders)
    seat_ids = list(Seat.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)[:holds])
    plan = [(User(pk=user_id), seat_id) for user_id, seat_id in zip(holders, seat_ids, strict=True)]
    tokens = access_tokens(user_ids[:sockets])
    with running_server("uvicorn", workers=workers, extra_env=_SERVER_ENV) as server:
        delays = sorted(asyncio.run(_seat_deliveries(server.ws_url, event, tokens, plan)))
    p50, p99 = percentile(delays, 0.5) * 1000, percentile(delays, 0.99) * 1000
    detail = (
        f"{holds} holds one after another through seats_hold, {sockets:,} seat-map sockets (uvicorn "
        f"x{workers}; the client is this benchmark process): {len(delays):,} deliveries, p50 {p50:.0f} ms, "
        f"p99 {p99:.0f} ms, max {delays[-1] * 1000:.0f} ms from the start of the hold"
    )
    log(detail)
    return [
        Result(
            f"a seat hold shown to {sockets:,} seat-map watchers",
            "p99 ms",
            f"{p99:.0f}",
            target="≤ 500 ms",
            met=p99 <= 500 and len(delays) == sockets * holds,
            detail=detail,
        )
    ]


# --- Soak ------------------------------------------------------------------------------------------


def soak(*, sockets: int = 1000, seconds: float = 600, workers: int = 2, every: float = 30) -> list[Result]:
    from bench.positions import big_queue
    from queueing import notify
    from queueing.services import queue_admit_batch

    _raise_file_limit()
    ticks = int(seconds // every) + 1
    fans = sockets + ticks * 5 + 100
    event, _ = big_queue(fans=fans)
    tokens = access_tokens(ensure_users(fans)[:sockets])
    with running_server("uvicorn", workers=workers, extra_env=_SERVER_ENV) as server:
        clients = _start_clients(f"{server.ws_url}/ws/queue/{event.pk}/", tokens, 1)
        try:
            connected, failed = clients.connect([sockets])
            log(f"soak: {connected:,} sockets up ({failed} failed); holding them for {seconds:.0f}s")
            start = time.time()
            deadline = time.monotonic() + seconds
            done = 0
            while time.monotonic() < deadline:
                _in_thread(notify.notify_queue_status, event=event, reason="heartbeat")
                _in_thread(queue_admit_batch, event=event, size=5)
                done += 1
                time.sleep(min(every, max(0.0, deadline - time.monotonic())))
            frames, _, alive, closes = clients.report(start, time.time() + 1)
        finally:
            clients.stop()
    unexpected = sum(closes.values())
    detail = (
        f"{connected:,} sockets ({failed} failed) on uvicorn x{workers} for {seconds:.0f}s, a heartbeat "
        f"and an admission of 5 every {every:.0f}s ({done} of each): {alive:,} still open, unexpected closes "
        f"{closes or 0}; every socket got a frame: {all(f is not None for f in frames)}"
    )
    log(detail)
    return [
        Result(
            f"soak: {sockets:,} queue sockets for {seconds / 60:.0f} min",
            "closes the client did not ask for",
            str(unexpected),
            target="0",
            met=unexpected == 0 and alive == sockets,
            detail=detail,
        )
    ]
