"""The waiting room's WebSocket: ``/ws/queue/<event_id>/``.

Authentication: the session cookie (web pages), or a JWT *access* token in the query string
(``?token=<access>``, mobile clients). A token, when given, is the only credential looked at; a refresh
token or an expired one is refused.

The socket is always accepted first, so that a refusal reaches the client as a close code it can read
(a refused handshake is an opaque HTTP 403):

- ``4401`` — not authenticated (no session, bad or non-access token, inactive user);
- ``4404`` — no such event (unknown, draft).

Server → client (JSON):

- ``{"type": "status", "eventId", "status", "position", "usersAhead", "queueSize", "estimatedWaitTime",
  "progress", "isPaused", "exact": true, "sequence", "headSequence"}`` — the exact reading, on connect
  and on ``refresh``. ``status`` is ``prequeue`` / ``waiting`` / ``admitted`` / ``expired``;
  ``position`` is 1-based (``null`` outside ``waiting``), ``estimatedWaitTime`` in seconds, ``progress``
  0-100; ``sequence`` is the fan's place in the join order and ``headSequence`` the last sequence
  admitted when it was read; ``startPosition`` the first place (the progress bar's start).
  ``admitted`` adds ``expiresAt`` and ``redirectUrl``.
- ``{"type": "queue", ...}`` — the event's frame (``queueing.notify``), the same bytes for every socket,
  sent when the queue moves (admissions, leaves, pause/resume) and as a slow heartbeat. The client
  derives its place: ``position - (frame.headSequence - headSequence) - (leavers between)``, and counts
  the wait down itself. A pre-queued client that sees ``prequeueSize`` 0 (the opening lottery ran)
  sends ``refresh`` after a random 0-3 s to learn the place it drew.
- ``{"type": "admitted", "eventId", "expiresAt", "redirectUrl"}`` — at once when the fan's batch is let
  in: go to ``redirectUrl`` (the seat map).
- ``{"type": "expired", "eventId"}`` — the admission pass ran out.
- ``{"type": "not_in_queue", "eventId"}`` — the fan holds no place; the socket stays open (join
  elsewhere, then send ``refresh``).
- ``{"type": "error", "code"}`` — ``unknown_action`` or ``refresh_too_often`` (with ``retryAfter``).

Client → server: ``{"action": "refresh"}`` — recompute the exact place now (a few per 10 s). More
than ``WS_CLIENT_RATE`` messages close the socket (1008); a client too slow to read is closed with
1013 and too many connections from one address with 4429 (``core.websocket``).

Cost: one Redis read on connect and per refresh; nothing per socket when the queue moves, beyond
writing the process's one encoded frame (``core.realtime``). Consumers read through the selectors and
never write.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from core.realtime import encode
from core.urls import is_id
from core.websocket import (
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNKNOWN_EVENT,
    LiveJsonWebsocketConsumer,
    connection_allowed,
    websocket_user,
)
from events.models import Event
from queueing import selectors
from queueing.exceptions import EventNotFound
from queueing.notify import admitted_redirect_url, queue_topic
from queueing.presenters import progress_percent, progress_start_from_cookies, status_message
from queueing.selectors import QueueState, QueueStatus

REFRESH_WINDOW_SECONDS = 10.0
REFRESHES_PER_WINDOW = 5
# After the hub lost Redis every socket reads its exact place again: spread those reads out.
RESYNC_SPREAD_SECONDS = 5.0


@dataclass(frozen=True)
class ExactReading:
    status: QueueStatus | None
    head_sequence: int
    is_paused: bool
    start_position: int | None


# The event as its sockets last read it, one object per event and version per process: thousands of
# sockets of one event share it (read only) instead of holding a copy each. A socket keeps the event it
# read on connect; a staff edit reaches every socket opened after it (``shared_event``).
_shared_events: weakref.WeakValueDictionary[int, Event] = weakref.WeakValueDictionary()


def _field_values(event: Event) -> tuple[Any, ...]:
    return tuple(getattr(event, field.attname) for field in Event._meta.concrete_fields)


def shared_event(event: Event) -> Event:
    """This process's object for the event just read: the one its sockets share, when unchanged."""
    current = _shared_events.get(event.pk)
    if current is not None and _field_values(current) == _field_values(event):
        return current
    _shared_events[event.pk] = event
    return event


def _event_or_none(raw_event_id: str) -> Event | None:
    if not is_id(raw_event_id):
        return None
    try:
        return selectors.queue_event_get(event_id=int(raw_event_id))
    except EventNotFound:
        return None


def _read_exact(*, user_id: int, event: Event, cookies: dict[str, str]) -> ExactReading:
    # The fan's place first, then the head: an admission in between makes the estimate err long.
    # The socket keeps the fan's id, not a user object: the reads only need the key.
    status = selectors.queue_status(user=get_user_model()(pk=user_id), event=event)
    stats = selectors.queue_stats(event=event)
    return ExactReading(
        status=status,
        head_sequence=stats.head_sequence,
        is_paused=stats.is_paused,
        start_position=progress_start_from_cookies(cookies, event.pk),
    )


class QueueConsumer(LiveJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.event: Event | None = None  # shared with the event's other sockets (shared_event)
        self.user_id: int | None = None
        self.status: QueueStatus | None = None
        self.start_position: int | None = None
        self.refreshes: deque[float] | None = None  # created by the first refresh
        self.resync: asyncio.Task | None = None

        await self.accept()
        if not await connection_allowed(self.scope):
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        user = await websocket_user(self.scope)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        event = await database_sync_to_async(_event_or_none)(
            str(self.scope["url_route"]["kwargs"]["event_id"])
        )
        if event is None:
            await self.close(code=CLOSE_UNKNOWN_EVENT)
            return
        self.user_id, self.event = user.pk, shared_event(event)
        # Subscribe before reading, so nothing published in between is missed.
        await self.join_topic(queue_topic(self.event.pk), key=self.user_id)
        await self.send_exact_status()

    async def disconnect(self, code: int) -> None:
        if self.resync is not None:
            self.resync.cancel()

    # --- Exact reads ------------------------------------------------------------------------------

    async def send_exact_status(self) -> None:
        if self.event is None:
            return
        event = self.event
        reading = await database_sync_to_async(_read_exact)(
            user_id=self.user_id, event=event, cookies=self.scope.get("cookies") or {}
        )
        self.status = status = reading.status
        if status is None:
            await self.send_json({"type": "not_in_queue", "eventId": event.pk})
            return
        if status.position is not None:
            candidates = (self.start_position, reading.start_position, status.position)
            self.start_position = max(value for value in candidates if value is not None)
        message = status_message(
            status=status,
            progress=progress_percent(start_position=self.start_position, position=status.position),
            is_paused=reading.is_paused,
            exact=True,
            redirect_url=admitted_redirect_url(event),
        )
        message["sequence"] = status.sequence
        message["headSequence"] = reading.head_sequence
        message["startPosition"] = self.start_position
        await self.send_json(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("action") != "refresh":
            await self.send_json({"type": "error", "code": "unknown_action"})
            return
        if self.event is None:
            return
        now = time.monotonic()
        if self.refreshes is None:
            self.refreshes = deque()
        while self.refreshes and self.refreshes[0] <= now - REFRESH_WINDOW_SECONDS:
            self.refreshes.popleft()
        if len(self.refreshes) >= REFRESHES_PER_WINDOW:
            retry_after = max(1, round(self.refreshes[0] + REFRESH_WINDOW_SECONDS - now))
            await self.send_json({"type": "error", "code": "refresh_too_often", "retryAfter": retry_after})
            return
        self.refreshes.append(now)
        await self.send_exact_status()

    # --- Live messages for this fan (see queueing.notify) -------------------------------------------

    def live_message(self, topic: str, envelope: dict[str, Any]) -> None:
        kind = envelope.get("kind")
        if kind == "admitted":
            if self.status is not None:
                self.status = QueueStatus(event_id=self.status.event_id, status=QueueState.ADMITTED)
            message = {
                "type": "admitted",
                "eventId": envelope["eventId"],
                "expiresAt": envelope["expiresAt"],
                "redirectUrl": envelope["redirectUrl"],
            }
        elif kind == "expired":
            if self.status is not None:
                self.status = QueueStatus(event_id=self.status.event_id, status=QueueState.EXPIRED)
            message = {"type": "expired", "eventId": envelope["eventId"]}
        else:
            return
        self.live_frame(encode(message))

    def live_resync(self) -> None:
        if self.resync is not None and not self.resync.done():
            return

        async def read_again() -> None:
            await asyncio.sleep(random.uniform(0, RESYNC_SPREAD_SECONDS))  # noqa: S311
            await self.send_exact_status()

        self.resync = asyncio.get_running_loop().create_task(read_again())
