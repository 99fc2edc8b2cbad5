"""A lean WebSocket client for the load generator: an asyncio ``Protocol`` per socket.

The benchmark's clients run on the same two cores as the servers, so their CPU is part of every
delay measured. The ``websockets`` library costs a task, a queue and a UTF-8 decode per socket and
frame; at 20,000 sockets its reading took more CPU than the servers' writing. This client does only
what a browser's socket must (RFC 6455: the handshake, masked frames to the server, answering pings
and closes) and hands each text frame's bytes to a callback, with the time its bytes arrived.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY = 0x0, 0x1, 0x2
OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x8, 0x9, 0xA

# (socket, arrival time, payload bytes) for every text frame.
OnText = Callable[["LeanWebSocket", float, bytes], None]


def _masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 section 5.3: clients mask everything they send)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return header + mask + masked


class LeanWebSocket(asyncio.Protocol):
    def __init__(self, path: str, host: str, on_text: OnText) -> None:
        self.path = path
        self.host = host
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.handshake_done = False
        self.fragments: bytearray | None = None
        self.close_code: int | None = None
        self.closing_by_us = False

    # --- asyncio.Protocol ---------------------------------------------------------------------------

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.handshake_done:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[: end + 4]
            if b" 101 " not in status_line:
                self._finish(1006)
                self.transport.close()  # type: ignore[union-attr]
                return
            self.handshake_done = True
            if not self.opened.done():
                self.opened.set_result(None)
        self._read_frames(now)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        self._finish(self.close_code if self.close_code is not None else 1006)

    # --- Frames -------------------------------------------------------------------------------------

    def _read_frames(self, now: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            size, start = second & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + size:
                return
            payload = bytes(buffer[start : start + size])
            del buffer[: start + size]
            self._frame(first & 0x80, first & 0x0F, payload, now)

    def _frame(self, fin: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode == OPCODE_PING:
            self.transport.write(_masked_frame(OPCODE_PONG, payload))  # type: ignore[union-attr]
        elif opcode == OPCODE_CLOSE:
            code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
            self.close_code = code
            if not self.closing_by_us:
                self.transport.write(_masked_frame(OPCODE_CLOSE, payload[:2]))  # type: ignore[union-attr]
            self.transport.close()  # type: ignore[union-attr]
        elif opcode in (OPCODE_TEXT, OPCODE_BINARY, OPCODE_CONTINUATION):
            if not fin:
                self.fragments = (self.fragments or bytearray()) + payload
                return
            if self.fragments is not None:
                payload, self.fragments = bytes(self.fragments + payload), None
            self.on_text(self, now, payload)

    def _finish(self, code: int) -> None:
        if not self.closed.done():
            self.closed.set_result(code)

    # --- API --------------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.handshake_done and not self.closed.done()

    def send_text(self, text: str) -> None:
        self.transport.write(_masked_frame(OPCODE_TEXT, text.encode()))  # type: ignore[union-attr]

    async def close(self, code: int = 1000, timeout: float = 5) -> None:
        if self.closed.done() or self.transport is None:
            return
        self.closing_by_us = True
        self.transport.write(_masked_frame(OPCODE_CLOSE, struct.pack("!H", code)))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            self.transport.close()


async def connect(url: str, on_text: OnText, *, timeout: float = 120) -> LeanWebSocket:
    """Open ``ws://host:port/path?query`` and wait for the handshake."""
    if not url.startswith("ws://"):
        raise ValueError("only ws:// URLs")
    authority, _, path = url[5:].partition("/")
    host, _, port = authority.partition(":")
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: LeanWebSocket("/" + path, authority, on_text), host, int(port or 80)),
        timeout,
    )
    await asyncio.wait_for(protocol.opened, timeout)
    return protocol
