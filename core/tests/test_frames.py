"""Pushes are framed once per process and written straight to the socket (core.ws_protocol) when safe."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from core.realtime import text_frame
from core.ws_protocol import TurnstileWebSocketProtocol


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_frame_is_what_websockets_itself_would_send(size):
    payload = b"x" * size
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


def _open_protocol() -> SimpleNamespace:
    writable = asyncio.Event()
    writable.set()
    return SimpleNamespace(
        handshake_complete=True,
        close_sent=False,
        disconnected=False,
        initial_response=None,
        writable=writable,
        conn=SimpleNamespace(state=State.OPEN, extensions=[]),
        transport=_Transport(),
    )


def test_an_open_socket_gets_the_frame_on_its_transport():
    protocol = _open_protocol()
    assert TurnstileWebSocketProtocol.write_frame(protocol, b"frame")
    assert protocol.transport.written == [b"frame"]


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "handshake_complete", False),
        lambda p: setattr(p, "close_sent", True),
        lambda p: setattr(p, "disconnected", True),
        lambda p: setattr(p, "initial_response", (403, [], b"")),
        lambda p: p.writable.clear(),  # the client is not reading: the bounded outbox takes it
        lambda p: setattr(p.conn, "state", State.CLOSING),
        lambda p: setattr(p.conn, "extensions", [object()]),  # framing negotiated: ASGI must frame
        lambda p: setattr(p.transport, "closing", True),
    ],
)
def test_a_socket_that_is_not_plainly_open_and_writable_is_refused(change):
    protocol = _open_protocol()
    change(protocol)
    assert not TurnstileWebSocketProtocol.write_frame(protocol, b"frame")
    assert protocol.transport.written == []
