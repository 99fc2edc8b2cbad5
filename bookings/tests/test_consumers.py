"""The seat map WebSocket against the real ASGI application and real Redis pub/sub (``core.realtime``)."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from bookings import consumers
from bookings.notify import BATCH_SECONDS, seats_topic
from bookings.services import booking_cancel, booking_create, seats_hold, seats_release
from core.realtime import close_hub, publish
from events.tests.factories import EventFactory
from ticketing.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")

hold = database_sync_to_async(seats_hold)
release = database_sync_to_async(seats_release)


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
            headers.append((b"cookie", await database_sync_to_async(_session_cookie)(user)))
        path = f"/ws/events/{event_id}/seats/" + (f"?{query}" if query else "")
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


async def _connected(open_socket, event, user, **kwargs) -> WebsocketCommunicator:
    """A socket past its snapshot."""
    socket = await open_socket(event.pk, user=user, **kwargs)
    snapshot = await socket.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    return socket


# --- Authentication and routing -------------------------------------------------------------------


async def test_an_anonymous_socket_is_closed_with_4401(event, seats, open_socket):
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
    cookie = await database_sync_to_async(_session_cookie)(fan)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/events/{event.pk}/seats/",
        headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)],
    )

    connected, _ = await communicator.connect()

    assert not connected


# --- Snapshot ---------------------------------------------------------------------------------------


async def test_on_connect_the_fan_gets_every_seat_that_is_not_available(
    event, seats, admitted_fan, admitted_other_fan, open_socket
):
    await hold(user=admitted_fan, event=event, seat_ids=[seats[0].pk])
    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[3].pk])

    socket = await open_socket(event.pk, user=admitted_fan)

    assert await socket.receive_json_from(timeout=5) == {
        "type": "snapshot",
        "eventId": event.pk,
        "states": [[seats[0].pk, "held_by_me"], [seats[3].pk, "held"]],
    }


async def test_a_mobile_client_connects_with_a_jwt_access_token(
    event, seats, admitted_fan, admitted_other_fan, open_socket
):
    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])
    token = await database_sync_to_async(lambda: str(RefreshToken.for_user(admitted_fan).access_token))()

    socket = await open_socket(event.pk, query=f"token={token}")

    snapshot = await socket.receive_json_from(timeout=5)
    assert snapshot["states"] == [[seats[1].pk, "held"]]


async def test_watching_needs_no_admission_pass(event, seats, fan, admitted_other_fan, open_socket):
    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    socket = await open_socket(event.pk, user=fan)

    assert (await socket.receive_json_from(timeout=5))["states"] == [[seats[1].pk, "held"]]


# --- Live changes -----------------------------------------------------------------------------------


async def test_another_fans_hold_arrives_within_a_second(
    event, seats, admitted_fan, admitted_other_fan, open_socket
):
    socket = await _connected(open_socket, event, admitted_fan)

    started = time.monotonic()
    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[4].pk, seats[2].pk])
    message = await socket.receive_json_from(timeout=5)

    assert time.monotonic() - started < 1
    assert message == {
        "type": "seats",
        "eventId": event.pk,
        "changes": [[seats[2].pk, "held"], [seats[4].pk, "held"]],
    }


async def test_a_release_arrives_as_available(event, seats, admitted_fan, admitted_other_fan, open_socket):
    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk, seats[2].pk])
    socket = await _connected(open_socket, event, admitted_fan)

    await release(user=admitted_other_fan, event=event, seat_ids=[seats[1].pk])

    assert (await socket.receive_json_from(timeout=5))["changes"] == [[seats[1].pk, "available"]]


async def test_a_cancelled_booking_frees_its_seats_for_every_map(
    event, seats, admitted_fan, admitted_other_fan, open_socket
):
    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[5].pk])
    booking = await database_sync_to_async(booking_create)(user=admitted_other_fan, event=event)
    socket = await _connected(open_socket, event, admitted_fan)

    await database_sync_to_async(booking_cancel)(booking=booking)

    assert (await socket.receive_json_from(timeout=5))["changes"] == [[seats[5].pk, "available"]]


async def test_every_open_map_of_the_event_gets_the_change_and_other_events_do_not(
    event, seats, admitted_fan, admitted_other_fan, fan, open_socket
):
    other_event = await database_sync_to_async(EventFactory)()
    first = await _connected(open_socket, event, admitted_fan)
    second = await _connected(open_socket, event, fan)
    elsewhere = await _connected(open_socket, other_event, fan)

    await hold(user=admitted_other_fan, event=event, seat_ids=[seats[7].pk])

    for socket in (first, second):
        assert (await socket.receive_json_from(timeout=5))["changes"] == [[seats[7].pk, "held"]]
    assert await elsewhere.receive_nothing(timeout=0.3)


async def test_a_burst_of_changes_is_merged_into_few_messages(event, seats, fan, open_socket):
    socket = await _connected(open_socket, event, fan)
    topic = seats_topic(event.pk)
    bursts = [
        [[seats[0].pk, "held"]],
        [[seats[1].pk, "held"]],
        [[seats[0].pk, "available"], [seats[2].pk, "sold"]],
    ]

    for changes in bursts:
        frame = {"type": "seats", "eventId": event.pk, "changes": changes}
        await database_sync_to_async(publish)(topic, {"frame": frame, "merge": "seats"})

    received: dict[int, str] = {}
    messages = 0
    while len(received) < 3 or received.get(seats[0].pk) != "available":
        message = await socket.receive_json_from(timeout=5)
        messages += 1
        received.update(dict(message["changes"]))
    assert received == {seats[0].pk: "available", seats[1].pk: "held", seats[2].pk: "sold"}
    assert messages == 1  # one window of the process: one frame
    assert await socket.receive_nothing(timeout=BATCH_SECONDS * 2)


async def test_the_client_has_nothing_to_say(event, seats, fan, open_socket):
    socket = await _connected(open_socket, event, fan)

    await socket.send_json_to({"action": "hold", "seatIds": [seats[0].pk]})

    assert await socket.receive_json_from(timeout=5) == {"type": "error", "code": "unknown_action"}
