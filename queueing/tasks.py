"""Celery tasks of the waiting room: thin wrappers over the services, run by beat (see settings)."""

from __future__ import annotations

from celery import shared_task

from queueing import notify, services
from queueing.selectors import events_with_live_queue


@shared_task(ignore_result=True)
def admission_tick() -> dict[int, int]:
    """Run every QUEUE_TICK_SECONDS: each running sale admits one batch per its own interval."""
    admitted = services.queue_run_admission_tick()
    return {event_id: len(user_ids) for event_id, user_ids in admitted.items()}


@shared_task(ignore_result=True)
def repair_queues() -> dict[int, dict[str, int]]:
    """Run every QUEUE_REPAIR_SECONDS: Redis current with PostgreSQL, no half-done admission or
    unrecorded place outlives one interval. Returns what it fixed, per event."""
    return services.queue_repair_all()


@shared_task(ignore_result=True)
def broadcast_queue_status() -> int:
    """The slow heartbeat: one queue frame per live queue (one PUBLISH, whatever the sockets)."""
    count = 0
    for event in events_with_live_queue():
        notify.notify_queue_status(event=event, reason="heartbeat")
        count += 1
    return count


@shared_task(ignore_result=True)
def expire_admission_passes() -> int:
    return services.queue_expire_passes()
