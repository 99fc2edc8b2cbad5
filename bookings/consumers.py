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
  Changes arriving within ``bookings.notify.BATCH_SECONDS`` are merged into one frame per server process
  (the last state of a seat wins) and that one frame is written to every seat map of the event.
- ``{"type": "error", "code": "unknown_action"}`` — for anything the client sends (nothing is expected).

Cost: one database read on connect (the snapshot); changes come from the process's one subscription
to ``seats:<event_id>`` (``bookings.notify``, ``core.realtime``), forwarded without touching the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async

from bookings.notify import BATCH_SECONDS, seats_topic
from bookings.selectors import seat_states_for_event
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
from events.selectors import event_get_public

__all__ = ["BATCH_SECONDS", "CLOSE_UNAUTHENTICATED", "CLOSE_UNKNOWN_EVENT", "SeatMapConsumer"]


def _event_or_none(raw_event_id: str) -> Event | None:
    if not is_id(raw_event_id):
        return None
    return event_get_public(event_id=int(raw_event_id))


def _snapshot(*, event: Event, user) -> list[list[Any]]:
    return [[seat_id, status] for seat_id, status in seat_states_for_event(event=event, user=user).items()]


class SeatMapConsumer(LiveJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.event: Event | None = None
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
        self.event, self.user = event, user
        # Subscribe before reading, so a change committed in between arrives after the snapshot, not lost.
        await self.join_topic(seats_topic(event.pk))
        await self.send_snapshot()

    async def send_snapshot(self) -> None:
        if self.event is None:
            return
        states = await database_sync_to_async(_snapshot)(event=self.event, user=self.user)
        await self.send_json({"type": "snapshot", "eventId": self.event.pk, "states": states})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        await self.send_json({"type": "error", "code": "unknown_action"})

    def live_resync(self) -> None:
        # Changes published while the hub was away from Redis are lost: start again from a snapshot.
        asyncio.get_running_loop().create_task(self.send_snapshot())
