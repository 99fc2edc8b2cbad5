"""Factories of the bookings tests. Holds and bookings are normally made by the services; these build
rows directly for tests that must bypass them (database constraints, admin listings)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings.models import Booking, BookingItem
from events.tests.factories import EventFactory


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    user = factory.SubFactory(UserFactory)
    event = factory.SubFactory(EventFactory)
    reference = factory.Sequence(lambda n: f"T{n:07d}")
    status = Booking.Status.PENDING_PAYMENT
    total_amount = Decimal("0.00")
    currency = "INR"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))


class BookingItemFactory(factory.django.DjangoModelFactory):
    """``seat`` is required; the booking defaults to one for the seat's event."""

    class Meta:
        model = BookingItem

    booking = factory.SubFactory(BookingFactory, event=factory.SelfAttribute("..seat.event"))
    category = factory.LazyAttribute(lambda item: item.seat.category)
    price = factory.LazyAttribute(lambda item: item.seat.category.price)
    is_active = True
