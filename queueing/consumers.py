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
  "progress", "isPaused", "exact"}`` — ``status`` is ``prequeue`` / ``waiting`` / ``admitted`` /
  ``expired``; ``position`` is 1-based (``null`` outside ``waiting``), ``estimatedWaitTime`` in seconds,
  ``progress`` 0-100. ``exact`` is true when read from Redis (on connect, on ``refresh``), false when
  estimated from the event's broadcast (every few seconds). ``admitted`` adds ``expiresAt`` and
  ``redirectUrl``.
- ``{"type": "admitted", "eventId", "expiresAt", "redirectUrl"}`` — at once when the fan's batch is let
  in: go to ``redirectUrl`` (the seat map).
- ``{"type": "expired", "eventId"}`` — the admission pass ran out.
- ``{"type": "not_in_queue", "eventId"}`` — the fan holds no place; the socket stays open (join
  elsewhere, then send ``refresh``).
- ``{"type": "error", "code"}`` — ``unknown_action`` or ``refresh_too_often`` (with ``retryAfter``).

Client → server: ``{"action": "refresh"}`` — recompute the exact place now (a few per 10 s).

Cost: positions between exact reads come from the event group's ``queue.status`` broadcast — one per
event, not per socket. The consumer keeps the exact place and the queue head seen at the last exact
read; everybody admitted since then was ahead of the fan, so the place moves up by the head's advance.
Fans leaving from ahead are only seen at the next exact read (the estimate errs on the long side).
Consumers read through the selectors and never write.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.urls import is_id
from core.websocket import CLOSE_UNAUTHENTICATED, CLOSE_UNKNOWN_EVENT, websocket_user
from events.models import Event
from queueing import selectors
from queueing.exceptions import EventNotFound
from queueing.notify import admitted_redirect_url, queue_event_group, queue_user_group
from queueing.presenters import progress_percent, progress_session_key, status_message
from queueing.selectors import QueueState, QueueStatus

REFRESH_WINDOW_SECONDS = 10.0
REFRESHES_PER_WINDOW = 5
# At opening every pre-queued socket needs its drawn place at once: spread those reads out.
OPENING_REFRESH_SPREAD_SECONDS = 3.0


@dataclass(frozen=True)
class ExactReading:
    status: QueueStatus | None
    head_sequence: int
    is_paused: bool
    start_position: int | None


def _event_or_none(raw_event_id: str) -> Event | None:
    if not is_id(raw_event_id):
        return None
    try:
        return selectors.queue_event_get(event_id=int(raw_event_id))
    except EventNotFound:
        return None


def _read_exact(*, user, event: Event, session) -> ExactReading:
    # The fan's place first, then the head: an admission in between makes the estimate err long.
    status = selectors.queue_status(user=user, event=event)
    stats = selectors.queue_stats(event=event)
    start_position = session.get(progress_session_key(event.pk)) if session is not None else None
    return ExactReading(
        status=status,
        head_sequence=stats.head_sequence,
        is_paused=stats.is_paused,
        start_position=start_position if isinstance(start_position, int) else None,
    )


class QueueConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.event: Event | None = None
        self.joined_groups: list[str] = []
        self.status: QueueStatus | None = None
        self.exact_head = 0
        self.start_position: int | None = None
        self.is_paused = False
        self.refreshes: deque[float] = deque()
        self.opening_refresh: asyncio.Task | None = None

        await self.accept()
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
        self.user, self.event = user, event
        self.redirect_url = admitted_redirect_url(event)
        # Join the groups before reading, so nothing sent in between is missed.
        for group in (queue_event_group(event.pk), queue_user_group(event.pk, user.pk)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined_groups.append(group)
        await self.send_exact_status()

    async def disconnect(self, code: int) -> None:
        if self.opening_refresh is not None:
            self.opening_refresh.cancel()
        for group in self.joined_groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    # --- Exact reads ------------------------------------------------------------------------------

    async def send_exact_status(self) -> None:
        if self.event is None:
            return
        reading = await database_sync_to_async(_read_exact)(
            user=self.user, event=self.event, session=self.scope.get("session")
        )
        self.status = reading.status
        self.exact_head = reading.head_sequence
        self.is_paused = reading.is_paused
        status = reading.status
        if status is None:
            await self.send_json({"type": "not_in_queue", "eventId": self.event.pk})
            return
        if status.position is not None:
            candidates = (self.start_position, reading.start_position, status.position)
            self.start_position = max(value for value in candidates if value is not None)
        await self.send_json(
            status_message(
                status=status,
                progress=progress_percent(start_position=self.start_position, position=status.position),
                is_paused=self.is_paused,
                exact=True,
                redirect_url=self.redirect_url,
            )
        )

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
        while self.refreshes and self.refreshes[0] <= now - REFRESH_WINDOW_SECONDS:
            self.refreshes.popleft()
        if len(self.refreshes) >= REFRESHES_PER_WINDOW:
            retry_after = max(1, round(self.refreshes[0] + REFRESH_WINDOW_SECONDS - now))
            await self.send_json({"type": "error", "code": "refresh_too_often", "retryAfter": retry_after})
            return
        self.refreshes.append(now)
        await self.send_exact_status()

    # --- Channel-layer messages (see queueing.notify) ---------------------------------------------

    async def queue_status(self, message: dict[str, Any]) -> None:
        """The event's broadcast: move the fan's place by the head's advance, without a Redis read."""
        status = self.status
        if status is None or self.event is None:
            return
        self.is_paused = bool(message.get("isPaused"))
        if status.status == QueueState.PREQUEUE:
            if message.get("prequeueSize") == 0:  # the opening lottery ran: learn the place it drew
                self._schedule_opening_refresh()
            else:
                await self.send_json(
                    status_message(
                        status=status,
                        queue_size=message.get("prequeueSize"),
                        progress=0,
                        is_paused=self.is_paused,
                        exact=False,
                        redirect_url=self.redirect_url,
                    )
                )
            return
        if status.status != QueueState.WAITING or status.position is None:
            return
        advanced = max(0, int(message["headSequence"]) - self.exact_head)
        position = max(1, status.position - advanced)
        # Staff may change the batch size and interval: use the broadcast's (in memory only).
        self.event.admission_batch_size = int(message["batchSize"]) or self.event.admission_batch_size
        self.event.admission_interval_seconds = (
            int(message["intervalSeconds"]) or self.event.admission_interval_seconds
        )
        rate_per_minute = message.get("admissionRatePerMinute") or 0
        await self.send_json(
            status_message(
                status=status,
                position=position,
                queue_size=int(message["queueSize"]),
                estimated_wait_seconds=selectors.estimated_wait_seconds(
                    users_ahead=position - 1,
                    event=self.event,
                    measured_rate_per_second=rate_per_minute / 60 if rate_per_minute > 0 else None,
                ),
                progress=progress_percent(start_position=self.start_position, position=position),
                is_paused=self.is_paused,
                exact=False,
                redirect_url=self.redirect_url,
            )
        )

    async def queue_admitted(self, message: dict[str, Any]) -> None:
        if self.status is not None:
            self.status = QueueStatus(event_id=self.status.event_id, status=QueueState.ADMITTED)
        await self.send_json(
            {
                "type": "admitted",
                "eventId": message["eventId"],
                "expiresAt": message["expiresAt"],
                "redirectUrl": message["redirectUrl"],
            }
        )

    async def queue_expired(self, message: dict[str, Any]) -> None:
        if self.status is not None:
            self.status = QueueStatus(event_id=self.status.event_id, status=QueueState.EXPIRED)
        await self.send_json({"type": "expired", "eventId": message["eventId"]})

    def _schedule_opening_refresh(self) -> None:
        if self.opening_refresh is not None and not self.opening_refresh.done():
            return

        async def refresh_later() -> None:
            await asyncio.sleep(random.uniform(0, OPENING_REFRESH_SPREAD_SECONDS))  # noqa: S311
            await self.send_exact_status()

        self.opening_refresh = asyncio.create_task(refresh_later())
