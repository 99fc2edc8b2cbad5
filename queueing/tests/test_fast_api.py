"""The lean ASGI path of the two hot queue endpoints answers exactly what the DRF views answer.

Requests go through ``QueueFastPath`` in front of Django's ASGI application (what ``ticketing.asgi``
serves), on a transactional database: the fast path writes and reads with its own connections.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from conftest import jwt_client_for
from core import ratelimit
from core.formats import api_datetime
from core.testing import http_scope
from events.tests.factories import EventFactory
from queueing.batching import close_batchers, join_recorder
from queueing.fast_api import QueueFastPath
from queueing.models import QueueEntry
from queueing.redis_queue import close_async_redis_client, queue_redis, waiting_sequence
from queueing.services import (
    aqueue_join,
    queue_admit_batch,
    queue_ensure_ready,
    queue_join,
    queue_open_prequeue,
)
from queueing.tests.helpers import in_thread

pytestmark = pytest.mark.django_db(transaction=True)

APP = QueueFastPath(get_asgi_application())


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


async def _call(
    method: str, path: str, headers: dict[str, str] | list[tuple[str, str]], body: bytes
) -> Answer:
    pairs = headers.items() if isinstance(headers, dict) else headers
    scope = http_scope(method, path, [(name.lower().encode(), value.encode()) for name, value in pairs])
    received = False
    messages = []

    async def receive():
        nonlocal received
        if received:  # the client stays connected (Django stops a request whose client left)
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        messages.append(message)

    try:
        await APP(scope, receive, send)
    finally:  # each call runs in its own event loop: close what the fast path opened in it
        await close_batchers()
        await close_async_redis_client()
        await ratelimit.aclose()
    start = next(m for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    answer_headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return Answer(start["status"], answer_headers, content)


def fast(method: str, path: str, *, user=None, token: str | None = None, data=None, raw: bytes | None = None):
    headers = {"host": "testserver"}
    if user is not None:
        token = str(RefreshToken.for_user(user).access_token)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    body = b""
    if data is not None or raw is not None:
        body = raw if raw is not None else json.dumps(data).encode()
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(body))
    return async_to_sync(_call)(method, path, headers, body)


@pytest.fixture
def event(db):
    return EventFactory(admission_batch_size=3, admission_interval_seconds=30)


def test_a_first_join_is_201_durable_and_a_second_is_200_with_the_same_place(event, fan, other_fan):
    fast("POST", "/api/queue/join", user=other_fan, data={"eventId": event.pk})

    first = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})
    again = fast("POST", "/api/queue/join/", user=fan, data={"eventId": event.pk})

    assert first.status == 201
    assert first.json() == {
        "eventId": event.pk,
        "status": "waiting",
        "position": 2,
        "usersAhead": 1,
        "queueSize": 2,
        "estimatedWaitTime": 30,
    }
    assert first.headers["content-type"] == "application/json"
    assert (again.status, again.json()) == (200, first.json())
    assert QueueEntry.objects.filter(event=event, user=fan, state="waiting", sequence=2).exists()


def test_answers_are_the_drf_views_answers(event, fan, other_fan, make_fans):
    for other in make_fans(4):
        queue_join(user=other, event=event)
    queue_join(user=fan, event=event)
    queue_join(user=other_fan, event=event)
    queue_admit_batch(event=event)
    drf = jwt_client_for(fan)
    drf_admitted = jwt_client_for(make_fans(1)[0])

    for path in (f"/api/queue/position/{event.pk}", f"/api/queue/position/{event.pk}/"):
        expected = drf.get(path)
        answer = fast("GET", path, user=fan)
        assert (answer.status, answer.json()) == (expected.status_code, expected.json())
        assert answer.json()["position"] == 2
    expected = drf.post("/api/queue/join", {"eventId": event.pk}, format="json")
    answer = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})
    assert (answer.status, answer.json()) == (expected.status_code, expected.json()) == (200, expected.json())
    not_queued = fast("GET", f"/api/queue/position/{event.pk}", user=User.objects.latest("pk"))
    expected = drf_admitted.get(f"/api/queue/position/{event.pk}")
    assert (not_queued.status, not_queued.json()) == (expected.status_code, expected.json())
    assert not_queued.json()["error"]["code"] == "NOT_IN_QUEUE"


def test_an_admitted_fan_sees_the_pass_expiry(event, fan):
    queue_join(user=fan, event=event)
    queue_admit_batch(event=event)

    answer = fast("GET", f"/api/queue/position/{event.pk}", user=fan)
    join = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})

    expires = api_datetime(fan.admission_passes.get().expires_at)
    assert (answer.status, answer.json()["status"], answer.json()["admissionExpiresAt"]) == (
        200,
        "admitted",
        expires,
    )
    assert (join.status, join.json()["status"]) == (200, "admitted")


@pytest.mark.parametrize(
    ("trait", "method", "code", "status"),
    [
        ("draft", "POST", "NOT_FOUND", 404),
        ("draft", "GET", "NOT_FOUND", 404),
        ("closed", "POST", "SALE_CLOSED", 409),
    ],
)
def test_unknown_events_and_closed_sales_keep_their_errors(db, fan, trait, method, code, status):
    event = EventFactory(**{trait: True})
    if method == "POST":
        answer = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})
    else:
        answer = fast("GET", f"/api/queue/position/{event.pk}", user=fan)

    assert answer.status == status
    assert answer.json()["error"]["code"] == code
    assert set(answer.json()["error"]) == {"code", "message", "details"}


def test_an_unknown_event_id_is_404(db, fan):
    answer = fast("GET", "/api/queue/position/999999", user=fan)

    assert (answer.status, answer.json()["error"]["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("kind", ["none", "refresh", "garbage", "inactive"])
def test_requests_it_cannot_authenticate_get_djangos_401(event, fan, kind):
    token = {
        "none": None,
        "refresh": str(RefreshToken.for_user(fan)),
        "garbage": "not-a-token",
        "inactive": str(RefreshToken.for_user(fan).access_token),
    }[kind]
    if kind == "inactive":
        User.objects.filter(pk=fan.pk).update(is_active=False)

    join = fast("POST", "/api/queue/join", token=token, data={"eventId": event.pk})
    position = fast("GET", f"/api/queue/position/{event.pk}", token=token)

    assert (join.status, position.status) == (401, 401)
    assert join.json()["error"]["code"] in {"NOT_AUTHENTICATED", "AUTHENTICATION_FAILED"}
    assert not QueueEntry.objects.exists()


@pytest.mark.parametrize("raw", [b"{}", b'{"eventId": "abc"}', b'{"eventId": 0}', b"not json"])
def test_bad_bodies_get_djangos_400(event, fan, raw):
    answer = fast("POST", "/api/queue/join", user=fan, raw=raw)

    assert answer.status == 400
    assert answer.json()["error"]["code"] in {"VALIDATION_ERROR", "INVALID_JSON"}


def test_an_event_id_as_a_string_is_accepted_like_drf_does(event, fan):
    answer = fast("POST", "/api/queue/join", user=fan, data={"eventId": str(event.pk)})

    assert answer.status == 201


def test_a_prequeue_join_goes_to_the_prequeue(db, fan):
    event = EventFactory(upcoming=True)

    answer = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})

    assert (answer.status, answer.json()["status"], answer.json()["position"]) == (201, "prequeue", None)


def test_positions_survive_a_redis_flush(event, make_fans):
    fans = make_fans(3)
    for fan in fans:
        assert fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk}).status == 201

    queue_redis().flushdb()

    assert [fast("GET", f"/api/queue/position/{event.pk}", user=fan).json()["position"] for fan in fans] == [
        1,
        2,
        3,
    ]


def test_concurrent_joins_share_commits_and_every_answered_join_is_durable(event, make_fans):
    fans = make_fans(40)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                in_thread(lambda fan: fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})),
                fans,
            )
        )

    assert {answer.status for answer in answers} == {201}
    rows = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    assert {fan.pk: answer.json()["position"] for fan, answer in zip(fans, answers, strict=True)} == rows
    assert sorted(rows.values()) == list(range(1, 41))


def test_joins_arriving_together_share_one_commit_and_each_is_answered_after_it(event, make_fans):
    fans = make_fans(30)
    queue_ensure_ready(event=event)  # the queue is in Redis and open: the common case
    queue_open_prequeue(event=event)

    async def join_all():
        try:
            answers = await asyncio.gather(*(aqueue_join(user=fan, event=event) for fan in fans))
            recorder = join_recorder()
            return answers, recorder.batches, recorder.items
        finally:
            await close_batchers()
            await close_async_redis_client()

    answers, batches, items = async_to_sync(join_all)()

    assert items == 30
    assert batches < 30  # group commit: several joins per INSERT and COMMIT
    assert sorted(answer.position for answer in answers) == list(range(1, 31))
    rows = dict(QueueEntry.objects.filter(event=event).values_list("user_id", "sequence"))
    assert rows == {fan.pk: answer.sequence for fan, answer in zip(fans, answers, strict=True)}


def test_a_join_whose_row_cannot_be_written_fails_alone(event, make_fans):
    fans = make_fans(3)
    queue_ensure_ready(event=event)
    queue_open_prequeue(event=event)
    ghost = User(pk=fans[-1].pk + 10_000)  # no such user: its row breaks the batch's foreign key

    async def join_all():
        try:
            return await asyncio.gather(
                *(aqueue_join(user=fan, event=event) for fan in [*fans, ghost]), return_exceptions=True
            )
        finally:
            await close_batchers()
            await close_async_redis_client()

    answers = async_to_sync(join_all)()

    assert sorted(answer.position for answer in answers[:3]) in ([1, 2, 3], [1, 2, 4], [1, 3, 4], [2, 3, 4])
    assert isinstance(answers[3], Exception)
    assert QueueEntry.objects.filter(event=event).count() == 3


def test_throttles_apply_when_enabled(event, fan, settings):
    settings.QUEUE_THROTTLE_ENABLE = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "queue_read": "2/min",
        },
    }
    queue_join(user=fan, event=event)

    answers = [fast("GET", f"/api/queue/position/{event.pk}", user=fan) for _ in range(3)]

    assert [answer.status for answer in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(answers[2].headers["retry-after"]) <= 60


def test_other_methods_and_paths_go_to_django(event, fan):
    assert fast("GET", "/api/queue/join", user=fan).status == 405
    assert fast("GET", f"/api/queue/stats/{event.pk}", user=fan).status == 200
    assert fast("GET", "/api/queue/position/abc", user=fan).status == 404


def test_a_request_through_two_proxies_is_still_answered_here(event, fan, settings):
    # A CDN and HAProxy each add an X-Forwarded-For line; that must not send the crowd to Django.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    queue_join(user=fan, event=event)
    token = str(RefreshToken.for_user(fan).access_token)
    headers = [
        ("host", "testserver"),
        ("authorization", f"Bearer {token}"),
        ("x-forwarded-for", "198.51.100.7"),
        ("x-forwarded-for", "10.0.0.2"),
    ]

    answer = async_to_sync(_call)("GET", f"/api/queue/position/{event.pk}", headers, b"")

    assert (answer.status, answer.json()["position"]) == (200, 1)
    assert "allow" not in answer.headers  # DRF adds Allow: this answer did not go through the view


def test_a_repeated_header_the_fast_path_reads_goes_to_django(event, fan):
    queue_join(user=fan, event=event)
    token = str(RefreshToken.for_user(fan).access_token)
    headers = [
        ("host", "testserver"),
        ("authorization", f"Bearer {token}"),
        ("authorization", f"Bearer {token}"),
    ]

    answer = async_to_sync(_call)("GET", f"/api/queue/position/{event.pk}", headers, b"")

    assert "allow" in answer.headers


def test_the_switch_sends_everything_to_django(event, fan, settings):
    settings.QUEUE_FAST_PATH = False
    queue_join(user=fan, event=event)

    answer = fast("GET", f"/api/queue/position/{event.pk}", user=fan)

    assert (answer.status, answer.json()["position"]) == (200, 1)
    assert "allow" in answer.headers  # DRF's own header: the request went through the DRF view


def test_batched_writes_connect_where_django_connects_even_through_a_socket_directory(monkeypatch):
    """An embedded PostgreSQL is reached through a socket directory given in OPTIONS, not HOST."""
    from django.db import connections

    from queueing.batching import _connection_kwargs

    settings_dict = {
        **connections["default"].settings_dict,
        "NAME": "turnstile",
        "HOST": "",
        "PORT": "",
        "OPTIONS": {"host": "/run/turnstile/postgres-socket"},
    }
    monkeypatch.setattr(connections["default"], "settings_dict", settings_dict)

    kwargs = _connection_kwargs()

    assert kwargs["host"] == "/run/turnstile/postgres-socket"
    assert kwargs["dbname"] == "turnstile"
    assert "cursor_factory" not in kwargs


@pytest.mark.django_db
def test_batched_writes_reach_the_database_django_uses():
    import psycopg
    from django.db import connections

    from queueing.batching import _connection_kwargs

    with psycopg.connect(**_connection_kwargs()) as connection:
        (name,) = connection.execute("SELECT current_database()").fetchone()

    assert name == connections["default"].settings_dict["NAME"]


def test_a_fast_join_postgresql_did_not_record_leaves_no_place_in_redis(event, fan, other_fan, monkeypatch):
    import psycopg

    from queueing.batching import JoinRecorder
    from queueing.redis_queue import QueueKeys

    queue_join(user=other_fan, event=event)

    async def database_down(self, **kwargs):
        raise psycopg.OperationalError("the database went away")

    async def join():
        try:
            return await aqueue_join(user=fan, event=event)
        finally:
            await close_batchers()
            await close_async_redis_client()

    monkeypatch.setattr(JoinRecorder, "record", database_down)
    with pytest.raises(psycopg.OperationalError):
        async_to_sync(join)()

    assert waiting_sequence(QueueKeys(event.pk), fan.pk) is None
    monkeypatch.undo()
    assert async_to_sync(join)().position == 2


def _queue_rates(settings, **rates):
    settings.QUEUE_THROTTLE_ENABLE = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_a_queued_fan_gets_their_place_back_when_every_join_limit_is_spent(event, fan, settings, make_fans):
    _queue_rates(settings, queue_join="1/min", queue_join_ip="2/min")
    first = fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk})
    others = [
        fast("POST", "/api/queue/join", user=other, data={"eventId": event.pk}) for other in make_fans(3)
    ]

    again = [fast("POST", "/api/queue/join", user=fan, data={"eventId": event.pk}) for _ in range(5)]

    assert first.status == 201
    assert [answer.status for answer in others] == [201, 429, 429]  # the address's limit is spent
    assert {answer.status for answer in again} == {200}
    assert {answer.json()["position"] for answer in again} == {first.json()["position"]}


def test_fast_path_and_drf_views_count_against_the_same_limit(event, fan, settings):
    _queue_rates(settings, queue_read="3/min")
    queue_join(user=fan, event=event)
    api = jwt_client_for(fan)

    statuses = [
        fast("GET", f"/api/queue/position/{event.pk}", user=fan).status,
        api.get(f"/api/queue/position/{event.pk}").status_code,
        fast("GET", f"/api/queue/position/{event.pk}", user=fan).status,
        api.get(f"/api/queue/position/{event.pk}").status_code,
    ]

    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize("body", [b"", b"{", b"[]"], ids=["empty", "truncated", "not-an-object"])
def test_a_bad_join_body_is_answered_by_django_and_never_hangs(event, fan, body):
    token = str(RefreshToken.for_user(fan).access_token)
    headers = {
        "host": "testserver",
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "content-length": str(len(body)),
    }

    answer = asyncio.run(asyncio.wait_for(_call("POST", "/api/queue/join", headers, body), timeout=20))

    assert answer.status == 400
    assert answer.json()["error"]["code"] in {"VALIDATION_ERROR", "INVALID_JSON"}


def test_a_redis_outage_is_a_503_with_retry_after_on_the_fast_path(event, fan, settings):
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.REDIS_URL = settings.QUEUE_REDIS_URL = dead  # on the cluster run: no node reachable
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": dead}}
    settings.QUEUE_THROTTLE_ENABLE = False

    answer = fast("GET", f"/api/queue/position/{event.pk}", user=fan)

    assert answer.status == 503
    assert answer.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(answer.headers["retry-after"]) > 0
