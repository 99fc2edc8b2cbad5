"""Fixtures of the box-office tests: a small on-sale driven through the real services."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from bookings.models import Booking
from bookings.services import booking_create, seats_hold
from bookings.tests import conftest as bookings_fixtures
from events.models import Event, Seat
from payments.services import booking_refund, payment_intent_create, simulated_checkout_complete
from queueing.services import queue_admit_batch, queue_join

event = bookings_fixtures.event
categories = bookings_fixtures.categories
seats = bookings_fixtures.seats
make_fans = bookings_fixtures.make_fans


@pytest.fixture
def simulated_payments(settings) -> None:
    """The embedded default: the offline simulated provider."""
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""


def buy(fan: User, event: Event, seat_list: list[Seat], *, succeed: bool = True) -> Booking:
    seats_hold(user=fan, event=event, seat_ids=[seat.pk for seat in seat_list])
    booking = booking_create(user=fan, event=event)
    payment = payment_intent_create(user=fan, booking=booking)
    simulated_checkout_complete(
        user=fan, booking=booking, payment_intent_id=payment.provider_intent_id, succeed=succeed
    )
    booking.refresh_from_db()
    return booking


@dataclass
class ScriptedSale:
    event: Event
    fans: list[User]
    paid: list[Booking]
    declined: Booking
    refunded: Booking


@pytest.fixture
def scripted_sale(event, seats, make_fans, staff_user, simulated_payments) -> ScriptedSale:
    """Ten fans join; four are admitted; three buy (Platinum 12,500 + Silver 2,500 each... see below),
    one payment is declined, and staff refund one of the paid bookings. Six fans are left waiting."""
    fans = make_fans(10)
    for fan in fans:
        queue_join(user=fan, event=event)
    queue_admit_batch(event=event, size=4)
    paid = [
        buy(fans[0], event, [seats[0]]),  # Platinum 12,500
        buy(fans[1], event, [seats[2]]),  # Gold 7,500
        buy(fans[2], event, [seats[5], seats[6]]),  # 2 x Silver 2,500
    ]
    declined = buy(fans[3], event, [seats[7]], succeed=False)
    booking_refund(booking=paid[1], by_staff_user=staff_user)
    paid[1].refresh_from_db()
    return ScriptedSale(event=event, fans=fans, paid=paid, declined=declined, refunded=paid[1])
