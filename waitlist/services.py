"""Writes of the waiting lists of sold-out events.

- ``waitlist_join(user=, event=) -> tuple[WaitlistEntry, bool]`` — idempotent (``True`` when new).
  ``SaleClosed`` (409) outside the sale, ``SeatsStillAvailable`` (409) while seats are free,
  ``AlreadyAdmitted`` (409) for a fan holding a valid admission pass.
- ``waitlist_leave(user=, event=)`` — ``NotOnWaitlist`` (404); leaving with an open offer gives up its pass.
- ``waitlist_offer_seats(event=, now=None) -> list[int]`` — settles open offers (bought → accepted;
  timed out or pass ended → lapsed), then offers the free seats to the next fans in order: one offer
  (an admission pass for the booking window) per free seat not already covered by an open offer.
  Called after any seat goes back on sale (``bookings.signals.seats_returned``) and by Celery beat
  every ``WAITLIST_SWEEP_SECONDS`` (which also passes lapsed offers on).
- ``waitlist_offer_all() -> dict[int, list[int]]`` — the beat job: every event with a live list.

Exactly once: the offering runs under the event queue's row lock (first in the queue's lock order),
so two seat returns at once offer one after the other and never cover the same free seat twice; a
fan holds at most one active entry per event (a database constraint), and ``queue_grant_admission``
gives no second pass to a fan who holds one. E-mails go out after commit.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import Booking
from events.models import Event
from queueing.exceptions import NotInQueue, SaleClosed
from queueing.models import AdmissionPass, EventQueue
from queueing.selectors import admission_pass_for
from queueing.services import queue_grant_admission, queue_leave
from waitlist import emails
from waitlist.exceptions import AlreadyAdmitted, NotOnWaitlist, SeatsStillAvailable
from waitlist.models import WaitlistEntry
from waitlist.selectors import ACTIVE_STATES, event_is_sold_out, events_with_active_waitlist, free_seat_count

logger = logging.getLogger(__name__)

# Fans passed over in one run (they are in the line or already admitted) before the run stops looking.
_SKIP_ALLOWANCE = 100


def waitlist_join(*, user, event: Event) -> tuple[WaitlistEntry, bool]:
    if event.sale_phase() != Event.SalePhase.ON_SALE:
        raise SaleClosed()
    existing = WaitlistEntry.objects.filter(event=event, user=user, state__in=ACTIVE_STATES).first()
    if existing is not None:
        return existing, False
    if not event_is_sold_out(event=event):
        raise SeatsStillAvailable()
    if admission_pass_for(user=user, event=event) is not None:
        raise AlreadyAdmitted()
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(event=event, user=user), True
    except IntegrityError:  # a concurrent join of the same fan won
        return WaitlistEntry.objects.get(event=event, user=user, state__in=ACTIVE_STATES), False


def waitlist_leave(*, user, event: Event) -> None:
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(event=event, user=user, state__in=ACTIVE_STATES)
            .first()
        )
        if entry is None:
            raise NotOnWaitlist()
        had_offer = entry.state == WaitlistEntry.State.OFFERED
        entry.state = WaitlistEntry.State.LEFT
        entry.ended_at = timezone.now()
        entry.save(update_fields=["state", "ended_at"])
    if had_offer:  # the offer's pass goes too, so its seat can go to the next fan
        with contextlib.suppress(NotInQueue):
            queue_leave(user=user, event=event)


def _settle_offers(*, event: Event, now: datetime) -> None:
    """Open offers end: bought since the offer → accepted; out of time or pass ended → lapsed."""
    offers = WaitlistEntry.objects.filter(event=event, state=WaitlistEntry.State.OFFERED)
    bought = Booking.objects.filter(
        event=event,
        user=OuterRef("user"),
        status=Booking.Status.CONFIRMED,
        confirmed_at__gte=OuterRef("offered_at"),
    )
    pass_ended = AdmissionPass.objects.filter(pk=OuterRef("admission_pass"), ended_at__isnull=False)
    offers.filter(Exists(bought)).update(state=WaitlistEntry.State.ACCEPTED, ended_at=now)
    lapsed = offers.filter(offer_expires_at__lte=now) | offers.filter(Exists(pass_ended))
    lapsed.update(state=WaitlistEntry.State.LAPSED, ended_at=now)
    offers.filter(admission_pass__isnull=True).update(state=WaitlistEntry.State.LAPSED, ended_at=now)


def waitlist_offer_seats(*, event: Event, now: datetime | None = None) -> list[int]:
    """Offer the free seats not covered by an open offer to the next fans. Returns the entries offered."""
    now = now or timezone.now()
    offered: list[int] = []
    EventQueue.objects.get_or_create(event=event)
    with transaction.atomic():
        # The event's mutex for offers: concurrent seat returns count the free seats one after the other.
        EventQueue.objects.select_for_update().get(event=event)
        _settle_offers(event=event, now=now)
        if event.sale_phase(now) != Event.SalePhase.ON_SALE:
            return offered
        open_offers = WaitlistEntry.objects.filter(event=event, state=WaitlistEntry.State.OFFERED).count()
        slots = free_seat_count(event=event, now=now) - open_offers
        if slots <= 0:
            return offered
        expires_at = now + event.booking_window
        candidates = (
            WaitlistEntry.objects.select_for_update()
            .filter(event=event, state=WaitlistEntry.State.WAITING)
            .order_by("pk")[: slots + _SKIP_ALLOWANCE]
        )
        for entry in candidates:
            if len(offered) == slots:
                break
            # A fan in the line or already admitted keeps their place here and is passed over this time.
            admission = queue_grant_admission(
                event=event, user_id=entry.user_id, expires_at=expires_at, now=now
            )
            if admission is None:
                continue
            entry.state = WaitlistEntry.State.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = expires_at
            entry.admission_pass = admission
            entry.save(update_fields=["state", "offered_at", "offer_expires_at", "admission_pass"])
            offered.append(entry.pk)
        for entry_id in offered:
            transaction.on_commit(partial(emails.send_offer, entry_id=entry_id), robust=True)
    if offered:
        logger.info("Waiting list of event %s: %s offers made.", event.pk, len(offered))
    return offered


def waitlist_offer_all(*, now: datetime | None = None) -> dict[int, list[int]]:
    made: dict[int, list[int]] = {}
    for event in events_with_active_waitlist():
        try:
            offered = waitlist_offer_seats(event=event, now=now)
        except Exception:  # one broken event must not stop the others' offers
            logger.exception("Waiting-list offers failed for event %s.", event.pk)
            continue
        if offered:
            made[event.pk] = offered
    return made
