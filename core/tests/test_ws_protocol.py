"""The server's WebSocket protocol (``core.ws_protocol``): uvicorn's, keeping less per socket."""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import uvicorn
import websockets
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from core.realtime import text_frame
from core.ws_protocol import FRAME_WRITER_EXTENSION, ReceiveQueue, TurnstileWebSocketProtocol, WritableFlag


def _in_own_loop(coroutine_function):
    # A thread of its own: the browser tests' Playwright keeps an event loop running in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()


def test_uvicorn_uses_no_more_of_the_queue_and_event_than_the_light_ones_offer():
    """A uvicorn upgrade that calls something else on them must fail here, not in production."""
    source = inspect.getsource(WebSocketsSansIOProtocol)
    assert set(re.findall(r"self\.queue\.(\w+)", source)) <= {"put_nowait", "get", "empty", "qsize"}
    assert set(re.findall(r"self\.writable\.(\w+)", source)) <= {"set", "clear", "is_set", "wait"}


def test_the_receive_queue_hands_messages_over_in_order_to_a_waiting_reader():
    async def scenario():
        queue = ReceiveQueue()
        reader = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        assert not reader.done()
        queue.put_nowait("connect")
        queue.put_nowait("receive")
        assert await reader == "connect"
        assert queue.qsize() == 1
        assert not queue.empty()
        assert await queue.get() == "receive"
        assert queue.empty()
        with pytest.raises(asyncio.QueueEmpty):
            queue.get_nowait()

        # A cancelled reader leaves nothing behind and takes nothing.
        cancelled = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert queue._getters is None
        queue.put_nowait("disconnect")
        assert await asyncio.wait_for(queue.get(), 1) == "disconnect"

    _in_own_loop(scenario)


def test_the_writable_flag_wakes_every_waiting_writer():
    async def scenario():
        flag = WritableFlag()
        assert not flag.is_set()
        waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(waiter.done() for waiter in waiters)
        flag.set()
        assert await asyncio.gather(*waiters) == [True, True, True]
        assert flag._waiters is None
        flag.clear()
        assert not flag.is_set()
        flag.set()
        assert await asyncio.wait_for(flag.wait(), 1) is True

    _in_own_loop(scenario)


def test_the_shipped_server_uses_this_protocol(monkeypatch):
    from ticketing import serve

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    serve.main()
    assert seen["ws"] == "core.ws_protocol:TurnstileWebSocketProtocol"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_real_socket_keeps_no_handshake_and_gets_frames_both_ways():
    """Through a real uvicorn server: the app still sees every header and talks both ways; the
    handshake's request headers and response are let go; the direct writer reaches the client."""
    seen: dict = {}

    async def app(scope, receive, send):
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        protocol = scope["extensions"][FRAME_WRITER_EXTENSION]
        seen["headers"] = dict(scope["headers"])
        seen["request"], seen["response"] = protocol.request, protocol.response
        seen["connections"] = list(protocol.connections)
        assert protocol.write_frame(text_frame(b"direct"))
        message = await receive()
        await send({"type": "websocket.send", "text": "echo:" + message["text"]})
        assert (await receive())["type"] == "websocket.disconnect"
        seen["scope"] = scope

    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=TurnstileWebSocketProtocol,
        ws_per_message_deflate=False,  # as shipped: with compression the frames go through websockets
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:

        async def client():
            for _ in range(100):
                if server.started:
                    break
                await asyncio.sleep(0.05)
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/", additional_headers={"X-Probe": "yes"}
            ) as connection:
                assert await asyncio.wait_for(connection.recv(), 5) == "direct"
                await connection.send("hello")
                assert await asyncio.wait_for(connection.recv(), 5) == "echo:hello"

        _in_own_loop(client)
    finally:
        server.should_exit = True
        thread.join(10)
    assert seen["headers"][b"x-probe"] == b"yes"
    assert seen["request"] is None
    assert seen["response"] is None
    (protocol,) = seen["connections"]
    assert isinstance(protocol, TurnstileWebSocketProtocol)
    # Once the connection is lost the scope lets go of the protocol (no reference cycle left behind).
    assert FRAME_WRITER_EXTENSION not in seen["scope"]["extensions"]
