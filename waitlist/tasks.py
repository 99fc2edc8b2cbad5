"""Celery tasks of the waiting lists: thin wrappers over the services."""

from __future__ import annotations

from celery import shared_task

from events.models import Event
from waitlist import services


@shared_task(ignore_result=True)
def offer_returned_seats(event_id: int) -> int:
    """Seats of the event went back on sale: offer them to the next fans on its list."""
    event = Event.objects.filter(pk=event_id).first()
    return len(services.waitlist_offer_seats(event=event)) if event is not None else 0


@shared_task(ignore_result=True)
def offer_waitlists() -> dict[int, int]:
    """Run every WAITLIST_SWEEP_SECONDS: lapsed offers pass to the next fans, free seats are offered."""
    return {event_id: len(offered) for event_id, offered in services.waitlist_offer_all().items()}
