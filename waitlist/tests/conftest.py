"""Fixtures of the waiting-list tests: real PostgreSQL and Redis, seats sold through the real services."""

from __future__ import annotations

import pytest

from accounts.models import User
from bookings.models import Booking
from bookings.services import booking_confirm_paid, booking_create, seats_hold
from bookings.tests.conftest import admit, make_fans  # noqa: F401 - shared fixture
from events.models import Event, Seat
from events.tests.factories import EventFactory, SeatCategoryFactory, SeatFactory
from payments.services import payment_intent_create, simulated_checkout_complete
from payments.tests.conftest import no_stripe_keys  # noqa: F401 - shared fixture


@pytest.fixture
def event(db) -> Event:
    return EventFactory(max_seats_per_order=4, booking_window_minutes=10, admission_batch_size=50)


@pytest.fixture
def seats(event) -> list[Seat]:
    """Two seats: the whole venue."""
    category = SeatCategoryFactory(event=event, name="Silver")
    return [SeatFactory(event=event, category=category, number=number) for number in (1, 2)]


def sell(event: Event, fan: User, seat_list: list[Seat]) -> Booking:
    """The fan is admitted, holds the seats and books them; the booking is confirmed (no payment)."""
    admit(event, fan)
    seats_hold(user=fan, event=event, seat_ids=[seat.pk for seat in seat_list])
    return booking_confirm_paid(booking=booking_create(user=fan, event=event))


def sell_and_pay(event: Event, fan: User, seat_list: list[Seat]) -> Booking:
    """As ``sell``, paid through the simulated provider (so staff can refund it)."""
    admit(event, fan)
    seats_hold(user=fan, event=event, seat_ids=[seat.pk for seat in seat_list])
    booking = booking_create(user=fan, event=event)
    payment = payment_intent_create(user=fan, booking=booking)
    simulated_checkout_complete(
        user=fan, booking=booking, payment_intent_id=payment.provider_intent_id, succeed=True
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    return booking
