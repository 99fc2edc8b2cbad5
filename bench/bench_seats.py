"""Seat holds and the seat map: contention, page render, live delivery (docs/performance.md).

    python bench/bench_seats.py              # everything (about 1.5 minutes)
    python bench/bench_seats.py --quick      # shorter runs
    python bench/run.py --only seats         # the same, through the benchmark runner

Standalone, it uses its own database and Redis database unless told otherwise:
``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/turnstile_seatbench``, created and
migrated when missing) and ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/10``, flushed).

1. **Contention** — N clients (threads spread over a few processes, each its own PostgreSQL connection)
   race for random seats among 500 through ``seats_hold``: hold 1 or 2 random seats, and once holding 4,
   release them all (so seats keep changing hands). Reports hold calls/s, successful holds/s, p50/p99
   latency of ``seats_hold``, how many were refused (409) or busy (503), and two proofs that no seat was
   ever held twice: a ledger check (for each seat, the intervals [hold returned, release called] of
   different fans never overlap: in a correct system each lies inside that fan's real holding time) and,
   after every client books and pays what it holds, a database check (no seat with two hold rows or two
   active booking items).
2. **Page render** — ``GET /events/<slug>/seats/`` through Django's test client (the full middleware
   stack, DEBUG off) for venues of 2,000, 5,000 and 20,000 seats: the whole map (``?section=all``) and
   the default view (venues over 3,000 seats open on one section); median of several runs, HTML size
   raw and gzipped.
3. **Live delivery** — a daphne server started here, 100 seat-map sockets (the ``websockets`` client,
   JWT ``?token=`` auth) on one event; the bench holds seats one at a time through ``seats_hold`` and
   times, for every socket, from the start of the ``seats_hold`` call to the ``seats`` message naming
   the seat.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, log, percentile

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/turnstile_seatbench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"

CONTENTION_SEATS = 500
HOLDS_BEFORE_RELEASE = 4
PAGE_SIZES = (2_000, 5_000, 20_000)
SOCKETS = 100
SEAT_PARTS = ("race", "page", "live")


# --- Test data ----------------------------------------------------------------------------------


def _event_with_seats(name: str, seats: int, *, max_seats_per_order: int = 6):
    """An event on sale now with ``seats`` seats: four sections of 25 rows (the last row may be short)."""
    from bench.common import create_event
    from events.models import Seat
    from events.tests.factories import categories_for

    event = create_event(name, max_seats_per_order=max_seats_per_order, booking_window_minutes=30)
    platinum, gold, silver = categories_for(event)
    sections = ("North", "East", "South", "West")
    rows = 25
    per_row = -(-seats // (len(sections) * rows))
    made = []
    for section_index, section in enumerate(sections):
        for row in range(rows):
            category = platinum if row < 5 else gold if row < 15 else silver
            for number in range(1, per_row + 1):
                if len(made) == seats:
                    break
                made.append(
                    Seat(
                        event=event,
                        category=category,
                        section=section,
                        row=chr(ord("A") + row),
                        number=number,
                        x=section_index * (per_row + 2) + number - 1,
                        y=row,
                    )
                )
    Seat.objects.bulk_create(made, batch_size=5000)
    return event


def _admit(event, user_ids: list[int]) -> None:
    """Real admission passes: every fan joins the queue and one batch lets them all in."""
    from accounts.models import User
    from queueing.services import queue_admit_batch, queue_join

    for user_id in user_ids:
        queue_join(user=User(pk=user_id), event=event)
    queue_admit_batch(event=event, size=len(user_ids))


# --- 1. Contention ------------------------------------------------------------------------------


def _contention_process(event_id: int, user_ids: list[int], seconds: float, start_at: float, seed: int):
    """One process of the contention run: a thread per client, each with its own connection."""
    from django.db import connection, connections

    from accounts.models import User
    from bookings.services import booking_confirm_paid, booking_create, seats_hold, seats_release
    from core.exceptions import ApplicationError, Busy, Conflict
    from events.models import Event, Seat

    connections.close_all()  # never share the parent's sockets
    event = Event.objects.get(pk=event_id)
    seat_ids = list(Seat.objects.filter(event=event).values_list("pk", flat=True))
    connection.close()
    results: list[dict] = []

    def client(user_id: int, client_seed: int) -> None:
        rng = random.Random(client_seed)
        fan = User.objects.get(pk=user_id)
        record = {"latencies": [], "ok": 0, "conflicts": 0, "busy": 0, "errors": 0, "ledger": []}
        holding: dict[int, float] = {}
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                wanted = rng.sample(seat_ids, rng.choice((1, 2)))
                started = time.monotonic()
                try:
                    result = seats_hold(user=fan, event=event, seat_ids=wanted)
                except Busy:
                    record["busy"] += 1
                except Conflict:
                    record["conflicts"] += 1
                except ApplicationError:
                    record["errors"] += 1
                else:
                    returned = time.time()
                    for seat_id in result.added_seat_ids:
                        holding[seat_id] = returned
                    record["ok"] += 1
                record["latencies"].append(time.monotonic() - started)
                if len(holding) >= HOLDS_BEFORE_RELEASE:
                    releasing = time.time()
                    seats_release(user=fan, event=event)
                    record["ledger"] += [(s, user_id, t, releasing) for s, t in holding.items()]
                    holding.clear()
            # The end of the run: what the fan still holds is booked and paid for.
            if holding:
                booking_confirm_paid(booking=booking_create(user=fan, event=event))
                record["ledger"] += [(s, user_id, t, float("inf")) for s, t in holding.items()]
        finally:
            connection.close()
            results.append(record)

    threads = [
        threading.Thread(target=client, args=(user_id, seed * 1000 + index))
        for index, user_id in enumerate(user_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _ledger_overlaps(ledger: list[tuple[int, int, float, float]]) -> int:
    """Seats whose [hold returned, release called] intervals of different fans overlap: double holds."""
    by_seat: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for seat_id, user_id, held_at, released_at in ledger:
        by_seat[seat_id].append((held_at, released_at, user_id))
    doubles = 0
    for intervals in by_seat.values():
        intervals.sort()
        for (_start, end, user), (next_start, _end, next_user) in itertools.pairwise(intervals):
            if next_user != user and next_start < end:
                doubles += 1
    return doubles


def _database_doubles(event) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT seat_id FROM bookings_seathold WHERE event_id = %s "
            "GROUP BY seat_id HAVING count(*) > 1) AS doubles",
            [event.pk],
        )
        (hold_doubles,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT i.seat_id FROM bookings_bookingitem i "
            "JOIN bookings_booking b ON b.id = i.booking_id WHERE b.event_id = %s AND i.is_active "
            "GROUP BY i.seat_id HAVING count(*) > 1) AS doubles",
            [event.pk],
        )
        (booking_doubles,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM bookings_bookingitem i JOIN bookings_booking b ON b.id = i.booking_id "
            "WHERE b.event_id = %s AND i.is_active AND b.status = 'confirmed'",
            [event.pk],
        )
        (sold,) = cursor.fetchone()
    return {"hold_doubles": hold_doubles, "booking_doubles": booking_doubles, "sold": sold}


def contention(*, clients: int, seconds: float, processes: int) -> list[Result]:
    from django.db import connections

    from bench.common import ensure_users

    event = _event_with_seats(f"seat-race-{clients}", CONTENTION_SEATS, max_seats_per_order=6)
    user_ids = ensure_users(clients)
    _admit(event, user_ids)
    connections.close_all()
    processes = max(1, min(processes, clients))
    shares = [user_ids[index::processes] for index in range(processes)]
    start_at = time.time() + 2.0
    log(f"contention: {clients} clients in {processes} processes, {seconds:.0f}s, {CONTENTION_SEATS} seats")
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = [
            pool.submit(_contention_process, event.pk, share, seconds, start_at, seed)
            for seed, share in enumerate(shares)
        ]
        records = [record for future in futures for record in future.result(timeout=seconds + 120)]

    latencies = sorted(latency for record in records for latency in record["latencies"])
    calls = len(latencies)
    ok = sum(record["ok"] for record in records)
    conflicts = sum(record["conflicts"] for record in records)
    busy = sum(record["busy"] for record in records)
    errors = sum(record["errors"] for record in records)
    ledger = [entry for record in records for entry in record["ledger"]]
    ledger_doubles = _ledger_overlaps(ledger)
    database = _database_doubles(event)
    doubles = ledger_doubles + database["hold_doubles"] + database["booking_doubles"]
    label = f"hold race, {clients} clients, {CONTENTION_SEATS} seats"
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    detail = (
        f"{calls} seats_hold calls in {seconds:.0f}s ({calls / seconds:.0f}/s): {ok} held, "
        f"{conflicts} refused 409, {busy} busy 503, {errors} other errors; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"{len(ledger)} holds in the ledger, {ledger_doubles} overlapping; database: "
        f"{database['hold_doubles']} seats with two holds, {database['booking_doubles']} with two active "
        f"booking items, {database['sold']} seats sold at the end; {processes} processes"
    )
    log(detail)
    return [
        Result(
            label,
            "hold calls/s",
            f"{calls / seconds:.0f}",
            "≥ 300 (50 clients)",
            (calls / seconds >= 300) if clients == 50 else None,
            detail,
        ),
        Result(label, "successful holds/s", f"{ok / seconds:.0f}"),
        Result(label, "seats_hold p50 / p99 ms", f"{p50:.1f} / {p99:.1f}"),
        Result(label, "refused 409 / busy 503", f"{conflicts} / {busy}"),
        Result(label, "double holds or sales", str(doubles), "0", doubles == 0),
    ]


# --- 2. Page render -----------------------------------------------------------------------------


def page_render(*, sizes: tuple[int, ...], runs: int) -> list[Result]:
    from django.conf import settings
    from django.test import override_settings

    # Production pages take static URLs from collectstatic's manifest; here they come from the files.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}):
        return _page_render(sizes=sizes, runs=runs)


def _page_render(*, sizes: tuple[int, ...], runs: int) -> list[Result]:
    import gzip

    from django.test import Client

    from accounts.models import User
    from bench.common import ensure_users

    results = []
    user_id = ensure_users(1)[0]
    for seats in sizes:
        event = _event_with_seats(f"seat-page-{seats}", seats)
        _admit(event, [user_id])
        client = Client(SERVER_NAME="localhost")
        client.force_login(User.objects.get(pk=user_id))
        url = f"/events/{event.slug}/seats/"
        for view, query in (("whole map", {"section": "all"}), ("default view", {})):
            if view == "default view" and seats <= 3000:
                continue  # the same page: small venues are drawn whole
            timings, size, gzipped, drawn = [], 0, 0, 0
            for _ in range(runs + 1):  # the first run warms up (templates, connections)
                started = time.perf_counter()
                response = client.get(url, query)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
                size = len(response.content)
                drawn = response.content.count(b'<button id="s')
            gzipped = len(gzip.compress(response.content))
            median_ms = statistics.median(timings[1:]) * 1000
            detail = (
                f"{seats:,} seats, {drawn:,} drawn ({view}): median {median_ms:.0f} ms of {runs} runs, "
                f"HTML {size / 1024:.0f} KiB ({gzipped / 1024:.0f} KiB gzipped)"
            )
            log(detail)
            target, met = "", None
            if seats == 5000 and view == "whole map":
                target, met = "< 150 ms (5,000 seats)", median_ms < 150
            results.append(
                Result(
                    f"seat map page, {seats:,} seats, {view}",
                    "server ms (median)",
                    f"{median_ms:.0f}",
                    target,
                    met,
                    detail,
                    {"bytes": size, "gzip_bytes": gzipped, "seats_drawn": drawn},
                )
            )
            results.append(
                Result(
                    f"seat map page, {seats:,} seats, {view}",
                    "HTML KiB (gzipped)",
                    f"{size / 1024:.0f} ({gzipped / 1024:.0f})",
                )
            )
    return results


# --- 3. Live delivery ---------------------------------------------------------------------------


async def _deliveries(ws_url: str, event, tokens: list[str], holds: list[tuple]) -> list[float]:
    import websockets

    from bookings.services import seats_hold

    sockets = await asyncio.gather(
        *(websockets.connect(f"{ws_url}/ws/events/{event.pk}/seats/?token={token}") for token in tokens)
    )
    try:
        for socket in sockets:
            snapshot = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert snapshot["type"] == "snapshot", snapshot
        delays: list[float] = []
        for fan, seat_id in holds:
            started = time.monotonic()

            async def until_seen(socket, seat_id=seat_id, started=started) -> float:
                while True:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 5))
                    changed = {change[0] for change in message.get("changes", [])}
                    if message["type"] == "seats" and seat_id in changed:
                        return time.monotonic() - started

            waiting = [asyncio.ensure_future(until_seen(socket)) for socket in sockets]
            await asyncio.to_thread(_in_thread(seats_hold), user=fan, event=event, seat_ids=[seat_id])
            delays += await asyncio.gather(*waiting)
            await asyncio.sleep(0.2)
        return delays
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)


def _in_thread(function):
    def run(*args, **kwargs):
        from django.db import connection

        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return run


def live_delivery(*, sockets: int, holds: int) -> list[Result]:
    from accounts.models import User
    from bench.common import access_tokens, ensure_users
    from bench.servers import running_server
    from events.models import Seat

    event = _event_with_seats("seat-live", 2000)
    user_ids = ensure_users(max(sockets, holds))
    holders = user_ids[:holds]
    _admit(event, holders)
    seat_ids = list(Seat.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)[:holds])
    plan = [(User(pk=user_id), seat_id) for user_id, seat_id in zip(holders, seat_ids, strict=True)]
    tokens = access_tokens(user_ids[:sockets])
    with running_server("turnstile", workers=2) as server:
        delays = sorted(asyncio.run(_deliveries(server.ws_url, event, tokens, plan)))
    p50, p99, worst = (percentile(delays, 0.5) * 1000, percentile(delays, 0.99) * 1000, delays[-1] * 1000)
    detail = (
        f"{holds} holds one after another, {sockets} sockets each (the shipped server, 2 worker processes, "
        f"websockets client, JWT auth): {len(delays)} deliveries, p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
        f"max {worst:.0f} ms, "
        "from the start of the seats_hold call"
    )
    log(detail)
    return [
        Result(
            f"hold → {sockets} seat-map sockets",
            "delivery p99 / max ms",
            f"{p99:.0f} / {worst:.0f}",
            "< 1000",
            worst < 1000,
            detail,
        )
    ]


# --- Entry points -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> list[Result]:
    """Every seat scenario; ``args.quick`` shortens them (what bench/run.py calls)."""
    from bench.common import redis, setup_django

    setup_django()
    redis().flushdb()  # the benchmark's own Redis database only
    quick = bool(getattr(args, "quick", False))
    seconds = 5.0 if quick else 10.0
    processes = int(getattr(args, "seat_processes", 0) or max(2, (os.cpu_count() or 2) * 2))
    parts = getattr(args, "seat_parts", None) or SEAT_PARTS
    results: list[Result] = []
    if "race" in parts:
        for clients in (50, 200):
            results += contention(clients=clients, seconds=seconds, processes=processes)
    if "page" in parts:
        results += page_render(sizes=PAGE_SIZES, runs=3 if quick else 7)
    if "live" in parts:
        results += live_delivery(sockets=SOCKETS, holds=5 if quick else 20)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--seat-processes", type=int, default=0, help="client processes of the hold race")
    parser.add_argument("--parts", default=",".join(SEAT_PARTS), help="race, page, live (comma-separated)")
    args = parser.parse_args(argv)
    args.seat_parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    from bench.run import machine_description, render_table

    machine = machine_description()
    started = time.monotonic()
    results = run(args)
    command = "python bench/bench_seats.py " + " ".join(argv)
    print(f"`{command.strip()}` — {machine}, took {time.monotonic() - started:.0f}s\n")
    print(render_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
