"""`make scale-check`: Turnstile on several nodes, checked end to end on loopback.

    python -m scale.check [--fans 100] [--timeout 240] [--broker amqp://guest:guest@127.0.0.1:5672//]

Starts two web nodes (``python -m ticketing.serve``, one worker process each, on free ports), two
Celery workers and two Celery beats, and HAProxy in front of the nodes (``deploy/haproxy/haproxy.cfg``,
HTTP and WebSockets), all sharing one PostgreSQL and one Redis, with every protection on as shipped.
Then it verifies, and prints, that:

1. fans joining through both nodes (and the balancer) get one contiguous order, read alike on both;
2. two beats publishing every tick still admit each tick's batch once, in order;
3. a fan whose queue socket is on node B is told ``admitted`` when a worker admits them;
4. a seat held through node A shows as held on node B's seat-map sockets;
5. killing node A (SIGKILL) loses no place, and the balancer keeps serving joins and reads.

Data: its own database (``SCALE_DATABASE_URL``, else ``DATABASE_URL`` named ``turnstile_scale``,
created and migrated when missing) and Redis database (``SCALE_REDIS_URL``, else ``REDIS_URL`` with
database 14, flushed). Every wait is bounded; the exit status is 0 only if every check passed; every
process it started is stopped on the way out (also on failure or Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from scale.processes import Started, Topology, wait_healthy  # noqa: E402

BATCH = 4
INTERVAL_SECONDS = 2
SCALE_REDIS_DB = 14
LATE_FANS = 8  # they join only while node A is being killed


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"[scale-check] {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def scale_environment(broker: str | None) -> dict[str, str]:
    database = os.environ.get("SCALE_DATABASE_URL") or _with_path(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turnstile"), "/turnstile_scale"
    )
    redis_url = os.environ.get("SCALE_REDIS_URL") or _with_path(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), f"/{SCALE_REDIS_DB}"
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker or redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        # Several checks (or sites) may share one RabbitMQ virtual host.
        "CELERY_QUEUE": f"turnstile-scale-{secrets.token_hex(4)}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NUM_PROXIES": "1",  # HAProxy's X-Forwarded-For
        "QUEUE_TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }


def prepare(environment: dict[str, str], fans: int) -> tuple[Any, list[int], list[str], list[int]]:
    """Django in this process on the check's database and Redis: an event on sale, its queue paused,
    a small seat map, and ``fans`` fans with access tokens. Returns (event, user ids, tokens, seat ids)."""
    import psycopg

    os.environ.update(environment)
    url = urlsplit(environment["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = urlunsplit((url.scheme, url.netloc, "/postgres", url.query, url.fragment))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from django_redis import get_redis_connection

    from accounts.models import User
    from bench.common import access_tokens
    from events.models import Event, Seat
    from events.services import CategorySpec, EventSpec, SeatMapLayout, event_create, venue_get_or_create
    from queueing.services import queue_ensure_ready, queue_open_prequeue, queue_pause

    call_command("migrate", verbosity=0, interactive=False)
    get_redis_connection("default").flushdb()  # the check's own Redis database
    # Earlier runs' events (the check's own database): their queues would be admitted all along.
    Event.objects.filter(slug__startswith="scale-check-").delete()
    run = secrets.token_hex(4)
    venue, _ = venue_get_or_create(name="Scale Check Arena", city="Mumbai")
    now = timezone.now()
    event = event_create(
        spec=EventSpec(
            slug=f"scale-check-{run}",
            name=f"Scale check {run}",
            venue=venue,
            starts_at=now + timedelta(days=30),
            sale_opens_at=now - timedelta(minutes=5),
            categories=[CategorySpec(name="Silver", price=Decimal("2500.00"), colour="#c0c0c0", rows=(1, 2))],
            layout=SeatMapLayout(sections=["A"], rows_per_section=2, seats_per_row=10),
            queue_settings={"admission_batch_size": BATCH, "admission_interval_seconds": INTERVAL_SECONDS},
        )
    )
    # What is checked is the nodes, not the bot defences: no join challenge for this event (the
    # challenge is tested in queueing/tests/test_challenges.py), and the fans below are verified.
    Event.objects.filter(pk=event.pk).update(queue_challenge_difficulty=0)
    event.refresh_from_db()
    queue_ensure_ready(event=event)
    queue_open_prequeue(event=event)
    queue_pause(event=event)  # nobody is admitted until the joins are checked
    users = User.objects.bulk_create(
        User(email=f"scale-{run}-{index:05d}@scale.invalid", password="!", email_verified_at=now)  # noqa: S106 - unusable
        for index in range(fans + LATE_FANS)
    )
    user_ids = [user.pk for user in users]
    seat_ids = list(Seat.objects.filter(event=event).order_by("pk").values_list("pk", flat=True))
    return event, user_ids, access_tokens(user_ids), seat_ids


# --- HTTP and WebSocket clients -------------------------------------------------------------------


def http(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback URLs
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError as error:  # refused, reset: a transport failure, not an answer
        return 0, {"error": str(error)}


def join(base_url: str, token: str, event_id: int) -> tuple[int, dict]:
    return http("POST", f"{base_url}/api/queue/join", token, {"eventId": event_id})


def position(base_url: str, token: str, event_id: int) -> tuple[int, dict]:
    return http("GET", f"{base_url}/api/queue/position/{event_id}", token)


async def open_socket(url: str):
    connection = await websockets.connect(url, open_timeout=20)
    first = json.loads(await asyncio.wait_for(connection.recv(), 20))
    return connection, first


async def frame_of_type(connection, kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(await asyncio.wait_for(connection.recv(), left))
        if message.get("type") == kind:
            return message
    raise TimeoutError(kind)


# --- The checks -----------------------------------------------------------------------------------


def check_one_order(nodes: list[Started], balancer: Started, event, tokens: list[str]) -> None:
    from queueing.models import QueueEntry

    targets = [nodes[index % 2] if index < len(tokens) - 4 else balancer for index in range(len(tokens))]
    results: list[tuple[int, dict]] = [(0, {})] * len(tokens)

    def run(index: int) -> None:
        results[index] = join(targets[index].base_url, tokens[index], event.pk)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = Counter(status for status, _ in results)
    check(set(statuses) <= {200, 201}, f"joins answered {dict(statuses)}")
    sequences = sorted(QueueEntry.objects.filter(event=event).values_list("sequence", flat=True))
    check(sequences == list(range(1, len(tokens) + 1)), f"sequences are not 1..{len(tokens)}: {sequences}")
    # Read back through the other node: the same place whichever node answers.
    seen = []
    for index, token in enumerate(tokens):
        other = nodes[(index + 1) % 2]
        status, body = position(other.base_url, token, event.pk)
        check(status == 200, f"position through {other.name}: {status} {body}")
        seen.append(body["position"])
    check(sorted(seen) == list(range(1, len(tokens) + 1)), f"positions are not one order: {seen}")
    by_node = Counter(target.name for target in targets)
    say(
        f"ok  one order: {len(tokens)} fans joined concurrently ({dict(by_node)}), "
        f"sequences 1..{len(tokens)} in PostgreSQL, every fan's position read alike through the other node"
    )


def check_admitted_on_node_b(node_b: Started, balancer: Started, event, tokens: list[str]) -> None:
    from queueing.services import queue_resume

    async def scenario() -> list[dict]:
        # The first two batches (``tokens`` is in line order): sockets on node B and through the balancer.
        sockets = []
        for index, token in enumerate(tokens[: 2 * BATCH]):
            base = node_b.ws_url if index % 2 == 0 else balancer.ws_url
            connection, first = await open_socket(f"{base}/ws/queue/{event.pk}/?token={token}")
            check(first.get("status") == "waiting", f"socket {index}: first frame {first}")
            sockets.append(connection)
        await asyncio.to_thread(queue_resume, event=event)
        try:
            waits = (frame_of_type(s, "admitted", 4 * INTERVAL_SECONDS + 20) for s in sockets)
            return list(await asyncio.gather(*waits))
        finally:
            for connection in sockets:
                await connection.close()

    try:
        frames = asyncio.run(scenario())
    except TimeoutError as error:
        raise CheckFailed("a fan's socket was not told 'admitted' in time") from error
    check(all(frame.get("redirectUrl") for frame in frames), f"admitted frames without a redirect: {frames}")
    say(
        f"ok  admitted over WebSocket: {len(frames)} fans (sockets on node B and through the balancer) "
        "got 'admitted' from the workers' admission ticks"
    )


def check_ticks_once(workers: list[Started], event) -> None:
    from queueing.models import AdmissionPass, AdmissionTick, QueueEntry
    from queueing.services import queue_pause

    deadline = time.monotonic() + 12 * INTERVAL_SECONDS
    while AdmissionTick.objects.filter(event=event, admitted__isnull=False).count() < 4:
        check(time.monotonic() < deadline, "fewer than 4 admission ticks in time")
        time.sleep(0.5)
    queue_pause(event=event)
    time.sleep(2)  # a tick that was running when we paused commits
    ticks = list(AdmissionTick.objects.filter(event=event).order_by("tick"))
    admitted = list(
        QueueEntry.objects.filter(event=event, state=QueueEntry.State.ADMITTED)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    committed = sum(tick.admitted or 0 for tick in ticks)
    check(all(tick.admitted in (None, BATCH) for tick in ticks), f"a tick admitted a wrong batch: {ticks}")
    check(len(admitted) == committed, f"{len(admitted)} admitted, ticks say {committed}")
    check(admitted == list(range(1, len(admitted) + 1)), f"not admitted in order: {admitted}")
    check(AdmissionPass.objects.filter(event=event).count() == len(admitted), "a fan has two passes")
    pattern = re.compile(r"Task queueing\.tasks\.admission_tick\[[-0-9a-f]+\] succeeded")
    per_worker = {worker.name: len(pattern.findall(worker.log_text())) for worker in workers}
    check(sum(per_worker.values()) > len(ticks), f"beats sent too few ticks to prove anything: {per_worker}")
    say(
        f"ok  each tick once: two beats had {sum(per_worker.values())} admission_tick tasks run "
        f"({per_worker}); {len(ticks)} ticks claimed in PostgreSQL, each admitted {BATCH} fans once, "
        f"{len(admitted)} fans admitted in queue order with one pass each"
    )


def check_seat_on_node_b(
    node_a: Started, node_b: Started, event, tokens: list[str], seat_ids: list[int]
) -> None:
    holder, watcher = tokens[0], tokens[1]  # the first two in line: both admitted by now
    seat = seat_ids[0]

    async def scenario() -> dict:
        url = f"{node_b.ws_url}/ws/events/{event.pk}/seats/?token={watcher}"
        connection, snapshot = await open_socket(url)
        try:
            check(snapshot.get("type") == "snapshot", f"seat map socket's first frame: {snapshot}")
            status, body = await asyncio.to_thread(
                http, "POST", f"{node_a.base_url}/api/inventory/lock-seats", holder,
                {"eventId": event.pk, "seatIds": [seat]},
            )  # fmt: skip
            check(status == 200, f"hold through node A: {status} {body}")
            deadline = time.monotonic() + 10
            while (left := deadline - time.monotonic()) > 0:
                frame = await frame_of_type(connection, "seats", left)
                if [seat, "held"] in frame["changes"]:
                    return frame
            raise TimeoutError
        finally:
            await connection.close()

    try:
        asyncio.run(scenario())
    except TimeoutError as error:
        raise CheckFailed("node B's seat-map socket never saw the seat held through node A") from error
    say(f"ok  seat map: seat {seat} held through node A showed as held on node B's seat-map socket")


def check_node_loss(
    node_a: Started, balancer: Started, event, user_ids: list[int], tokens: list[str]
) -> None:
    from queueing.models import QueueEntry

    before = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    old, new = tokens[2 * BATCH : -LATE_FANS], tokens[-LATE_FANS:]  # still waiting; never joined
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def reader() -> None:
        # Paced like polling clients (~80 reads/s in all): fans keep within the shipped per-fan read
        # limit, which a tight loop over a few dozen fans exhausted, turning the rank check into 429s.
        index = 0
        while not stop.is_set():
            status, _ = position(balancer.base_url, old[index % len(old)], event.pk)
            statuses[status] += 1
            index += 1
            stop.wait(0.05)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        node_a.kill()
        killed_at = time.monotonic()
        join_statuses = Counter(join(balancer.base_url, token, event.pk)[0] for token in new)
        time.sleep(max(0.0, 2 - (time.monotonic() - killed_at)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    after = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    lost = [user for user, sequence in before.items() if after.get(user) != sequence]
    check(not lost, f"places changed or lost: {lost}")
    sequences = sorted(after.values())
    check(sequences == list(range(1, len(sequences) + 1)), f"sequences have holes: {sequences}")
    check(set(join_statuses) <= {200, 201}, f"joins through the balancer: {dict(join_statuses)}")
    check(set(statuses) == {200}, f"position reads through the balancer around the kill: {dict(statuses)}")
    waiting = list(
        QueueEntry.objects.filter(event=event, state=QueueEntry.State.WAITING)
        .order_by("sequence")
        .values_list("user_id", flat=True)
    )
    check(len(after) == len(before) + len(new), f"{len(after)} places, expected {len(before) + len(new)}")
    check(len(waiting) > 0, "nobody left waiting to check")
    # Every waiting fan's place, read through the balancer (node B alone now), is their rank in line.
    token_of = dict(zip(user_ids, tokens, strict=True))
    for rank, user_id in enumerate(waiting, 1):
        status, body = position(balancer.base_url, token_of[user_id], event.pk)
        check(status == 200 and body.get("position") == rank, f"fan {user_id}: {status} {body}, rank {rank}")
    say(
        f"ok  node A killed (SIGKILL) under load: {sum(statuses.values())} position reads through the "
        f"balancer all 200, {len(new)} new fans joined through it after the kill (all 2xx), {len(before)} "
        f"earlier places unchanged in PostgreSQL, sequences 1..{len(sequences)} without a hole; "
        f"{len(waiting)} waiting fans' positions read through the balancer equal their rank"
    )


def run_checks(args: argparse.Namespace, environment: dict[str, str], topology: Topology) -> None:
    event, user_ids, tokens, seat_ids = prepare(environment, args.fans)
    from queueing.models import QueueEntry  # Django is set up from here on

    say(
        f"PostgreSQL {urlsplit(environment['DATABASE_URL']).path.lstrip('/')}, Redis "
        f"{environment['REDIS_URL']}, broker {urlsplit(environment['CELERY_BROKER_URL']).scheme}; "
        f"{args.fans} fans, batches of {BATCH} every {INTERVAL_SECONDS}s"
    )
    nodes = [topology.web_node("web-a"), topology.web_node("web-b")]
    for node in nodes:
        wait_healthy(node.base_url, timeout=90, process=node.process)
    balancer = topology.haproxy(nodes)
    wait_healthy(balancer.base_url, timeout=20, process=balancer.process)
    workers = [topology.celery_worker("worker-a"), topology.celery_worker("worker-b")]
    for name in ("beat-a", "beat-b"):
        topology.celery_beat(name)
    say(f"two web nodes on :{nodes[0].port} and :{nodes[1].port}, HAProxy on :{balancer.port}, "
        "two Celery workers, two beats")  # fmt: skip
    check_one_order(nodes, balancer, event, tokens[:-LATE_FANS])
    # Concurrent joins: line order is not creation order. The first in line are admitted first.
    sequence_of = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    token_of = dict(zip(user_ids, tokens, strict=True))
    in_line = [token_of[user_id] for user_id in sorted(sequence_of, key=sequence_of.__getitem__)]
    check_admitted_on_node_b(nodes[1], balancer, event, in_line)
    check_ticks_once(workers, event)
    check_seat_on_node_b(nodes[0], nodes[1], event, in_line, seat_ids)
    check_node_loss(nodes[0], balancer, event, user_ids, tokens)
    for started in topology.started:
        if started is not nodes[0]:
            check(started.process.poll() is None, f"{started.name} exited:\n{started.log_text()[-2000:]}")


def _delete_broker_queue(environment: dict[str, str]) -> None:
    """RabbitMQ keeps a durable queue after its consumers leave: remove this run's."""
    from kombu import Connection

    try:
        with Connection(environment["CELERY_BROKER_URL"], connect_timeout=5) as connection:
            connection.default_channel.queue_delete(environment["CELERY_QUEUE"])
    except Exception as error:  # noqa: BLE001 - a leftover queue is worth a line, not a failed check
        say(f"could not delete the broker queue {environment['CELERY_QUEUE']}: {error!r}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fans", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=240, help="the whole check, in seconds")
    parser.add_argument("--broker", default=None, help="Celery broker URL (default: the check's Redis)")
    parser.add_argument("--log-dir", default=None, help="keep every process's log here (default: deleted)")
    args = parser.parse_args(argv)
    if args.fans < 4 * BATCH:
        parser.error(f"--fans must be at least {4 * BATCH}")
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: the Topology stops every process it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.monotonic()
    environment = scale_environment(args.broker)
    outcome: list[BaseException | None] = [None]
    with Topology(environment, log_dir=Path(args.log_dir) if args.log_dir else None) as topology:

        def target() -> None:
            try:
                run_checks(args, environment, topology)
            except BaseException as error:  # noqa: BLE001 - reported below, the exit status says it
                outcome[0] = error

        # The checks run in a thread so that this one can give up at the deadline; leaving the
        # ``with`` block then stops every process, which also ends the checks' waits.
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(args.timeout)
        if thread.is_alive():
            outcome[0] = TimeoutError(f"not done after {args.timeout:.0f}s")
        elif outcome[0] is not None:
            for process in topology.started:
                say(f"--- last lines of {process.name}:\n{process.log_text()[-1500:]}")
    if urlsplit(environment["CELERY_BROKER_URL"]).scheme.startswith("amqp"):
        _delete_broker_queue(environment)
    if outcome[0] is not None:
        say(f"FAILED: {outcome[0]}")
        return 1
    say(f"all checks passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
