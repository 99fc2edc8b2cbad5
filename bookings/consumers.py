"""The seat map's WebSocket: ``/ws/events/<event_id>/seats/``: live availability of one event's seats.

Authentication, as on the queue socket (``queueing.consumers``): the session cookie (web pages) or a JWT
*access* token in the query string (``?token=<access>``, mobile clients); a token, when given, is the only
credential looked at. Anonymous sockets are refused: the seat map page needs a logged-in fan, and the seat
list in the API needs authentication too, so an anonymous socket would only serve scrapers. No admission
pass is needed to *watch* (the socket never writes; holds check the pass).

The socket is accepted first so that a refusal reaches the client as a close code it can read:

- ``4401`` — not authenticated (no session, bad or non-access token, inactive user);
- ``4404`` — no such event (unknown, draft, cancelled).

Server → client (JSON):

- ``{"type": "snapshot", "eventId", "states": [[seat_id, status], ...]}`` — on connect: every seat that
  is *not* available (``held`` / ``held_by_me`` / ``sold``); every other seat is available. A client
  that reconnects resynchronises from it.
- ``{"type": "seats", "eventId", "changes": [[seat_id, status], ...]}`` — ``status`` is ``held``,
  ``available`` or ``sold`` as every fan sees it (never ``held_by_me``: the page knows its own holds).
  Changes arriving within ``BATCH_SECONDS`` of the last message are merged into one (the last state of a
  seat wins), so a burst of holds costs each socket a few frames, not one per hold.
- ``{"type": "error", "code": "unknown_action"}`` — for anything the client sends (nothing is expected).

Cost: one database read on connect (the snapshot); the changes come from the event group
``seats_event_<event_id>`` (``bookings.notify``), one group message per committed change set, forwarded
without touching the database.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from bookings.notify import seats_event_group
from bookings.selectors import seat_states_for_event
from core.urls import is_id
from core.websocket import CLOSE_UNAUTHENTICATED, CLOSE_UNKNOWN_EVENT, websocket_user
from events.models import Event
from events.selectors import event_get_public

__all__ = ["BATCH_SECONDS", "CLOSE_UNAUTHENTICATED", "CLOSE_UNKNOWN_EVENT", "SeatMapConsumer"]

# A change that follows the previous message by less than this waits for the end of the window.
BATCH_SECONDS = 0.1


def _event_or_none(raw_event_id: str) -> Event | None:
    if not is_id(raw_event_id):
        return None
    return event_get_public(event_id=int(raw_event_id))


def _snapshot(*, event: Event, user) -> list[list[Any]]:
    return [[seat_id, status] for seat_id, status in seat_states_for_event(event=event, user=user).items()]


class SeatMapConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.event: Event | None = None
        self.group: str | None = None
        self.pending_changes: dict[int, str] = {}
        self.flush_task: asyncio.Task | None = None
        self.last_sent = 0.0

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
        self.event = event
        # Join before reading, so a change committed in between arrives after the snapshot, not lost.
        self.group = seats_event_group(event.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        states = await database_sync_to_async(_snapshot)(event=event, user=user)
        await self.send_json({"type": "snapshot", "eventId": event.pk, "states": states})

    async def disconnect(self, code: int) -> None:
        if self.flush_task is not None:
            self.flush_task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        await self.send_json({"type": "error", "code": "unknown_action"})

    # --- Channel-layer messages (see bookings.notify) ---------------------------------------------

    async def seats_changed(self, message: dict[str, Any]) -> None:
        if self.event is None:
            return
        for seat_id, status in message["changes"]:
            self.pending_changes[int(seat_id)] = str(status)
        if self.flush_task is None:
            self.flush_task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            wait = self.last_sent + BATCH_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            changes, self.pending_changes = self.pending_changes, {}
            self.last_sent = time.monotonic()
            await self.send_json(
                {
                    "type": "seats",
                    "eventId": self.event.pk if self.event else None,
                    "changes": [[seat_id, status] for seat_id, status in sorted(changes.items())],
                }
            )
        finally:
            self.flush_task = None
        if self.pending_changes:  # arrived while this message was being sent
            self.flush_task = asyncio.create_task(self._flush())
