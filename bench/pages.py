"""(p) What a fan's browser asks for, as shipped: real sessions and CSRF, distinct fans and addresses.

Every scenario runs against ``python -m ticketing.serve`` with every protection on (page rate limits,
API throttles, CSRF, sessions). Fans are logged in the way Django's ``login()`` does it (a session in
the cached_db store with the user's id, backend and auth hash), each with its own CSRF cookie, and each
arrives from its own address through the trusted proxy (``X-Forwarded-For``, ``NUM_PROXIES=1``).
The in-run ceiling is a minimal ASGI app on the same server and worker count.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.common import (
    BENCH_CHALLENGE_DIFFICULTY,
    Result,
    access_tokens,
    client_address,
    create_event,
    ensure_users,
    log,
    solved_challenges,
    write_clients,
)
from bench.http_load import LoadResult, run_wrk
from bench.servers import Server, running_server

# path -> target req/s (issue #8), as a share of the ceiling too
TARGETS = {
    "ceiling": None,
    "healthz": 5000,
    "anon_list": 3000,
    "anon_event": 3000,
    "event_logged_in": 1000,
    "queue_page": 1000,
    "status_poll": 2500,
    "join_form": 1500,
    "seat_section": 300,
}
SHARE_TARGETS = {
    "anon_list": 0.08,
    "anon_event": 0.08,
    "event_logged_in": 0.03,
    "queue_page": 0.03,
    "status_poll": 0.07,
    "join_form": 0.04,
}


@dataclass
class Fan:
    user_id: int
    session_key: str
    csrf_secret: str
    address: str

    def browser_headers(self) -> dict[str, str]:
        return {
            "Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf_secret}",
            "X-Forwarded-For": self.address,
            "Accept": "text/html",
        }


def logged_in_fans(user_ids: list[int], *, first_address: int) -> list[Fan]:
    """Sessions exactly as ``django.contrib.auth.login`` stores them."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.middleware.csrf import CSRF_ALLOWED_CHARS
    from django.utils.crypto import get_random_string

    from accounts.models import User

    # Each fan's own auth hash (what login() stores): a session whose hash does not match its user's
    # password is flushed by Django on its first request, and its fan browses logged out.
    passwords = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "password"))
    auth_hashes = {
        password: User(password=password).get_session_auth_hash() for password in set(passwords.values())
    }
    fans = []
    started = time.monotonic()
    for index, user_id in enumerate(user_ids):
        session = SessionStore()
        session[SESSION_KEY] = str(user_id)
        session[BACKEND_SESSION_KEY] = "accounts.backends.CachedModelBackend"
        session[HASH_SESSION_KEY] = auth_hashes[passwords[user_id]]
        session.create()
        fans.append(
            Fan(
                user_id=user_id,
                session_key=session.session_key,
                csrf_secret=get_random_string(32, CSRF_ALLOWED_CHARS),
                address=client_address(first_address + index),
            )
        )
    log(f"logged in {len(fans):,} fans in {time.monotonic() - started:.1f}s")
    return fans


def _result(
    key: str, label: str, load: LoadResult, cpu: float, ceiling: float | None, *, ok=(200,)
) -> Result:
    ok_count = sum(count for status, count in load.statuses.items() if status in ok)
    rate = ok_count / load.seconds if load.seconds else 0.0
    share = rate / ceiling if ceiling else None
    target = TARGETS.get(key)
    share_target = SHARE_TARGETS.get(key)
    met = None
    if target is not None:
        met = rate >= target and not _unexpected(load, ok)
    target_text = f"≥ {target:,}/s" if target else ""
    if share_target:
        target_text += f" (≥ {share_target:.2f} of ceiling)"
    detail = (
        f"p50 {load.latency_ms['p50']:.1f} ms, p99 {load.latency_ms['p99']:.1f} ms, "
        f"statuses {load.statuses}, socket errors {load.errors}, {load.connections} connections, "
        f"server CPU {cpu * 100:.0f}%"
    )
    return Result(
        label,
        "req/s" + (" (share of ceiling)" if share is not None else ""),
        f"{rate:,.0f}" + (f" ({share:.3f})" if share is not None else ""),
        target=target_text,
        met=met,
        detail=detail,
        extra={"rate": rate, "share": share, "latency_ms": load.latency_ms, "statuses": load.statuses},
    )


def _unexpected(load: LoadResult, ok: tuple[int, ...]) -> int:
    bad = sum(count for status, count in load.statuses.items() if status not in ok)
    return bad + sum(value for key, value in load.errors.items() if key != "status")


def _load(server: Server, clients_file, *, method="GET", path: str, seconds: float, connections: int, **kw):
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    load = run_wrk(
        url=server.base_url,
        clients_file=clients_file,
        method=method,
        path=path,
        seconds=seconds,
        connections=connections,
        **kw,
    )
    cpu = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
    return load, cpu


def _warm_up(server: Server, clients_file, *, connections: int) -> None:
    """Two seconds of GET / first, so every worker has its caches and connections."""
    run_wrk(
        url=server.base_url,
        clients_file=clients_file,
        method="GET",
        path="/",
        seconds=2,
        connections=connections,
    )


def ceiling(*, workers: int, seconds: float, connections: int) -> tuple[float, list[Result]]:
    clients = write_clients("ceiling", [{"X-Forwarded-For": client_address(i)} for i in range(1000)])
    with running_server("ceiling", workers=workers) as server:
        _warm_up(server, clients, connections=connections)
        load, cpu = _load(server, clients, path="/", seconds=seconds, connections=connections)
    log(f"ceiling: {load.describe()}")
    result = _result("ceiling", f"minimal ASGI app, uvicorn x{workers} (the ceiling)", load, cpu, None)
    return load.ok_per_second, [result]


def browser_pages(
    *, workers: int, seconds: float, connections: int, fans: int, ceiling_rate: float
) -> list[Result]:
    """The fan-facing paths, shipped configuration, in one server run."""
    from django.core.management import call_command

    from accounts.models import User
    from events.models import Event, Seat
    from queueing.models import QueueEntry
    from queueing.services import queue_admit_batch, queue_join

    call_command("seed_demo", verbosity=0)
    demo = Event.objects.get(slug="turnstile-live-demo")
    user_ids = ensure_users(fans)
    waiting_event = create_event("pages-waiting")
    for user_id in user_ids:  # every fan has a place: the queue page shows "waiting, position N"
        queue_join(user=User(pk=user_id), event=waiting_event)
    # The join form with the challenge on, as shipped: each fan posts its own (precomputed) solution.
    join_event = create_event("pages-join", queue_challenge_difficulty=BENCH_CHALLENGE_DIFFICULTY)
    seat_fans = user_ids[:500]
    # A fan admitted by an earlier run keeps its place and (expired) pass in the benchmark database, and
    # is not queued again: start the seat map's queue afresh (holds go with their passes).
    QueueEntry.objects.filter(event=demo).delete()
    for user_id in seat_fans:
        queue_join(user=User(pk=user_id), event=demo)
    queue_admit_batch(event=demo, size=len(seat_fans))
    section = Seat.objects.filter(event=demo).order_by("section").values_list("section", flat=True).first()

    browsers = logged_in_fans(user_ids, first_address=10_000)
    browser_file = write_clients("browsers", [fan.browser_headers() for fan in browsers])
    htmx_file = write_clients(
        "browsers-htmx", [{**fan.browser_headers(), "HX-Request": "true"} for fan in browsers]
    )
    solutions = solved_challenges(join_event, [fan.user_id for fan in browsers])
    form_file = write_clients(
        "browsers-form",
        [
            {
                **fan.browser_headers(),
                "X-CSRFToken": fan.csrf_secret,
                "X-Bench-Body": urlencode({"altcha": altcha}),
            }
            for fan, altcha in zip(browsers, solutions, strict=True)
        ],
    )
    seat_file = write_clients("browsers-seats", [fan.browser_headers() for fan in browsers[: len(seat_fans)]])
    anonymous_file = write_clients(
        "anonymous", [{"X-Forwarded-For": client_address(i), "Accept": "text/html"} for i in range(20_000)]
    )
    run_args = {"seconds": seconds, "connections": connections}
    plan = [
        ("healthz", "GET /healthz", anonymous_file, "/healthz"),
        ("anon_list", "GET / (anonymous)", anonymous_file, "/"),
        ("anon_event", "GET /events/<slug>/ (anonymous)", anonymous_file, f"/events/{demo.slug}/"),
        ("event_logged_in", "GET /events/<slug>/ (logged in)", browser_file, f"/events/{demo.slug}/"),
        (
            "queue_page",
            "GET /events/<slug>/queue/ (logged in, waiting)",
            browser_file,
            f"/events/{waiting_event.slug}/queue/",
        ),
        (
            "status_poll",
            "GET …/queue/status/ (htmx poll)",
            htmx_file,
            f"/events/{waiting_event.slug}/queue/status/",
        ),
        (
            "seat_section",
            "GET /events/<slug>/seats/?section=… (2,400 seats, admitted)",
            seat_file,
            f"/events/{demo.slug}/seats/?section={section}",
        ),
    ]
    results = []
    with running_server("turnstile", workers=workers) as server:
        _warm_up(server, anonymous_file, connections=connections)
        for key, label, clients, path in plan:
            load, cpu = _load(server, clients, path=path, **run_args)
            log(f"{label}: {load.describe()}")
            results.append(_result(key, label, load, cpu, ceiling_rate))
        load, cpu = _load(
            server,
            form_file,
            method="POST",
            path=f"/events/{join_event.slug}/queue/join/",
            body="",
            content_type="application/x-www-form-urlencoded",
            **run_args,
        )
        # A refused join redirects too (with its message): count the places the form really made.
        joined = QueueEntry.objects.filter(event=join_event).count()
        log(f"join form: {load.describe()}; {joined:,} fans joined")
        form_result = _result(
            "join_form",
            f"POST /events/<slug>/queue/join/ (form, session + CSRF, challenge on: difficulty "
            f"{BENCH_CHALLENGE_DIFFICULTY:,})",
            load,
            cpu,
            ceiling_rate,
            ok=(302,),
        )
        form_result.detail += f"; {joined:,} fans joined (each solution once; later posts: already in line)"
        form_result.extra["joined"] = joined
        results.append(form_result)
        results += throttled_flood(server, seconds=min(seconds, 5), connections=connections)
    results += django_floor(
        browser_file, anonymous_file, workers=workers, ceiling_rate=ceiling_rate, **run_args
    )
    return results


def django_floor(
    browser_file, anonymous_file, *, workers: int, seconds: float, connections: int, ceiling_rate: float
) -> list[Result]:
    """The same server, settings and fans, answering views that do nothing (``bench/floor_urls.py``):
    the most a page can reach here before its own work. Comparison only; nobody asks for these."""
    plan = [
        (
            "floor_anonymous",
            "Django floor: a view that does nothing (anonymous)",
            anonymous_file,
            "anonymous",
        ),
        ("floor_logged_in", "Django floor: a view that does nothing (logged in)", browser_file, "logged-in"),
    ]
    results = []
    extra_env = {"DJANGO_SETTINGS_MODULE": "bench.floor_settings"}
    with running_server("turnstile", workers=workers, extra_env=extra_env) as server:
        _warm_up(server, anonymous_file, connections=connections)
        for key, label, clients, name in plan:
            load, cpu = _load(
                server, clients, path=f"/bench-floor/{name}/", seconds=seconds, connections=connections
            )
            log(f"{label}: {load.describe()}")
            results.append(_result(key, label + " [comparison, not a page we ship]", load, cpu, ceiling_rate))
    return results


def throttled_flood(server: Server, *, seconds: float, connections: int) -> list[Result]:
    """A bot farm behind one address: thousands of accounts joining the queue from it. The address's
    join limit refuses nearly all of them; a refusal must cost no more than an answer."""
    user_ids = ensure_users(20_000)
    event = create_event("flood")
    flood = write_clients(
        "flood",
        [
            {"Authorization": f"Bearer {token}", "X-Forwarded-For": client_address(99_999)}
            for token in access_tokens(user_ids)
        ],
    )
    load, cpu = _load(
        server,
        flood,
        method="POST",
        path="/api/queue/join",
        body=json.dumps({"eventId": event.pk}),
        seconds=seconds,
        connections=connections,
    )
    log(f"flood (one address, many accounts, join API): {load.describe()}")
    refused = load.statuses.get(429, 0)
    return [
        Result(
            "flood: 20,000 accounts from one address, POST /api/queue/join",
            "answers/s (of which 429)",
            f"{(load.requests / load.seconds):,.0f} ({refused / load.seconds:,.0f})",
            detail=(
                f"statuses {load.statuses}, p99 {load.latency_ms['p99']:.1f} ms, server CPU {cpu * 100:.0f}%"
            ),
        )
    ]
