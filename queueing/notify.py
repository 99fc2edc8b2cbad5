"""Live messages of the waiting room, published after commit (Redis pub/sub, see ``core.realtime``).

One topic per event, ``queue:<event_id>``; every queue socket of a server process is served by that
process's one subscription. What is published:

- a **queue frame**, one per event and change, written as-is to every socket of the event::

    {"type": "queue", "eventId", "reason", "headSequence", "queueSize", "prequeueSize", "admittedTotal",
     "admissionRatePerMinute", "averageWaitTime", "batchSize", "intervalSeconds", "isPaused",
     "left", "sentAt"}

  ``reason`` is ``change`` (a batch was let in, the queue paused or resumed), ``leave`` (fans
  left; ``left`` lists their sequences) or ``heartbeat`` (the slow ``broadcast_queue_status`` task).
  A client derives its own place from the exact reading it got on connect (``position``,
  ``sequence``, ``headSequence``): everybody admitted since was ahead of it, so the place moves up
  by the head's advance, and by each leaver whose sequence lies between the head and its own.
  Frames about leaves arriving within ``LEAVE_WINDOW_SECONDS`` are merged per process.
- ``{"to": [user ids], "kind": "admitted", "eventId", "expiresAt", "redirectUrl"}`` — the consumer of
  each named fan sends its own ``admitted`` message at once;
- ``{"to": [user ids], "kind": "expired", "eventId"}`` — the pass ran out.

Times are ISO 8601 strings, durations seconds. Sending never raises into the caller's business logic:
the services register these with ``transaction.on_commit(..., robust=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.realtime import publish, publish_many, register_merger
from events.models import Event

logger = logging.getLogger(__name__)

QUEUE_FRAME = "queue"
LEAVE_MERGE = "queue-leave"
LEAVE_WINDOW_SECONDS = 1.0


def queue_topic(event_id: int) -> str:
    return f"queue:{event_id}"


def admitted_redirect_url(event: Event) -> str:
    """Where an admitted fan goes: the seat map."""
    return f"/events/{event.slug}/seats/"


def queue_frame(*, event: Event, reason: str, left: list[int] | None = None) -> dict[str, Any]:
    """The event's queue frame: what every socket of the event gets."""
    from queueing.selectors import queue_stats  # selectors → services → notify: import when used

    stats = queue_stats(event=event)
    return {
        "type": QUEUE_FRAME,
        "eventId": event.pk,
        "reason": reason,
        "headSequence": stats.head_sequence,
        "queueSize": stats.queue_size,
        "prequeueSize": stats.prequeue_size,
        "admittedTotal": stats.admitted_total,
        "admissionRatePerMinute": stats.admission_rate_per_minute,
        "averageWaitTime": stats.average_wait_seconds,
        "batchSize": event.admission_batch_size,
        "intervalSeconds": event.admission_interval_seconds,
        "isPaused": stats.is_paused,
        "left": left or [],
        "sentAt": timezone.now().isoformat(),
    }


def merge_leave_frames(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """Leaves within one window: the newest figures, every leaver's sequence."""
    merged = dict(frames[-1])
    merged["left"] = [sequence for frame in frames for sequence in frame.get("left", [])]
    return merged


register_merger(LEAVE_MERGE, merge_leave_frames, window_seconds=LEAVE_WINDOW_SECONDS)


def notify_queue_status(*, event: Event, reason: str = "change") -> None:
    publish(queue_topic(event.pk), {"frame": queue_frame(event=event, reason=reason)})


def notify_fan_left(*, event: Event, sequence: int | None) -> None:
    """A fan left: the fans behind move up (merged per process with other leaves of the window).

    Called after the leave is done in both stores; a failure here is logged, never raised."""
    try:
        frame = queue_frame(event=event, reason="leave", left=[sequence] if sequence is not None else [])
        publish(queue_topic(event.pk), {"frame": frame, "merge": LEAVE_MERGE})
    except Exception:
        logger.exception("Could not announce a leave from the queue of event %s.", event.pk)


def notify_admitted(*, event: Event, user_ids: Iterable[int], expires_at: datetime) -> None:
    publish(
        queue_topic(event.pk),
        {
            "to": list(user_ids),
            "kind": "admitted",
            "eventId": event.pk,
            "expiresAt": expires_at.isoformat(),
            "redirectUrl": admitted_redirect_url(event),
        },
    )


def notify_passes_expired(*, user_ids_by_event: Mapping[int, Iterable[int]]) -> None:
    publish_many(
        (queue_topic(event_id), {"to": list(user_ids), "kind": "expired", "eventId": event_id})
        for event_id, user_ids in user_ids_by_event.items()
    )
