"""Reactions of the waiting lists to other apps' signals."""

from __future__ import annotations

from typing import Any

from waitlist.models import WaitlistEntry
from waitlist.tasks import offer_returned_seats


def offer_seats_back_on_sale(sender: Any, *, event_id: int, **kwargs: Any) -> None:
    """Seats came back: if fans wait for this event, offer them (in a worker; beat catches up if the
    broker is down). One indexed read for the many events and releases with nobody waiting."""
    if WaitlistEntry.objects.filter(event_id=event_id, state=WaitlistEntry.State.WAITING).exists():
        offer_returned_seats.delay(event_id)
