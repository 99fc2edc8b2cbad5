"""Live seat availability over the channel layer, sent after commit.

Group ``seats_event_<event_id>`` (every open seat map of the event) receives one message per committed
change set::

    {"type": "seats.changed", "eventId": 7, "changes": [[101, "held"], [102, "available"], [103, "sold"]]}

Statuses are the ones *other* fans see: ``held``, ``available``, ``sold`` (a consumer that knows its user
may show ``held_by_me`` from its own reads). Large change sets (the expiry sweeps) are split into messages
of at most ``MAX_CHANGES_PER_MESSAGE`` changes. Services register the send with
``transaction.on_commit(..., robust=True)``: nothing is sent for a rolled-back transaction, and a
channel-layer failure never breaks the business operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from django.db import transaction

from core.realtime import group_send_many

SEATS_CHANGED_MESSAGE = "seats.changed"
MAX_CHANGES_PER_MESSAGE = 500

SeatState = Literal["held", "available", "sold"]
HELD: SeatState = "held"
AVAILABLE: SeatState = "available"
SOLD: SeatState = "sold"


def seats_event_group(event_id: int) -> str:
    return f"seats_event_{event_id}"


def seats_changed_messages(event_id: int, changes: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    ordered = sorted(dict(changes).items())  # one state per seat (the last one wins), by seat id
    return [
        {
            "type": SEATS_CHANGED_MESSAGE,
            "eventId": event_id,
            "changes": [
                [seat_id, state] for seat_id, state in ordered[start : start + MAX_CHANGES_PER_MESSAGE]
            ],
        }
        for start in range(0, len(ordered), MAX_CHANGES_PER_MESSAGE)
    ]


def notify_seats_changed(event_id: int, changes: Sequence[tuple[int, str]]) -> None:
    """Send the changes of one event to its group now (one group_send for up to 500 seats)."""
    group = seats_event_group(event_id)
    group_send_many((group, message) for message in seats_changed_messages(event_id, changes))


def notify_seats_changed_on_commit(event_id: int, changes: Iterable[tuple[int, str]]) -> None:
    """Send after the current transaction commits; nothing if it rolls back or nothing changed."""
    batch = list(changes)
    if batch:
        transaction.on_commit(lambda: notify_seats_changed(event_id, batch), robust=True)
