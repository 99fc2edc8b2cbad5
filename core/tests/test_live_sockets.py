"""Live sockets stay bounded (slow readers, floods, connection storms) and survive losing Redis."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from bookings.consumers import SeatMapConsumer
from bookings.notify import seats_topic
from core.realtime import close_hub, hub, publish
from core.websocket import CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TOO_MANY_CONNECTIONS, CLOSE_TRY_AGAIN_LATER
from events.tests.factories import EventFactory
from ticketing.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
async def seat_map_socket(fan):
    """Open seat-map sockets (logged in as ``fan``) on the real application; all closed afterwards."""
    opened: list[WebsocketCommunicator] = []
    event = await database_sync_to_async(EventFactory)()
    cookie = await database_sync_to_async(_session_cookie)(fan)

    async def open_() -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(
            application, f"/ws/events/{event.pk}/seats/", headers=[ORIGIN, (b"cookie", cookie)]
        )
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        return communicator

    open_.event = event  # type: ignore[attr-defined]
    yield open_
    for communicator in opened:
        await communicator.disconnect()
    await close_hub()


async def _close_code(communicator: WebsocketCommunicator) -> int:
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output["code"]


async def test_a_client_that_stops_reading_is_closed_instead_of_buffered(settings, fan):
    settings.WS_SEND_QUEUE_FRAMES = 4
    event = await database_sync_to_async(EventFactory)()
    sent: list[dict] = []
    never = asyncio.Event()
    incoming: asyncio.Queue = asyncio.Queue()

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "websocket.send":
            await never.wait()  # the client's buffers are full: this write never completes

    scope = {
        "type": "websocket",
        "path": f"/ws/events/{event.pk}/seats/",
        "url_route": {"args": (), "kwargs": {"event_id": str(event.pk)}},
        "headers": [],
        "query_string": b"",
        "client": ("198.51.100.7", 5000),
        "user": fan,
    }
    await incoming.put({"type": "websocket.connect"})
    consumer = asyncio.create_task(SeatMapConsumer.as_asgi()(scope, incoming.get, send))
    try:
        for _ in range(100):  # until the snapshot write is stuck
            if any(message["type"] == "websocket.send" for message in sent):
                break
            await asyncio.sleep(0.05)
        for number in range(settings.WS_SEND_QUEUE_FRAMES + 1):
            hub().write_frame(seats_topic(event.pk), f'{{"type":"seats","n":{number}}}')
        await asyncio.sleep(0.1)

        closes = [message for message in sent if message["type"] == "websocket.close"]
        assert closes == [{"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER}]
        assert len([message for message in sent if message["type"] == "websocket.send"]) == 1
    finally:
        await incoming.put({"type": "websocket.disconnect", "code": CLOSE_TRY_AGAIN_LATER})
        await asyncio.wait_for(consumer, 5)
        await close_hub()


async def test_a_flood_of_client_messages_closes_the_socket(settings, seat_map_socket):
    settings.WS_CLIENT_RATE = "3/min"
    socket = await seat_map_socket()
    assert (await socket.receive_json_from(timeout=5))["type"] == "snapshot"

    for _ in range(3):
        await socket.send_json_to({"hello": 1})
        assert await socket.receive_json_from(timeout=5) == {"type": "error", "code": "unknown_action"}
    await socket.send_json_to({"hello": 1})

    assert await _close_code(socket) == CLOSE_POLICY


async def test_an_oversized_client_message_closes_the_socket(settings, seat_map_socket):
    socket = await seat_map_socket()
    await socket.receive_json_from(timeout=5)

    await socket.send_to(text_data="x" * (settings.WS_MAX_MESSAGE_BYTES + 1))

    assert await _close_code(socket) == CLOSE_TOO_BIG


async def test_connection_attempts_are_limited_per_address(settings, seat_map_socket):
    settings.WS_CONNECT_LIMIT_ENABLE = True
    settings.WS_CONNECT_RATE_IP = "2/min"
    for _ in range(2):
        socket = await seat_map_socket()
        assert (await socket.receive_json_from(timeout=5))["type"] == "snapshot"

    refused = await seat_map_socket()

    assert await _close_code(refused) == CLOSE_TOO_MANY_CONNECTIONS


async def test_after_the_hub_loses_redis_sockets_resynchronise_and_pushes_flow_again(seat_map_socket):
    socket = await seat_map_socket()
    assert (await socket.receive_json_from(timeout=5))["type"] == "snapshot"
    topic = seats_topic(seat_map_socket.event.pk)

    await hub().pubsub.connection.disconnect()  # as when Redis restarts or a network blip cuts it

    # Whatever was published meanwhile is lost: the socket gets a fresh snapshot instead.
    assert (await socket.receive_json_from(timeout=10))["type"] == "snapshot"
    frame = {"type": "seats", "eventId": seat_map_socket.event.pk, "changes": [[1, "held"]]}
    await database_sync_to_async(publish)(topic, {"frame": frame})
    assert await socket.receive_json_from(timeout=5) == frame
    assert await socket.receive_nothing(timeout=1)  # one resynchronisation per outage


async def test_the_hubs_reader_stops_when_cancelled_even_if_the_read_fails_as_a_connection_error():
    """A pub/sub read cut short by cancellation may surface as a connection error: the reader must
    still stop (it used to reconnect and read again, so closing a loop could wait forever)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core.realtime import Hub

    class ReadThatTurnsCancellationIntoAnError:
        connection = object()

        async def get_message(self, **kwargs):
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                raise RedisConnectionError("Connection closed by server.") from None

    live = Hub()
    live.sockets["some-topic"].add(object())  # type: ignore[arg-type]
    live.pubsub = ReadThatTurnsCancellationIntoAnError()
    reader = asyncio.get_running_loop().create_task(live._read_forever())
    await asyncio.sleep(0.05)

    reader.cancel()
    done, _ = await asyncio.wait({reader}, timeout=3)

    stopped = reader in done
    if not stopped:  # let a reader that kept going end: no sockets left, so no more reads
        live.sockets.clear()
        reader.cancel()
        await asyncio.wait({reader}, timeout=3)
    assert stopped
    assert reader.cancelled()
