"""Fixtures of the bookings tests: real PostgreSQL and Redis, fans admitted through the real queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking, SeatHold
from events.models import Event, Seat, SeatCategory
from events.tests.factories import EventFactory, SeatFactory, categories_for
from queueing.models import AdmissionPass
from queueing.services import queue_admit_batch, queue_join


def admit(event: Event, *users: User) -> list[AdmissionPass]:
    """Give each fan a real admission pass: they join the queue and one batch admits them all."""
    for user in users:
        queue_join(user=user, event=event)
    queue_admit_batch(event=event, size=len(users))
    passes = list(AdmissionPass.objects.filter(event=event, user__in=users, ended_at__isnull=True))
    assert len(passes) == len(users), "every fan should have been admitted"
    return passes


def time_passes_beyond_the_window(event: Event) -> None:
    """As if the admission window of every fan of the event had run out: passes, holds, bookings."""
    past = timezone.now() - timedelta(seconds=1)
    AdmissionPass.objects.filter(event=event).update(expires_at=past)
    SeatHold.objects.filter(event=event).update(expires_at=past)
    Booking.objects.filter(event=event).update(expires_at=past)


@pytest.fixture
def event(db) -> Event:
    return EventFactory(max_seats_per_order=4, booking_window_minutes=10, admission_batch_size=50)


@pytest.fixture
def categories(event) -> tuple[SeatCategory, SeatCategory, SeatCategory]:
    """(Platinum 12,500, Gold 7,500, Silver 2,500) INR."""
    return categories_for(event)


@pytest.fixture
def seats(event, categories) -> list[Seat]:
    """Ten seats in row A1 (two Platinum, three Gold, five Silver), by id."""
    platinum, gold, silver = categories
    layout = [platinum] * 2 + [gold] * 3 + [silver] * 5
    return [
        SeatFactory(event=event, category=category, section="A", row="1", number=number, x=number)
        for number, category in enumerate(layout, start=1)
    ]


@pytest.fixture
def make_fans(db):
    """``n`` fans created quickly (no password hashing)."""
    counter = iter(range(1_000_000))

    def make(n: int) -> list[User]:
        start = next(counter) * 10_000
        return User.objects.bulk_create(
            User(email=f"booking-fan-{start + i}@example.com", password="!", email_verified_at=timezone.now())
            for i in range(n)
        )

    return make


@pytest.fixture
def admitted_fan(event, fan) -> User:
    admit(event, fan)
    return fan


@pytest.fixture
def admitted_other_fan(event, other_fan) -> User:
    admit(event, other_fan)
    return other_fan
