"""Realtime messages of the waiting room, sent over the channel layer after commit.

Groups (the WebSocket consumer joins them; names are valid Channels group names):

- ``queue_event_<event_id>`` — every socket watching the event's queue. Receives
  ``{"type": "queue.status", "eventId", "headSequence", "queueSize", "prequeueSize", "admittedActive",
  "admittedTotal", "admissionRatePerMinute", "averageWaitTime", "batchSize", "intervalSeconds",
  "isPaused", "sentAt"}`` — one message per event, at least every few seconds (the
  ``broadcast_queue_status`` task) and right after each admission or pause. A client estimates its
  place as ``own sequence - headSequence`` between exact lookups (``selectors.queue_status``).
- ``queue_user_<event_id>_<user_id>`` — every socket of one fan for one event. Receives
  ``{"type": "queue.admitted", "eventId", "userId", "expiresAt", "redirectUrl"}`` when the fan's batch is
  admitted and ``{"type": "queue.expired", "eventId", "userId"}`` when the pass ran out.

Times are ISO 8601 strings, durations seconds. Sending never raises into the caller's business logic:
the services register these with ``transaction.on_commit(..., robust=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.realtime import group_send_many
from events.models import Event

STATUS_MESSAGE = "queue.status"
ADMITTED_MESSAGE = "queue.admitted"
EXPIRED_MESSAGE = "queue.expired"


def queue_event_group(event_id: int) -> str:
    return f"queue_event_{event_id}"


def queue_user_group(event_id: int, user_id: int) -> str:
    return f"queue_user_{event_id}_{user_id}"


def admitted_redirect_url(event: Event) -> str:
    """Where an admitted fan goes: the seat map (its page arrives with the bookings issue)."""
    return f"/events/{event.slug}/seats/"


def queue_status_message(*, event: Event) -> dict[str, Any]:
    """The ``queue.status`` message of the event, also what a consumer may send on connect."""
    from queueing.selectors import queue_stats  # selectors → services → notify: import when used

    stats = queue_stats(event=event)
    return {
        "type": STATUS_MESSAGE,
        "eventId": event.pk,
        "headSequence": stats.head_sequence,
        "queueSize": stats.queue_size,
        "prequeueSize": stats.prequeue_size,
        "admittedActive": stats.admitted_active,
        "admittedTotal": stats.admitted_total,
        "admissionRatePerMinute": stats.admission_rate_per_minute,
        "averageWaitTime": stats.average_wait_seconds,
        "batchSize": event.admission_batch_size,
        "intervalSeconds": event.admission_interval_seconds,
        "isPaused": stats.is_paused,
        "sentAt": timezone.now().isoformat(),
    }


def notify_queue_status(*, event: Event) -> None:
    group_send_many([(queue_event_group(event.pk), queue_status_message(event=event))])


def notify_admitted(*, event: Event, user_ids: Iterable[int], expires_at: datetime) -> None:
    redirect_url = admitted_redirect_url(event)
    group_send_many(
        (
            queue_user_group(event.pk, user_id),
            {
                "type": ADMITTED_MESSAGE,
                "eventId": event.pk,
                "userId": user_id,
                "expiresAt": expires_at.isoformat(),
                "redirectUrl": redirect_url,
            },
        )
        for user_id in user_ids
    )


def notify_passes_expired(*, user_ids_by_event: Mapping[int, Iterable[int]]) -> None:
    group_send_many(
        (
            queue_user_group(event_id, user_id),
            {"type": EXPIRED_MESSAGE, "eventId": event_id, "userId": user_id},
        )
        for event_id, user_ids in user_ids_by_event.items()
        for user_id in user_ids
    )
