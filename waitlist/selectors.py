"""Reads of the waiting lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from core.local_cache import LocalCache
from events.models import Event, Seat
from events.selectors import seats_unavailable
from waitlist.models import WaitlistEntry

ACTIVE_STATES = [state.value for state in WaitlistEntry.ACTIVE_STATES]


@dataclass(frozen=True)
class WaitlistStatus:
    event_id: int
    state: str
    position: int | None  # 1 = next to get an offer; None once offered
    offer_expires_at: datetime | None


def free_seat_count(*, event: Event, now: datetime | None = None) -> int:
    """Seats nobody holds or bought (expired holds count as free, as on the seat map)."""
    unavailable = seats_unavailable(now=now, event_ids=[event.pk]).values("pk")
    return Seat.objects.filter(event=event).exclude(pk__in=unavailable).count()


def event_is_sold_out(*, event: Event, now: datetime | None = None) -> bool:
    return Seat.objects.filter(event=event).exists() and free_seat_count(event=event, now=now) == 0


# Whether an event's list has anyone on it (waiting or offered), per process for about a second
# (core.local_cache): the queue page and its poll look for an open offer for every fan, and while
# nobody is on the list (the whole of a normal on-sale) that needs no query per fan. This process's
# own changes clear it at once (waitlist.apps); other processes see them within the second.
_events_with_list: LocalCache[bool] = LocalCache()


def event_has_waitlist(*, event: Event) -> bool:
    return _events_with_list.get_or_load(
        event.pk, lambda: WaitlistEntry.objects.filter(event=event, state__in=ACTIVE_STATES).exists()
    )


def forget_waitlist_presence(**_signal_kwargs: object) -> None:
    _events_with_list.clear()


def waitlist_entry_for(*, user, event: Event) -> WaitlistEntry | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return WaitlistEntry.objects.filter(event=event, user=user, state__in=ACTIVE_STATES).first()


def waitlist_status(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistStatus:
    now = now or timezone.now()
    if entry.state == WaitlistEntry.State.OFFERED:
        live = entry.offer_expires_at is not None and entry.offer_expires_at > now
        return WaitlistStatus(
            event_id=entry.event_id,
            state=entry.state if live else WaitlistEntry.State.LAPSED,
            position=None,
            offer_expires_at=entry.offer_expires_at,
        )
    ahead = WaitlistEntry.objects.filter(
        event_id=entry.event_id, state=WaitlistEntry.State.WAITING, pk__lt=entry.pk
    ).count()
    return WaitlistStatus(
        event_id=entry.event_id, state=entry.state, position=ahead + 1, offer_expires_at=None
    )


def waitlist_length(*, event: Event) -> int:
    return WaitlistEntry.objects.filter(event=event, state=WaitlistEntry.State.WAITING).count()


def events_with_active_waitlist() -> QuerySet[Event]:
    """Events with fans waiting or offers open: what the offering job looks at."""
    return Event.objects.filter(
        pk__in=WaitlistEntry.objects.filter(state__in=ACTIVE_STATES).values("event_id")
    ).order_by("pk")
