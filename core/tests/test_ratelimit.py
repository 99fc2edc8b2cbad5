"""API throttles count in Redis atomically: concurrent requests never exceed a limit."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync

from core import ratelimit
from core.ratelimit import Limit, client_address, client_address_of_request, client_address_of_scope
from core.testing import record_limit_pipelines


def test_a_limit_allows_exactly_its_rate_then_reports_the_wait():
    limit = Limit(scope="test", rate="3/min", who="fan-1")

    waits = [ratelimit.hit([limit]) for _ in range(4)]

    assert waits[:3] == [None, None, None]
    assert waits[3] is not None
    assert 1 <= waits[3] <= 60


def test_limits_count_each_caller_and_scope_apart():
    assert ratelimit.hit([Limit(scope="a", rate="1/min", who="x")]) is None
    assert ratelimit.hit([Limit(scope="a", rate="1/min", who="y")]) is None
    assert ratelimit.hit([Limit(scope="b", rate="1/min", who="x")]) is None
    assert ratelimit.hit([Limit(scope="a", rate="1/min", who="x")]) is not None


def _racing(attempt, *, threads: int, attempts_each: int) -> list[bool]:
    """``attempt()`` (True when allowed) from ``threads`` threads released at once."""
    allowed: list[bool] = []
    start = threading.Barrier(threads)

    def client() -> None:
        start.wait()
        for _ in range(attempts_each):
            allowed.append(attempt())

    clients = [threading.Thread(target=client) for _ in range(threads)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    return allowed


def test_concurrent_threads_never_exceed_a_limit():
    limit = Limit(scope="race", rate="25/min", who="one-address")

    allowed = _racing(lambda: ratelimit.hit([limit]) is None, threads=20, attempts_each=10)

    assert len(allowed) == 200
    assert sum(allowed) == 25


def test_every_limit_of_a_request_counts_in_one_round_trip_and_the_longest_wait_is_reported(monkeypatch):
    per_fan = Limit(scope="pair", rate="2/min", who="fan-7")
    per_address = Limit(scope="pair_ip", rate="1/hour", who="203.0.113.9")
    executed = record_limit_pipelines(monkeypatch)

    first = ratelimit.hit([per_fan, per_address])
    # `limits` reports a window read in the millisecond it was made as resetting now (TTL % expiry).
    time.sleep(0.01)
    second = ratelimit.hit([per_fan, per_address])

    assert executed == [2, 2]  # both limits, one pipeline each time
    assert first is None
    assert second is not None
    assert second > 60  # the address's hour, not the fan's minute


def test_the_library_reads_the_same_windows_as_the_pipelined_count():
    # Our pipeline calls the `limits` library's own script with its own keys: its reading agrees.
    limit = Limit(scope="agree", rate="5/min", who="fan-3")
    for _ in range(3):
        assert ratelimit.hit([limit]) is None

    stats = ratelimit._limiter().get_window_stats(limit.item, limit.who)

    assert stats.remaining == 2


def test_a_redis_that_lost_its_scripts_still_counts_once():
    limit = Limit(scope="noscript", rate="2/min", who="fan-4")
    assert ratelimit.hit([limit]) is None
    ratelimit._limiter().storage.get_connection().script_flush()

    assert ratelimit.hit([limit]) is None
    assert ratelimit.hit([limit]) is not None  # counted once per hit, not twice by the retry


# Run with async_to_sync and marked django_db like the fast path's tests: pytest-django runs tests
# without a database after the (transactional) browser tests, and Playwright leaves an event loop
# running in the main thread, where no other loop can start.


@pytest.mark.django_db
def test_concurrent_coroutines_never_exceed_a_limit():
    limit = Limit(scope="async-race", rate="30/min", who="one-fan")

    async def flood() -> list[int | None]:
        try:
            return list(await asyncio.gather(*(ratelimit.ahit([limit]) for _ in range(300))))
        finally:
            await ratelimit.aclose()

    waits = async_to_sync(flood)()

    assert sum(wait is None for wait in waits) == 30


@pytest.mark.django_db
def test_the_async_and_sync_paths_share_one_count():
    limit = Limit(scope="shared", rate="2/min", who="fan-9")

    async def one_async_hit() -> int | None:
        try:
            return await ratelimit.ahit([limit])
        finally:
            await ratelimit.aclose()

    assert ratelimit.hit([limit]) is None  # the sync client, as a DRF view counts
    assert async_to_sync(one_async_hit)() is None
    assert ratelimit.hit([limit]) is not None


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "expected"),
    [
        (0, "198.51.100.7", "203.0.113.1"),  # no trusted proxy: the header is ignored
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "10.9.9.9, 198.51.100.7", "198.51.100.7"),  # the client cannot prepend its own choice
        (1, "not-an-address", "203.0.113.1"),  # garbage never becomes a shared bucket
        (1, None, "203.0.113.1"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(settings, num_proxies, forwarded_for, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}

    assert client_address("203.0.113.1", forwarded_for) == expected


def test_the_scope_address_reads_every_proxys_forwarded_for_line_like_django(settings, rf):
    """A TLS terminator's header line, then HAProxy's own line: two trusted proxies, one fan."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    headers = [(b"x-forwarded-for", b"198.51.100.7"), (b"x-forwarded-for", b"10.0.0.2")]
    scope = {"type": "http", "headers": headers, "client": ("10.0.0.3", 1234)}
    request = rf.get("/", HTTP_X_FORWARDED_FOR="198.51.100.7,10.0.0.2")  # how Django joins the lines

    assert client_address_of_scope(scope) == client_address_of_request(request) == "198.51.100.7"


# --- Pages: django-ratelimit's decorator, counted in one round trip -------------------------------


def _limited_page(**limit):
    from django.http import HttpResponse

    @ratelimit.ratelimit(**limit)
    def page(request):
        return HttpResponse("ok")

    return page


def test_a_page_limit_counts_in_one_round_trip_and_refuses_with_the_wait(rf, monkeypatch):
    from django_ratelimit.exceptions import Ratelimited

    executed = record_limit_pipelines(monkeypatch)
    page = _limited_page(group="test-page", key="ip", rate="2/min", method="POST")
    post = rf.post("/page/", REMOTE_ADDR="198.51.100.4")

    assert page(post).status_code == 200
    assert page(post).status_code == 200
    with pytest.raises(Ratelimited) as refused:
        page(post)

    assert executed == [1, 1, 1]
    assert 1 <= refused.value.retry_after <= 60
    assert post.limited is True
    # Another address, and a method the limit does not cover, are not refused.
    assert page(rf.post("/page/", REMOTE_ADDR="198.51.100.5")).status_code == 200
    assert page(rf.get("/page/", REMOTE_ADDR="198.51.100.4")).status_code == 200


def test_a_refused_page_is_the_readable_429_with_its_retry_after(client, settings, fan):
    settings.QUEUE_PAGE_JOIN_RATE = "1/min"
    client.force_login(fan)
    client.post("/events/no-such-event/queue/join/")

    response = client.post("/events/no-such-event/queue/join/")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.content.decode()


def test_concurrent_requests_to_a_page_never_exceed_its_limit(rf):
    from django_ratelimit.exceptions import Ratelimited

    page = _limited_page(group="test-race", key="ip", rate="15/min")

    def browser_request() -> bool:
        try:
            page(rf.get("/page/", REMOTE_ADDR="198.51.100.9"))
        except Ratelimited:
            return False
        return True

    allowed = _racing(browser_request, threads=10, attempts_each=6)

    assert len(allowed) == 60
    assert sum(allowed) == 15


def test_page_limits_are_off_with_the_switch_or_without_a_rate(rf, settings, monkeypatch):
    executed = record_limit_pipelines(monkeypatch)
    no_rate = _limited_page(group="test-off", key="ip", rate=lambda group, request: None)
    for _ in range(3):
        assert no_rate(rf.get("/page/")).status_code == 200

    settings.RATELIMIT_ENABLE = False
    switched_off = _limited_page(group="test-off-2", key="ip", rate="1/min")
    for _ in range(3):
        assert switched_off(rf.get("/page/")).status_code == 200

    assert executed == []
