"""Waiting lists end to end on PostgreSQL: seats that come back reach the fans in order, an offer not
taken in time passes on, and racing returns never offer one seat twice.

Proved able to fail: without the event queue row lock in ``waitlist_offer_seats`` the two race tests
of seat returns give more offers than free seats.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from bookings.models import SeatHold
from bookings.services import (
    booking_confirm_paid,
    booking_create,
    booking_mark_refunded,
    holds_release_expired,
    seats_hold,
)
from bookings.tests.conftest import admit
from payments.services import booking_refund
from queueing.models import AdmissionPass
from queueing.selectors import admission_pass_is_valid
from queueing.services import queue_join
from queueing.tests.helpers import race
from waitlist.models import WaitlistEntry
from waitlist.services import waitlist_join, waitlist_offer_seats
from waitlist.tasks import offer_waitlists
from waitlist.tests.conftest import sell, sell_and_pay

pytestmark = pytest.mark.django_db(transaction=True)

OFFERED = WaitlistEntry.State.OFFERED


def _entry(fan, event) -> WaitlistEntry:
    return WaitlistEntry.objects.filter(user=fan, event=event).latest("pk")


def _live_passes(fan, event) -> int:
    return AdmissionPass.objects.filter(
        user=fan, event=event, ended_at__isnull=True, expires_at__gt=timezone.now()
    ).count()


def _time_runs_out_for(fan, event) -> None:
    past = timezone.now() - timedelta(seconds=1)
    AdmissionPass.objects.filter(user=fan, event=event).update(expires_at=past)
    SeatHold.objects.filter(user=fan, event=event).update(expires_at=past)
    WaitlistEntry.objects.filter(user=fan, event=event).update(offer_expires_at=past)


def test_a_refunded_seat_reaches_the_first_fan_and_a_lapsed_offer_the_second(
    event, seats, make_fans, staff_user, no_stripe_keys
):
    buyer, first, second = make_fans(3)
    booking = sell_and_pay(event, buyer, seats[:1])
    sell(event, make_fans(1)[0], seats[1:])  # sold out
    waitlist_join(user=first, event=event)
    waitlist_join(user=second, event=event)
    mail.outbox.clear()

    booking_refund(booking=booking, by_staff_user=staff_user)

    assert _entry(first, event).state == OFFERED
    assert _entry(second, event).state == WaitlistEntry.State.WAITING
    assert admission_pass_is_valid(user=first, event=event)
    assert not admission_pass_is_valid(user=second, event=event)
    offers = [message for message in mail.outbox if message.to == [first.email]]
    deadline = timezone.localtime(_entry(first, event).offer_expires_at).strftime("%H:%M")
    assert len(offers) == 1
    assert deadline in offers[0].subject
    page = Client()
    page.force_login(first)
    assert "You have an offer until <time" in page.get(event.get_absolute_url()).content.decode()
    seats_hold(user=first, event=event, seat_ids=[seats[0].pk])  # the offer's pass lets the fan hold

    _time_runs_out_for(first, event)
    offer_waitlists.delay()

    assert _entry(first, event).state == WaitlistEntry.State.LAPSED
    assert _entry(second, event).state == OFFERED
    assert admission_pass_is_valid(user=second, event=event)
    assert [message.to for message in mail.outbox if "offer until" in message.subject] == [
        [first.email],
        [second.email],
    ]


def test_an_expired_hold_swept_back_on_sale_is_offered(event, seats, make_fans):
    holder, buyer, waiting = make_fans(3)
    sell(event, buyer, seats[1:])
    admit(event, holder)
    seats_hold(user=holder, event=event, seat_ids=[seats[0].pk])
    waitlist_join(user=waiting, event=event)
    SeatHold.objects.filter(user=holder).update(expires_at=timezone.now() - timedelta(seconds=1))

    holds_release_expired()

    assert _entry(waiting, event).state == OFFERED


def test_a_fan_who_bought_with_the_offer_frees_the_count_for_the_next_seat(event, seats, make_fans):
    first_buyer, second_buyer, first, second = make_fans(4)
    booking = sell(event, first_buyer, seats[:1])
    other = sell(event, second_buyer, seats[1:])
    waitlist_join(user=first, event=event)
    waitlist_join(user=second, event=event)
    booking_mark_refunded(booking=booking)
    seats_hold(user=first, event=event, seat_ids=[seats[0].pk])
    booking_confirm_paid(booking=booking_create(user=first, event=event))

    booking_mark_refunded(booking=other)

    assert _entry(first, event).state == WaitlistEntry.State.ACCEPTED
    assert _entry(second, event).state == OFFERED


def test_two_concurrent_seat_returns_never_offer_one_seat_twice(event, seats, make_fans):
    buyers = make_fans(2)
    bookings = [sell(event, buyer, [seat]) for buyer, seat in zip(buyers, seats, strict=True)]
    fans = make_fans(4)
    for fan in fans:
        waitlist_join(user=fan, event=event)

    outcomes = race([lambda booking=booking: booking_mark_refunded(booking=booking) for booking in bookings])

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    states = [_entry(fan, event).state for fan in fans]
    assert states == [OFFERED, OFFERED, WaitlistEntry.State.WAITING, WaitlistEntry.State.WAITING]
    assert [_live_passes(fan, event) for fan in fans] == [1, 1, 0, 0]


def test_racing_offer_runs_for_one_free_seat_make_one_offer(event, seats, make_fans):
    booking = sell(event, make_fans(1)[0], seats[:1])
    sell(event, make_fans(1)[0], seats[1:])
    fans = make_fans(5)
    for fan in fans:
        waitlist_join(user=fan, event=event)
    # The seat comes back without its usual trigger, so that only the racing runs below offer it.
    booking.status = booking.Status.REFUNDED
    booking.save(update_fields=["status"])
    booking.items.update(is_active=False)

    outcomes = race([lambda: waitlist_offer_seats(event=event) for _ in range(6)])

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert sum(len(offered) for offered in outcomes) == 1
    assert WaitlistEntry.objects.filter(event=event, state=OFFERED).get().user_id == fans[0].pk
    assert AdmissionPass.objects.filter(event=event, user__in=fans).count() == 1


def test_one_fan_never_gets_two_live_offers(event, seats, make_fans):
    bookings = [sell(event, buyer, [seat]) for buyer, seat in zip(make_fans(2), seats, strict=True)]
    (fan,) = make_fans(1)
    waitlist_join(user=fan, event=event)

    race([lambda booking=booking: booking_mark_refunded(booking=booking) for booking in bookings])
    race([lambda: waitlist_offer_seats(event=event) for _ in range(4)])

    assert WaitlistEntry.objects.filter(user=fan, event=event).count() == 1
    assert _entry(fan, event).state == OFFERED
    assert _live_passes(fan, event) == 1


def test_a_fan_still_in_the_line_is_passed_over_and_keeps_their_place(event, seats, make_fans):
    booking = sell(event, make_fans(1)[0], seats[:1])
    sell(event, make_fans(1)[0], seats[1:])
    queued, next_fan = make_fans(2)
    waitlist_join(user=queued, event=event)
    waitlist_join(user=next_fan, event=event)
    queue_join(user=queued, event=event)  # in the main line: one turn at a time

    booking_mark_refunded(booking=booking)

    assert _entry(queued, event).state == WaitlistEntry.State.WAITING
    assert _entry(next_fan, event).state == OFFERED
