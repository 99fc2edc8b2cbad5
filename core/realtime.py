"""Live pushes to WebSockets: Redis pub/sub, one subscription per topic per server process.

Why not the channel layer: a Channels group send writes one message per socket into Redis and every
socket then reads and re-encodes its own copy; at 20,000 sockets one status push was 20,000 Redis
writes and reads. Here a producer (a service after commit, a Celery task) makes one ``PUBLISH`` per
event; each server process holds one pub/sub connection (the ``Hub`` of its event loop), subscribed
once to every topic one of its sockets watches, decodes each message once and fans it out locally:

- ``{"frame": {...}}`` — one frame for every local socket of the topic, encoded once;
- ``{"frame": {...}, "merge": "<kind>"}`` — the same, but frames arriving within the kind's window are
  merged into one first (``register_merger``: seat deltas, fans leaving);
- ``{"to": [key, ...], ...}`` — only for the sockets that joined the topic under one of these keys
  (a fan's user id): each gets ``live_message(topic, envelope)`` and answers for itself
  (``admitted`` is individual and immediate).

Redis pub/sub forgets what nobody heard: after the hub's connection to Redis is lost and made again,
every socket gets ``live_resync()`` to catch up from the stores. Topic names carry
``settings.REALTIME_PREFIX`` (pub/sub channels are not per Redis database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import redis.asyncio as aioredis
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class LiveSocket(Protocol):
    def live_frame(self, text: str, wire: bytes | None = None) -> None: ...

    def live_message(self, topic: str, envelope: dict[str, Any]) -> None: ...

    def live_resync(self) -> None: ...


# redis-py may reconnect more than once in a row: one resynchronisation per outage.
RESYNC_DELAY_SECONDS = 0.5

Merger = Callable[[list[dict[str, Any]]], dict[str, Any]]
_MERGERS: dict[str, tuple[Merger, float]] = {}


def register_merger(kind: str, merge: Merger, *, window_seconds: float) -> None:
    """Frames of ``kind`` arriving within ``window_seconds`` of the first are written as one."""
    _MERGERS[kind] = (merge, window_seconds)


def channel_name(topic: str) -> str:
    return f"{settings.REALTIME_PREFIX}:{topic}"


def text_frame(payload: bytes) -> bytes:
    """A whole WebSocket text frame as a server sends it (RFC 6455 section 5.2: FIN, opcode 1,
    unmasked), so one push is framed once for every socket of the process."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


# --- Producers (synchronous: services after commit, tasks) ----------------------------------------


def publish_many(items: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """PUBLISH each (topic, envelope) in one round trip to Redis."""
    batch = list(items)
    if not batch:
        return
    pipe = get_redis_connection("default").pipeline(transaction=False)
    for topic, envelope in batch:
        pipe.publish(channel_name(topic), encode(envelope))
    pipe.execute()


def publish(topic: str, envelope: dict[str, Any]) -> None:
    publish_many([(topic, envelope)])


# --- The per-process hub (asyncio, inside the server's event loop) ---------------------------------


class Hub:
    """One pub/sub connection and the local sockets of every topic, for one event loop."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[LiveSocket]] = defaultdict(set)
        self.keyed: dict[str, dict[Any, set[LiveSocket]]] = defaultdict(lambda: defaultdict(set))
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.client: aioredis.Redis | None = None
        self.pubsub: Any = None
        self.reader: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.messages_received = 0
        self.resync_timer: asyncio.TimerHandle | None = None
        self.reconnects = 0

    def _connect(self) -> None:
        if self.client is None:
            # Pub/sub reads block with no socket timeout (redis-py waits forever on listen reads);
            # the health check PINGs an idle connection so a dead one is noticed and replaced.
            self.client = aioredis.Redis.from_url(
                settings.REDIS_URL,
                socket_keepalive=True,
                health_check_interval=settings.REALTIME_HEALTH_CHECK_SECONDS,
            )
        if self.pubsub is None:
            self.pubsub = _HubPubSub(self, self.client.connection_pool, ignore_subscribe_messages=True)

    def redis(self) -> aioredis.Redis:
        """The hub's asyncio client, for the odd command of a socket (connection limits)."""
        if self.client is None:
            self._connect()
        return self.client  # type: ignore[return-value]

    async def join(self, topic: str, socket: LiveSocket, key: Any = None) -> None:
        """Deliver the topic to this socket from now on (subscribed in Redis when this returns)."""
        first = not self.sockets[topic]
        self.sockets[topic].add(socket)
        if key is not None:
            self.keyed[topic][key].add(socket)
        if self.pubsub is None:
            self._connect()
        if first:
            try:
                await self.pubsub.subscribe(channel_name(topic))
            except (RedisError, OSError):
                logger.warning("Live updates: subscribing to %s failed; the reader will retry.", topic)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(self._read_forever())

    def leave(self, topic: str, socket: LiveSocket, key: Any = None) -> None:
        sockets = self.sockets.get(topic)
        if sockets is None:
            return
        sockets.discard(socket)
        if key is not None and topic in self.keyed:
            same_key = self.keyed[topic].get(key)
            if same_key is not None:
                same_key.discard(socket)
                if not same_key:
                    del self.keyed[topic][key]
        if not sockets:
            del self.sockets[topic]
            self.keyed.pop(topic, None)
            if self.pubsub is not None and self.pubsub.connection is not None:
                asyncio.get_running_loop().create_task(self._unsubscribe(topic))

    async def _unsubscribe(self, topic: str) -> None:
        if topic in self.sockets:  # somebody joined again meanwhile
            return
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.unsubscribe(channel_name(topic))

    # --- Reading --------------------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        backoff = 0.5
        prefix = settings.REALTIME_PREFIX + ":"
        while self.sockets:
            try:
                message = await self.pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=settings.REALTIME_HEALTH_CHECK_SECONDS
                )
                self.connected.set()
                backoff = 0.5
            except (RedisError, OSError, RuntimeError) as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # A read cut short by our own cancellation (close, shutdown) may surface as a
                    # connection error: stop, instead of reconnecting forever.
                    raise asyncio.CancelledError from error
                self.connected.clear()
                logger.warning("Live updates: pub/sub connection lost (%s); reconnecting.", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                if self.pubsub.connection is None:  # Redis was down when the first socket joined
                    await self._resubscribe()
                # Otherwise redis-py connects again at the next read and subscribes to every topic
                # again; _HubPubSub.on_connect then has the sockets resynchronise.
                continue
            if message is None or message.get("type") != "message":
                continue
            self.messages_received += 1
            topic = message["channel"].decode()[len(prefix) :]
            try:
                self._dispatch(topic, json.loads(message["data"]))
            except Exception:  # one bad message or socket must not stop the process's live updates
                logger.exception("Live updates: could not deliver a message on %s.", topic)

    def resync_all(self) -> None:
        """What was published while we were away is gone: let every socket catch up, once, a moment
        after the last of the reconnections of one outage."""
        if self.resync_timer is not None:
            self.resync_timer.cancel()
        self.resync_timer = asyncio.get_running_loop().call_later(RESYNC_DELAY_SECONDS, self._resync_now)

    def _resync_now(self) -> None:
        self.resync_timer = None
        self.reconnects += 1
        for sockets in list(self.sockets.values()):
            for socket in list(sockets):
                socket.live_resync()

    async def _resubscribe(self) -> None:
        old = self.pubsub
        with contextlib.suppress(Exception):
            await old.aclose()
        with contextlib.suppress(Exception):
            await self.client.aclose()  # type: ignore[union-attr]
        self.client = self.pubsub = None
        self._connect()
        try:
            if self.sockets:
                await self.pubsub.subscribe(*(channel_name(topic) for topic in self.sockets))
        except (RedisError, OSError):
            return
        self.resync_all()

    def _dispatch(self, topic: str, envelope: dict[str, Any]) -> None:
        targets = envelope.get("to")
        if targets is not None:
            keyed = self.keyed.get(topic, {})
            for key in targets:
                for socket in list(keyed.get(key, ())):
                    socket.live_message(topic, envelope)
            return
        kind = envelope.get("merge")
        if kind in _MERGERS:
            waiting = self.pending.get(topic)
            if waiting is not None:
                waiting.append(envelope["frame"])
                return
            self.pending[topic] = [envelope["frame"]]
            asyncio.get_running_loop().call_later(_MERGERS[kind][1], self._flush_merged, topic, kind)
            return
        self.write_frame(topic, encode(envelope["frame"]))

    def _flush_merged(self, topic: str, kind: str) -> None:
        frames = self.pending.pop(topic, [])
        if frames:
            self.write_frame(topic, encode(_MERGERS[kind][0](frames)))

    def write_frame(self, topic: str, text: str) -> None:
        """One encoded frame to every local socket of the topic (JSON and wire bytes made once)."""
        sockets = list(self.sockets.get(topic, ()))
        if sockets:
            wire = text_frame(text.encode())
            for socket in sockets:
                socket.live_frame(text, wire)

    async def close(self) -> None:
        if self.resync_timer is not None:
            self.resync_timer.cancel()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.aclose()
        self.pubsub = self.client = self.reader = None


class _HubPubSub(aioredis.client.PubSub):
    """redis-py reconnects a dropped pub/sub connection by itself and subscribes again, silently:
    tell the hub, whose sockets missed whatever was published in between."""

    def __init__(self, owner: Hub, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner

    async def on_connect(self, connection: Any) -> None:
        await super().on_connect(connection)
        self.owner.resync_all()


_HUBS: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (one per server process in production)."""
    loop = asyncio.get_running_loop()
    found = _HUBS.get(loop)
    if found is None:
        for stale in [other for other in _HUBS if other.is_closed()]:
            del _HUBS[stale]
        found = _HUBS[loop] = Hub()
    return found


async def close_hub() -> None:
    """Close the running loop's hub (tests, shutdown)."""
    found = _HUBS.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()
