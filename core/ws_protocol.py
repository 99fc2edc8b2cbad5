"""The WebSocket protocol of the server we ship: uvicorn's sans-I/O protocol, lighter per socket.

``python -m ticketing.serve`` runs uvicorn with ``ws="core.ws_protocol:TurnstileWebSocketProtocol"``.
An idle queue socket is mostly what the server keeps for it, so this subclass keeps less (issue 9:
at most 30 KiB a socket), changing nothing on the wire or in what the ASGI app sees:

- the receive queue and the "writable" flag are small ``__slots__`` objects with the part of
  ``asyncio.Queue`` and ``asyncio.Event`` that uvicorn uses (five empty deques, ~3.8 KiB, otherwise);
- once the handshake is answered, the handshake request's header fields are cleared (the ASGI scope
  has its own copy; websockets' parser keeps the request object for the life of the connection) and
  the handshake response is dropped;
- it offers consumers a direct frame writer (``FRAME_WRITER_EXTENSION`` in ``scope["extensions"]``):
  a push is the same bytes for every socket, so the hub frames it once and ``write_frame`` writes it to
  each transport, only while the socket is plainly open and writable; otherwise it says no and the
  frame goes through ASGI ``send``. Under any other server the extension is absent.

No Django import here: uvicorn loads this class in each worker before the application.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

# scope["extensions"][FRAME_WRITER_EXTENSION]: an object with ``write_frame(frame: bytes) -> bool``.
FRAME_WRITER_EXTENSION = "turnstile.frame_writer"


class ReceiveQueue:
    """What uvicorn's protocol uses of ``asyncio.Queue``: ``put_nowait``, ``get``, ``empty``, ``qsize``.

    Unbounded like uvicorn's queue (uvicorn pauses reading while the app has not taken a message).
    The waiting getters are futures in a list made only when someone waits.
    """

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_one()

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                self._forget(getter)
                if self._items and not getter.cancelled():  # woken, then cancelled: pass the turn on
                    self._wake_one()
                raise
            self._forget(getter)
        return self._items.pop(0)

    def _forget(self, getter: asyncio.Future[None]) -> None:
        if self._getters is not None and getter in self._getters:
            self._getters.remove(getter)
            if not self._getters:
                self._getters = None

    def _wake_one(self) -> None:
        for getter in self._getters or ():
            if not getter.done():
                getter.set_result(None)
                return


class WritableFlag:
    """What uvicorn's protocol uses of ``asyncio.Event``: ``set``, ``clear``, ``is_set``, ``wait``."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            self._waiters.remove(waiter)
            if not self._waiters:
                self._waiters = None


class TurnstileWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = WritableFlag()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.handshake_complete:  # refused by websockets (a bad handshake): nothing more to do
            return
        # The scope (made by uvicorn just now) holds its own copy of the headers.
        self.request = None
        event.headers.clear()
        # Before the application runs: it is started as a task, not called here.
        self.scope["extensions"][FRAME_WRITER_EXTENSION] = self  # type: ignore[index]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        # The scope refers to this protocol: let it go, so that a closed socket is freed by reference
        # counting rather than left for the cycle collector. The application then sends through ASGI.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(FRAME_WRITER_EXTENSION, None)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:
            self.response = None  # type: ignore[assignment]

    def write_frame(self, frame: bytes) -> bool:
        """Write a ready-made frame now, if the socket is plainly open and writable; else False."""
        if (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
            and self.writable.is_set()
            and self.conn.state is State.OPEN
            and not self.conn.extensions
            and not self.transport.is_closing()
        ):
            self.transport.write(frame)
            return True
        return False
