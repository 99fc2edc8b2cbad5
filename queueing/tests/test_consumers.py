"""The queue WebSocket against the real ASGI application and real Redis pub/sub (``core.realtime``)."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from core.realtime import close_hub, encode, publish
from events.models import Event
from events.tests.factories import EventFactory
from queueing import consumers
from queueing.notify import notify_queue_status, queue_frame, queue_topic
from queueing.services import (
    queue_admit_batch,
    queue_expire_passes,
    queue_join,
    queue_leave,
    queue_open_prequeue,
)
from ticketing.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")

join = database_sync_to_async(queue_join)
admit_batch = database_sync_to_async(queue_admit_batch)


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
async def open_socket():
    """Open sockets to the real application; every one is closed after the test."""
    opened: list[WebsocketCommunicator] = []

    async def open_(event_id: int | str, *, user=None, query: str = "") -> WebsocketCommunicator:
        headers = [ORIGIN]
        if user is not None:
            cookie = await database_sync_to_async(_session_cookie)(user)
            headers.append((b"cookie", cookie))
        path = f"/ws/queue/{event_id}/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        return communicator

    yield open_
    for communicator in opened:
        await communicator.disconnect()
    await close_hub()


async def _close_code(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    return output["code"]


async def _access_token(user) -> str:
    return await database_sync_to_async(lambda: str(RefreshToken.for_user(user).access_token))()


async def _join_in_order(event, users) -> None:
    for user in users:
        await join(user=user, event=event)


# --- Authentication and routing -------------------------------------------------------------------


async def test_an_anonymous_socket_is_closed_with_4401(event, open_socket):
    socket = await open_socket(event.pk)

    assert await _close_code(socket) == consumers.CLOSE_UNAUTHENTICATED


async def test_a_refresh_token_is_refused_where_an_access_token_is_expected(event, fan, open_socket):
    refresh = await database_sync_to_async(RefreshToken.for_user)(fan)

    socket = await open_socket(event.pk, query=f"token={refresh}")

    assert await _close_code(socket) == consumers.CLOSE_UNAUTHENTICATED


async def test_a_garbled_token_is_refused_even_with_a_valid_session(event, fan, open_socket):
    socket = await open_socket(event.pk, user=fan, query="token=not-a-jwt")

    assert await _close_code(socket) == consumers.CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize("event_id", ["999999", "abc"])
async def test_an_unknown_event_is_closed_with_4404(event_id, fan, open_socket):
    socket = await open_socket(event_id, user=fan)

    assert await _close_code(socket) == consumers.CLOSE_UNKNOWN_EVENT


async def test_a_draft_event_is_unknown(fan, open_socket):
    draft = await database_sync_to_async(EventFactory)(draft=True)

    socket = await open_socket(draft.pk, user=fan)

    assert await _close_code(socket) == consumers.CLOSE_UNKNOWN_EVENT


async def test_a_socket_from_a_foreign_origin_is_refused(event, fan):
    communicator = WebsocketCommunicator(
        application, f"/ws/queue/{event.pk}/", headers=[(b"origin", b"http://evil.example")]
    )

    connected, _ = await communicator.connect()

    assert not connected


# --- Exact status on connect ------------------------------------------------------------------------


async def test_a_fan_logged_in_by_session_gets_the_exact_place_on_connect(event, fan, make_fans, open_socket):
    await _join_in_order(event, [*await database_sync_to_async(make_fans)(4), fan])

    socket = await open_socket(event.pk, user=fan)

    assert await socket.receive_json_from(timeout=5) == {
        "type": "status",
        "eventId": event.pk,
        "status": "waiting",
        "position": 5,
        "usersAhead": 4,
        "queueSize": 5,
        "estimatedWaitTime": 60,  # 4 ahead, batches of 3 every 30 s: the second batch
        "progress": 0,
        "isPaused": False,
        "exact": True,
        "sequence": 5,
        "headSequence": 0,
        "startPosition": 5,
    }


async def test_the_progress_bar_starts_where_the_fans_cookie_says(event, fan, make_fans, open_socket):
    """The queue page's signed cookie (queueing.presenters) is read by the socket too."""
    from django.http import HttpResponse

    from queueing.presenters import progress_cookie_name, progress_cookie_set

    await _join_in_order(event, [*await database_sync_to_async(make_fans)(4), fan])
    page = HttpResponse()
    progress_cookie_set(page, event_id=event.pk, start_position=10)
    progress_cookie = page.cookies[progress_cookie_name(event.pk)].OutputString().split(";")[0]
    session = await database_sync_to_async(_session_cookie)(fan)
    socket = WebsocketCommunicator(
        application,
        f"/ws/queue/{event.pk}/",
        headers=[ORIGIN, (b"cookie", session + b"; " + progress_cookie.encode())],
    )
    assert (await socket.connect())[0]
    try:
        message = await socket.receive_json_from(timeout=5)
    finally:
        await socket.disconnect()
        await close_hub()

    assert (message["position"], message["startPosition"], message["progress"]) == (5, 10, 50)


async def test_a_mobile_client_authenticates_with_an_access_token_in_the_query_string(
    event, fan, other_fan, open_socket
):
    await _join_in_order(event, [other_fan, fan])
    access = await database_sync_to_async(lambda: str(RefreshToken.for_user(fan).access_token))()

    socket = await open_socket(event.pk, query=f"token={access}")

    message = await socket.receive_json_from(timeout=5)
    assert (message["type"], message["position"], message["exact"]) == ("status", 2, True)


async def test_a_fan_not_in_the_queue_is_told_so_and_the_socket_stays_open(event, fan, open_socket):
    socket = await open_socket(event.pk, user=fan)

    assert await socket.receive_json_from(timeout=5) == {"type": "not_in_queue", "eventId": event.pk}

    await join(user=fan, event=event)
    await socket.send_json_to({"action": "refresh"})
    message = await socket.receive_json_from(timeout=5)
    assert (message["status"], message["position"]) == ("waiting", 1)


async def test_an_admitted_fan_gets_the_seat_map_address_on_connect(event, fan, open_socket):
    await join(user=fan, event=event)
    await admit_batch(event=event)

    socket = await open_socket(event.pk, user=fan)

    message = await socket.receive_json_from(timeout=5)
    assert message["status"] == "admitted"
    assert message["redirectUrl"] == f"/events/{event.slug}/seats/"
    assert message["progress"] == 100
    assert "expiresAt" in message


def _queue_consumers_of(event) -> list[consumers.QueueConsumer]:
    gc.collect()  # type(), not isinstance(): a dead weakref proxy among the objects raises on isinstance
    return [
        o
        for o in gc.get_objects()
        if type(o) is consumers.QueueConsumer and getattr(getattr(o, "event", None), "pk", None) == event.pk
    ]


async def test_sockets_keep_no_user_object_and_share_one_event_object(event, fan, other_fan, open_socket):
    """Memory per idle socket (issue 9): the fan's id, not a User; one Event per event per process."""
    await _join_in_order(event, [fan, other_fan])
    for user in (fan, other_fan):
        socket = await open_socket(event.pk, query=f"token={await _access_token(user)}")
        assert (await socket.receive_json_from(timeout=5))["status"] == "waiting"

    first, second = _queue_consumers_of(event)
    assert {first.user_id, second.user_id} == {fan.pk, other_fan.pk}
    assert first.event is second.event
    for consumer in (first, second):
        assert not [value for value in vars(consumer).values() if isinstance(value, User)]


async def test_a_staff_edit_reaches_the_sockets_opened_after_it(event, fan, other_fan, open_socket):
    await _join_in_order(event, [fan, other_fan])
    await admit_batch(event=event)
    before = await open_socket(event.pk, query=f"token={await _access_token(fan)}")
    assert (await before.receive_json_from(timeout=5))["redirectUrl"] == f"/events/{event.slug}/seats/"

    await database_sync_to_async(Event.objects.filter(pk=event.pk).update)(slug="renamed-by-staff")

    after = await open_socket(event.pk, query=f"token={await _access_token(other_fan)}")
    assert (await after.receive_json_from(timeout=5))["redirectUrl"] == "/events/renamed-by-staff/seats/"
    edited = [c.event for c in _queue_consumers_of(event) if c.user_id == other_fan.pk]
    assert [e.slug for e in edited] == ["renamed-by-staff"]
    await before.send_json_to({"action": "refresh"})  # the older socket still answers
    assert (await before.receive_json_from(timeout=5))["status"] == "admitted"


# --- Live updates -----------------------------------------------------------------------------------


async def test_the_event_frame_reaches_the_socket_as_published(event, fan, make_fans, open_socket):
    await _join_in_order(event, [*await database_sync_to_async(make_fans)(4), fan])
    socket = await open_socket(event.pk, user=fan)
    await socket.receive_json_from(timeout=5)

    # One frame for the event, written as-is to every socket (no per-socket Redis read or re-encoding).
    frame = {**await database_sync_to_async(queue_frame)(event=event, reason="change"), "headSequence": 3}
    await database_sync_to_async(publish)(queue_topic(event.pk), {"frame": frame})

    assert await socket.receive_from(timeout=5) == encode(frame)


async def test_a_real_admission_pushes_the_new_head_and_refresh_is_exact(event, fan, make_fans, open_socket):
    await _join_in_order(event, [*await database_sync_to_async(make_fans)(4), fan])
    socket = await open_socket(event.pk, user=fan)
    exact = await socket.receive_json_from(timeout=5)
    assert (exact["position"], exact["sequence"], exact["headSequence"]) == (5, 5, 0)

    await admit_batch(event=event)  # three fans ahead are let in; the frame follows the commit

    moved = await socket.receive_json_from(timeout=5)
    assert (moved["type"], moved["headSequence"], moved["queueSize"]) == ("queue", 3, 2)
    assert await socket.receive_nothing(timeout=0.3)

    await socket.send_json_to({"action": "refresh"})
    exact = await socket.receive_json_from(timeout=5)
    assert (exact["position"], exact["usersAhead"], exact["exact"], exact["headSequence"]) == (2, 1, True, 3)


async def test_admission_reaches_the_admitted_fan_at_once_and_not_the_one_still_waiting(
    event, fan, other_fan, open_socket
):
    await _join_in_order(event, [fan, other_fan])
    admitted_socket = await open_socket(event.pk, user=fan)
    waiting_socket = await open_socket(event.pk, user=other_fan)
    await admitted_socket.receive_json_from(timeout=5)
    await waiting_socket.receive_json_from(timeout=5)

    await admit_batch(event=event, size=1)

    message = await admitted_socket.receive_json_from(timeout=5)
    pass_ = await database_sync_to_async(lambda: fan.admission_passes.get())()
    assert message == {
        "type": "admitted",
        "eventId": event.pk,
        "expiresAt": pass_.expires_at.isoformat(),
        "redirectUrl": f"/events/{event.slug}/seats/",
    }
    still_waiting = await waiting_socket.receive_json_from(timeout=5)
    assert (still_waiting["type"], still_waiting["headSequence"], still_waiting["queueSize"]) == (
        "queue",
        1,
        1,
    )
    assert await waiting_socket.receive_nothing(timeout=0.3)  # no "admitted" for the fan still in line


async def test_every_socket_of_a_batch_hears_its_admission(event, make_fans, open_socket):
    fans = await database_sync_to_async(make_fans)(20)
    await _join_in_order(event, fans)
    sockets = [await open_socket(event.pk, user=fan) for fan in fans]
    for socket in sockets:
        await socket.receive_json_from(timeout=5)

    await admit_batch(event=event, size=20)

    for socket in sockets:
        assert (await socket.receive_json_from(timeout=5))["type"] == "admitted"


async def test_a_leave_moves_the_fans_behind_with_the_leavers_sequence(event, fan, make_fans, open_socket):
    ahead = await database_sync_to_async(make_fans)(2)
    await _join_in_order(event, [*ahead, fan])
    socket = await open_socket(event.pk, user=fan)
    await socket.receive_json_from(timeout=5)

    await database_sync_to_async(queue_leave)(user=ahead[1], event=event)

    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["reason"], frame["left"], frame["queueSize"]) == ("queue", "leave", [2], 2)


async def test_a_fan_whose_pass_runs_out_is_told(event, fan, open_socket):
    await join(user=fan, event=event)
    await admit_batch(event=event)
    socket = await open_socket(event.pk, user=fan)
    await socket.receive_json_from(timeout=5)

    await database_sync_to_async(queue_expire_passes)(now=timezone.now() + timedelta(minutes=11))

    assert await socket.receive_json_from(timeout=5) == {"type": "expired", "eventId": event.pk}


async def test_a_prequeued_fan_learns_the_place_drawn_at_opening(fan, open_socket):
    event = await database_sync_to_async(EventFactory)(upcoming=True, admission_batch_size=3)
    await join(user=fan, event=event)
    socket = await open_socket(event.pk, user=fan)
    first = await socket.receive_json_from(timeout=5)
    assert (first["status"], first["position"], first["queueSize"]) == ("prequeue", None, 1)

    def open_sale() -> None:
        event.sale_opens_at = timezone.now() - timedelta(seconds=1)
        event.save(update_fields=["sale_opens_at"])
        queue_open_prequeue(event=event)
        notify_queue_status(event=event, reason="heartbeat")

    await database_sync_to_async(open_sale)()

    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["prequeueSize"], frame["queueSize"]) == ("queue", 0, 1)
    await socket.send_json_to({"action": "refresh"})  # what a pre-queued client does on that frame
    drawn = await socket.receive_json_from(timeout=5)
    assert (drawn["status"], drawn["position"], drawn["exact"]) == ("waiting", 1, True)


# --- Client messages --------------------------------------------------------------------------------


async def test_unknown_actions_and_garbage_get_an_error_and_keep_the_socket(event, fan, open_socket):
    await join(user=fan, event=event)
    socket = await open_socket(event.pk, user=fan)
    await socket.receive_json_from(timeout=5)

    await socket.send_json_to({"action": "jump-the-queue"})
    assert await socket.receive_json_from(timeout=5) == {"type": "error", "code": "unknown_action"}
    await socket.send_to(text_data="{not json")
    assert await socket.receive_json_from(timeout=5) == {"type": "error", "code": "unknown_action"}

    await socket.send_json_to({"action": "refresh"})
    assert (await socket.receive_json_from(timeout=5))["exact"] is True


async def test_refreshes_are_limited_per_socket(event, fan, open_socket):
    await join(user=fan, event=event)
    socket = await open_socket(event.pk, user=fan)
    await socket.receive_json_from(timeout=5)

    for _ in range(consumers.REFRESHES_PER_WINDOW):
        await socket.send_json_to({"action": "refresh"})
        assert (await socket.receive_json_from(timeout=5))["type"] == "status"
    await socket.send_json_to({"action": "refresh"})

    refused = await socket.receive_json_from(timeout=5)
    assert refused["type"] == "error"
    assert refused["code"] == "refresh_too_often"
    assert refused["retryAfter"] >= 1
