"""Live seat availability over Redis pub/sub (``core.realtime``), sent after commit.

Topic ``seats:<event_id>`` (every open seat map of the event, one subscription per server process)
receives one frame per committed change set::

    {"type": "seats", "eventId": 7, "changes": [[101, "held"], [102, "available"], [103, "sold"]]}

Each process merges the frames arriving within ``BATCH_SECONDS`` into one (the last state of a seat
wins) and writes that one encoded frame to all its seat-map sockets: a burst of holds costs each socket
a few frames, and the server one encoding per burst, not one per socket.

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

from bookings.signals import seats_returned
from core.realtime import publish_many, register_merger

SEATS_FRAME = "seats"
SEATS_MERGE = "seats"
MAX_CHANGES_PER_MESSAGE = 500
BATCH_SECONDS = 0.1

SeatState = Literal["held", "available", "sold"]
HELD: SeatState = "held"
AVAILABLE: SeatState = "available"
SOLD: SeatState = "sold"


def seats_topic(event_id: int) -> str:
    return f"seats:{event_id}"


def seats_changed_messages(event_id: int, changes: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    ordered = sorted(dict(changes).items())  # one state per seat (the last one wins), by seat id
    return [
        {
            "type": SEATS_FRAME,
            "eventId": event_id,
            "changes": [
                [seat_id, state] for seat_id, state in ordered[start : start + MAX_CHANGES_PER_MESSAGE]
            ],
        }
        for start in range(0, len(ordered), MAX_CHANGES_PER_MESSAGE)
    ]


def merge_seat_frames(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """Frames of one window as one: the last state of each seat wins, seats in id order."""
    states: dict[int, str] = {}
    for frame in frames:
        for seat_id, state in frame["changes"]:
            states[int(seat_id)] = str(state)
    return {**frames[-1], "changes": [[seat_id, state] for seat_id, state in sorted(states.items())]}


register_merger(SEATS_MERGE, merge_seat_frames, window_seconds=BATCH_SECONDS)


def notify_seats_changed(event_id: int, changes: Sequence[tuple[int, str]]) -> None:
    """Publish the changes of one event now (one message per 500 seats, one round trip)."""
    topic = seats_topic(event_id)
    publish_many(
        (topic, {"frame": frame, "merge": SEATS_MERGE}) for frame in seats_changed_messages(event_id, changes)
    )


def notify_seats_changed_on_commit(event_id: int, changes: Iterable[tuple[int, str]]) -> None:
    """Send after the current transaction commits; nothing if it rolls back or nothing changed."""
    batch = list(changes)
    if batch:
        transaction.on_commit(lambda: notify_seats_changed(event_id, batch), robust=True)
    if any(state == AVAILABLE for _, state in batch):
        # Every path that puts seats back on sale comes through here (expiry, release, cancel, refund).
        transaction.on_commit(lambda: seats_returned.send(sender=None, event_id=event_id), robust=True)
