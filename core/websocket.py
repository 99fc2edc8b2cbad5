"""WebSocket plumbing shared by the consumers: origin policy, who is connecting, close codes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from redis.exceptions import RedisError
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from core.ratelimit import client_address_of_scope, parse_rate
from core.realtime import hub, text_frame
from core.ws_protocol import FRAME_WRITER_EXTENSION


class BrowserOriginValidator:
    """Browsers must come from an allowed host (cookies ride along, so a foreign page must not connect).

    Native mobile clients often send no Origin header at all; they authenticate with `?token=<JWT>`,
    which a foreign web page cannot borrow, so a socket without an Origin is let through only with
    a token. The consumer still validates that token.
    """

    def __init__(self, application):
        self.application = application
        self.browser_checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        has_token = bool(parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token"))
        if not has_origin and has_token:
            return await self.application(scope, receive, send)
        return await self.browser_checked(scope, receive, send)


# Close codes our consumers use after accepting, so a client can read why it was refused.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_UNKNOWN_EVENT = 4404


def _user_from_access_token(raw_token: str):
    """The active user of a JWT *access* token (refresh tokens are refused), or None."""
    authentication = JWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(raw_token.encode()))
    except (InvalidToken, AuthenticationFailed):
        return None


async def websocket_user(scope):
    """Who opened the socket: the `?token=` access token when given (mobile), else the session user.

    None when neither identifies an active user.
    """
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if tokens:
        return await database_sync_to_async(_user_from_access_token)(tokens[0])
    user = scope.get("user")
    return user if user is not None and user.is_authenticated else None


# --- Live sockets: bounded sends, bounded client input, limited connection attempts ----------------

CLOSE_POLICY = 1008  # the client flooded us with messages
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013  # too slow to read what we send: reconnect, resynchronise
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_FLUSH_SECONDS = 2.0


async def connection_allowed(scope) -> bool:
    """At most WS_CONNECT_RATE_IP new sockets per address (one Redis INCR, a fixed window)."""
    if not settings.WS_CONNECT_LIMIT_ENABLE:
        return True
    limit, period = parse_rate(settings.WS_CONNECT_RATE_IP)
    window = int(time.time() // period)
    key = f"{settings.REALTIME_PREFIX}:wsconnect:{client_address_of_scope(scope)}:{window}"
    try:
        pipe = hub().redis().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, period + 1)
        count, _ = await pipe.execute()
    except (RedisError, OSError):
        return True  # Redis is down: the socket will say so itself; never refuse for our outage
    return int(count) <= limit


class _Resume:
    """Await a coroutine that was started outside any task and is suspended on ``waiting_on``.

    What ``yield from`` would do: each future the coroutine waits on goes to the awaiting task, and what
    the task sends or throws back goes to the coroutine, cancellation included.
    """

    def __init__(self, coroutine, waiting_on) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self):
        waiting_on = self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except BaseException as error:  # noqa: BLE001 - handed to the coroutine, as yield from does
                try:
                    waiting_on = self.coroutine.throw(error)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = self.coroutine.send(sent)
                except StopIteration as done:
                    return done.value


class LiveJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    """A JSON WebSocket consumer fed by the process's live hub (``core.realtime``), not a channel layer.

    A frame is written at once when nothing is queued (no task per socket and push); otherwise it
    joins a bounded outbox written by a task that lives only while there is something to send. A
    client that does not read (its TCP buffers full) makes the outbox fill up, and at
    ``WS_SEND_QUEUE_FRAMES`` it is closed with 1013 (it reconnects and resynchronises) instead of
    growing the server's memory. Client messages are bounded in size and in rate (``WS_CLIENT_RATE``).
    """

    # No per-socket channel-layer channel: pushes come from the hub (one subscription per process).
    channel_layer_alias = "no channel layer"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Created when first needed: an empty deque is ~760 bytes, times every idle socket.
        self.outbox: deque[dict[str, Any]] | None = None
        self.writer: asyncio.Task | None = None
        self.closing = False
        self.client_messages: deque[float] | None = None
        self.live_topics: list[tuple[str, Any]] = []

    async def __call__(self, scope, receive, send) -> None:
        # Channels' loop waits on the client and the channel layer with a task and a wait set per
        # socket (~2.6 KiB each); with no channel layer the client's messages are read right here.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def join_topic(self, topic: str, key: Any = None) -> None:
        self.live_topics.append((topic, key))
        await hub().join(topic, self, key)

    async def websocket_disconnect(self, message) -> None:
        self.closing = True
        for topic, key in self.live_topics:
            hub().leave(topic, self, key)
        self.live_topics = []
        if self.writer is not None:
            self.writer.cancel()
        await super().websocket_disconnect(message)

    # --- Sending --------------------------------------------------------------------------------

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        # Everything in order through the outbox, so an exact reading never overtakes a push.
        if text_data is None:
            await super().send(text_data, bytes_data, close)
            return
        self.live_frame(text_data)
        if close:
            await self.close(close)

    async def send_json(self, content, close=False) -> None:
        self.live_frame(await self.encode_json(content))
        if close:
            await self.close(close)

    def live_frame(self, text: str, wire: bytes | None = None) -> None:
        if self.closing:
            return
        if self.writer is None:  # nothing queued before it: the frame may go straight out
            # The server we ship writes the ready-made frame to the transport (core.ws_protocol).
            frame_writer = (self.scope.get("extensions") or {}).get(FRAME_WRITER_EXTENSION)
            if frame_writer is not None and frame_writer.write_frame(wire or text_frame(text.encode())):
                return
        if self.outbox is not None and len(self.outbox) >= settings.WS_SEND_QUEUE_FRAMES:
            self.closing = True
            self.outbox = None
            if self.writer is not None:
                self.writer.cancel()
            asyncio.get_running_loop().create_task(self._close_now(CLOSE_TRY_AGAIN_LATER))
            return
        message = {"type": "websocket.send", "text": text}
        if self.writer is not None:
            if self.outbox is None:
                self.outbox = deque()
            self.outbox.append(message)
            return
        # Nothing queued: write now, in this loop iteration. A send that does not have to wait (the
        # client reads) completes without a task, which is most of the cost of a push to 10,000
        # sockets; one that waits (the client's buffers are full) finishes in the writer task.
        send = self._frame_send()
        started = send(message)
        try:
            waiting_on = started.send(None)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - the client went away mid-send: disconnect follows
            self._lost()
            return
        self.writer = asyncio.get_running_loop().create_task(self._write(_Resume(started, waiting_on)))

    def _frame_send(self):
        """The send for data frames: past Channels' session wrapper, which only acts on the handshake
        but inspects the session on every frame."""
        send = self.base_send
        while isinstance(getattr(send, "__self__", None), InstanceSessionWrapper):
            send = send.__self__.real_send
        return send

    async def _write(self, unfinished: _Resume | None = None) -> None:
        try:
            if unfinished is not None:
                await unfinished
            send = self._frame_send()
            while self.outbox:
                await send(self.outbox.popleft())
            self.outbox = None  # drained: give its memory back
        except Exception:  # noqa: BLE001 - the client went away mid-send: disconnect follows
            self._lost()
        finally:
            self.writer = None

    def _lost(self) -> None:
        self.closing = True
        self.outbox = None

    async def _close_now(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.base_send({"type": "websocket.close", "code": code})

    async def close(self, code=None, reason=None) -> None:
        if self.writer is not None:  # what was queued before the close goes first (if it can)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.writer), CLOSE_FLUSH_SECONDS)
        self.closing = True
        await super().close(code, reason)

    def live_message(self, topic: str, envelope: dict[str, Any]) -> None:
        """A message for this socket only (``{"to": [...]}``); subclasses answer it."""

    def live_resync(self) -> None:
        """The hub lost Redis for a while: subclasses catch up from the stores."""

    # --- Receiving ------------------------------------------------------------------------------

    async def websocket_receive(self, message) -> None:
        if self.closing:
            return
        text = message.get("text")
        size = len(text) if text is not None else len(message.get("bytes") or b"")
        if size > settings.WS_MAX_MESSAGE_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        limit, period = parse_rate(settings.WS_CLIENT_RATE)
        now = time.monotonic()
        if self.client_messages is None:
            self.client_messages = deque()
        while self.client_messages and self.client_messages[0] <= now - period:
            self.client_messages.popleft()
        self.client_messages.append(now)
        if len(self.client_messages) > limit:
            await self.close(code=CLOSE_POLICY)
            return
        await super().websocket_receive(message)
