from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from events.models import Event, Seat, SeatCategory, Venue


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Arena {n}")
    city = "Mumbai"


class EventFactory(factory.django.DjangoModelFactory):
    """A published event whose sale is open now."""

    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"Concert {n}")
    slug = factory.Sequence(lambda n: f"concert-{n}")
    venue = factory.SubFactory(VenueFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    sale_opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    status = Event.Status.PUBLISHED

    class Params:
        upcoming = factory.Trait(
            sale_opens_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
        )
        closed = factory.Trait(
            sale_closes_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))
        )
        draft = factory.Trait(status=Event.Status.DRAFT)


class SeatCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SeatCategory

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    price = Decimal("2500.00")
    currency = "INR"
    colour = "#c0c0c0"


class SeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seat

    category = factory.SubFactory(SeatCategoryFactory)
    event = factory.LazyAttribute(lambda seat: seat.category.event)
    section = "A"
    row = "1"
    number = factory.Sequence(lambda n: n + 1)
    x = factory.LazyAttribute(lambda seat: seat.number)
    y = 0
